"""The stored transparency log: durable, batched appends and O(log n) proofs.

One global RFC 9162 tree over every accepted leaf, in acceptance order, stored as C2SP
``tlog-tiles``-style hash tiles (:mod:`ledger.log.tiles`, ADR 0005) and a row per leaf
(ADR 0010).

* **Sequencing.** An append takes the write lock first (``BEGIN IMMEDIATE`` on SQLite,
  ``SELECT ... FOR UPDATE`` on the state row on PostgreSQL), reads the committed size,
  and numbers its leaves from there. Appenders in other threads or processes wait, so no
  index is given twice and none is skipped.
* **Group commit.** A batch of leaves is one transaction: its leaves and tiles, the new
  state and one signed checkpoint. A crash before the commit leaves nothing of the batch;
  after it, everything. The latest checkpoint always matches the committed size.
* **Proofs.** Full tiles never change, so a root or proof for any past size comes from
  O(log n / 8) tiles fetched in one query. The tree is never rebuilt to answer a query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.errors import LogError, LogIntegrityError
from ledger.log import audit as log_audit
from ledger.log import checkpoint, merkle
from ledger.log.proofs import ConsistencyProof, InclusionProof
from ledger.log.tile_store import Batch, State, TileStore
from ledger.storage import database as store
from ledger.storage.rows import pipelined

__all__ = ["MAX_LEAF_BYTES", "AppendResult", "PlannedAppend", "State", "TransparencyLog"]

MAX_LEAF_BYTES = 4 * 1024 * 1024
"""Largest leaf accepted (a record's canonical bytes are capped well below this)."""


@dataclass(frozen=True)
class AppendResult:
    """What an append commits: the batch's first index, the new size, root and checkpoint."""

    first_index: int
    size: int
    root: bytes
    checkpoint: str
    """The signed checkpoint (a C2SP signed note) of ``size``."""
    proofs: tuple[InclusionProof, ...] = ()
    """With ``prove``: each new leaf's inclusion proof in the tree of ``size``."""


@dataclass(frozen=True)
class PlannedAppend:
    """An append computed but not written (:meth:`TransparencyLog.plan_append`)."""

    state: State
    """The committed state it appends to."""
    batch: Batch
    leaf_hashes: list[bytes]
    prove: bool


class TransparencyLog:
    """The log on one database. Reading needs no key; appending needs the log's signer key.

    ``origin`` is the checkpoint origin line (the log's name, e.g. ``bpl.example/log``);
    ``signer_key`` a ``PRIVATE+KEY+...`` note signer key whose name is the origin.
    """

    def __init__(self, engine: Engine, origin: str, signer_key: str | None = None) -> None:
        self.engine = engine
        self.origin = origin
        self._signer_key = signer_key
        self._writer = engine.execution_options(**store.WRITE)
        self._store = TileStore(store.driver_for(engine.dialect))

    def __repr__(self) -> str:  # never show the signer key
        return f"TransparencyLog(origin={self.origin!r}, url={self.engine.url!r})"

    @classmethod
    def open(cls, url: str, origin: str, signer_key: str | None = None) -> TransparencyLog:
        """Open (and migrate to the current schema) the log stored at ``url``."""
        return cls(store.open_engine(url), origin, signer_key)

    # -- appending -------------------------------------------------------------------

    def append(self, leaves: Sequence[bytes]) -> AppendResult:
        """Append ``leaves`` in order, as one transaction with one signed checkpoint.

        An empty batch writes nothing and returns the current state (on a new log, it
        signs the first checkpoint, of the empty tree). Raises LogError for a leaf that is
        not bytes or is too large; nothing is written then.
        """
        if self._signer_key is None:
            raise LogError("appending needs the log's signer key")
        batch = _checked_batch(leaves)
        sha256 = hashlib.sha256
        leaf_hashes = [sha256(b"\0" + leaf).digest() for leaf in batch]  # merkle.leaf_hash
        with self._writer.begin() as connection:
            state = self.lock(connection)
            size = state.size
            if not batch:  # on a new log, lock() signed the empty tree
                if not self._has_checkpoint(connection, size):
                    raise LogIntegrityError(f"the log's latest checkpoint ({size}) is missing")
                return AppendResult(size, size, state.root(), self._checkpoint_at(connection, size))
            return self.append_locked(connection, state, batch, leaf_hashes)

    def lock(self, connection: sa.Connection) -> State:
        """Take the sequencer lock in ``connection``'s transaction (begun with
        :attr:`writer`) and return the committed state. Others append after it commits.

        On a log whose empty tree was never signed (appended to without ``append([])``
        first), signs that first, so that every later checkpoint can name the one before it.
        """
        state = self._store.read_state(connection, lock=True)
        if state.size == 0 and self._signer_key and not self._has_checkpoint(connection, 0):
            self._insert_checkpoint(connection, 0, state.root(), self._sign(0, state.root()))
        return state

    @property
    def writer(self) -> Engine:
        """The engine to begin write transactions with (``BEGIN IMMEDIATE`` on SQLite)."""
        return self._writer

    def append_locked(
        self,
        connection: sa.Connection,
        state: State,
        leaves: list[bytes],
        leaf_hashes: list[bytes],
        *,
        prove: bool = False,
    ) -> AppendResult:
        """Append within the caller's transaction, under :meth:`lock` (so that a ledger
        commits its own rows and the log's in one transaction). ``prove``: also return the
        new leaves' inclusion proofs, made from the batch's own nodes (receipts)."""
        planned = self.plan_append(state, leaves, leaf_hashes, prove=prove)
        with pipelined(connection):
            return self.write_append(connection, planned)

    def plan_append(
        self,
        state: State,
        leaves: list[bytes],
        leaf_hashes: list[bytes],
        *,
        prove: bool = False,
    ) -> PlannedAppend:
        """The computing of :meth:`append_locked` (the tree, the tiles it fills), from the
        committed ``state`` alone: a caller that writes rows of its own in the same
        transaction can send them with the log's in one pipeline (:meth:`write_append`)."""
        if self._signer_key is None:
            raise LogError("appending needs the log's signer key")
        batch = self._store.plan_batch(state, leaves, leaf_hashes, keep_nodes=prove)
        return PlannedAppend(state, batch, leaf_hashes, prove)

    def write_append(self, connection: sa.Connection, planned: PlannedAppend) -> AppendResult:
        """The writes of :meth:`append_locked` (writes only: it may run in a pipeline,
        :func:`ledger.storage.rows.pipelined`), and the signed checkpoint and proofs, made while
        the server writes: :meth:`write_rows`, then :meth:`write_checkpoint`."""
        self.write_rows(connection, planned)
        return self.write_checkpoint(connection, planned)

    def write_rows(self, connection: sa.Connection, planned: PlannedAppend) -> None:
        """The first half of :meth:`write_append`: the leaves, tiles and state. Nothing in
        them is signed: a caller may send them early and still refuse the batch (rolling
        back) until it calls :meth:`write_checkpoint` in the same transaction."""
        self._store.write_batch(connection, planned.batch)

    def write_checkpoint(self, connection: sa.Connection, planned: PlannedAppend) -> AppendResult:
        """The second half of :meth:`write_append`, after :meth:`write_rows`: the signed
        checkpoint of the new tree, and the new leaves' proofs (with ``prove``)."""
        old, batch = planned.state, planned.batch
        new_size = batch.state.size
        new_root = batch.state.root()
        note = self._sign(new_size, new_root, previous=old.size)
        self._insert_checkpoint(connection, new_size, new_root, note)
        proofs: tuple[InclusionProof, ...] = ()
        if planned.prove:
            paths = merkle.appended_inclusion_proofs(old.frontier, old.size, batch.nodes, new_size)
            proofs = tuple(
                InclusionProof(index, new_size, leaf, tuple(path))
                for index, leaf, path in zip(
                    range(old.size, new_size), planned.leaf_hashes, paths, strict=True
                )
            )
        return AppendResult(old.size, new_size, new_root, note, proofs)

    def _sign(self, size: int, root: bytes, *, previous: int | None = None) -> str:
        """The signed checkpoint of ``size``, naming the ``previous`` one (the log's first
        checkpoint names none): :data:`ledger.log.checkpoint.PREVIOUS`."""
        assert self._signer_key is not None  # checked by append
        extensions = () if previous is None else (f"{checkpoint.PREVIOUS}{previous}",)
        head = checkpoint.Checkpoint(self.origin, size, root, extensions)
        return checkpoint.sign(head, self._signer_key)

    def _insert_checkpoint(
        self, connection: sa.Connection, size: int, root: bytes, note: str
    ) -> None:
        connection.execute(
            sa.text(
                "INSERT INTO log_checkpoints (size, root, note, created_at) "
                "VALUES (:size, :root, :note, :created_at)"
            ),
            {"size": size, "root": root, "note": note, "created_at": datetime.now(UTC)},
        )

    # -- reading ---------------------------------------------------------------------

    def size(self) -> int:
        """The committed number of leaves."""
        with self.engine.connect() as connection:
            return self._store.read_state(connection).size

    def checkpoint(self) -> str:
        """The latest signed checkpoint (a C2SP signed note)."""
        return self.latest()[1]

    def latest(self) -> tuple[int, str]:
        """The committed size and its signed checkpoint, read together."""
        with self.engine.connect() as connection:
            size = self._store.read_state(connection).size
            return size, self._checkpoint_at(connection, size)

    def checkpoint_at(self, size: int) -> str:
        """The signed checkpoint the log issued for ``size`` (one per committed batch)."""
        with self.engine.connect() as connection:
            return self._checkpoint_at(connection, size)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first ``size`` leaves (default: all)."""
        with self.engine.connect() as connection:
            state, size = self._state_for(connection, size)
            plan = merkle.root_plan(size)
            hashes = self._store.nodes(connection, state, plan)
            return merkle.root_from_frontier([hashes[node] for node in plan])

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """The proof that leaf ``index`` is in the tree of ``size`` leaves (default: all)."""
        with self.engine.connect() as connection:
            state, size = self._state_for(connection, size)
            return self._inclusion_proof(connection, state, index, size)

    def _inclusion_proof(
        self, connection: sa.Connection, state: State, index: int, size: int
    ) -> InclusionProof:
        if not 0 <= index < size:
            raise LogError(f"leaf index {index} is not in a tree of size {size}")
        plan = merkle.inclusion_plan(index, size)
        wanted = [node for group in plan for node in group]
        hashes = self._store.nodes(connection, state, [*wanted, (0, index)])
        return InclusionProof(index, size, hashes[0, index], tuple(merkle.assemble(plan, hashes)))

    def inclusion_proof_by_hash(self, leaf_hash: bytes, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the first leaf whose RFC 9162 leaf hash is ``leaf_hash``."""
        with self.engine.connect() as connection:
            state, size = self._state_for(connection, size)
            for index in self._store.candidates(connection, leaf_hash, size):
                if self._store.nodes(connection, state, [(0, index)])[0, index] == leaf_hash:
                    return self._inclusion_proof(connection, state, index, size)
        raise LogError(f"no leaf with hash {leaf_hash.hex()} in a tree of size {size}")

    def inclusion_proofs(self, indexes: Sequence[int], size: int) -> list[InclusionProof]:
        """Inclusion proofs of many leaves in the tree of ``size``: one tile query for all
        (receipts for a batch)."""
        with self.engine.connect() as connection:
            state, size = self._state_for(connection, size)
            for index in indexes:
                if not 0 <= index < size:
                    raise LogError(f"leaf index {index} is not in a tree of size {size}")
            plans = [merkle.inclusion_plan(index, size) for index in indexes]
            wanted = {node for plan in plans for group in plan for node in group}
            wanted.update((0, index) for index in indexes)
            hashes = self._store.nodes(connection, state, wanted)
        return [
            InclusionProof(index, size, hashes[0, index], tuple(merkle.assemble(plan, hashes)))
            for index, plan in zip(indexes, plans, strict=True)
        ]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``new_size`` leaves (default: all) extends ``old_size``."""
        with self.engine.connect() as connection:
            state, new_size = self._state_for(connection, new_size)
            if not 0 <= old_size <= new_size:
                raise LogError(f"old size {old_size} is not between 0 and {new_size}")
            plan = merkle.consistency_plan(old_size, new_size)
            hashes = self._store.nodes(connection, state, [n for g in plan for n in g])
            return ConsistencyProof(old_size, new_size, tuple(merkle.assemble(plan, hashes)))

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaves with index in ``[start, end)``, which must lie within the log."""
        with self.engine.connect() as connection:
            state = self._store.read_state(connection)
            if not 0 <= start <= end <= state.size:
                raise LogError(f"range [{start}, {end}) is not within the log of size {state.size}")
            return self._store.leaves(connection, state, start, end)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes with index in ``[start, end)`` (for audits and mirrors)."""
        with self.engine.connect() as connection:
            state = self._store.read_state(connection)
            if not 0 <= start <= end <= state.size:
                raise LogError(f"range [{start}, {end}) is not within the log of size {state.size}")
            hashes = self._store.nodes(connection, state, [(0, i) for i in range(start, end)])
            return [hashes[0, i] for i in range(start, end)]

    def audit(self, verifier_key: str, chunk: int = 16_384) -> int:
        """Re-derive every stored row of the log from the leaves and check it: leaf hashes,
        tiles, the right edge, the state's root, the leaf index row by row, and every
        stored checkpoint (signature, size, root, its link to the one before), the latest
        first (:mod:`ledger.log.audit`). Returns the size; raises LogIntegrityError naming
        the first thing that does not match. O(n): for audits, not for serving.
        """
        with self.engine.connect() as connection:
            return log_audit.audit_log(
                self._store, connection, self.origin, verifier_key, max(1, chunk)
            )

    # -- helpers ---------------------------------------------------------------------

    def _state_for(self, connection: sa.Connection, size: int | None) -> tuple[State, int]:
        state = self._store.read_state(connection)
        if size is None:
            return state, state.size
        if not 0 <= size <= state.size:
            raise LogError(f"tree size {size} is beyond the log's size {state.size}")
        return state, size

    def _checkpoint_at(self, connection: sa.Connection, size: int) -> str:
        note = connection.execute(
            sa.text("SELECT note FROM log_checkpoints WHERE size = :size"), {"size": size}
        ).scalar()
        if note is None:
            raise LogError(f"the log issued no checkpoint for size {size}")
        return str(note)

    def _has_checkpoint(self, connection: sa.Connection, size: int) -> bool:
        found = connection.execute(
            sa.text("SELECT 1 FROM log_checkpoints WHERE size = :size"), {"size": size}
        ).first()
        return found is not None


def _checked_batch(leaves: Sequence[object]) -> list[bytes]:
    """The batch as a list of bytes; LogError naming the first leaf that is not acceptable."""
    batch = list(leaves)
    if all(type(leaf) is bytes for leaf in batch) and (
        not batch or max(map(len, batch)) <= MAX_LEAF_BYTES  # type: ignore[arg-type]
    ):
        return batch  # type: ignore[return-value]
    checked = []
    for position, leaf in enumerate(batch):
        if not isinstance(leaf, bytes | bytearray | memoryview):
            raise LogError(f"leaf {position} of the batch is {type(leaf).__name__}, not bytes")
        data = bytes(leaf)
        if len(data) > MAX_LEAF_BYTES:
            raise LogError(
                f"leaf {position} of the batch is {len(data)} bytes (at most {MAX_LEAF_BYTES})"
            )
        checked.append(data)
    return checked

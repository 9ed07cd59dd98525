"""The stored transparency log: durable, batched appends and O(log n) proofs.

One global RFC 9162 tree over every accepted leaf, in acceptance order.

* **Sequencing.** An append takes the write lock first (``BEGIN IMMEDIATE`` on SQLite,
  ``SELECT ... FOR UPDATE`` on the state row on PostgreSQL), reads the committed size,
  and numbers its leaves from there. Appenders in other threads or processes wait, so no
  index is given twice and none is skipped; the primary key on the index is the backstop.
* **Group commit.** A batch of leaves is one transaction: its leaves, the complete
  subtree nodes they finish, the new state and one signed checkpoint. A crash before the
  commit leaves nothing of the batch; after it, everything. The latest checkpoint always
  matches the committed size.
* **Proofs.** Nodes of complete subtrees never change, so a root or proof for any past
  size is a fold of O(log n) stored nodes, fetched in one query (:mod:`ledger.merkle`'s
  plans). The tree is never rebuilt to answer a query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger import checkpoint, merkle, store
from ledger.errors import LogError, LogIntegrityError
from ledger.tables import STATE_ROW, LogCheckpoint, LogLeaf, LogNode, LogState

MAX_LEAF_BYTES = 4 * 1024 * 1024
"""Largest leaf accepted (a record's canonical bytes are capped well below this)."""

_HASH_SIZE = 32
_leaves = LogLeaf.__table__  # type: ignore[attr-defined]
_nodes = LogNode.__table__  # type: ignore[attr-defined]
_state = LogState.__table__  # type: ignore[attr-defined]
_checkpoints = LogCheckpoint.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AppendResult:
    """What an append commits: the batch's first index, the new size, root and checkpoint."""

    first_index: int
    size: int
    root: bytes
    checkpoint: str
    """The signed checkpoint (a C2SP signed note) of ``size``."""


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""

    index: int
    size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Raise :class:`ledger.merkle.ProofError` unless the proof leads to ``root``."""
        merkle.verify_inclusion(self.leaf_hash, self.index, self.size, self.hashes, root)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hashes in lowercase hex."""
        return {
            "type": "inclusion",
            "leafIndex": self.index,
            "treeSize": self.size,
            "leafHash": self.leaf_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }

    @classmethod
    def from_dict(cls, data: object) -> InclusionProof:
        """Parse :meth:`to_dict`'s form; LogError names the field that is wrong."""
        fields = _expect_type(data, "inclusion")
        return cls(
            _uint(fields, "leafIndex"),
            _uint(fields, "treeSize"),
            _hex_hash(fields.get("leafHash"), "leafHash"),
            _hex_hashes(fields.get("hashes")),
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between the trees of ``old_size`` and ``new_size``."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        """Raise :class:`ledger.merkle.ProofError` unless the new tree extends the old."""
        merkle.verify_consistency(self.old_size, self.new_size, old_root, new_root, self.hashes)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hashes in lowercase hex."""
        return {
            "type": "consistency",
            "oldSize": self.old_size,
            "newSize": self.new_size,
            "hashes": [h.hex() for h in self.hashes],
        }

    @classmethod
    def from_dict(cls, data: object) -> ConsistencyProof:
        """Parse :meth:`to_dict`'s form; LogError names the field that is wrong."""
        fields = _expect_type(data, "consistency")
        return cls(
            _uint(fields, "oldSize"), _uint(fields, "newSize"), _hex_hashes(fields.get("hashes"))
        )


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
        self._postgres = engine.dialect.name == "postgresql"
        self._mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_leaves = _insert_sql(self._mark, "log_leaves", ("idx", "leaf_hash", "data"))
        self._insert_nodes = _insert_sql(self._mark, "log_nodes", ("level", "idx", "hash"))

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
        signs the first checkpoint, of the empty tree). Raises LogError for
        a leaf that is not bytes or is too large; nothing is written then.
        """
        if self._signer_key is None:
            raise LogError("appending needs the log's signer key")
        batch = _checked_batch(leaves)
        sha256 = hashlib.sha256
        leaf_hashes = [sha256(b"\0" + leaf).digest() for leaf in batch]  # merkle.leaf_hash
        with self._writer.begin() as connection:
            size, frontier = self._lock_state(connection)
            if not batch and self._has_checkpoint(connection, size):
                root = merkle.root_from_frontier(frontier)
                return AppendResult(size, size, root, self._checkpoint_at(connection, size))
            nodes, new_frontier = merkle.extend(frontier, size, leaf_hashes)
            new_size = size + len(batch)
            new_root = merkle.root_from_frontier(new_frontier)
            if not batch:  # a new log: its first checkpoint, of the empty tree
                note = self._sign(new_size, new_root)
                self._insert_checkpoint(connection, new_size, new_root, note)
                return AppendResult(size, size, new_root, note)
            connection.exec_driver_sql(
                self._insert_leaves,
                list(zip(range(size, new_size), leaf_hashes, batch, strict=True)),
            )
            upper = [(level, index, digest) for (level, index), digest in nodes if level]
            if upper:
                connection.exec_driver_sql(self._insert_nodes, upper)
            connection.execute(
                _state.update()
                .where(_state.c.id == STATE_ROW)
                .values(size=new_size, root=new_root, frontier=b"".join(new_frontier))
            )
            note = self._sign(new_size, new_root)
            self._insert_checkpoint(connection, new_size, new_root, note)
        return AppendResult(size, new_size, new_root, note)

    def _sign(self, size: int, root: bytes) -> str:
        assert self._signer_key is not None  # checked by append
        return checkpoint.sign(checkpoint.Checkpoint(self.origin, size, root), self._signer_key)

    @staticmethod
    def _insert_checkpoint(connection: sa.Connection, size: int, root: bytes, note: str) -> None:
        connection.execute(
            _checkpoints.insert().values(
                size=size, root=root, note=note, created_at=datetime.now(UTC)
            )
        )

    @staticmethod
    def _has_checkpoint(connection: sa.Connection, size: int) -> bool:
        found = connection.execute(
            sa.select(_checkpoints.c.size).where(_checkpoints.c.size == size)
        ).first()
        return found is not None

    def _lock_state(self, connection: sa.Connection) -> tuple[int, list[bytes]]:
        """The committed size and frontier, with the sequencer lock held until commit."""
        query = sa.select(_state.c.size, _state.c.frontier).where(_state.c.id == STATE_ROW)
        if self._postgres:
            query = query.with_for_update()
        row = connection.execute(query).one_or_none()
        if row is None:
            raise LogIntegrityError("the log's state row is missing")
        size, packed = int(row.size), bytes(row.frontier)
        frontier = [packed[i : i + _HASH_SIZE] for i in range(0, len(packed), _HASH_SIZE)]
        if len(frontier) != len(merkle.root_plan(size)):
            raise LogIntegrityError(f"the stored right edge does not fit size {size}")
        return size, frontier

    # -- reading ---------------------------------------------------------------------

    def size(self) -> int:
        """The committed number of leaves."""
        with self.engine.connect() as connection:
            return self._committed_size(connection)

    def checkpoint(self) -> str:
        """The latest signed checkpoint (a C2SP signed note)."""
        with self.engine.connect() as connection:
            return self._checkpoint_at(connection, self._committed_size(connection))

    def checkpoint_at(self, size: int) -> str:
        """The signed checkpoint the log issued for ``size`` (one per committed batch)."""
        with self.engine.connect() as connection:
            return self._checkpoint_at(connection, size)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first ``size`` leaves (default: all)."""
        with self.engine.connect() as connection:
            size = self._check_size(connection, size)
            plan = merkle.root_plan(size)
            hashes = self._nodes(connection, plan)
            return merkle.root_from_frontier([hashes[node] for node in plan])

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """The proof that leaf ``index`` is in the tree of ``size`` leaves (default: all)."""
        with self.engine.connect() as connection:
            size = self._check_size(connection, size)
            if not 0 <= index < size:
                raise LogError(f"leaf index {index} is not in a tree of size {size}")
            plan = merkle.inclusion_plan(index, size)
            hashes = self._nodes(connection, [*(n for g in plan for n in g), (0, index)])
            return InclusionProof(
                index, size, hashes[0, index], tuple(merkle.assemble(plan, hashes))
            )

    def inclusion_proof_by_hash(self, leaf_hash: bytes, size: int | None = None) -> InclusionProof:
        """The inclusion proof of the first leaf whose RFC 9162 leaf hash is ``leaf_hash``."""
        with self.engine.connect() as connection:
            size = self._check_size(connection, size)
            index = connection.execute(
                sa.select(sa.func.min(_leaves.c.idx)).where(
                    _leaves.c.leaf_hash == leaf_hash, _leaves.c.idx < size
                )
            ).scalar()
        if index is None:
            raise LogError(f"no leaf with hash {leaf_hash.hex()} in a tree of size {size}")
        return self.inclusion_proof(int(index), size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``new_size`` leaves (default: all) extends ``old_size``."""
        with self.engine.connect() as connection:
            new_size = self._check_size(connection, new_size)
            if not 0 <= old_size <= new_size:
                raise LogError(f"old size {old_size} is not between 0 and {new_size}")
            plan = merkle.consistency_plan(old_size, new_size)
            hashes = self._nodes(connection, [n for g in plan for n in g])
            return ConsistencyProof(old_size, new_size, tuple(merkle.assemble(plan, hashes)))

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaves with index in ``[start, end)``, which must lie within the log."""
        with self.engine.connect() as connection:
            size = self._committed_size(connection)
            if not 0 <= start <= end <= size:
                raise LogError(f"range [{start}, {end}) is not within the log of size {size}")
            rows = connection.execute(
                sa.select(_leaves.c.data)
                .where(_leaves.c.idx >= start, _leaves.c.idx < end)
                .order_by(_leaves.c.idx)
            )
            return [bytes(row.data) for row in rows]

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes with index in ``[start, end)`` (for audits and mirrors)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(_leaves.c.leaf_hash)
                .where(_leaves.c.idx >= start, _leaves.c.idx < end)
                .order_by(_leaves.c.idx)
            )
            return [bytes(row.leaf_hash) for row in rows]

    def audit(self, verifier_key: str, chunk: int = 65_536) -> int:
        """Re-derive everything from the leaves and hold it against the latest checkpoint.

        Recomputes every leaf hash from its bytes, every stored node and the root, and
        checks the latest checkpoint's signature, size and root. Returns the size; raises
        LogIntegrityError naming the first thing that does not match. O(n): for audits.
        """
        try:
            latest = checkpoint.verify(self.checkpoint(), verifier_key, self.origin)
        except checkpoint.CheckpointError as exc:
            raise LogIntegrityError(f"the latest checkpoint: {exc}") from exc
        frontier: list[bytes] = []
        size = 0
        with self.engine.connect() as connection:
            if self._committed_size(connection) != latest.size:
                raise LogIntegrityError("the latest checkpoint's size is not the log's size")
            while size < latest.size:
                end = min(size + chunk, latest.size)
                rows = connection.execute(
                    sa.select(_leaves.c.idx, _leaves.c.leaf_hash, _leaves.c.data)
                    .where(_leaves.c.idx >= size, _leaves.c.idx < end)
                    .order_by(_leaves.c.idx)
                ).all()
                hashes = self._audit_leaves(rows, size, end)
                nodes, frontier = merkle.extend(frontier, size, hashes)
                self._audit_nodes(connection, nodes)
                size = end
        if merkle.root_from_frontier(frontier) != latest.root:
            raise LogIntegrityError(f"the leaves' root differs from checkpoint {latest.size}")
        return size

    @staticmethod
    def _audit_leaves(rows: Sequence[sa.Row[Any]], start: int, end: int) -> list[bytes]:
        if len(rows) != end - start:
            raise LogIntegrityError(f"leaves missing between {start} and {end}")
        hashes = []
        for expected, row in enumerate(rows, start):
            digest = merkle.leaf_hash(bytes(row.data))
            if row.idx != expected or bytes(row.leaf_hash) != digest:
                raise LogIntegrityError(f"leaf {expected} does not match its stored hash")
            hashes.append(digest)
        return hashes

    @staticmethod
    def _audit_nodes(
        connection: sa.Connection, nodes: Iterable[tuple[merkle.NodeId, bytes]]
    ) -> None:
        """Compare re-derived nodes with the stored ones: one range query per level."""
        by_level: dict[int, dict[int, bytes]] = {}
        for (level, index), digest in nodes:
            if level:
                by_level.setdefault(level, {})[index] = digest
        for level, expected in by_level.items():
            rows = connection.execute(
                sa.select(_nodes.c.idx, _nodes.c.hash).where(
                    _nodes.c.level == level,
                    _nodes.c.idx >= min(expected),
                    _nodes.c.idx <= max(expected),
                )
            )
            stored = {row.idx: bytes(row.hash) for row in rows}
            for index, digest in sorted(expected.items()):
                if stored.get(index) != digest:
                    raise LogIntegrityError(
                        f"stored node {(level, index)} does not match its leaves"
                    )

    # -- helpers ---------------------------------------------------------------------

    def _committed_size(self, connection: sa.Connection) -> int:
        size = connection.exec_driver_sql(
            f"SELECT size FROM log_state WHERE id = {STATE_ROW}"  # noqa: S608 (a constant)
        ).scalar()
        if size is None:
            raise LogIntegrityError("the log's state row is missing")
        return int(size)

    def _check_size(self, connection: sa.Connection, size: int | None) -> int:
        committed = self._committed_size(connection)
        if size is None:
            return committed
        if not 0 <= size <= committed:
            raise LogError(f"tree size {size} is beyond the log's size {committed}")
        return size

    def _checkpoint_at(self, connection: sa.Connection, size: int) -> str:
        note = connection.execute(
            sa.select(_checkpoints.c.note).where(_checkpoints.c.size == size)
        ).scalar()
        if note is None:
            raise LogError(f"the log issued no checkpoint for size {size}")
        return str(note)

    def _nodes(
        self, connection: sa.Connection, wanted: Iterable[merkle.NodeId]
    ) -> dict[merkle.NodeId, bytes]:
        """Stored hashes of ``wanted`` nodes: two indexed queries, whatever the tree size.

        Plain driver SQL: building these statements with SQLAlchemy's expression language
        costs several times the lookups themselves. Raises LogIntegrityError if a node is
        missing (one the committed size implies).
        """
        mark = self._mark
        by_level: dict[int, list[int]] = {}
        for level, index in set(wanted):
            by_level.setdefault(level, []).append(index)
        found: dict[merkle.NodeId, bytes] = {}
        leaves = by_level.pop(0, None)
        if leaves:
            rows = connection.exec_driver_sql(
                f"SELECT idx, leaf_hash FROM log_leaves "  # noqa: S608 (markers only)
                f"WHERE idx IN ({', '.join(mark for _ in leaves)})",
                tuple(leaves),
            )
            found.update(((0, index), bytes(digest)) for index, digest in rows)
        if by_level:
            # "level = L AND idx IN (...)" per level, OR-ed: primary-key lookups on both
            # engines (SQLite would scan the table for a row-value IN list).
            conditions = " OR ".join(
                f"(level = {mark} AND idx IN ({', '.join(mark for _ in indexes)}))"
                for indexes in by_level.values()
            )
            parameters = tuple(
                value for level, indexes in by_level.items() for value in (level, *indexes)
            )
            rows = connection.exec_driver_sql(
                f"SELECT level, idx, hash FROM log_nodes WHERE {conditions}",  # noqa: S608
                parameters,
            )
            found.update(((level, index), bytes(digest)) for level, index, digest in rows)
        expected = sum(len(indexes) for indexes in by_level.values()) + len(leaves or ())
        if len(found) != expected:
            raise LogIntegrityError("stored tree nodes are missing")
        return found


def _insert_sql(marker: str, table: str, columns: tuple[str, ...]) -> str:
    """A plain INSERT in the driver's parameter style, for ``executemany`` of tuples."""
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (constant names)
        f"VALUES ({', '.join(marker for _ in columns)})"
    )


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


def _expect_type(data: object, kind: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("type") != kind:
        raise LogError(f"not a {kind} proof (a JSON object with \"type\": \"{kind}\")")
    return data


def _uint(fields: dict[str, Any], name: str) -> int:
    value = fields.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogError(f"{name} must be a non-negative integer")
    return value


def _hex_hash(value: object, name: str) -> bytes:
    try:
        digest = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != _HASH_SIZE:
        raise LogError(f"{name} must be a SHA-256 hash in hex (64 characters)")
    return digest


def _hex_hashes(value: object) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise LogError("hashes must be a list of SHA-256 hashes in hex")
    return tuple(_hex_hash(item, f"hashes[{i}]") for i, item in enumerate(value))

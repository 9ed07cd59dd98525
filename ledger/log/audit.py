"""The log's audit: every stored row of the log re-derived from its leaves and checked.

A monitor with read access must be able to prove that the store is what the log signed, so
nothing the log serves may go unchecked (``docs/ledger.md`` lists every column and what
holds it):

* the leaves' hashes, every full tile, the right edge and the state row's root and size;
  no tile beyond the tree, no second state row;
* the leaf index, row by row: one ``(epoch, prefix, index)`` per leaf, of the leaf's hash
  (a wrong row makes lookups by hash miss the leaf);
* every stored checkpoint, not only the latest: signed with the log's key for its origin,
  its row's size and root those of its note, its root the tree's at its size, and each
  naming the checkpoint before it (:data:`ledger.log.checkpoint.PREVIOUS`), so that a deleted
  one is missed (ADR 0015). Checkpoints signed before the link existed may only come
  before every linked one.

One pass over the leaves, a chunk at a time; the roots at checkpoint sizes come from the
nodes the rebuild computes (no stored node is trusted for them).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ledger.errors import LogIntegrityError
from ledger.log import checkpoint, merkle, tiles
from ledger.log.tile_store import INDEX_EPOCH_BITS, State, TileStore, prefixes


@dataclass
class _Chain:
    """The checkpoints checked so far: the last one's size, and whether one named its
    predecessor (after that, every checkpoint must)."""

    last: int | None = None
    linked: bool = False


def audit_log(
    store: TileStore,
    connection: sa.Connection,
    origin: str,
    verifier_key: str,
    chunk: int,
) -> int:
    """Audit the log on ``connection`` (see the module doc); its size, or LogIntegrityError
    naming the first row that does not match."""
    state = store.read_state(connection)
    _audit_latest(store, connection, origin, verifier_key, state.size)
    chain = _Chain()
    first = store.checkpoints(connection, -1, 0)
    _audit_checkpoints(first, origin, verifier_key, chain, {0: merkle.EMPTY_ROOT})
    rebuilt = State(0, [], [])
    epoch_prefixes: list[int] = []
    while rebuilt.size < state.size:
        start = rebuilt.size
        end = min(start + chunk, state.size)
        leaves = store.leaves(connection, state, start, end)
        hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
        stored = store.checkpoints(connection, start, end)
        inside = [size for size, _, _ in stored if size < end]
        planned = store.plan_batch(rebuilt, leaves, hashes, keep_nodes=bool(inside))
        _audit_tiles(store, connection, planned.tiles)
        roots = _roots(rebuilt, planned.nodes, inside)
        rebuilt = planned.state
        if end == state.size:  # a leaf in a partial tile is named before any root
            _audit_edges(rebuilt, state)
        roots[end] = rebuilt.root()
        _audit_checkpoints(stored, origin, verifier_key, chain, roots)
        epoch_prefixes += prefixes(b"".join(hashes))
        epoch_prefixes = _audit_index(store, connection, epoch_prefixes, end, state.size)
    _audit_edges(rebuilt, state)  # again for the empty log
    _audit_counts(store, connection, state.size, rebuilt.root())
    return state.size


def _roots(
    before: State, nodes: list[tuple[merkle.NodeId, bytes]], sizes: list[int]
) -> dict[int, bytes]:
    """The roots of the trees of ``sizes`` (within a chunk, before its end), from the state
    ``before`` the chunk and every node the chunk completed: each root's subtrees are
    either among those or, wholly before the chunk, in its frontier."""
    if not sizes:
        return {}
    known = dict(zip(merkle.root_plan(before.size), before.frontier, strict=True))
    known.update(nodes)
    return {
        size: merkle.root_from_frontier([known[node] for node in merkle.root_plan(size)])
        for size in sizes
    }


def _audit_latest(
    store: TileStore, connection: sa.Connection, origin: str, verifier_key: str, size: int
) -> None:
    """The checkpoint of the committed size exists and verifies (checked first: it is what
    a monitor compares with the checkpoints it kept), and none is of a larger tree."""
    latest = store.checkpoints(connection, size - 1, size)
    if not latest:
        raise LogIntegrityError(f"the log issued no checkpoint for size {size}")
    try:
        checkpoint.verify(latest[0][2], verifier_key, origin)
    except checkpoint.CheckpointError as exc:
        raise LogIntegrityError(f"the latest checkpoint: {exc}") from exc
    beyond = store.count_checkpoints_beyond(connection, size)
    if beyond:
        raise LogIntegrityError(f"{beyond} stored checkpoints are of trees beyond the log's size")


def _audit_checkpoints(
    stored: list[tuple[int, bytes, str]],
    origin: str,
    verifier_key: str,
    chain: _Chain,
    roots: dict[int, bytes],
) -> None:
    """Check ``stored`` checkpoints (by size; the trees' roots are ``roots``, by size), in
    order, continuing ``chain``."""
    for size, stored_root, note in stored:
        try:
            head = checkpoint.verify(note, verifier_key, origin)
            previous = checkpoint.previous_size(head)
        except checkpoint.CheckpointError as exc:
            raise LogIntegrityError(f"checkpoint {size}: {exc}") from exc
        if head.size != size:
            raise LogIntegrityError(
                f"the log's checkpoint for size {size} is one of size {head.size}"
            )
        if stored_root != head.root:
            raise LogIntegrityError(f"checkpoint {size}: its stored root is not its note's")
        if head.root != roots[size]:
            raise LogIntegrityError(f"checkpoint {size}: its root is not the leaves' root")
        if previous is None:
            if chain.linked:
                raise LogIntegrityError(
                    f"checkpoint {size} names no checkpoint before it, as every checkpoint "
                    "after the log's first must"
                )
        elif previous != chain.last:
            raise LogIntegrityError(
                f"checkpoint {previous}, which checkpoint {size} names as the one before it, "
                "is missing from the store"
                if chain.last is None or previous > chain.last
                else f"checkpoint {chain.last} is not one the log issued between checkpoint "
                f"{previous} and checkpoint {size}"
            )
        chain.last, chain.linked = size, chain.linked or previous is not None


def _audit_index(
    store: TileStore,
    connection: sa.Connection,
    pending: list[int],
    end: int,
    size: int,
) -> list[int]:
    """Check every epoch of the leaf index that the leaves up to ``end`` complete;
    ``pending`` holds the leaf-hash prefixes from the first leaf of the earliest unchecked
    epoch. Returns the prefixes still pending."""
    width = 1 << INDEX_EPOCH_BITS
    first = end - len(pending)
    while pending and (len(pending) >= width or end == size):
        epoch = first >> INDEX_EPOCH_BITS
        expected = list(enumerate(pending[:width], first))
        stored = store.index_epoch(connection, epoch)
        if stored != expected:
            wrong = next((e[0] for e, s in zip(expected, stored, strict=False) if e != s), None)
            if wrong is None:  # one list is the other's start
                wrong = (expected if len(expected) > len(stored) else stored)[
                    min(len(expected), len(stored))
                ][0]
            raise LogIntegrityError(
                f"the leaf index row of leaf {wrong} does not match its leaf hash "
                "(lookups by hash would miss it)"
            )
        pending = pending[width:]
        first += width
    return pending


def _audit_tiles(
    store: TileStore, connection: sa.Connection, expected: list[tuple[int, int, bytes]]
) -> None:
    """The full tiles a chunk of leaves completes are stored exactly."""
    by_level: dict[int, dict[int, bytes]] = {}
    for level, index, blob in expected:
        by_level.setdefault(level, {})[index] = blob
    for level, wanted in sorted(by_level.items()):
        stored = store.tile_range(connection, level, min(wanted), max(wanted) + 1)
        for index, blob in sorted(wanted.items()):
            if stored.get(index) == blob:
                continue
            if level == 0 and index in stored:
                leaf = _first_difference(stored[index], blob) + index * tiles.TILE_WIDTH
                raise LogIntegrityError(f"leaf {leaf} does not match its stored hash")
            raise LogIntegrityError(f"stored tile {(level, index)} does not match its leaves")


def _audit_edges(rebuilt: State, stored: State) -> None:
    if rebuilt.edges[:1] != stored.edges[:1]:
        position = _first_difference(stored.edges[0], rebuilt.edges[0])
        leaf = stored.size - stored.size % tiles.TILE_WIDTH + position
        raise LogIntegrityError(f"leaf {leaf} does not match its stored hash")
    if rebuilt.frontier != stored.frontier or rebuilt.edges != stored.edges:
        raise LogIntegrityError("the stored right edge does not match the leaves")


def _audit_counts(store: TileStore, connection: sa.Connection, size: int, root: bytes) -> None:
    """One state row, of the leaves' root; as many leaves, index rows and full tiles as the
    tree has (each of those was checked: a count above is a row beyond the tree)."""
    state_rows = store.state_rows(connection)
    if len(state_rows) != 1:
        raise LogIntegrityError(f"the log has {len(state_rows)} state rows, not one")
    if state_rows[0][1] != root:
        raise LogIntegrityError("the stored root of the log's state is not the leaves' root")
    if store.count_index_rows(connection) != size:
        raise LogIntegrityError("the leaf index does not have one row per leaf")
    stored = store.count_leaf_rows(connection)
    if stored != size:
        raise LogIntegrityError(f"{stored} leaves are stored for a tree of {size}")
    full = sum(count // tiles.TILE_WIDTH for count in _level_counts(size))
    stored_tiles = store.count_tile_rows(connection)
    if stored_tiles != full:
        raise LogIntegrityError(f"{stored_tiles} hash tiles are stored for a tree of {full}")


def _level_counts(size: int) -> list[int]:
    """Complete nodes at each tile level's base (levels 0, 4, 8...) of a tree of ``size``."""
    counts = []
    while size:
        counts.append(size)
        size >>= tiles.TILE_HEIGHT
    return counts


def _first_difference(stored: bytes, expected: bytes) -> int:
    """The position of the first hash that differs between two tiles."""
    size = merkle.HASH_SIZE
    for position in range(0, min(len(stored), len(expected)), size):
        if stored[position : position + size] != expected[position : position + size]:
            return position // size
    return min(len(stored), len(expected)) // size

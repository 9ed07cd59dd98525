"""Reading and writing the tiled layout (:mod:`ledger.log.tiles`) in SQL, on one connection.

Hot paths use plain driver SQL (``exec_driver_sql``, tuples, ``executemany``): building
statements with SQLAlchemy's expression language costs more here than the database work.
Every function takes the caller's connection, so the caller decides the transaction.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from ledger.errors import LogIntegrityError
from ledger.log import merkle, tiles
from ledger.log.merkle import HASH_SIZE, NodeId
from ledger.log.tiles import TILE_HEIGHT, TILE_WIDTH, TileId
from ledger.storage.driver import Driver
from ledger.storage.rows import Rows, fetch_binary

_TILE_BYTES = TILE_WIDTH * HASH_SIZE
INDEX_EPOCH_BITS = 16
"""Leaves ``[e << 16, (e + 1) << 16)`` share epoch ``e`` in the leaf index."""
_EPOCHS_PER_QUERY = 1000


@dataclass
class State:
    """The committed size and right edge, as read from (or about to be written to) the
    state row."""

    size: int
    frontier: list[bytes]
    edges: list[bytes]
    """Partial tile per tile level: the hashes that do not fill a tile yet."""

    def root(self) -> bytes:
        return merkle.root_from_frontier(self.frontier)


@dataclass
class Batch:
    """What one append writes, computed from the state and the new leaves: the tiles it
    fills, and the leaves (with their hashes, for the leaf index) from index ``first``."""

    state: State
    tiles: list[tuple[int, int, bytes]]
    first: int
    leaves: list[bytes]
    joined_hashes: bytes
    nodes: list[tuple[NodeId, bytes]]
    """Every node the append completed, leaves included, when asked for (for proofs)."""


_TILES = Rows("log_tiles", (("level", "smallint"), ("idx", "bigint"), ("hashes", "bytea")))
_LEAVES = Rows("log_leaves", (("idx", "bigint"), ("data", "bytea")))
_LEAF_INDEX = Rows("log_leaf_index", (("epoch", "bigint"), ("prefix", "bigint"), ("idx", "bigint")))


class TileStore:
    """The log's SQL on one engine, in its driver's parameter style; reading the state row
    with the sequencer's lock is the driver's way (:meth:`Driver.locked`)."""

    def __init__(self, driver: Driver) -> None:
        self._sql = driver.sql
        """``statement`` written with ``?`` markers, in the driver's parameter style."""
        self._read_state = "SELECT size, frontier, edges FROM log_state WHERE id = 1"
        self._lock_state = driver.locked(self._read_state)

    # -- state -----------------------------------------------------------------------

    def read_state(self, connection: sa.Connection, *, lock: bool = False) -> State:
        """The state row; with ``lock``, held until the transaction ends (the sequencer)."""
        row = connection.exec_driver_sql(
            self._lock_state if lock else self._read_state
        ).one_or_none()
        if row is None:
            raise LogIntegrityError("the log's state row is missing")
        size, packed, edges = int(row[0]), bytes(row[1]), bytes(row[2])
        frontier = [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]
        try:
            state = State(size, frontier, tiles.decode_edges(edges))
        except ValueError as exc:
            raise LogIntegrityError(f"the stored right edge is malformed: {exc}") from None
        if len(frontier) != size.bit_count() or [
            len(e) // HASH_SIZE for e in state.edges
        ] != tiles.edge_lengths(size):
            raise LogIntegrityError(f"the stored right edge does not fit size {size}")
        return state

    # -- appending -------------------------------------------------------------------

    def plan_batch(
        self,
        state: State,
        leaves: list[bytes],
        hashes: list[bytes],
        *,
        keep_nodes: bool = False,
    ) -> Batch:
        """Everything appending ``leaves`` (with their leaf ``hashes``) writes; with
        ``keep_nodes``, also every node completed (what the batch's proofs are made of)."""
        size = state.size
        every = 1 if keep_nodes else TILE_HEIGHT
        nodes, frontier = merkle.extend(state.frontier, size, hashes, every=every)
        edges = list(state.edges)
        full_tiles: list[tuple[int, int, bytes]] = []
        joined = b"".join(hashes)
        _grow(edges, 0, size, joined, full_tiles)
        upper: dict[int, list[bytes]] = {}
        for (level, _index), digest in nodes:
            if level and not level % TILE_HEIGHT:
                upper.setdefault(level // TILE_HEIGHT, []).append(digest)
        for tile_level in sorted(upper):
            before = size >> (TILE_HEIGHT * tile_level)
            _grow(edges, tile_level, before, b"".join(upper[tile_level]), full_tiles)

        return Batch(
            State(size + len(leaves), frontier, edges),
            full_tiles,
            size,
            leaves,
            joined,
            nodes if keep_nodes else [],
        )

    def write_batch(self, connection: sa.Connection, batch: Batch) -> None:
        """Insert the batch's rows and the new state (inside the caller's transaction)."""
        execute = connection.exec_driver_sql
        _TILES.insert(connection, batch.tiles)
        positions = range(batch.first, batch.state.size)
        _LEAVES.insert(connection, list(zip(positions, batch.leaves, strict=True)))
        _LEAF_INDEX.insert(
            connection,
            [
                (position >> INDEX_EPOCH_BITS, prefix, position)
                for prefix, position in zip(prefixes(batch.joined_hashes), positions, strict=True)
            ],
        )
        state = batch.state
        execute(
            self._sql(
                "UPDATE log_state SET size = ?, root = ?, frontier = ?, edges = ? WHERE id = 1"
            ),
            (state.size, state.root(), b"".join(state.frontier), tiles.encode_edges(state.edges)),
        )

    # -- reading ---------------------------------------------------------------------

    def nodes(
        self, connection: sa.Connection, state: State, wanted: Iterable[NodeId]
    ) -> dict[NodeId, bytes]:
        """Hashes of complete nodes of the committed tree: one query for their full tiles."""
        spans = {node: tiles.tile_span(node) for node in set(wanted)}
        blobs = self.tiles(connection, state, {tile for tile, _, _ in spans.values()})
        trees = {tile: tiles.tile_tree(blob) for tile, blob in blobs.items()}
        found = {}
        for node, (tile, offset, count) in spans.items():
            layer = trees[tile][count.bit_length() - 1]
            position = offset // count
            if position >= len(layer):
                raise LogIntegrityError(f"stored hash tile {tile} is missing node {node}")
            found[node] = layer[position]
        return found

    def tiles(
        self, connection: sa.Connection, state: State, wanted: Iterable[TileId]
    ) -> dict[TileId, bytes]:
        """Tile contents: full tiles from ``log_tiles``, the partial ones from the state."""
        found: dict[TileId, bytes] = {}
        full: dict[int, list[int]] = {}
        for tile_level, index in wanted:
            complete = state.size >> (TILE_HEIGHT * tile_level)  # nodes at level TILE_HEIGHT * L
            if (index + 1) * TILE_WIDTH <= complete:
                full.setdefault(tile_level, []).append(index)
            elif index == complete // TILE_WIDTH and tile_level < len(state.edges):
                found[tile_level, index] = state.edges[tile_level]
            else:
                raise LogIntegrityError(f"tile {(tile_level, index)} is beyond the tree")
        if full:
            # "level = L AND idx IN (...)" per level, OR-ed: primary-key lookups on both
            # engines (SQLite would scan the table for a row-value IN list).
            conditions = " OR ".join(
                "(level = ? AND idx IN (" + ", ".join("?" * len(indexes)) + "))"
                for indexes in full.values()
            )
            parameters = tuple(v for level, ids in full.items() for v in (level, *ids))
            rows = connection.exec_driver_sql(
                # Only markers are joined in: the values travel as parameters.
                self._sql("SELECT level, idx, hashes FROM log_tiles WHERE " + conditions),  # noqa: S608
                parameters,
            )
            for level, index, blob in rows:
                if len(blob) != _TILE_BYTES:
                    raise LogIntegrityError(f"stored tile {(level, index)} is not full")
                found[level, index] = bytes(blob)
            for level, indexes in full.items():
                for index in indexes:
                    if (level, index) not in found:
                        raise LogIntegrityError(f"stored tile {(level, index)} is missing")
        return found

    def tile_range(
        self, connection: sa.Connection, tile_level: int, start: int, end: int
    ) -> dict[int, bytes]:
        """Full tiles ``[start, end)`` of one tile level (for audits)."""
        rows = connection.exec_driver_sql(
            self._sql("SELECT idx, hashes FROM log_tiles WHERE level = ? AND idx >= ? AND idx < ?"),
            (tile_level, start, end),
        )
        return {int(index): bytes(blob) for index, blob in rows}

    def leaves(self, connection: sa.Connection, state: State, start: int, end: int) -> list[bytes]:
        """Leaves ``[start, end)`` of the committed log (``end`` at most its size)."""
        if start >= end:
            return []
        if end > state.size:
            raise LogIntegrityError(f"leaves up to {end} asked of a log of {state.size}")
        rows = fetch_binary(
            connection,
            self._sql("SELECT idx, data FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx"),
            (start, end),
        )
        if len(rows) != end - start or [int(row[0]) for row in rows] != list(range(start, end)):
            found = {int(row[0]) for row in rows}
            missing = next(i for i in range(start, end) if i not in found)
            raise LogIntegrityError(f"leaf {missing} is missing")
        return [bytes(row[1]) for row in rows]

    def candidates(self, connection: sa.Connection, leaf_hash: bytes, size: int) -> list[int]:
        """Indexes below ``size`` whose leaf hash starts like ``leaf_hash``, in order: one
        index seek per epoch, in chunks that stay within every driver's parameter limit."""
        epochs = list(range(((size - 1) >> INDEX_EPOCH_BITS) + 1)) if size else []
        found: list[int] = []
        for start in range(0, len(epochs), _EPOCHS_PER_QUERY):
            chunk = epochs[start : start + _EPOCHS_PER_QUERY]
            statement = (  # only markers are joined in: the values travel as parameters
                "SELECT idx FROM log_leaf_index WHERE prefix = ? AND idx < ? AND epoch IN ("  # noqa: S608
                + ", ".join("?" * len(chunk))
                + ")"
            )
            rows = connection.exec_driver_sql(
                self._sql(statement),
                (prefix_of(leaf_hash), size, *chunk),
            )
            found += (int(row[0]) for row in rows)
        return sorted(found)

    def index_epoch(self, connection: sa.Connection, epoch: int) -> list[tuple[int, int]]:
        """The leaf index's ``(idx, prefix)`` rows of one epoch, by index (for audits)."""
        return fetch_binary(
            connection,
            self._sql("SELECT idx, prefix FROM log_leaf_index WHERE epoch = ? ORDER BY idx"),
            (epoch,),
        )

    def checkpoints(
        self, connection: sa.Connection, above: int, up_to: int
    ) -> list[tuple[int, bytes, str]]:
        """Stored checkpoints ``(size, root, note)`` with ``above < size <= up_to``, by size."""
        rows = fetch_binary(
            connection,
            self._sql(
                "SELECT size, root, note FROM log_checkpoints WHERE size > ? AND size <= ? "
                "ORDER BY size"
            ),
            (above, up_to),
        )
        return [(int(size), bytes(root), str(note)) for size, root, note in rows]

    def count_checkpoints_beyond(self, connection: sa.Connection, size: int) -> int:
        """Stored checkpoints of trees larger than ``size`` (the log's)."""
        return int(
            connection.exec_driver_sql(
                self._sql("SELECT COUNT(*) FROM log_checkpoints WHERE size > ?"), (size,)
            ).scalar_one()
        )

    def state_rows(self, connection: sa.Connection) -> list[tuple[int, bytes]]:
        """Every row of ``log_state`` as ``(id, root)`` (there must be exactly one)."""
        rows = connection.exec_driver_sql("SELECT id, root FROM log_state ORDER BY id")
        return [(int(row_id), bytes(root)) for row_id, root in rows]

    def count_tile_rows(self, connection: sa.Connection) -> int:
        """Stored full tiles, of every level."""
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM log_tiles").scalar_one())

    def count_index_rows(self, connection: sa.Connection) -> int:
        """Rows of the leaf index (one per leaf)."""
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM log_leaf_index").scalar_one())

    def count_leaf_rows(self, connection: sa.Connection) -> int:
        """Stored leaves (one per leaf of the tree)."""
        return int(connection.exec_driver_sql("SELECT COUNT(*) FROM log_leaves").scalar_one())


def _grow(
    edges: list[bytes],
    tile_level: int,
    complete_before: int,
    new_hashes: bytes,
    full_tiles: list[tuple[int, int, bytes]],
) -> None:
    """Add the new complete nodes of level ``8 * tile_level`` to its partial tile; move
    every tile they fill to ``full_tiles`` as ``(level, index, hashes)``."""
    while len(edges) <= tile_level:
        edges.append(b"")
    data = edges[tile_level] + new_hashes
    first_tile = complete_before // TILE_WIDTH
    filled = len(data) // _TILE_BYTES
    full_tiles += [
        (tile_level, first_tile + n, data[n * _TILE_BYTES : (n + 1) * _TILE_BYTES])
        for n in range(filled)
    ]
    edges[tile_level] = data[filled * _TILE_BYTES :]


def prefix_of(leaf_hash: bytes) -> int:
    """The leaf index's key for a leaf hash: its first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(leaf_hash[:8], "big", signed=True)


def prefixes(joined_hashes: bytes) -> list[int]:
    """:func:`prefix_of` of every hash in a concatenation of hashes, at C speed."""
    words = array("q", joined_hashes)  # 4 native 8-byte words per hash
    if sys.byteorder == "little":
        words.byteswap()
    return words[:: HASH_SIZE // 8].tolist()

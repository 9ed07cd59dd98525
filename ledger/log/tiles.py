"""The log's hash tiles, after C2SP ``tlog-tiles``.

Storing one row per tree node made SQLite's per-row cost the whole price of an append.
Like Tessera and the C2SP tiled logs, the log instead stores **hash tiles**: tile
``(L, i)`` holds the 16 consecutive node hashes of tree level ``4 * L`` with indexes
``16 * i`` to ``16 * i + 15`` (level 0: the leaf hashes). A node at level ``4 * L + r`` is
the subtree root of ``2**r`` consecutive hashes of one tile, so any node, hence any root or
proof of any past size, comes from O(log n / 4) tiles and at most 15 hashes per tile.
(C2SP serves tiles of height 8 over HTTP, where requests are the cost; in a database,
height 4 keeps a proof's hashing small and rows few.)

Only full tiles are stored as rows, never changed again. The right edge (the hashes of a
tile level that do not yet fill a tile) travels in the log's state row. Leaves are stored
a row each (ADR 0010); a C2SP entry bundle (256 leaves) is a range of them.

This module is the pure part: coordinates, encodings, folding. No storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.log.merkle import HASH_SIZE, NodeId

TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes per full tile."""

TileId = tuple[int, int]
"""``(tile level L, tile index i)``: node level ``4 * L``, node indexes from ``16 * i``."""

_sha256 = hashlib.sha256


def tile_span(node: NodeId) -> tuple[TileId, int, int]:
    """Where ``node``'s hash comes from: its tile, the first offset in it and how many
    consecutive hashes of the tile its subtree covers (a power of two below the width)."""
    level, index = node
    tile_level, rise = divmod(level, TILE_HEIGHT)
    first = index << rise
    return (tile_level, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << rise


def tile_tree(hashes: bytes) -> list[list[bytes]]:
    """Every complete subtree root within a tile: layer ``r`` holds the roots of the
    aligned runs of ``2**r`` hashes (a partial tile has shorter layers). Proofs for many
    leaves ask for many nodes of the same tiles: each tile is folded once."""
    layer = [hashes[start : start + HASH_SIZE] for start in range(0, len(hashes), HASH_SIZE)]
    layers = [layer]
    sha = _sha256
    for _ in range(TILE_HEIGHT):
        layer = [
            sha(b"\x01" + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer) - 1, 2)
        ]
        layers.append(layer)
    return layers


def encode_edges(edges: Sequence[bytes]) -> bytes:
    """The partial tiles of the right edge (one per tile level, lowest first, each fewer
    than :data:`TILE_WIDTH` hashes) as one blob: per level a 1-byte count, then the hashes."""
    parts: list[bytes] = []
    for edge in edges:
        count = len(edge) // HASH_SIZE
        if count >= TILE_WIDTH or len(edge) % HASH_SIZE:
            raise ValueError("a partial tile holds fewer than TILE_WIDTH whole hashes")
        parts += (bytes([count]), edge)
    return b"".join(parts)


def decode_edges(blob: bytes) -> list[bytes]:
    """Inverse of :func:`encode_edges`; ValueError if the blob is malformed."""
    edges = []
    position = 0
    while position < len(blob):
        count = blob[position]
        end = position + 1 + count * HASH_SIZE
        if end > len(blob):
            raise ValueError("partial tiles are truncated")
        edges.append(blob[position + 1 : end])
        position = end
    return edges


def edge_lengths(size: int) -> list[int]:
    """How many hashes each tile level's partial tile holds in a tree of ``size`` leaves:
    level ``4 * L`` has ``size >> 4 * L`` complete nodes, of which the last
    ``(size >> 4 * L) % 16`` have no full tile yet."""
    lengths = []
    count = size
    while count:
        lengths.append(count % TILE_WIDTH)
        count >>= TILE_HEIGHT
    return lengths

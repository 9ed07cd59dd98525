"""RFC 9162 Merkle tree hashing, proofs and proof verification (SHA-256).

Why this module exists: the ledger publishes a Certificate-Transparency-style log, so anyone
holding a signed tree head can check that a record is in the log (inclusion proof) and that
the log only ever grew (consistency proof) with any RFC 9162 client, not just ours. Everything
here is pure: bytes in, bytes out, no storage.

Two layers:

* List-based functions (:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`) take
  every leaf hash. They are the reference the storage layer is tested against, and are handy
  for small trees and tests.
* Plans (:func:`root_plan`, :func:`inclusion_plan`, :func:`consistency_plan`) name the complete,
  aligned subtrees (:data:`NodeId`) a proof is built from, so the durable log can fetch
  O(log n) stored nodes in one query and :func:`assemble` the proof without rebuilding the
  tree. :func:`extend` computes the nodes to store when leaves are appended.

The tree is the RFC's: for n leaves, split at k, the largest power of two smaller than n. Its
nodes are exactly the complete aligned subtrees plus, on the ragged right edge, nodes whose
hash is the fold (right to left) of the complete subtrees covering their range; a range that
has no right part is its left part promoted unchanged. Proofs are listed leaf to root.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 and raise :class:`ProofError`
(never return False), so a forgotten check cannot pass silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "NodeId",
    "ProofError",
    "assemble",
    "consistency_plan",
    "consistency_proof",
    "extend",
    "fold",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_frontier",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in a SHA-256 hash; every leaf hash, node hash and root has this size."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string (RFC 9162 2.1.1)."""

NodeId = tuple[int, int]
"""``(level, index)``: the complete, aligned subtree of ``2**level`` leaves
``[index << level, (index + 1) << level)``. Level 0 nodes are leaf hashes."""

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


# --- list-based functions -------------------------------------------------------------------


def _range_hash(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that starts on a multiple of a power of two >= its length.

    Every range the RFC recursion produces is like that. Iterative, no slicing: a stack holds
    the complete subtrees seen so far (largest first), merged as soon as two have equal size.
    """
    if start >= end:
        return EMPTY_ROOT
    sha = _sha256
    stack: list[bytes] = []
    for offset in range(end - start):
        h = leaves[start + offset]
        count = offset + 1
        while not count & 1:
            h = sha(b"\x01" + stack.pop() + h).digest()
            count >>= 1
        stack.append(h)
    h = stack.pop()
    while stack:
        h = sha(b"\x01" + stack.pop() + h).digest()
    return h


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1): the RFC's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


def _path_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes make PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf to root."""
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _largest_power_below(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
    ranges.reverse()
    return ranges


def _subproof_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes make PROOF(old, D[new]) (RFC 9162 2.1.4.1), leaf to root.

    Empty when ``old_size`` is 0 or equal to ``new_size``: nothing to prove.
    """
    ranges: list[tuple[int, int]] = []
    if old_size in (0, new_size):
        return ranges
    start, end, m, known = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not known:
                ranges.append((start, end))
            break
        k = _largest_power_below(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            known = False
    ranges.reverse()
    return ranges


def _check_sizes(old_size: int, new_size: int) -> None:
    if old_size < 0 or new_size < 0:
        raise ValueError(f"tree sizes must be >= 0, got {old_size} and {new_size}")
    if old_size > new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")


def _check_index(index: int, size: int) -> None:
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is out of range for a tree of {size} leaves")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of all ``leaf_hashes``; SHA-256(b"") for an empty tree."""
    return _range_hash(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The RFC 9162 inclusion proof (audit path) for leaf ``index``, leaf to root."""
    _check_index(index, len(leaf_hashes))
    return [_range_hash(leaf_hashes, a, b) for a, b in _path_ranges(index, len(leaf_hashes))]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the first ``old_size`` leaves to all of them."""
    _check_sizes(old_size, len(leaf_hashes))
    return [_range_hash(leaf_hashes, a, b) for a, b in _subproof_ranges(old_size, len(leaf_hashes))]


# --- plans over stored complete subtrees ----------------------------------------------------


def _range_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees covering ``[start, end)``, largest (leftmost) first.

    ``start`` must be a multiple of a power of two >= ``end - start``, true of every RFC range.
    """
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def root_plan(size: int) -> list[NodeId]:
    """The complete subtrees whose right-to-left fold is the root of ``size`` leaves.

    The binary decomposition of ``size``, largest first; ``[]`` for 0 (root SHA-256(b"")).
    """
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return _range_nodes(0, size)


def inclusion_plan(index: int, size: int) -> list[list[NodeId]]:
    """The nodes of each inclusion proof element, leaf to root.

    At each level the sibling of the leaf's ancestor is either complete (one node), ragged
    (the complete nodes of its truncated range) or beyond the tree (the ancestor is promoted
    and contributes no element).
    """
    _check_index(index, size)
    groups: list[list[NodeId]] = []
    append = groups.append
    for level in range((size - 1).bit_length()):
        sibling = (index >> level) ^ 1
        start = sibling << level
        if start + (1 << level) <= size:
            append([(level, sibling)])  # complete: the common case, kept cheap
        elif start < size:
            append(_range_nodes(start, size))
    return groups


def consistency_plan(old_size: int, new_size: int) -> list[list[NodeId]]:
    """The nodes of each consistency proof element, leaf to root."""
    _check_sizes(old_size, new_size)
    return [_range_nodes(a, b) for a, b in _subproof_ranges(old_size, new_size)]


def fold(group: Sequence[bytes]) -> bytes:
    """``node_hash(g0, node_hash(g1, ... g_last))``; a single hash is returned unchanged."""
    if not group:
        raise ValueError("cannot fold an empty group of hashes")
    h = group[-1]
    for i in range(len(group) - 2, -1, -1):
        h = _sha256(_NODE_PREFIX + group[i] + h).digest()
    return h


def assemble(plan: Sequence[Sequence[NodeId]], hashes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The proof for ``plan`` from stored node hashes; KeyError if one is missing."""
    return [
        hashes[group[0]] if len(group) == 1 else fold([hashes[node] for node in group])
        for group in plan
    ]


def extend(
    frontier: Sequence[bytes],
    size: int,
    new_leaf_hashes: Sequence[bytes],
    *,
    every: int = 1,
) -> tuple[list[tuple[NodeId, bytes]], list[bytes]]:
    """Append leaves to a tree known only by its frontier (the hashes of ``root_plan(size)``).

    Returns the nodes completed by the append as ``((level, index), hash)``, level by
    level and in index order within a level, and the new frontier. By default that is
    every node, leaves included; with ``every=k > 1`` only levels k, 2k, 3k... (a tiled
    store keeps levels 0, k, 2k... and has the leaves already): the others are computed
    but not collected.

    Works a level at a time (pair up the new nodes of a level, with the frontier's node
    of that level in front when the level's first new index is odd): one list
    comprehension per level instead of a Python loop per leaf, which is what appends
    spend their time on.
    """
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    if len(frontier) != size.bit_count():
        raise ValueError(
            f"a tree of {size} leaves has a frontier of {size.bit_count()} hashes, "
            f"got {len(frontier)}"
        )
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    # The frontier's node of each level: the levels are the set bits of size, high to low.
    old_edge = dict(
        zip(
            [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1],
            frontier,
            strict=True,
        )
    )
    new_size = size + len(new_leaf_hashes)
    sha = _sha256
    nodes: list[tuple[NodeId, bytes]] = []
    new_edge: dict[int, bytes] = {}
    layer = list(new_leaf_hashes)
    level = 0
    while layer:
        first = size >> level  # index of layer[0] at this level
        if not level % every and (level or every == 1):
            nodes += zip(((level, i) for i in range(first, first + len(layer))), layer, strict=True)
        if new_size >> level & 1:
            new_edge[level] = layer[-1]
        if first & 1:
            layer.insert(0, old_edge[level])
        layer = [
            sha(b"\x01" + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer) - 1, 2)
        ]
        level += 1
    edges = old_edge | new_edge
    return nodes, [edges[b] for b in range(new_size.bit_length() - 1, -1, -1) if new_size >> b & 1]


def appended_inclusion_proofs(
    frontier: Sequence[bytes], size: int, nodes: Sequence[tuple[NodeId, bytes]], new_size: int
) -> list[list[bytes]]:
    """Inclusion proofs of the leaves ``size .. new_size - 1`` in the tree of ``new_size``,
    from the old ``frontier`` and the ``nodes`` :func:`extend` returned (``every=1``).

    Needs no stored node: every sibling on such a leaf's path is either a node the append
    completed or, wholly left of ``size``, a node of the old frontier (a complete node
    before ``size`` whose parent straddles ``size`` is one of the frontier's). So a batch's
    receipts cost a dictionary lookup per proof element instead of a tile query.
    """
    known: dict[NodeId, bytes] = dict(zip(root_plan(size), frontier, strict=True))
    known.update(nodes)
    # Leaves of one batch share most of their paths: each level's element is computed once
    # per ancestor (as inclusion_plan defines it), then each proof picks its ancestors'.
    tables: list[tuple[int, list[bytes | None]]] = []
    for level in range((new_size - 1).bit_length()):
        first = size >> level
        row: list[bytes | None] = []
        for ancestor in range(first, ((new_size - 1) >> level) + 1):
            start = (ancestor ^ 1) << level
            if start + (1 << level) <= new_size:
                row.append(known[level, ancestor ^ 1])  # complete sibling
            elif start < new_size:
                row.append(fold([known[node] for node in _range_nodes(start, new_size)]))
            else:
                row.append(None)  # beyond the tree: the ancestor is promoted
        tables.append((first, row))
    return [
        [
            element
            for level, (first, row) in enumerate(tables)
            if (element := row[(index >> level) - first]) is not None
        ]
        for index in range(size, new_size)
    ]


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """The tree root from its frontier; SHA-256(b"") for an empty frontier."""
    return fold(frontier) if frontier else EMPTY_ROOT


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------


def _check_hash(what: str, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise ProofError(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, element in enumerate(proof):
        _check_hash(f"proof element {i}", element)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the ``size``-leaf tree with ``root``.

    Raises :class:`ProofError` saying what is wrong; returns None when the proof holds.
    """
    if size < 0:
        raise ProofError(f"tree size must be >= 0, got {size}")
    if index < 0:
        raise ProofError(f"leaf index must be >= 0, got {index}")
    if index >= size:
        raise ProofError(f"leaf index {index} is out of range for a tree of {size} leaves")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof_hashes(proof)
    expected = len(inclusion_plan(index, size))
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} has {len(proof)} hashes, "
            f"expected {expected}"
        )
    sha = _sha256
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = sha(_NODE_PREFIX + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} does not lead to the given root "
            "(wrong proof, leaf hash, index, size or root)"
        )


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """The cases RFC 9162 leaves out: equal sizes, or an empty old tree."""
    if proof:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} must be empty, "
            f"got {len(proof)} hashes"
        )
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ProofError("old root of an empty tree must be SHA-256 of the empty string")
    if old_size == new_size and old_root != new_root:
        raise ProofError(f"trees of the same size {old_size} have different roots")


def _consistency_roots(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 2 to 6 for 0 < old < new: the old and new roots the proof gives."""
    sha = _sha256
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the new root")
        if fn & 1 or fn == sn:
            fr = sha(_NODE_PREFIX + c + fr).digest()
            sr = sha(_NODE_PREFIX + c + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha(_NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the new root")
    return fr, sr


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the ``new_size`` tree with ``new_root`` extends the ``old_size`` one.

    Equal sizes need equal roots and an empty proof; every tree extends the empty tree (empty
    proof, ``old_root`` SHA-256(b"")). Raises :class:`ProofError`; returns None when it holds.
    """
    if old_size < 0 or new_size < 0:
        raise ProofError(f"tree sizes must be >= 0, got {old_size} and {new_size}")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof_hashes(proof)
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    expected = len(consistency_plan(old_size, new_size))
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} has {len(proof)} hashes, "
            f"expected {expected}"
        )
    fr, sr = _consistency_roots(old_size, new_size, old_root, proof)
    if fr != old_root:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} does not lead to the old root"
        )
    if sr != new_root:
        raise ProofError(
            f"consistency proof from {old_size} to {new_size} does not lead to the new root"
        )

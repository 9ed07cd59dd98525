"""ledger.log.merkle against the RFC 6962/9162 known answers, a naive recursive reference written
straight from the RFC text, and hypothesis-driven tampering."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.log import merkle
from ledger.log.merkle import (
    EMPTY_ROOT,
    NodeId,
    ProofError,
    appended_inclusion_proofs,
    assemble,
    consistency_plan,
    consistency_proof,
    extend,
    fold,
    inclusion_plan,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_from_frontier,
    root_plan,
    verify_consistency,
    verify_inclusion,
)
from tests.hypothesis_profiles import examples

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "rfc9162" / "merkle.json").read_text("utf-8")
)
VECTOR_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaf_inputs_hex"]]

SETTINGS = settings(
    max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def unhex(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


# --- naive reference, RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 word for word ----------------------


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (the leaf hashing of 2.1.1 is already applied)."""
    if len(d) == 0:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = split(len(d))
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = split(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m < n; the project's decided edge cases give [] otherwise."""
    if m in (0, len(d)):
        return []
    return naive_subproof(m, d, True)


def naive_sides(m: int, n: int) -> list[str]:
    """For each PATH element, leaf to root, which side of the running hash it goes on."""
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return [*naive_sides(m, k), "right"]
    return [*naive_sides(m - k, n - k), "left"]


def all_complete_nodes(leaves: Sequence[bytes]) -> dict[NodeId, bytes]:
    """Every complete aligned subtree of ``leaves``, level by level (no merkle code used)."""
    nodes: dict[NodeId, bytes] = {}
    level_hashes = list(leaves)
    level = 0
    while level_hashes:
        for i, h in enumerate(level_hashes):
            nodes[(level, i)] = h
        level_hashes = [
            hashlib.sha256(b"\x01" + level_hashes[i] + level_hashes[i + 1]).digest()
            for i in range(0, len(level_hashes) - 1, 2)
        ]
        level += 1
    return nodes


def world(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


WORLD = world(1024)
WORLD_NODES = all_complete_nodes(WORLD)
ROOTS = [naive_mth(WORLD[:n]) for n in range(301)]  # roots of the prefixes hypothesis uses
SMALL = 64


def test_naive_reference_matches_vectors() -> None:
    # The reference itself is checked against the known answers before it judges anything.
    for size, want in VECTORS["roots_by_tree_size"].items():
        assert naive_mth(VECTOR_LEAVES[: int(size)]).hex() == want
    for case in VECTORS["inclusion_proofs"]:
        got = naive_path(case["leaf_index"], VECTOR_LEAVES[: case["tree_size"]])
        assert [h.hex() for h in got] == case["proof"]
    for case in VECTORS["consistency_proofs"]:
        got = naive_proof(case["size1"], VECTOR_LEAVES[: case["size2"]])
        assert [h.hex() for h in got] == case["proof"]


# --- known answers --------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"") == bytes.fromhex(VECTORS["roots_by_tree_size"]["1"])
    left, right = VECTOR_LEAVES[0], VECTOR_LEAVES[1]
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) == bytes.fromhex(VECTORS["roots_by_tree_size"]["2"])
    assert node_hash(left, right) != node_hash(right, left)
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_vector_roots(size: int) -> None:
    want = bytes.fromhex(VECTORS["roots_by_tree_size"][str(size)])
    leaves = VECTOR_LEAVES[:size]
    assert root(leaves) == want
    nodes = all_complete_nodes(leaves)
    assert root_from_frontier([nodes[n] for n in root_plan(size)]) == want
    assert root_from_frontier(extend([], 0, leaves)[1]) == want


@pytest.mark.parametrize(
    "case", VECTORS["inclusion_proofs"], ids=lambda c: f"leaf{c['leaf_index']}-of-{c['tree_size']}"
)
def test_vector_inclusion(case: dict[str, Any]) -> None:
    index, size = case["leaf_index"], case["tree_size"]
    leaves = VECTOR_LEAVES[:size]
    proof, want_root = unhex(case["proof"]), bytes.fromhex(case["root"])
    assert leaf_hash(bytes.fromhex(case["leaf_input_hex"])) == bytes.fromhex(case["leaf_hash"])
    assert leaves[index] == bytes.fromhex(case["leaf_hash"])
    assert inclusion_proof(leaves, index) == proof
    assert assemble(inclusion_plan(index, size), all_complete_nodes(leaves)) == proof
    verify_inclusion(leaves[index], index, size, proof, want_root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, proof, flip_bit([want_root], 0, 0)[0])


@pytest.mark.parametrize(
    "case", VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}-to-{c['size2']}"
)
def test_vector_consistency(case: dict[str, Any]) -> None:
    old, new = case["size1"], case["size2"]
    leaves = VECTOR_LEAVES[:new]
    proof = unhex(case["proof"])
    old_root, new_root = bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"])
    assert root(VECTOR_LEAVES[:old]) == old_root
    assert root(leaves) == new_root
    assert consistency_proof(leaves, old) == proof
    assert assemble(consistency_plan(old, new), all_complete_nodes(leaves)) == proof
    verify_consistency(old, new, old_root, new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, flip_bit([new_root], 0, 0)[0], proof)


# The worked example of RFC 6962 2.1.3 (7 leaves), written as the letters of its figure:
# a..f are leaves 0..5, j is leaf 6 (d6, promoted), g h i are level-1 nodes, k is level 2,
# l = (i, j) is the ragged right edge.
A, B, C, D, E, F, J = ([(0, i)] for i in range(7))
G, H, I = ([(1, i)] for i in range(3))  # noqa: E741
K = [(2, 0)]
L = [(1, 2), (0, 6)]


@pytest.mark.parametrize(
    ("index", "want"), [(0, [B, H, L]), (3, [C, G, L]), (4, [F, J, K]), (6, [I, K])]
)
def test_rfc_example_audit_paths(index: int, want: list[list[NodeId]]) -> None:
    assert inclusion_plan(index, 7) == want


@pytest.mark.parametrize(("old", "want"), [(3, [C, D, G, L]), (4, [L]), (6, [I, J, K])])
def test_rfc_example_consistency_proofs(old: int, want: list[list[NodeId]]) -> None:
    assert consistency_plan(old, 7) == want


# --- every proof up to 64 leaves -----------------------------------------------------------


def test_every_inclusion_proof_up_to_64() -> None:
    checked = 0
    for size in range(1, SMALL + 1):
        leaves = WORLD[:size]
        tree_root = naive_mth(leaves)
        assert root(leaves) == tree_root
        for index in range(size):
            want = naive_path(index, leaves)
            plan = inclusion_plan(index, size)
            assert all((i + 1) << lvl <= size for group in plan for lvl, i in group)
            assert inclusion_proof(leaves, index) == want, (index, size)
            assert assemble(plan, WORLD_NODES) == want, (index, size)
            verify_inclusion(leaves[index], index, size, want, tree_root)
            checked += 1
    assert checked == SMALL * (SMALL + 1) // 2


def test_every_consistency_proof_up_to_64() -> None:
    roots = [naive_mth(WORLD[:n]) for n in range(SMALL + 1)]
    checked = 0
    for new in range(SMALL + 1):
        leaves = WORLD[:new]
        for old in range(new + 1):
            want = naive_proof(old, leaves)
            plan = consistency_plan(old, new)
            assert all((i + 1) << lvl <= new for group in plan for lvl, i in group)
            assert consistency_proof(leaves, old) == want, (old, new)
            assert assemble(plan, WORLD_NODES) == want, (old, new)
            verify_consistency(old, new, roots[old], roots[new], want)
            checked += 1
    assert checked == (SMALL + 1) * (SMALL + 2) // 2


def test_root_plan_up_to_64() -> None:
    for size in range(SMALL + 1):
        plan = root_plan(size)
        assert [lvl for lvl, _ in plan] == sorted(
            (b for b in range(7) if size >> b & 1), reverse=True
        )
        hashes = [WORLD_NODES[n] for n in plan]
        assert root_from_frontier(hashes) == naive_mth(WORLD[:size])


def test_large_tree_plans_match_list_functions() -> None:
    size = (1 << 12) + 37
    leaves = world(size)
    nodes, frontier = extend([], 0, leaves)
    stored = dict(nodes)
    tree_root = root(leaves)
    assert root_from_frontier(frontier) == tree_root
    for index in (0, 1, size // 2, size - 38, size - 2, size - 1):
        proof = inclusion_proof(leaves, index)
        assert assemble(inclusion_plan(index, size), stored) == proof
        verify_inclusion(leaves[index], index, size, proof, tree_root)
    for old in (1, 2, 1000, 1 << 12, size - 1):
        proof = consistency_proof(leaves, old)
        assert assemble(consistency_plan(old, size), stored) == proof
        verify_consistency(old, size, root(leaves[:old]), tree_root, proof)


# --- tampering (hypothesis) -----------------------------------------------------------------


def flip_bit(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    changed = bytearray(proof[element])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:element], bytes(changed), *proof[element + 1 :]]


@st.composite
def tampered(draw: st.DrawFn, proof: list[bytes]) -> list[bytes]:
    """A proof that differs from ``proof``: bit flip, drop, add, swap or replace."""
    kinds = ["add"]
    if proof:
        kinds += ["flip", "drop", "replace"]
    if len(proof) > 1:
        kinds.append("swap")
    kind = draw(st.sampled_from(kinds))
    if kind == "add":
        at = draw(st.integers(0, len(proof)))
        extra = draw(st.sampled_from([*proof, EMPTY_ROOT, WORLD[0], bytes(32)]))
        return [*proof[:at], extra, *proof[at:]]
    element = draw(st.integers(0, len(proof) - 1))
    if kind == "flip":
        return flip_bit(proof, element, draw(st.integers(0, 255)))
    if kind == "drop":
        return proof[:element] + proof[element + 1 :]
    if kind == "replace":
        other = draw(st.sampled_from(WORLD[:8]).filter(lambda h: h != proof[element]))
        return [*proof[:element], other, *proof[element + 1 :]]
    other_element = draw(st.integers(0, len(proof) - 1).filter(lambda i: i != element))
    swapped = list(proof)
    swapped[element], swapped[other_element] = swapped[other_element], swapped[element]
    return swapped


sizes = st.integers(1, 300)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return draw(st.integers(0, size - 1)), size


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(1, 300))
    return draw(st.integers(1, new)), new


@SETTINGS
@given(index_and_size(), st.data())
def test_tampered_inclusion_proof_rejected(where: tuple[int, int], data: st.DataObject) -> None:
    index, size = where
    leaves = WORLD[:size]
    proof = inclusion_proof(leaves, index)
    bad = data.draw(tampered(proof))
    assert bad != proof
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, bad, ROOTS[size])


@SETTINGS
@given(old_and_new(), st.data())
def test_tampered_consistency_proof_rejected(sizes: tuple[int, int], data: st.DataObject) -> None:
    old, new = sizes
    leaves = WORLD[:new]
    proof = consistency_proof(leaves, old)
    bad = data.draw(tampered(proof))
    assert bad != proof
    with pytest.raises(ProofError):
        verify_consistency(old, new, ROOTS[old], ROOTS[new], bad)


@SETTINGS
@given(index_and_size(), st.integers(0, 255), st.booleans())
def test_altered_root_or_leaf_rejected(where: tuple[int, int], bit: int, alter_leaf: bool) -> None:
    index, size = where
    leaves = WORLD[:size]
    proof = inclusion_proof(leaves, index)
    leaf, tree_root = leaves[index], ROOTS[size]
    if alter_leaf:
        leaf = flip_bit([leaf], 0, bit)[0]
    else:
        tree_root = flip_bit([tree_root], 0, bit)[0]
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, tree_root)


@SETTINGS
@given(old_and_new(), st.integers(0, 255), st.booleans())
def test_altered_consistency_roots_rejected(
    sizes: tuple[int, int], bit: int, alter_old: bool
) -> None:
    old, new = sizes
    proof = consistency_proof(WORLD[:new], old)
    old_root, new_root = ROOTS[old], ROOTS[new]
    if alter_old:
        old_root = flip_bit([old_root], 0, bit)[0]
    else:
        new_root = flip_bit([new_root], 0, bit)[0]
    with pytest.raises(ProofError):
        verify_consistency(old, new, old_root, new_root, proof)


@SETTINGS
@given(index_and_size(), st.integers(0, 299))
def test_altered_index_rejected(where: tuple[int, int], other: int) -> None:
    # In a tree of a given shape, the side sequence of a path identifies the leaf.
    index, size = where
    if other == index:
        other = (index + 1) % 300
    leaves = WORLD[:size]
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], other, size, inclusion_proof(leaves, index), ROOTS[size])


@SETTINGS
@given(index_and_size(), st.integers(0, 299), st.integers(-2, 300))
def test_altered_index_or_size(where: tuple[int, int], other_index: int, other_size: int) -> None:
    """Keeping the root, a claim about another (index, size) passes exactly when the fold is
    the same: same sides of the same length (e.g. leaf 0 of 3 and leaf 0 of 4). The tree size
    is bound by the signed tree head, not by the proof, so that is RFC behaviour."""
    index, size = where
    leaves = WORLD[:size]
    proof, tree_root = inclusion_proof(leaves, index), ROOTS[size]

    def check() -> None:
        verify_inclusion(leaves[index], other_index, other_size, proof, tree_root)

    same_fold = 0 <= other_index < other_size and naive_sides(other_index, other_size) == (
        naive_sides(index, size)
    )
    if same_fold:
        check()
    else:
        with pytest.raises(ProofError):
            check()


@SETTINGS
@given(index_and_size(), index_and_size())
def test_proof_for_honest_other_claim(where: tuple[int, int], other: tuple[int, int]) -> None:
    """With the true leaf and root of another (index, size), the proof passes exactly when it
    is that position's own proof."""
    index, size = where
    other_index, other_size = other
    proof = inclusion_proof(WORLD[:size], index)
    truth = inclusion_proof(WORLD[:other_size], other_index)

    def check() -> None:
        verify_inclusion(WORLD[other_index], other_index, other_size, proof, ROOTS[other_size])

    if proof == truth:
        check()
    else:
        with pytest.raises(ProofError):
            check()


@SETTINGS
@given(old_and_new(), st.integers(0, 300), st.integers(0, 300))
def test_consistency_for_other_sizes(
    sizes: tuple[int, int], other_old: int, other_new: int
) -> None:
    """With the true roots of other sizes, a proof passes exactly when it is their own proof."""
    old, new = sizes
    proof = consistency_proof(WORLD[:new], old)

    def check() -> None:
        verify_consistency(other_old, other_new, ROOTS[other_old], ROOTS[other_new], proof)

    if other_old <= other_new and proof == consistency_proof(WORLD[:other_new], other_old):
        check()
    else:
        with pytest.raises(ProofError):
            check()


# --- plans and extend (hypothesis) ----------------------------------------------------------


@SETTINGS
@given(st.integers(1, len(WORLD)), st.data())
def test_plans_agree_with_list_functions(size: int, data: st.DataObject) -> None:
    leaves = WORLD[:size]
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    assert assemble(inclusion_plan(index, size), WORLD_NODES) == inclusion_proof(leaves, index)
    assert assemble(consistency_plan(old, size), WORLD_NODES) == consistency_proof(leaves, old)
    assert root_from_frontier([WORLD_NODES[n] for n in root_plan(size)]) == root(leaves)


@SETTINGS
@given(st.lists(st.integers(0, 70), max_size=12))
def test_extend_in_batches(batches: list[int]) -> None:
    size = 0
    frontier: list[bytes] = []
    produced: list[tuple[NodeId, bytes]] = []
    for wanted in batches:
        count = min(wanted, len(WORLD) - size)
        nodes, frontier = extend(frontier, size, WORLD[size : size + count])
        produced += nodes
        size += count
        assert frontier == [WORLD_NODES[n] for n in root_plan(size)]
        assert root_from_frontier(frontier) == root(WORLD[:size])
    ids = [n for n, _ in produced]
    assert len(ids) == len(set(ids))
    want = {n: h for n, h in WORLD_NODES.items() if (n[1] + 1) << n[0] <= size}
    assert dict(produced) == want


@SETTINGS
@given(st.lists(st.integers(0, 70), max_size=12))
def test_appended_inclusion_proofs(batches: list[int]) -> None:
    """A batch's proofs from its own nodes and the old frontier are the reference proofs."""
    size = 0
    frontier: list[bytes] = []
    for wanted in batches:
        count = min(wanted, len(WORLD) - size)
        nodes, new_frontier = extend(frontier, size, WORLD[size : size + count])
        new_size = size + count
        proofs = appended_inclusion_proofs(frontier, size, nodes, new_size)
        assert proofs == [inclusion_proof(WORLD[:new_size], i) for i in range(size, new_size)]
        size, frontier = new_size, new_frontier


# --- named bad inputs ------------------------------------------------------------------------

SIZE = 7
INDEX = 3
GOOD_LEAF = WORLD[INDEX]
GOOD_PROOF = inclusion_proof(WORLD[:SIZE], INDEX)
GOOD_ROOT = ROOTS[SIZE]


def test_good_inclusion_baseline() -> None:
    verify_inclusion(GOOD_LEAF, INDEX, SIZE, GOOD_PROOF, GOOD_ROOT)


BAD_INCLUSION: dict[str, tuple[Any, ...]] = {
    "leaf-31-bytes": ((GOOD_LEAF[:31], INDEX, SIZE, GOOD_PROOF, GOOD_ROOT), "leaf hash must be 32"),
    "leaf-33-bytes": (
        (GOOD_LEAF + b"\0", INDEX, SIZE, GOOD_PROOF, GOOD_ROOT),
        "leaf hash must be 32",
    ),
    "root-31-bytes": ((GOOD_LEAF, INDEX, SIZE, GOOD_PROOF, GOOD_ROOT[:31]), "root must be 32"),
    "proof-element-31-bytes": (
        (GOOD_LEAF, INDEX, SIZE, [GOOD_PROOF[0][:31], *GOOD_PROOF[1:]], GOOD_ROOT),
        "proof element 0 must be 32",
    ),
    "proof-element-empty": (
        (GOOD_LEAF, INDEX, SIZE, [*GOOD_PROOF[:2], b""], GOOD_ROOT),
        "proof element 2 must be 32",
    ),
    "leaf-as-hex-string": (
        (GOOD_LEAF.hex(), INDEX, SIZE, GOOD_PROOF, GOOD_ROOT),
        "leaf hash must be bytes",
    ),
    "negative-index": ((GOOD_LEAF, -1, SIZE, GOOD_PROOF, GOOD_ROOT), "index must be >= 0"),
    "index-equals-size": ((GOOD_LEAF, SIZE, SIZE, GOOD_PROOF, GOOD_ROOT), "out of range"),
    "index-past-size": ((GOOD_LEAF, 100, SIZE, GOOD_PROOF, GOOD_ROOT), "out of range"),
    "empty-tree": ((GOOD_LEAF, 0, 0, [], EMPTY_ROOT), "out of range"),
    "negative-size": ((GOOD_LEAF, INDEX, -1, GOOD_PROOF, GOOD_ROOT), "size must be >= 0"),
    "proof-too-short": (
        (GOOD_LEAF, INDEX, SIZE, GOOD_PROOF[:-1], GOOD_ROOT),
        "has 2 hashes, expected 3",
    ),
    "proof-too-long": (
        (GOOD_LEAF, INDEX, SIZE, [*GOOD_PROOF, GOOD_ROOT], GOOD_ROOT),
        "has 4 hashes, expected 3",
    ),
    "proof-empty": ((GOOD_LEAF, INDEX, SIZE, [], GOOD_ROOT), "has 0 hashes"),
    "proof-reversed": (
        (GOOD_LEAF, INDEX, SIZE, GOOD_PROOF[::-1], GOOD_ROOT),
        "does not lead to the given root",
    ),
    "wrong-root": (
        (GOOD_LEAF, INDEX, SIZE, GOOD_PROOF, GOOD_LEAF),
        "does not lead to the given root",
    ),
    "wrong-leaf": (
        (WORLD[0], INDEX, SIZE, GOOD_PROOF, GOOD_ROOT),
        "does not lead to the given root",
    ),
    "single-leaf-wrong-root": (
        (GOOD_LEAF, 0, 1, [], GOOD_LEAF[::-1]),
        "does not lead to the given root",
    ),
}


@pytest.mark.parametrize(("args", "message"), BAD_INCLUSION.values(), ids=list(BAD_INCLUSION))
def test_bad_inclusion_inputs(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(*args)


OLD, NEW = 3, 7
OLD_ROOT = ROOTS[OLD]
NEW_ROOT = GOOD_ROOT
CONSISTENCY = consistency_proof(WORLD[:NEW], OLD)


def test_good_consistency_baseline() -> None:
    verify_consistency(OLD, NEW, OLD_ROOT, NEW_ROOT, CONSISTENCY)
    verify_consistency(0, NEW, EMPTY_ROOT, NEW_ROOT, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(NEW, NEW, NEW_ROOT, NEW_ROOT, [])


BAD_CONSISTENCY: dict[str, tuple[Any, ...]] = {
    "old-root-31-bytes": ((OLD, NEW, OLD_ROOT[:31], NEW_ROOT, CONSISTENCY), "old root must be 32"),
    "new-root-33-bytes": (
        (OLD, NEW, OLD_ROOT, NEW_ROOT + b"\0", CONSISTENCY),
        "new root must be 32",
    ),
    "proof-element-31-bytes": (
        (OLD, NEW, OLD_ROOT, NEW_ROOT, [*CONSISTENCY[:3], CONSISTENCY[3][:31]]),
        "proof element 3 must be 32",
    ),
    "new-root-bytearray": (
        (OLD, NEW, OLD_ROOT, bytearray(NEW_ROOT), CONSISTENCY),
        "new root must be bytes",
    ),
    "negative-old-size": ((-1, NEW, OLD_ROOT, NEW_ROOT, CONSISTENCY), "sizes must be >= 0"),
    "negative-new-size": ((OLD, -1, OLD_ROOT, NEW_ROOT, CONSISTENCY), "sizes must be >= 0"),
    "old-larger-than-new": ((NEW, OLD, NEW_ROOT, OLD_ROOT, CONSISTENCY), "larger than new size"),
    "same-size-nonempty-proof": ((NEW, NEW, NEW_ROOT, NEW_ROOT, [NEW_ROOT]), "must be empty"),
    "same-size-different-roots": ((NEW, NEW, NEW_ROOT, OLD_ROOT, []), "different roots"),
    "from-empty-nonempty-proof": ((0, NEW, EMPTY_ROOT, NEW_ROOT, [NEW_ROOT]), "must be empty"),
    "from-empty-wrong-old-root": ((0, NEW, OLD_ROOT, NEW_ROOT, []), "empty tree"),
    "proof-empty": ((OLD, NEW, OLD_ROOT, NEW_ROOT, []), "has 0 hashes, expected 4"),
    "proof-too-short": (
        (OLD, NEW, OLD_ROOT, NEW_ROOT, CONSISTENCY[:-1]),
        "has 3 hashes, expected 4",
    ),
    "proof-too-long": (
        (OLD, NEW, OLD_ROOT, NEW_ROOT, [*CONSISTENCY, NEW_ROOT]),
        "has 5 hashes, expected 4",
    ),
    "proof-reversed": (
        (OLD, NEW, OLD_ROOT, NEW_ROOT, CONSISTENCY[::-1]),
        "does not lead to the old root",
    ),
    "wrong-old-root": (
        (OLD, NEW, NEW_ROOT, NEW_ROOT, CONSISTENCY),
        "does not lead to the old root",
    ),
    "wrong-new-root": (
        (OLD, NEW, OLD_ROOT, OLD_ROOT, CONSISTENCY),
        "does not lead to the new root",
    ),
    "wrong-new-size": (
        (OLD, NEW - 1, OLD_ROOT, NEW_ROOT, consistency_proof(WORLD[: NEW - 1], OLD)),
        "does not lead to the new root",
    ),
    "power-of-two-old-wrong-proof": (
        (4, NEW, ROOTS[4], NEW_ROOT, [WORLD[0]]),
        "does not lead to the new root",
    ),
}


@pytest.mark.parametrize(("args", "message"), BAD_CONSISTENCY.values(), ids=list(BAD_CONSISTENCY))
def test_bad_consistency_inputs(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(*args)


BAD_BUILDER_CALLS: dict[str, tuple[Any, ...]] = {
    "inclusion-index-past-end": (lambda: inclusion_proof(WORLD[:4], 4), ValueError),
    "inclusion-negative-index": (lambda: inclusion_proof(WORLD[:4], -1), ValueError),
    "inclusion-empty-tree": (lambda: inclusion_proof([], 0), ValueError),
    "consistency-old-past-end": (lambda: consistency_proof(WORLD[:4], 5), ValueError),
    "consistency-negative-old": (lambda: consistency_proof(WORLD[:4], -1), ValueError),
    "plan-index-past-end": (lambda: inclusion_plan(3, 3), ValueError),
    "plan-old-past-new": (lambda: consistency_plan(5, 4), ValueError),
    "root-plan-negative": (lambda: root_plan(-1), ValueError),
    "fold-empty": (lambda: fold([]), ValueError),
    "extend-frontier-too-short": (lambda: extend([WORLD[0]], 3, WORLD[3:4]), ValueError),
    "extend-negative-size": (lambda: extend([], -1, []), ValueError),
    "assemble-missing-node": (lambda: assemble(inclusion_plan(0, 8), {(0, 1): WORLD[1]}), KeyError),
}


@pytest.mark.parametrize(("call", "error"), BAD_BUILDER_CALLS.values(), ids=list(BAD_BUILDER_CALLS))
def test_bad_arguments_to_builders(call: Callable[[], object], error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


def test_fold_and_trivial_plans() -> None:
    assert fold([WORLD[0]]) == WORLD[0]
    assert fold(WORLD[:3]) == node_hash(WORLD[0], node_hash(WORLD[1], WORLD[2]))
    assert root_plan(0) == []
    assert root_plan(13) == [(3, 0), (2, 2), (0, 12)]
    assert inclusion_plan(0, 1) == []
    assert consistency_plan(0, 5) == consistency_plan(5, 5) == []
    assert root_from_frontier([]) == EMPTY_ROOT
    assert extend([], 0, []) == ([], [])
    assert merkle.HASH_SIZE == 32

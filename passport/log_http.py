"""The transparency log over HTTP, as C2SP tlog-tiles (https://c2sp.org/tlog-tiles).

``/log/checkpoint`` is the latest signed checkpoint; ``/log/tile/<L>/<N>[.p/<W>]`` the
hash tiles of height 8 (level ``L`` holds the Merkle tree hashes at tree level ``8 L``);
``/log/tile/entries/<N>[.p/<W>]`` the entry bundles (each leaf as a big-endian uint16
length and its bytes: a record's canonical bytes). A client holding the log's verifier
key checks the checkpoint's signature, then computes any inclusion or consistency proof
from the tiles itself.

The ledger stores its tiles at height 4 (ADR 0005) and offers no public read of a node
hash: a level-0 tile is a range of leaf hashes (``TransparencyLog.leaf_hashes``), and
each hash of a higher tile is read off an inclusion proof, all of one tile in one query
(:func:`node_hashes`: which leaf's proof holds a node, and where).

Convenience routes beside the tiles: the inclusion proof of a leaf (by index, record hash
or leaf hash) and the consistency proof between two trees, each for trees the log signed a
checkpoint for, served with those checkpoints (:func:`inclusion`, :func:`consistency`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import LogError
from ledger.log import TransparencyLog

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
"""The largest entry an entry bundle can hold (its length is a uint16)."""

_SEGMENT_X = re.compile(r"x[0-9]{3}")
_SEGMENT = re.compile(r"[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")

Prove = Callable[[Sequence[int], int], Sequence[Sequence[bytes]]]
"""``prove(leaf_indexes, size)``: the RFC 9162 inclusion proof (hashes, leaf to root) of
each leaf in the tree of ``size`` leaves."""


class TilePathError(ValueError):
    """A tile path that is not as tlog-tiles writes them; the message says which rule."""


@dataclass(frozen=True)
class TileRequest:
    level: int | None
    """The tile level, or None for an entry bundle."""
    index: int
    width: int | None
    """A partial tile's width (1 to 255), None for a full tile."""

    @property
    def count(self) -> int:
        return self.width or TILE_WIDTH


def encode_index(index: int) -> str:
    """``N`` as tlog-tiles writes it: 3-digit elements, all but the last with an ``x``."""
    digits = str(index)
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | None, index: int, width: int | None = None) -> str:
    """The path of a tile (``level``) or entry bundle (``None``) below ``tile/``."""
    head = "entries" if level is None else str(level)
    tail = "" if width is None else f".p/{width}"
    return f"{head}/{encode_index(index)}{tail}"


def parse_tile_path(path: str) -> TileRequest:
    """``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (the part after ``tile/``)."""
    parts = path.split("/")
    if len(parts) < 2:
        raise TilePathError("a tile path is <L>/<N>[.p/<W>] or entries/<N>[.p/<W>]")
    head, rest = parts[0], parts[1:]
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise TilePathError("the tile level is 0 to 63 in decimal, without leading zeros")
    width = None
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or not 1 <= int(rest[-1]) < TILE_WIDTH:
            raise TilePathError("a partial tile's width is 1 to 255, without leading zeros")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    *upper, last = rest
    if not all(_SEGMENT_X.fullmatch(s) for s in upper) or not _SEGMENT.fullmatch(last):
        raise TilePathError(
            "the tile index is written in 3-digit elements, all but the last starting with x "
            "(1234067 is x001/x234/067)"
        )
    index = int("".join(s.lstrip("x") for s in rest))
    if encode_index(index) != "/".join(rest):
        raise TilePathError("the tile index has a leading zero element (write 067, not x000/067)")
    return TileRequest(level, index, width)


def node_hashes(
    prove: Prove, root: Callable[[int], bytes], height: int, indexes: Sequence[int], size: int
) -> list[bytes]:
    """The Merkle tree hashes of the complete nodes ``(height, i)`` for ``i`` in
    ``indexes`` (``MTH(D[i 2^h : (i+1) 2^h])``), read off inclusion proofs in the tree of
    ``size`` leaves (one ``prove`` call for all); ``height`` at least 1.

    Where a node's hash is in the proof of which leaf, in an RFC 9162 tree of size ``S``:

    - ``i`` odd: it is the sibling of node ``(h, i-1)``; the proof of leaf ``(i-1) 2^h``
      holds it at position ``h`` (after the ``h`` hashes inside its own subtree);
    - ``i`` even and node ``(h, i+1)`` complete: likewise from leaf ``(i+1) 2^h``;
    - ``i`` even, ``(i+1) 2^h < S`` but node ``(h, i+1)`` incomplete: ``[i 2^h, S)`` is a
      node on the tree's right edge whose left child is ``(h, i)``; leaf ``(i+1) 2^h``
      first climbs its right part (``r = S - (i+1) 2^h`` leaves: ``ceil(log2 r)``
      hashes), then meets ``(h, i)``;
    - ``i`` even, ``(i+1) 2^h = S``: the node is the tree's last perfect subtree; it is
      the sibling of the largest aligned subtree ending at ``i 2^h`` (``2^(h+t)`` leaves,
      ``t`` the trailing zero bits of ``i``), so the proof of leaf ``i 2^h - 1`` holds
      it at position ``h + t``. For ``i = 0`` it is the root of the whole tree.
    """
    if height < 1:
        raise ValueError("level-0 hashes are leaf hashes: read them directly")
    leaves: list[int] = []
    positions: list[int | None] = []
    for i in indexes:
        start, end = i << height, (i + 1) << height
        if i < 0 or end > size:
            raise ValueError(f"node ({height}, {i}) is not complete in a tree of size {size}")
        if i % 2 == 1:
            leaves.append((i - 1) << height)
            positions.append(height)
        elif end + (1 << height) <= size:
            leaves.append(end)
            positions.append(height)
        elif end < size:
            leaves.append(end)
            positions.append((size - end - 1).bit_length())
        elif i == 0:
            positions.append(None)  # the root of a tree of exactly 2^h leaves
        else:
            leaves.append(start - 1)
            positions.append(height + ((i & -i).bit_length() - 1))
    proofs = iter(prove(leaves, size) if leaves else [])
    found = []
    for position in positions:
        found.append(root(size) if position is None else next(proofs)[position])
    return found


def tile_bytes(log: TransparencyLog, request: TileRequest, size: int) -> bytes | None:
    """The hash tile asked for, in a tree of ``size`` leaves; None if the tree does not
    hold it (yet)."""
    assert request.level is not None
    height = TILE_HEIGHT * request.level
    first = request.index * TILE_WIDTH
    if (first + request.count) << height > size:
        return None
    if height == 0:
        return b"".join(log.leaf_hashes(first, first + request.count))

    def prove(leaves: Sequence[int], tree_size: int) -> list[tuple[bytes, ...]]:
        return [proof.hashes for proof in log.inclusion_proofs(list(leaves), tree_size)]

    indexes = range(first, first + request.count)
    return b"".join(node_hashes(prove, log.root, height, indexes, size))


class EntryTooLarge(Exception):  # noqa: N818 (a refusal, answered as a problem)
    """A leaf of the bundle is longer than a uint16 length can say."""

    def __init__(self, leaf_index: int, length: int) -> None:
        super().__init__(f"leaf {leaf_index} is {length} bytes")
        self.leaf_index = leaf_index
        self.length = length


def entry_bundle(log: TransparencyLog, request: TileRequest, size: int) -> bytes | None:
    """The entry bundle asked for; None if the tree does not hold it (yet). Raises
    EntryTooLarge for a leaf over 65,535 bytes (ADR 0017)."""
    first = request.index * TILE_WIDTH
    if first + request.count > size:
        return None
    parts: list[bytes] = []
    for offset, leaf in enumerate(log.leaves(first, first + request.count)):
        if len(leaf) > MAX_ENTRY_BYTES:
            raise EntryTooLarge(first + offset, len(leaf))
        parts += (struct.pack(">H", len(leaf)), leaf)
    return b"".join(parts)


# --------------------------------------------------------------------------- proofs

MAX_SIZE = 2**63 - 1
_COUNT = re.compile(r"0|[1-9][0-9]{0,18}")
_LEAF_HASH = re.compile(r"[0-9a-f]{64}")
_RECORD_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class ProofRequestError(Exception):
    """A proof request the log cannot answer: ``status`` 400 for a malformed one, 404 for
    a tree, checkpoint or leaf the log does not hold; the message says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_count(value: str | None, name: str) -> int | None:
    """A tree size or leaf index from a query parameter (decimal, no sign, no leading
    zeros); None when absent."""
    if value is None:
        return None
    if not _COUNT.fullmatch(value) or int(value) > MAX_SIZE:
        raise ProofRequestError(400, f"{name} is a number from 0 to {MAX_SIZE}, in decimal")
    return int(value)


def signed_tree(log: TransparencyLog, size: int | None) -> tuple[int, str]:
    """The tree of ``size`` leaves (default: the latest) and the checkpoint the log signed
    for it; a proof is served only for a tree a client can check with the log's key."""
    if size is None:
        return log.latest()
    current = log.size()
    if size > current:
        raise ProofRequestError(404, f"the log holds {current} leaves: no tree of size {size}")
    try:
        return size, log.checkpoint_at(size)
    except LogError:
        raise ProofRequestError(
            404,
            f"the log signed no checkpoint for size {size} (it signs one per committed batch: "
            "ask for a size a checkpoint you hold names)",
        ) from None


def leaf_request(
    hash_text: str | None, index_text: str | None, leaf_of_record: Callable[[str], int | None]
) -> tuple[int | None, bytes | None]:
    """``(leaf index, None)`` or ``(None, leaf hash)`` for the leaf a request names: by
    ``index``, by record hash (``sha256:<hex>``, looked up with ``leaf_of_record``) or by
    RFC 9162 leaf hash (64 hex digits); exactly one of ``hash`` and ``index``."""
    if (hash_text is None) == (index_text is None):
        raise ProofRequestError(400, "name the leaf by exactly one of hash and index")
    if index_text is not None:
        return parse_count(index_text, "index"), None
    assert hash_text is not None
    if _RECORD_HASH.fullmatch(hash_text):
        index = leaf_of_record(hash_text)
        if index is None:
            raise ProofRequestError(404, "the ledger holds no record with that hash")
        return index, None
    if _LEAF_HASH.fullmatch(hash_text):
        return None, bytes.fromhex(hash_text)
    raise ProofRequestError(
        400,
        "hash is a record hash (sha256: and 64 lowercase hex digits) or a leaf hash (64 "
        "lowercase hex digits)",
    )


def inclusion(
    log: TransparencyLog, index: int | None, leaf_hash: bytes | None, size: int | None
) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of a leaf in a signed tree, with that tree's checkpoint."""
    size, note = signed_tree(log, size)
    if index is not None and index >= size:
        raise ProofRequestError(404, f"leaf {index} is not in the tree of size {size}")
    try:
        if index is not None:
            proof = log.inclusion_proof(index, size)
        else:
            assert leaf_hash is not None
            proof = log.inclusion_proof_by_hash(leaf_hash, size)
    except LogError:
        raise ProofRequestError(404, f"no such leaf in the tree of size {size}") from None
    return {**proof.to_dict(), "checkpoint": note}


def consistency(log: TransparencyLog, first: int, second: int | None) -> dict[str, Any]:
    """The RFC 9162 consistency proof from the signed tree of ``first`` leaves to that of
    ``second`` (default: the latest), with both checkpoints."""
    if second is not None and first > second:
        raise ProofRequestError(400, f"first ({first}) is larger than second ({second})")
    second, new_note = signed_tree(log, second)
    if first > second:
        raise ProofRequestError(404, f"the latest signed tree has {second} leaves, not {first}")
    _, old_note = signed_tree(log, first)
    proof = log.consistency_proof(first, second)
    return {**proof.to_dict(), "oldCheckpoint": old_note, "newCheckpoint": new_note}

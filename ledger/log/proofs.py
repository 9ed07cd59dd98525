"""Inclusion and consistency proofs as the log hands them out, with their JSON form.

JSON: ``{"type": "inclusion", "leafIndex", "treeSize", "leafHash", "hashes"}`` and
``{"type": "consistency", "oldSize", "newSize", "hashes"}``, hashes in lowercase hex,
ordered leaf to root as RFC 9162 emits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.errors import LogError
from ledger.log import merkle

_HASH_SIZE = merkle.HASH_SIZE


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""

    index: int
    size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]

    def verify(self, root: bytes) -> None:
        """Raise :class:`ledger.log.merkle.ProofError` unless the proof leads to ``root``."""
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
        """Raise :class:`ledger.log.merkle.ProofError` unless the new tree extends the old."""
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


def _expect_type(data: object, kind: str) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("type") != kind:
        raise LogError(f'not a {kind} proof (a JSON object with "type": "{kind}")')
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

"""Tree heads as C2SP tlog checkpoints (c2sp.org/tlog-checkpoint), signed as C2SP notes.

A checkpoint is the log's public commitment: its origin, tree size and RFC 6962 root hash,
in the text format that witnesses and monitors already read::

    <origin>
    <size>
    <base64 root hash>
    [extension lines]

Parsing is strict (decimal size without leading zeros, exactly 32 root bytes in canonical
base64, no empty lines), so one tree head has exactly one text and therefore exactly one
set of signed bytes. Signing and verifying are :mod:`signing.note`'s; this module adds
only the checkpoint's own rules.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from ledger.errors import LedgerError
from signing import note

__all__ = [
    "MAX_SIZE",
    "PREVIOUS",
    "Checkpoint",
    "CheckpointError",
    "parse",
    "previous_size",
    "sign",
    "verify",
]

MAX_SIZE = 2**64 - 1  # tree sizes are uint64 everywhere else (Go, RFC 9162)
_SIZE = re.compile(r"0|[1-9][0-9]*")
PREVIOUS = "previous "
"""The extension line by which a bpl checkpoint names the size of the checkpoint the log
issued before it (``previous 1234``): signed with the rest, it makes the stored checkpoints
a chain, so that one deleted from the store is missed by the audit (ADR 0015)."""


class CheckpointError(LedgerError):
    """A checkpoint is malformed, or its signed note does not verify for the expected log."""


def _line_problem(line: str) -> str | None:
    """Why ``line`` cannot be one line of a checkpoint, or None if it can."""
    for ch in line:
        if ch < " ":
            return f"control character U+{ord(ch):04X}"
        if "\ud800" <= ch <= "\udfff":
            return "not valid UTF-8 (lone surrogate)"
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, 32-byte root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.extensions, str):
            raise CheckpointError("extensions must be a sequence of lines, not one string")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError("origin must be a non-empty string")
        problem = _line_problem(self.origin)
        if problem is not None:
            raise CheckpointError(f"origin: {problem}")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("size must be an int")
        if not 0 <= self.size <= MAX_SIZE:
            raise CheckpointError(f"size must be between 0 and 2**64 - 1, not {self.size}")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise CheckpointError("root must be 32 bytes (a SHA-256 Merkle tree hash)")
        for number, ext in enumerate(self.extensions, start=1):
            if not isinstance(ext, str) or not ext:
                raise CheckpointError(f"extension line {number} must be a non-empty string")
            problem = _line_problem(ext)
            if problem is not None:
                raise CheckpointError(f"extension line {number}: {problem}")

    def text(self) -> str:
        """The checkpoint's note text; every line, the last included, ends in a newline."""
        root = base64.b64encode(self.root).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


def _root(line: str) -> bytes:
    """Decode the root hash line: canonical padded standard base64 of 32 bytes."""
    try:
        raw = base64.b64decode(line, validate=True) if line.isascii() else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None or base64.b64encode(raw).decode("ascii") != line:
        raise CheckpointError("root hash (line 3) is not canonical padded standard base64")
    if len(raw) != 32:
        raise CheckpointError(f"root hash (line 3) is {len(raw)} bytes, not 32")
    return raw


def parse(text: str) -> Checkpoint:
    """Parse a checkpoint's note text strictly; raise :class:`CheckpointError` if malformed."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint needs at least 3 lines, not {len(lines)}")
    for number, line in enumerate(lines, start=1):
        if not line:
            what = "origin (line 1)" if number == 1 else f"line {number}"
            raise CheckpointError(f"{what} is empty")
        problem = _line_problem(line)
        if problem is not None:
            raise CheckpointError(f"line {number}: {problem}")
    origin, size_line, root_line, *extensions = lines
    if not _SIZE.fullmatch(size_line):
        raise CheckpointError(
            "tree size (line 2) must be ASCII decimal digits without leading zeros"
        )
    size = int(size_line)
    if size > MAX_SIZE:
        raise CheckpointError("tree size (line 2) exceeds 2**64 - 1")
    return Checkpoint(origin, size, _root(root_line), tuple(extensions))


def previous_size(checkpoint: Checkpoint) -> int | None:
    """The size of the checkpoint this one names as the one before it (its
    :data:`PREVIOUS` extension line), or None: the log's first checkpoint, or one signed
    before checkpoints were linked. Raises CheckpointError for a malformed or repeated link."""
    found = None
    for line in checkpoint.extensions:
        if not line.startswith(PREVIOUS):
            continue
        value = line[len(PREVIOUS) :]
        if found is not None:
            raise CheckpointError("more than one previous-checkpoint line")
        if not _SIZE.fullmatch(value) or int(value) >= checkpoint.size:
            raise CheckpointError(f"previous-checkpoint line {line!r} names no smaller tree")
        found = int(value)
    return found


def sign(checkpoint: Checkpoint, signer_key: str) -> str:
    """The checkpoint as a note signed with ``signer_key`` (a ``PRIVATE+KEY+...`` string).

    The key's name SHOULD be the origin; this is the caller's choice, so it is not enforced.
    Raises :class:`signing.note.NoteError` if the key string is malformed.
    """
    return note.sign(checkpoint.text(), [signer_key])


def verify(signed: str | bytes, verifier_key: str, origin: str | None = None) -> Checkpoint:
    """Verify the signed note with ``verifier_key``, parse it, and check the origin if given.

    Other signatures (witness cosignatures, rotated keys) are ignored. Every failure,
    including a bad signature or key, is a :class:`CheckpointError`; a note-level failure
    keeps the :class:`signing.note.NoteError` as its ``__cause__``.
    """
    try:
        text = note.verify(signed, [verifier_key])
    except note.NoteError as exc:
        raise CheckpointError(f"checkpoint signature: {exc}") from exc
    checkpoint = parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    return checkpoint

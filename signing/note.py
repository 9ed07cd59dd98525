"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

The log publishes its checkpoints as signed notes so that the existing transparency tooling
(witnesses, monitors, Go's ``golang.org/x/mod/sumdb/note``) can check them without knowing
anything about batteries. Key strings therefore use exactly Go's encodings:

* signer key:   ``PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte seed)>``
* verifier key: ``<name>+<key id, 8 hex>+<base64(0x01 || 32-byte public key)>``
* signature line: ``— <name> <base64(key id || 64-byte signature)>`` (U+2014, space)

with ``key id = SHA-256(name || 0x0A || 0x01 || public key)[:4]``.

Parsing is strict, since a note's text must be ignored unless it verifies: every malformed
input raises :class:`NoteError` naming the rule it broke, base64 must be canonical (so a
signature has exactly one spelling), and every signature by a known key is checked, not
only the first. Messages and reprs never contain secret key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing

from signing.errors import SigningError

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Note",
    "NoteError",
    "Signature",
    "generate",
    "key_id",
    "key_pair_matches",
    "open_note",
    "sign",
    "signer_key",
    "verifier_key",
    "verifier_key_for",
    "verify",
]

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100  # the spec requires at least 16; Go's reference rejects more than 100
_SIG_PREFIX = "\u2014 "  # em dash, space
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
# Unicode White_Space (what Go's unicode.IsSpace tests); str.isspace() covers a few more.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class NoteError(SigningError):
    """A note, note text or key string is malformed, or a note does not verify.

    ``reason`` is a short fixed label (``"malformed note"``, ``"invalid text"``,
    ``"malformed signer key"``, ``"malformed verifier key"``, ``"invalid signature"``,
    ``"unverified note"``); the message adds which rule failed.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Signature:
    """One signature line of a note: key name, 4-byte key id and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def key_id_hex(self) -> str:
        """The key id as Go prints it: 8 lowercase hex digits."""
        return self.key_id.hex()


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the verified signatures and those by unknown keys."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...] = ()


@dataclass(frozen=True)
class _Verifier:
    name: str
    key_id: bytes
    key: nacl.signing.VerifyKey = field(repr=False)


@dataclass(frozen=True)
class _Signer:
    name: str
    key_id: bytes
    key: nacl.signing.SigningKey = field(repr=False)


def key_id(name: str, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || 0x01 || public_key)[:4]``: the Ed25519 key id."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key)
    return digest.digest()[:4]


def _name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid key name, or None if it is."""
    if not name:
        return "key name is empty"
    if "+" in name:
        return "key name contains '+'"
    for ch in name:
        if ch in _UNICODE_SPACES or ch.isspace():
            return f"key name contains a space character (U+{ord(ch):04X})"
        if ch < " ":
            return f"key name contains a control character (U+{ord(ch):04X})"
        if "\ud800" <= ch <= "\udfff":
            return "key name is not valid UTF-8 (lone surrogate)"
    return None


def _check_name(name: str, reason: str) -> None:
    problem = _name_problem(name)
    if problem is not None:
        raise NoteError(reason, problem)


def _b64decode(text: str) -> bytes | None:
    """Decode canonical standard base64 (RFC 4648 section 4, padded); None if it is not."""
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Re-encoding rejects non-zero padding bits, so every value has one spelling only.
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signer_key(name: str, seed: bytes) -> str:
    """The signer key string for a 32-byte Ed25519 seed. Keep it secret."""
    _check_name(name, "invalid key name")
    if len(seed) != 32:
        raise NoteError("malformed signer key", "an Ed25519 seed is 32 bytes")
    public = bytes(nacl.signing.SigningKey(seed).verify_key)
    kid = key_id(name, public)
    return f"{_PRIVATE_PREFIX}{name}+{kid.hex()}+{_b64(bytes([ALG_ED25519]) + seed)}"


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string for a 32-byte Ed25519 public key."""
    _check_name(name, "invalid key name")
    if len(public_key) != 32:
        raise NoteError("malformed verifier key", "an Ed25519 public key is 32 bytes")
    kid = key_id(name, public_key)
    return f"{name}+{kid.hex()}+{_b64(bytes([ALG_ED25519]) + public_key)}"


def generate(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair as ``(signer key, verifier key)`` strings."""
    _check_name(name, "invalid key name")
    secret = nacl.signing.SigningKey.generate()
    return signer_key(name, bytes(secret)), verifier_key(name, bytes(secret.verify_key))


def _split_key(rest: str, reason: str) -> tuple[str, bytes, bytes]:
    """Split ``<name>+<hex id>+<base64 key>`` into name, id and algorithm-tagged key."""
    parts = rest.split("+", 2)  # names hold no '+'; base64 may
    if len(parts) != 3:
        raise NoteError(reason, "expected <name>+<key id>+<base64 key>")
    name, hex_id, b64 = parts
    _check_name(name, reason)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError(reason, "key id is not 8 hex digits")
    raw = _b64decode(b64)
    if raw is None:
        raise NoteError(reason, "key is not canonical padded standard base64")
    if not raw:
        raise NoteError(reason, "key is empty")
    if raw[0] != ALG_ED25519:
        raise NoteError(reason, f"unknown algorithm byte 0x{raw[0]:02x} (only 0x01, Ed25519)")
    if len(raw) != 33:
        raise NoteError(reason, "an Ed25519 key is 32 bytes after the algorithm byte")
    return name, bytes.fromhex(hex_id), raw[1:]


def _parse_verifier(vkey: str) -> _Verifier:
    name, kid, public = _split_key(vkey, "malformed verifier key")
    if kid != key_id(name, public):
        raise NoteError("malformed verifier key", f"key id {kid.hex()} does not match the key")
    return _Verifier(name, kid, nacl.signing.VerifyKey(public))


def _parse_signer(skey: str) -> _Signer:
    reason = "malformed signer key"
    if not skey.startswith(_PRIVATE_PREFIX):
        raise NoteError(reason, "does not start with PRIVATE+KEY+")
    name, kid, seed = _split_key(skey[len(_PRIVATE_PREFIX) :], reason)
    secret = nacl.signing.SigningKey(seed)
    if kid != key_id(name, bytes(secret.verify_key)):
        raise NoteError(reason, "key id does not match the key")
    return _Signer(name, kid, secret)


def verifier_key_for(signer_key: str) -> str:
    """The verifier key of a signer key string: what a key file is checked against before
    it signs for a log. Raises NoteError (without key material) if it is malformed."""
    signer = _parse_signer(signer_key)
    return verifier_key(signer.name, bytes(signer.key.verify_key))


def key_pair_matches(signer_key: str, verifier_key: str) -> bool:
    """Whether ``verifier_key`` checks ``signer_key``'s signatures: same name, same public
    key (compared parsed, so the key id's case does not matter, as in Go). Raises NoteError
    if either is malformed."""
    signer = _parse_signer(signer_key)
    verifier = _parse_verifier(verifier_key)
    return signer.name == verifier.name and bytes(signer.key.verify_key) == bytes(verifier.key)


def _text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a note's text, or None if it can."""
    if not text.endswith("\n"):
        return "text must end with a newline"
    for i, ch in enumerate(text):
        if ch < " " and ch != "\n":
            return f"control character U+{ord(ch):04X} at offset {i}"
        if "\ud800" <= ch <= "\udfff":
            return f"not valid UTF-8 (lone surrogate at offset {i})"
    return None


def sign(text: str, signer_keys: Sequence[str]) -> str:
    """Sign ``text`` with every key in ``signer_keys``; return the signed note.

    The text must end with a newline and hold no control characters other than newline.
    It may contain empty lines and lines starting with an em dash: the signatures are the
    lines after the note's last empty line.
    """
    if isinstance(signer_keys, str):
        raise TypeError("signer_keys is a sequence of key strings, not one string")
    problem = _text_problem(text)
    if problem is not None:
        raise NoteError("invalid text", problem)
    signers = [_parse_signer(k) for k in signer_keys]
    if not signers:
        raise NoteError("invalid signer", "a note needs at least one signature")
    if len(signers) > MAX_SIGNATURES:
        raise NoteError("invalid signer", f"more than {MAX_SIGNATURES} signatures")
    message = text.encode("utf-8")
    lines = []
    seen: set[tuple[str, bytes]] = set()
    for signer in signers:
        if (signer.name, signer.key_id) in seen:
            continue  # one signature per key
        seen.add((signer.name, signer.key_id))
        sig = signer.key.sign(message).signature
        lines.append(f"{_SIG_PREFIX}{signer.name} {_b64(signer.key_id + sig)}\n")
    return text + "\n" + "".join(lines)


def _verifiers(verifier_keys: Sequence[str]) -> dict[tuple[str, bytes], _Verifier]:
    if isinstance(verifier_keys, str):
        raise TypeError("verifier_keys is a sequence of key strings, not one string")
    known: dict[tuple[str, bytes], _Verifier] = {}
    for vkey in verifier_keys:
        v = _parse_verifier(vkey)
        other = known.setdefault((v.name, v.key_id), v)
        if bytes(other.key) != bytes(v.key):
            raise NoteError(
                "malformed verifier key",
                f"two different keys share name {v.name!r} and key id {v.key_id.hex()}",
            )
    return known


def _split_note(msg: str) -> tuple[str, list[str]]:
    """Check the note-wide rules; return the text and the signature lines."""
    for i, ch in enumerate(msg):
        if ch < " " and ch != "\n":
            raise NoteError("malformed note", f"control character U+{ord(ch):04X} at offset {i}")
        if "\ud800" <= ch <= "\udfff":
            raise NoteError("malformed note", f"not valid UTF-8 (lone surrogate at offset {i})")
    if not msg.endswith("\n"):
        raise NoteError("malformed note", "does not end with a newline")
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note", "no blank line between text and signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block:
        raise NoteError("malformed note", "no signature lines after the blank line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note", f"more than {MAX_SIGNATURES} signature lines")
    return text, lines


def _parse_signature_line(number: int, line: str) -> Signature:
    where = f"signature line {number}"
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note", f"{where} does not start with an em dash and a space")
    fields = line[len(_SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise NoteError(
            "malformed note",
            f"{where} is not '— <name> <signature>' (key names hold no spaces)",
        )
    name, b64 = fields
    problem = _name_problem(name)
    if problem is not None:
        raise NoteError("malformed note", f"{where}: {problem}")
    raw = _b64decode(b64)
    if raw is None:
        raise NoteError("malformed note", f"{where}: not canonical padded standard base64")
    if len(raw) < 5:
        raise NoteError("malformed note", f"{where}: signature too short (under 5 bytes)")
    return Signature(name, raw[:4], raw[4:])


def open_note(signed_note: str | bytes, verifier_keys: Sequence[str]) -> Note:
    """Parse ``signed_note`` and check its signatures against ``verifier_keys``.

    Signatures by unknown keys (name and key id not both matching a known key) are kept
    in ``Note.unverified`` and otherwise ignored. Every signature by a known key must
    verify, and at least one must be present; otherwise :class:`NoteError` is raised.
    """
    known = _verifiers(verifier_keys)
    if isinstance(signed_note, bytes):
        try:
            signed_note = signed_note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("malformed note", f"not valid UTF-8 at byte {exc.start}") from None
    text, lines = _split_note(signed_note)
    message = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for number, line in enumerate(lines, start=1):
        sig = _parse_signature_line(number, line)
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        try:
            verifier.key.verify(message, sig.signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise NoteError(
                "invalid signature",
                f"signature line {number} by known key {sig.name}+{sig.key_id.hex()} "
                "does not verify",
            ) from None
        if all((s.name, s.key_id) != (sig.name, sig.key_id) for s in verified):
            verified.append(sig)
    if not verified:
        raise NoteError("unverified note", "no signature by a known key")
    return Note(text, tuple(verified), tuple(unverified))


def verify(signed_note: str | bytes, verifier_keys: Sequence[str]) -> str:
    """Return the text of ``signed_note`` if it verifies (see :func:`open_note`)."""
    return open_note(signed_note, verifier_keys).text

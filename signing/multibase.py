"""Multibase base58btc (``z`` prefix) and the Multikey multicodec headers for Ed25519.

Hand-written rather than taken from the ``base58`` package: that package costs about 40 us
to encode one 64-byte signature, more than the Ed25519 signature itself, and every proof
encodes one. Converting the number in chunks of ten base58 digits keeps the big-integer
work to a handful of divisions (ADR 0003).
"""

from __future__ import annotations

from signing.errors import KeyFormatError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_CHUNK_DIGITS = 10
_CHUNK = 58**_CHUNK_DIGITS

# Multicodec varint headers (https://github.com/multiformats/multicodec).
ED25519_PUB_HEADER = b"\xed\x01"  # ed25519-pub, 0xed
ED25519_PRIV_HEADER = b"\x80\x26"  # ed25519-priv, 0x1300


def _chunk_to_digits(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, rem = divmod(value, 58)
        out.append(ALPHABET[rem])
    return "".join(reversed(out))


def b58encode(data: bytes) -> str:
    """Bitcoin base58 of ``data``; leading zero bytes become leading ``1`` characters."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    chunks: list[str] = []
    while number >= _CHUNK:
        number, rem = divmod(number, _CHUNK)
        chunks.append(_chunk_to_digits(rem, _CHUNK_DIGITS))
    head = _chunk_to_digits(number, _CHUNK_DIGITS).lstrip("1") if number else ""
    return "1" * zeros + head + "".join(reversed(chunks))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises ValueError on a character outside the alphabet."""
    number = 0
    try:
        for char in text:
            number = number * 58 + _INDEX[char]
    except KeyError as exc:
        raise ValueError(f"invalid base58 character {exc.args[0]!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_z(data: bytes) -> str:
    """Multibase base58btc: ``z`` followed by base58 of ``data``."""
    return "z" + b58encode(data)


def decode_z(text: str) -> bytes:
    """Decode a multibase base58btc string; ValueError if not ``z``-prefixed base58."""
    if not text.startswith("z"):
        raise ValueError("multibase value must start with 'z' (base58btc)")
    return b58decode(text[1:])


def encode_multikey(header: bytes, raw: bytes) -> str:
    """Multikey string: ``z`` + base58btc(multicodec header + raw key bytes)."""
    return encode_z(header + raw)


def decode_multikey(value: object, header: bytes, what: str) -> bytes:
    """Raw 32-byte Ed25519 key from a Multikey string with the expected multicodec header."""
    if not isinstance(value, str):
        raise KeyFormatError(f"{what} must be a string")
    try:
        decoded = decode_z(value)
    except ValueError as exc:
        raise KeyFormatError(f"{what} is not multibase base58btc: {exc}") from None
    if not decoded.startswith(header):
        raise KeyFormatError(
            f"{what} is not an Ed25519 key (multicodec header {decoded[:2].hex()}, "
            f"expected {header.hex()})"
        )
    raw = decoded[len(header) :]
    if len(raw) != 32:
        raise KeyFormatError(f"{what} has {len(raw)} key bytes, expected 32")
    return raw

"""Multibase base58btc (``z`` prefix) and the Multikey multicodec headers for Ed25519.

Base58 is done by GMP (gmpy2) and a character translation, not by the ``base58`` package:
that package costs about 40 us to encode one 64-byte signature, more than the Ed25519
signature itself, and every proof encodes or decodes one (ADR 0003). GMP writes numbers in
base 58 with the digits ``0-9A-Za-v``; translating those to the Bitcoin alphabet gives
base58, and a leading zero byte is a leading ``1`` as usual. Decoding, which every proof
verification does, has a C version in the signing extension (0.2 us against 1.9 us).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import gmpy2

from signing.errors import KeyFormatError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_GMP_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
_TO_BITCOIN = str.maketrans(_GMP_DIGITS, ALPHABET)
_TO_GMP = str.maketrans(ALPHABET, _GMP_DIGITS)
_VALID = re.compile(f"[{ALPHABET}]*")

_c_b58decode: Callable[[str], bytes | None] | None
try:
    from signing._jcs_speedups import (  # type: ignore[import-not-found,no-redef]
        b58decode as _c_b58decode,
    )
except ImportError:  # pragma: no cover - the extension is optional; tests require it in CI
    _c_b58decode = None

# Multicodec varint headers (https://github.com/multiformats/multicodec).
ED25519_PUB_HEADER = b"\xed\x01"  # ed25519-pub, 0xed
ED25519_PRIV_HEADER = b"\x80\x26"  # ed25519-priv, 0x1300


def b58encode(data: bytes) -> str:
    """Bitcoin base58 of ``data``; leading zero bytes become leading ``1`` characters."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = gmpy2.digits(number, 58).translate(_TO_BITCOIN) if number else ""
    return "1" * zeros + digits


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises ValueError on a character outside the alphabet.

    The C decoder (``signing._jcs_speedups.b58decode``) takes 0.2 us for a signature where
    GMP and the translation take 1.9; it leaves bad characters and long texts to the code
    below (tests hold the two equal)."""
    if _c_b58decode is not None and (decoded := _c_b58decode(text)) is not None:
        return decoded
    return _b58decode(text)


def _b58decode(text: str) -> bytes:
    """The Python decoder (GMP): the reference, and the path for what C leaves here."""
    if not _VALID.fullmatch(text):
        bad = next(c for c in text if c not in ALPHABET)
        raise ValueError(f"invalid base58 character {bad!r}")
    significant = text.lstrip("1")
    zeros = len(text) - len(significant)
    number = int(gmpy2.mpz(significant.translate(_TO_GMP), 58)) if significant else 0
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

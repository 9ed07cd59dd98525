"""Ed25519 keys from the formats other tools write: PEM (PKCS#8, encrypted or not), DER
PKCS#8, OpenSSH private keys, and JWK (RFC 8037: ``kty`` OKP, ``crv`` Ed25519).

A dismantler or OEM who already holds an Ed25519 key (from OpenSSL, ``ssh-keygen``, a
hardware module's export or a JOSE library) signs with it under its did:key instead of
registering a new one. Parsing is ``cryptography``'s, not ours; whatever is not an Ed25519
private key is refused with what it is. The secret never appears in a message.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_ssh_private_key

from signing import json_input
from signing.errors import DocumentError, KeyFormatError, PassphraseRequiredError
from signing.keys import KeyPair, from_seed

__all__ = ["FORMATS", "import_key"]

FORMATS = ("auto", "pem", "der", "openssh", "jwk")
"""What :func:`import_key` reads; ``auto`` tells them apart by their first bytes."""
MAX_SOURCE_BYTES = 64 * 1024
"""A key in any of these formats is a few hundred bytes."""


def import_key(data: bytes, *, fmt: str = "auto", passphrase: str | None = None) -> KeyPair:
    """The Ed25519 key pair in ``data`` (see the module doc). ``passphrase`` decrypts an
    encrypted PEM or OpenSSH key; PassphraseRequiredError when one is needed and not given.
    KeyFormatError for anything else that is not an Ed25519 private key."""
    if fmt not in FORMATS:
        raise KeyFormatError(f"unknown key format {fmt!r} (one of {', '.join(FORMATS)})")
    if len(data) > MAX_SOURCE_BYTES:
        raise KeyFormatError(f"{len(data)} bytes is not a key (at most {MAX_SOURCE_BYTES})")
    if fmt == "auto":
        fmt = _guess(data)
    if fmt == "jwk":
        return _from_jwk(data)
    password = None if passphrase is None else passphrase.encode("utf-8")
    try:
        if fmt == "pem":
            key: PrivateKeyTypes = serialization.load_pem_private_key(data, password)
        elif fmt == "openssh":
            key = load_ssh_private_key(data, password)  # type: ignore[assignment]
        else:
            key = serialization.load_der_private_key(data, password)
    except TypeError as exc:  # cryptography: encrypted without a password, or the reverse
        if password is None:
            raise PassphraseRequiredError("the key is encrypted: a passphrase is needed") from None
        raise KeyFormatError(f"the key is not encrypted: give no passphrase ({exc})") from None
    except (ValueError, UnicodeError):
        what = "a wrong passphrase, or not" if password is not None else "not"
        raise KeyFormatError(f"{what} a {fmt.upper()} private key") from None
    except UnsupportedAlgorithm:
        raise KeyFormatError(f"a {fmt.upper()} private key of an unsupported kind") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"{_kind(key)} key, not Ed25519")
    return from_seed(key.private_bytes_raw())


def _kind(key: PrivateKeyTypes) -> str:
    """What kind of key another tool gave, said as its users would."""
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC ({key.curve.name})"
    return f"a {type(key).__name__.lstrip('_').removesuffix('PrivateKey')}"


def _guess(data: bytes) -> str:
    head = data.lstrip()[:64]
    if head.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        return "openssh"
    if head.startswith(b"-----BEGIN"):
        return "pem"
    if head.startswith(b"{"):
        return "jwk"
    return "der"


def _from_jwk(data: bytes) -> KeyPair:
    """RFC 8037's OKP key: ``d`` the 32-byte seed, ``x`` (if given) its public key."""
    try:
        jwk = json_input.parse_object(data)
    except DocumentError as exc:
        raise KeyFormatError(f"not a JWK: {exc}") from None
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyFormatError(
            f"a JWK of kty {jwk.get('kty')!r}, crv {jwk.get('crv')!r}: not OKP Ed25519"
        )
    if "d" not in jwk:
        raise KeyFormatError("the JWK is a public key (no \"d\"): a private key is needed")
    key = from_seed(_base64url(jwk["d"], "d"))
    if "x" in jwk and _base64url(jwk["x"], "x") != key.public_key:
        raise KeyFormatError('the JWK\'s "x" is not the public key of its "d"')
    return key


def _base64url(value: Any, name: str) -> bytes:
    """An unpadded base64url member (RFC 7515 section 2), decoded strictly."""
    if not isinstance(value, str) or "=" in value or len(value) % 4 == 1:
        raise KeyFormatError(f'the JWK\'s "{name}" is not unpadded base64url')
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise KeyFormatError(f'the JWK\'s "{name}" is not unpadded base64url') from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != value:
        raise KeyFormatError(f'the JWK\'s "{name}" is not canonical base64url')
    return raw

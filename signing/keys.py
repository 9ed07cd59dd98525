"""Ed25519 signing keys, their Multikey encodings and key files.

A key file is JSON (ADR 0002)::

    {"id": "did:key:z6Mk...", "publicKeyMultibase": "z6Mk...", "secretKeyMultibase": "z3u2..."}

or, when protected by a passphrase, ``encryptedSecretKey`` (Argon2id + XSalsa20-Poly1305)
replaces ``secretKeyMultibase``. Files are written with mode 0600, atomically and never
over an existing file unless asked to (:mod:`signing.secret_files`); since a readable
secret is a leaked secret, they are refused on load when group or others may read them,
and a file larger than a key file can be (64 KiB) is refused unread.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.signing
import nacl.utils

from signing import did_key, json_input, secret_files
from signing.errors import (
    DocumentError,
    KeyFileError,
    KeyFormatError,
    PassphraseRequiredError,
)
from signing.multibase import ED25519_PRIV_HEADER, decode_multikey, encode_multikey

PASSPHRASE_ENV = "BPL_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
_KDF = "argon2id"
_CIPHER = "xsalsa20-poly1305"


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair. Its repr and str never show the secret."""

    public_key: bytes
    _signing_key: nacl.signing.SigningKey = field(repr=False, compare=False)

    @cached_property
    def public_multibase(self) -> str:
        """``z6Mk...``: the Multikey public key."""
        return did_key.public_multibase(self.public_key)

    @cached_property
    def did(self) -> str:
        """``did:key:z6Mk...``."""
        return did_key.did_from_public(self.public_key)

    @cached_property
    def verification_method(self) -> str:
        """``did:key:z6Mk...#z6Mk...``: the default verification method of this key."""
        return did_key.verification_method_id(self.public_key)

    def secret_multibase(self) -> str:
        """``z3u2...``: the Multikey secret key (the 32-byte seed). Handle with care."""
        return encode_multikey(ED25519_PRIV_HEADER, bytes(self._signing_key))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        # libsodium directly: SigningKey.sign also builds a SignedMessage (about 1 us).
        return _crypto_sign(message, self._libsodium_secret)[:64]

    @cached_property
    def _libsodium_secret(self) -> bytes:
        """libsodium's 64-byte secret key: the seed, then the key's own public key."""
        return bytes(self._signing_key) + bytes(self._signing_key.verify_key)


_crypto_sign = nacl.bindings.crypto_sign


def generate() -> KeyPair:
    """A new random Ed25519 key pair."""
    return from_seed(nacl.utils.random(32))


def from_seed(seed: bytes) -> KeyPair:
    """Key pair from a 32-byte Ed25519 seed (the secret key)."""
    if len(seed) != 32:
        raise KeyFormatError(f"Ed25519 secret key must be 32 bytes, got {len(seed)}")
    signing_key = nacl.signing.SigningKey(seed)
    return KeyPair(bytes(signing_key.verify_key), signing_key)


def from_multibase(secret_key_multibase: str) -> KeyPair:
    """Key pair from a ``z3u2...`` Multikey secret key."""
    return from_seed(decode_multikey(secret_key_multibase, ED25519_PRIV_HEADER, "secret key"))


def to_dict(key: KeyPair, passphrase: str | None = None) -> dict[str, Any]:
    """The key file's JSON object; the secret is encrypted when a passphrase is given."""
    data: dict[str, Any] = {"id": key.did, "publicKeyMultibase": key.public_multibase}
    if passphrase is None:
        data["secretKeyMultibase"] = key.secret_multibase()
    else:
        data["encryptedSecretKey"] = _encrypt(bytes(key._signing_key), passphrase)
    return data


def from_dict(data: object, passphrase: str | None = None) -> KeyPair:
    """Key pair from a key file's JSON object, checking that its parts agree."""
    if not isinstance(data, dict):
        raise KeyFormatError("key file must hold a JSON object")
    secret = data.get("secretKeyMultibase")
    private = data.get("privateKeyMultibase")
    if secret is not None and private is not None and secret != private:
        raise KeyFormatError("secretKeyMultibase and privateKeyMultibase disagree")
    secret = secret if secret is not None else private
    encrypted = data.get("encryptedSecretKey")
    if secret is not None and encrypted is not None:
        raise KeyFormatError("key file has both a plain and an encrypted secret key")
    if encrypted is not None:
        if passphrase is None:
            raise PassphraseRequiredError(
                "key file is encrypted: give its passphrase "
                f"(interactively or in ${PASSPHRASE_ENV})"
            )
        key = from_seed(_decrypt(encrypted, passphrase))
    elif secret is not None:
        key = from_multibase(secret)
    else:
        raise KeyFormatError("key file has no secret key (secretKeyMultibase)")
    if "publicKeyMultibase" in data and data["publicKeyMultibase"] != key.public_multibase:
        raise KeyFormatError("publicKeyMultibase does not belong to the secret key")
    if "id" in data and data["id"] not in (key.did, key.verification_method):
        raise KeyFormatError("id is not the did:key of the secret key")
    return key


def public_key_of(path: str | os.PathLike[str]) -> bytes:
    """The public key of a key file, without its passphrase: the clear part suffices."""
    data = _read_json(Path(path))
    if "encryptedSecretKey" not in data:
        return load(path).public_key
    public = did_key.public_from_did(did_key.PREFIX + str(data.get("publicKeyMultibase")))
    if "id" in data and data["id"] != did_key.did_from_public(public):
        raise KeyFormatError("id is not the did:key of publicKeyMultibase")
    return public


def save(
    key: KeyPair,
    path: str | os.PathLike[str],
    passphrase: str | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Write ``key`` to ``path`` with mode 0600, atomically; never silently replace a key."""
    payload = (json.dumps(to_dict(key, passphrase), indent=2) + "\n").encode()
    secret_files.write(path, payload, overwrite=overwrite)


def load(path: str | os.PathLike[str], passphrase: str | None = None) -> KeyPair:
    """Read a key file; refuses one that group or others can read."""
    source = Path(path)
    return from_dict(_parse_json(secret_files.read_text(source), source), passphrase)


def _read_json(path: Path) -> dict[str, Any]:
    """The key file's JSON object, for its public part: no mode check, the same size cap."""
    return _parse_json(secret_files.read_text(path, private=False), path)


def _parse_json(text: str, path: Path) -> dict[str, Any]:
    """The key file's JSON, parsed as strictly as any document (signing.json_input): two
    ``secretKeyMultibase`` members are refused, not one of them picked; deep nesting is
    refused, not a RecursionError. Its messages quote no string value (no secret)."""
    try:
        data = json_input.parse(text.encode("utf-8"))
    except DocumentError as exc:
        raise KeyFormatError(f"key file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise KeyFormatError(f"key file {path} must hold a JSON object")
    return data


def _encrypt(seed: bytes, passphrase: str) -> dict[str, Any]:
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    ops = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
    mem = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
    box_key = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=ops, memlimit=mem
    )
    sealed = nacl.secret.SecretBox(box_key).encrypt(seed)  # nonce || ciphertext || tag
    return {
        "kdf": _KDF,
        "opslimit": ops,
        "memlimit": mem,
        "salt": base64.b64encode(salt).decode(),
        "cipher": _CIPHER,
        "ciphertext": base64.b64encode(bytes(sealed)).decode(),
    }


def _decrypt(blob: object, passphrase: str) -> bytes:
    try:
        if not isinstance(blob, dict) or blob["kdf"] != _KDF or blob["cipher"] != _CIPHER:
            raise KeyFormatError(f"encryptedSecretKey must use {_KDF} and {_CIPHER}")
        salt = base64.b64decode(blob["salt"], validate=True)
        sealed = base64.b64decode(blob["ciphertext"], validate=True)
        ops, mem = int(blob["opslimit"]), int(blob["memlimit"])
    except (KeyError, TypeError, ValueError):
        raise KeyFormatError("encryptedSecretKey is malformed") from None
    if len(salt) != nacl.pwhash.argon2id.SALTBYTES:
        raise KeyFormatError("encryptedSecretKey salt has the wrong length")
    if not (1 <= ops <= nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE * 4) or not (
        8192 <= mem <= nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE * 4
    ):
        raise KeyFormatError("encryptedSecretKey KDF limits are out of range")
    box_key = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=ops, memlimit=mem
    )
    try:
        return bytes(nacl.secret.SecretBox(box_key).decrypt(sealed))
    except nacl.exceptions.CryptoError:
        raise KeyFileError("wrong passphrase, or the encrypted key was altered") from None

"""did:key for Ed25519 (``did:key:z6Mk...``) and its verification method URLs.

A did:key DID *is* its public key, so resolving one needs neither network nor registry:
the key is decoded from the identifier itself.
"""

from __future__ import annotations

from functools import lru_cache

from signing.errors import KeyFormatError
from signing.multibase import ED25519_PUB_HEADER, decode_multikey, encode_multikey

PREFIX = "did:key:"


def public_multibase(public_key: bytes) -> str:
    """Multikey encoding (``z6Mk...``) of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    return encode_multikey(ED25519_PUB_HEADER, public_key)


def did_from_public(public_key: bytes) -> str:
    """``did:key:z6Mk...`` for a raw Ed25519 public key."""
    return PREFIX + public_multibase(public_key)


def verification_method_id(public_key: bytes) -> str:
    """The did:key verification method URL ``did:key:z6Mk...#z6Mk...``."""
    mb = public_multibase(public_key)
    return f"{PREFIX}{mb}#{mb}"


def public_from_did(did: str) -> bytes:
    """Raw public key from ``did:key:z6Mk...`` (a ``#fragment`` is not allowed here)."""
    if not did.startswith(PREFIX):
        raise KeyFormatError(f"not a did:key identifier: {did!r}")
    return decode_multikey(did[len(PREFIX) :], ED25519_PUB_HEADER, "did:key identifier")


@lru_cache(maxsize=4096)  # pure: a did:key URL always names the same key
def public_from_verification_method(url: str) -> bytes:
    """Resolve a did:key verification method URL to its raw Ed25519 public key.

    The fragment must repeat the DID's own multibase key, as the did:key method defines
    its single verification method; anything else names a key the DID does not have.
    """
    did, sep, fragment = url.partition("#")
    public_key = public_from_did(did)
    if not sep or fragment != did[len(PREFIX) :]:
        raise KeyFormatError(
            f"verification method {url!r} is not did:key's own key (expected fragment "
            f"#{did[len(PREFIX) :]})"
        )
    return public_key

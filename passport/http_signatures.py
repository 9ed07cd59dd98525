"""Actors authenticate by signing their requests (RFC 9421, Ed25519; ADR 0021).

A request carrying ``Signature-Input`` and ``Signature`` (tag ``bpl``) reads as the actor
whose registered, unrevoked key signed it, with the roles the ledger gives that actor now.
The signature's checks are :mod:`signing.http_signatures`'s (what it covers, its age, the
body's digest); this module supplies the keys the ledger holds, refuses a nonce seen
before, and turns every refusal into a 401 problem. It runs in the ``Readers`` dependency,
before any route looks anything up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from ledger.core.access import Reader
from ledger.facade import Ledger
from passport.problems import Problem
from signing import did_key
from signing.errors import SigningError
from signing.http_signatures import (
    ALGORITHM,
    CLOCK_SKEW_SECONDS,
    COVERED,
    MAX_AGE_SECONDS,
    HTTPSignatureError,
    verify_request,
)

TAG = "bpl"
"""The application tag a bpl request signature carries (RFC 9421 section 2.3): a
signature made for another application is not taken for one of ours."""
KEY_CACHE_SECONDS = 5.0
"""How long a key's owner (or its absence, or its revocation) is kept: a key revoked on
the ledger is refused within this time."""
ACCEPT_SIGNATURE = (
    "sig1=(" + " ".join(f'"{c}"' for c in COVERED) + f');alg="{ALGORITHM}";tag="{TAG}"'
)
"""RFC 9421's ``Accept-Signature``: what a 401 asks a client to sign."""
HEADERS = ("signature", "signature-input")
READER_VARY = "Authorization, Signature, Signature-Input"
"""The request headers that say who reads (a bearer token, or a signature by an actor's
key): what every response that depends on its reader varies on."""


def challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="bpl"', "Accept-Signature": ACCEPT_SIGNATURE}


def refuse(detail: str) -> Problem:
    return Problem(401, "invalid-signature", detail, headers=challenge())


class KeyOwners:
    """Which registered actor holds a key (verification method), with its roles now:
    the actor of the key's own did:key first (one lookup), else any actor the ledger
    registered the key for (``bpl actor add-key``). Revoked keys have no owner."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[float, tuple[str, frozenset[str]] | None]] = {}
        self._index: tuple[float, dict[str, tuple[str, frozenset[str]] | None]] | None = None

    def owner(self, key_id: str) -> tuple[str, frozenset[str]] | None:
        """The actor DID and roles of an unrevoked registered key, or None."""
        now = time.monotonic()
        with self._lock:
            cached = self._owners.get(key_id)
        if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        found = self._look_up(key_id, now)
        with self._lock:
            if len(self._owners) > 10_000:
                self._owners.clear()
            self._owners[key_id] = (now, found)
        return found

    def _look_up(self, key_id: str, now: float) -> tuple[str, frozenset[str]] | None:
        did = key_id.partition("#")[0]
        actor = self.ledger.actor(did)
        if actor is not None:
            for key, revoked in actor.keys:
                if key == key_id:
                    return None if revoked else (actor.did, frozenset(actor.roles))
        with self._lock:
            index = self._index
        if index is None or now - index[0] >= KEY_CACHE_SECONDS:
            keys: dict[str, tuple[str, frozenset[str]] | None] = {}
            for registered in self.ledger.actors():
                for key, revoked in registered.keys:
                    keys[key] = None if revoked else (registered.did, frozenset(registered.roles))
            index = (now, keys)
            with self._lock:
                self._index = index
        return index[1].get(key_id)


class Nonces:
    """The nonces of the signatures accepted within their validity (this process's):
    a nonce seen again is a replay. Signatures without a nonce are accepted (ADR 0021:
    replaying one within its window reads again what its signer could read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(self, key_id: str, nonce: str, until: float) -> bool:
        """Whether ``nonce`` of ``key_id`` is new (and remember it until ``until``)."""
        now = time.time()
        with self._lock:
            if len(self._seen) > 1000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            if self._seen.get((key_id, nonce), 0.0) > now:
                return False
            self._seen[(key_id, nonce)] = until
            return True


class Signatures:
    """Readers from signed requests over one ledger's registered keys."""

    def __init__(self, ledger: Ledger) -> None:
        self.owners = KeyOwners(ledger)
        self.nonces = Nonces()

    def public_key(self, key_id: str) -> bytes | None:
        if self.owners.owner(key_id) is None:
            return None
        try:
            return did_key.public_from_verification_method(key_id)
        except SigningError:
            return None

    def reader(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> tuple[Reader, str]:
        """The reader a signed request reads as and the key that signed it; a 401 problem
        for a signature that does not verify, a key that is unknown or revoked, a stale
        or future ``created``, a past ``expires``, a body that is not the one signed, or
        a nonce used before."""
        unknown: list[str] = []

        def public_key(key_id: str) -> bytes | None:
            found = self.public_key(key_id)
            if found is None:
                unknown.append(key_id)
            return found

        try:
            signed = verify_request(method, url, headers, body, public_key, tag=TAG)
        except HTTPSignatureError as exc:
            reason = f"key {unknown[0]} is not registered here, or revoked" if unknown else exc
            raise refuse(f"the request's signature is not accepted: {reason}") from None
        owner = self.owners.owner(signed.key_id)
        if owner is None:  # revoked between the check and now
            raise refuse("the signing key is not registered, or revoked")
        if signed.nonce is not None:
            until = min(
                signed.expires or signed.created + MAX_AGE_SECONDS,
                signed.created + MAX_AGE_SECONDS,
            )
            if not self.nonces.first_use(signed.key_id, signed.nonce, until + CLOCK_SKEW_SECONDS):
                raise refuse("the signature's nonce was used before: sign each request anew")
        did, roles = owner
        return Reader.of_actor(did, roles), signed.key_id


def request_url(
    scheme: str, headers: Iterable[tuple[bytes, bytes]], raw_path: bytes, query: bytes
) -> str:
    """The request's absolute URL as the client sent it (its Host, its raw path): what a
    signature's ``@authority``, ``@path`` and ``@query`` were computed over."""
    host = next((value for name, value in headers if name == b"host"), b"")
    if not host:
        raise refuse("a signed request must carry a Host")
    url = f"{scheme}://{host.decode('latin-1')}{raw_path.decode('latin-1')}"
    return f"{url}?{query.decode('latin-1')}" if query else url

"""HTTP Message Signatures (RFC 9421) with Ed25519 keys, and Content-Digest (RFC 9530).

A client signs a request with its :class:`signing.keys.KeyPair`: the method, the
authority, the path and the query, the body's digest when there is a body, and the
signature's metadata (``created``, ``expires``, ``nonce``, ``keyid``: the key's did:key
verification method, ``alg="ed25519"``, and an application ``tag``). A server verifies
such a request against the public key it holds for the key id, and learns which key
signed it; who that key belongs to, and what the holder may do, is the caller's to decide.

The signature base and the structured fields are the ``http-message-signatures``
package's (RFC 9421, over ``http-sf``): nothing here writes them by hand. This module
only chooses what a signature must cover and gives every refusal one exception type,
:class:`HTTPSignatureError`.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from signing.errors import SigningError
from signing.keys import KeyPair

ALGORITHM = "ed25519"
COVERED = ("@method", "@authority", "@path", "@query")
"""What a request's signature covers (``content-digest`` too when it has a body)."""
TARGET_COMPONENTS = (frozenset({"@target-uri"}), frozenset({"@authority", "@path", "@query"}))
"""Either of these, with ``@method``, names the request's target: a signature must cover
one of them (``@authority`` and ``@path`` alone would let a query be changed)."""
MAX_AGE_SECONDS = 300
"""How long after its ``created`` time a signature is accepted."""
CLOCK_SKEW_SECONDS = 30
"""How far a signer's clock may be ahead of (or ``expires`` behind) the verifier's."""
LABEL = "sig1"


class HTTPSignatureError(SigningError):
    """A request's signature is missing, malformed, stale, over a different request or
    by a key the verifier does not know; the message says which."""


@dataclass(frozen=True)
class SignedRequest:
    """What a verified signature says about its request."""

    key_id: str
    """The verification method that signed (``did:key:z6Mk...#z6Mk...``)."""
    created: int
    expires: int | None
    nonce: str | None
    covered: tuple[str, ...]
    """The components the signature covers, as named in ``Signature-Input``."""


@dataclass
class _Message:
    """The view of a request the RFC 9421 library reads: method, URL, header lines."""

    method: str
    url: str
    headers: _Headers


class _Headers:
    """Header lines in order (repeated names kept): what the library reads and writes."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        self.lines = list(lines)

    def items(self) -> list[tuple[str, str]]:
        return list(self.lines)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self.lines)

    def __setitem__(self, name: str, value: str) -> None:
        del self[name]
        self.lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        self.lines = [(n, v) for n, v in self.lines if n.lower() != name.lower()]


class _PublicKeys(HTTPSignatureKeyResolver):
    def __init__(self, public_key: Callable[[str], bytes | None]) -> None:
        self.public_key = public_key

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        raw = self.public_key(key_id)
        return None if raw is None else Ed25519PublicKey.from_public_bytes(raw)

    def resolve_private_key(self, key_id: str) -> None:
        raise HTTPSignatureError("a verifier holds no private keys")


def sign_request(
    method: str,
    url: str,
    headers: MutableMapping[str, str],
    body: bytes | None,
    key: KeyPair,
    *,
    tag: str,
    created: int | None = None,
    expires_in: int | None = None,
    nonce: str | None = None,
) -> None:
    """Sign a request in place: adds ``Signature-Input``, ``Signature`` and, for a body
    (``body`` not None, even empty), ``Content-Digest`` to ``headers``.

    ``url`` is the absolute URL as it will be sent (encoded: what the server receives);
    ``created`` defaults to now; a random ``nonce`` is added unless one is given."""
    message = _Message(method.upper(), url, _Headers(headers.items()))
    moment = int(time.time()) if created is None else created
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    try:
        prepared = signer.prepare(
            message,
            key_id=key.verification_method,
            created=datetime.datetime.fromtimestamp(moment, datetime.UTC),
            expires=None
            if expires_in is None
            else datetime.datetime.fromtimestamp(moment + expires_in, datetime.UTC),
            nonce=nonce or secrets.token_urlsafe(16),
            label=LABEL,
            tag=tag,
            covered_component_ids=COVERED,
            body=body,
        )
        signer.apply(message, prepared, key.sign(prepared.signature_base))
    except HTTPMessageSignaturesException as exc:
        raise HTTPSignatureError(f"cannot sign this request: {exc}") from None
    for name in ("Content-Digest", "Signature-Input", "Signature"):
        for line_name, value in message.headers.lines:
            if line_name.lower() == name.lower():
                headers[name] = value


def verify_request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    public_key: Callable[[str], bytes | None],
    *,
    tag: str,
    max_age: int = MAX_AGE_SECONDS,
    clock_skew: int = CLOCK_SKEW_SECONDS,
) -> SignedRequest:
    """Verify the signature tagged ``tag`` on a request; return what it says.

    ``public_key(key_id)`` gives the raw Ed25519 public key the verifier holds for a key
    id, or None if it holds none (an unknown or revoked key). The signature must cover
    ``@method`` and the target (``@target-uri``, or ``@authority``, ``@path`` and
    ``@query``), ``content-digest`` when there is a body (checked against ``body``), and
    carry ``created`` (at most ``max_age`` seconds old, at most ``clock_skew`` seconds
    ahead), ``keyid`` and ``alg="ed25519"``; an ``expires`` past is refused. Raises
    :class:`HTTPSignatureError` naming what failed."""
    message = _Message(method.upper(), url, _Headers(headers))
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_PublicKeys(public_key)
    )
    verifier.max_clock_skew = datetime.timedelta(seconds=clock_skew)
    try:
        results = verifier.verify(
            message,
            max_age=datetime.timedelta(seconds=max_age),
            expect_tag=tag,
            require_components=("@method",),
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise HTTPSignatureError(
            str(exc) or "the signature does not verify over this request with that key"
        ) from None
    except (ValueError, TypeError, UnicodeError) as exc:  # a header the parsers choke on
        raise HTTPSignatureError(f"malformed signature fields: {exc}") from None
    if len(results) != 1:
        raise HTTPSignatureError(f"send one signature tagged {tag!r}, not {len(results)}")
    result = results[0]
    covered = tuple(name.strip('"') for name in result.covered_components if "@sig" not in name)
    if not any(needed <= set(covered) for needed in TARGET_COMPONENTS):
        raise HTTPSignatureError(
            "the signature must cover the request's target: @target-uri, or @authority, "
            "@path and @query"
        )
    if body and "content-digest" not in covered:
        raise HTTPSignatureError("the signature must cover the body's content-digest")
    parameters = result.parameters
    if parameters.get("alg") != ALGORITHM:
        raise HTTPSignatureError(f'the signature must say alg="{ALGORITHM}"')
    key_id, created, expires = (
        parameters.get("keyid"),
        parameters.get("created"),
        parameters.get("expires"),
    )
    if not isinstance(key_id, str) or not isinstance(created, int):
        raise HTTPSignatureError("the signature must name its keyid and created time")
    return SignedRequest(
        key_id,
        created,
        expires if isinstance(expires, int) else None,
        result.nonce,
        covered,
    )

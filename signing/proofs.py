"""Create and verify W3C Data Integrity proofs (``DataIntegrityProof``, EdDSA suites).

``sign`` adds one proof; on a document that already has proofs it adds to the proof set
and leaves the others byte for byte as they were. ``verify`` checks every proof on its own
against the document without its ``proof`` member, and raises on the first that fails;
``verify_each`` gives a result per proof for reports.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from hashlib import sha256
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing

from signing import did_key, jcs, suites
from signing.contexts import DocumentLoader, default_loader
from signing.errors import (
    BadSignatureError,
    ContextMismatchError,
    DocumentError,
    KeyFormatError,
    MalformedProofError,
    NoProofError,
    ProofTimeError,
    PurposeMismatchError,
    SigningError,
    UnknownCryptosuiteError,
    UnsupportedKeyError,
    VerificationError,
)
from signing.keys import KeyPair
from signing.multibase import b58decode, decode_z, encode_z

DEFAULT_SUITE = suites.JCS
DEFAULT_PURPOSE = "assertionMethod"
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)

Resolver = Callable[[str], bytes]
"""Maps a verification method URL to a raw Ed25519 public key (raises KeyFormatError)."""

# XML Schema dateTimeStamp: a dateTime with a mandatory time zone.
_DATETIME = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z", re.ASCII
)


_REQUIRED = ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue")
"""The members every proof needs, as strings."""


@dataclass(frozen=True)
class ProofResult:
    """The outcome of checking one proof of a proof set."""

    index: int
    cryptosuite: str | None
    verification_method: str | None
    created: str | None
    error: VerificationError | None = None

    @property
    def ok(self) -> bool:
        """True when this proof verified."""
        return self.error is None


def sign(
    document: dict[str, Any],
    key: KeyPair,
    suite: str = DEFAULT_SUITE,
    created: str | datetime | None = None,
    verification_method: str | None = None,
    *,
    proof_purpose: str = DEFAULT_PURPOSE,
    loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """A copy of ``document`` with one more Data Integrity proof made with ``key``.

    ``created`` defaults to now (UTC, whole seconds); ``verification_method`` to the
    key's did:key URL.
    """
    cryptosuite = _suite_for_signing(suite)
    if not isinstance(document, dict):
        raise DocumentError("only a JSON object can be signed")
    loader = loader or default_loader()
    loader.check_known(document.get("@context"))
    existing = _existing_proofs(document)
    if verification_method is None:
        vm = key.verification_method
    else:
        vm = verification_method
        _check_method_matches_key(vm, key)
    options: dict[str, Any] = {
        "type": suites.PROOF_TYPE,
        "cryptosuite": cryptosuite.name,
        "created": _created_string(created),
        "verificationMethod": vm,
        "proofPurpose": proof_purpose,
    }
    unsecured = {k: v for k, v in document.items() if k != "proof"} if existing else document
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    signature = key.sign(cryptosuite.hash_data(unsecured, config, loader))
    # Neither dict is used again: the proof is the configuration (jcs) or the options (rdfc).
    proof = config if cryptosuite.context_in_proof else options
    proof["proofValue"] = encode_z(signature)
    signed = dict(document)
    signed["proof"] = [*existing, proof] if existing else proof
    return signed


def verify(
    document: dict[str, Any],
    *,
    loader: DocumentLoader | None = None,
    resolver: Resolver | None = None,
    purpose: str | None = DEFAULT_PURPOSE,
    now: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> None:
    """Return if every proof verifies; else raise the first proof's VerificationError.

    ``loader`` knows the contexts the document may name (default: the bundled W3C ones)."""
    if (
        resolver is None
        and now is None
        and purpose == DEFAULT_PURPOSE
        and max_clock_skew == DEFAULT_CLOCK_SKEW
        and _verified_usual(document, loader)
    ):
        return
    check = _ProofCheck(document, loader, resolver, purpose, now, max_clock_skew)
    for index, proof in enumerate(check.proofs):
        check.verify(index, proof)


def verify_many(
    documents: Sequence[dict[str, Any]], *, loader: DocumentLoader | None = None
) -> list[SigningError | None]:
    """:func:`verify` of each document, with the default options but ``loader``: None where
    it returns, else the error it raises; the same verdict for each.

    Stage by stage: first the hash data of every usual proof (see :func:`_verified_usual`),
    then every Ed25519 signature, so that each stage's code stays in the CPU's caches
    across the batch (a ledger batch: see ``ledger.core.admission.check_submissions``).
    Anything else, and any failure, takes :func:`verify`, which words the error."""
    loader = loader or default_loader()
    signed = [_usual_signed_message(document, loader) for document in documents]
    outcomes: list[SigningError | None] = []
    for document, message in zip(documents, signed, strict=True):
        if message is not None and _opens(message):
            outcomes.append(None)
            continue
        try:
            verify(document, loader=loader)  # not the usual case (a proof set, rdfc...), or refused
        except SigningError as exc:
            outcomes.append(exc)
            continue
        outcomes.append(None)
    return outcomes


def verify_each(
    document: dict[str, Any],
    *,
    loader: DocumentLoader | None = None,
    resolver: Resolver | None = None,
    purpose: str | None = DEFAULT_PURPOSE,
    now: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> list[ProofResult]:
    """One result per proof. Raises NoProofError if there is none, DocumentError if the
    document itself is unusable (not an object, unknown @context)."""
    check = _ProofCheck(document, loader, resolver, purpose, now, max_clock_skew)
    return [check.result(index, proof) for index, proof in enumerate(check.proofs)]


def _verified_usual(document: dict[str, Any], loader: DocumentLoader | None = None) -> bool:
    """True if ``document`` is the usual case and verifies: a single eddsa-jcs-2022 proof
    (an object) of the default purpose, by a did:key, created by now (with the default
    skew), without expiry, carrying the document's own @context (which it has, and
    ``loader``, by default the bundled one, knows). Anything else, and any failure, is
    False: then the general path decides and words the error. The general path's checks,
    in one function without its objects and calls (on every record the ledger admits);
    tests hold its verdicts to the general path's."""
    signed = _usual_signed_message(document, loader or default_loader())
    return signed is not None and _opens(signed)


def _usual_signed_message(
    document: dict[str, Any], loader: DocumentLoader
) -> tuple[bytes, bytes] | None:
    """For the usual case (see :func:`_verified_usual`): the signature followed by the
    hash data, and the public key, ready for Ed25519; None for anything else, or any
    failure before the signature check."""
    proof = document.get("proof") if document.__class__ is dict else None
    if proof.__class__ is not dict or "expires" in proof or "previousProof" in proof:
        return None
    method, value = proof.get("verificationMethod"), proof.get("proofValue")
    created = proof.get("created")
    context = document.get("@context")
    proof_context = proof.get("@context", context)
    if (
        context is None
        or proof.get("type") != suites.PROOF_TYPE
        or proof.get("cryptosuite") != suites.JCS
        or proof.get("proofPurpose") != DEFAULT_PURPOSE
        or proof["type"].__class__ is not str
        or proof["cryptosuite"].__class__ is not str
        or proof["proofPurpose"].__class__ is not str
        or method.__class__ is not str
        or value.__class__ is not str
        or not value.startswith("z")
        or ("created" in proof and created.__class__ is not str)
        # else a prefix of the document's context, or none of it: the general path
        or (proof_context is not context and not _same_urls(proof_context, context))
    ):
        return None
    try:
        loader.check_known(context)
        moment = _xsd_datetime(created) if created is not None else None
        signature = b58decode(value[1:])
        if (
            moment.__class__ is str
            or (isinstance(moment, datetime) and moment > datetime.now(UTC) + DEFAULT_CLOCK_SKEW)
            or len(signature) != 64
        ):
            return None
        public_key = _public_key(did_key.public_from_verification_method(method))
        unsecured = {k: v for k, v in document.items() if k != "proof"}
        config = {k: v for k, v in proof.items() if k != "proofValue"}
        hash_data = sha256(jcs.canonicalize(config)).digest()
        return (
            signature + hash_data + sha256(jcs.canonicalize(unsecured)).digest(),
            public_key,
        )
    except (SigningError, ValueError, TypeError):
        return None


def _opens(signed: tuple[bytes, bytes]) -> bool:
    """Whether the Ed25519 signature at the head of ``signed[0]`` verifies under the public
    key ``signed[1]``."""
    try:
        _crypto_sign_open(*signed)
    except nacl.exceptions.CryptoError:
        return False
    return True


class _ProofCheck:
    """What every proof of one document is checked against (a plain class: this is the
    verification hot path, and a frozen dataclass costs microseconds to build). A check
    added here must be added to :func:`_verified_usual` too, or make it return False."""

    __slots__ = (
        "document",
        "latest_created",
        "loader",
        "now",
        "proofs",
        "purpose",
        "resolve",
        "unsecured",
    )

    def __init__(
        self,
        document: dict[str, Any],
        loader: DocumentLoader | None,
        resolver: Resolver | None,
        purpose: str | None,
        now: datetime | None,
        max_clock_skew: timedelta,
    ) -> None:
        if not isinstance(document, dict):
            raise DocumentError("a signed document must be a JSON object")
        if "proof" not in document:
            raise NoProofError("the document has no 'proof' member")
        proofs = document["proof"]
        self.proofs: list[Any] = proofs if isinstance(proofs, list) else [proofs]
        if not self.proofs:
            raise NoProofError("the document's proof set is empty")
        self.loader = loader or default_loader()
        self.loader.check_known(document.get("@context"))
        self.document = document
        self.unsecured = {k: v for k, v in document.items() if k != "proof"}
        self.resolve = resolver or did_key.public_from_verification_method
        self.purpose = purpose
        self.now = now or datetime.now(UTC)
        self.latest_created = self.now + max_clock_skew

    def verify(self, index: int, proof: object) -> None:
        """Raise the VerificationError of proof ``index``, if any."""
        try:
            self._verify(index, proof)
        except DocumentError as exc:
            # The document cannot be canonicalized the way this proof demands.
            raise MalformedProofError(str(exc), proof_index=index) from None

    def result(self, index: int, proof: object) -> ProofResult:
        """The outcome of proof ``index``, for reports."""
        fields = proof if isinstance(proof, dict) else {}
        result = ProofResult(
            index,
            _str_or_none(fields.get("cryptosuite")),
            _str_or_none(fields.get("verificationMethod")),
            _str_or_none(fields.get("created")),
        )
        try:
            self.verify(index, proof)
        except VerificationError as exc:
            return replace(result, error=exc)
        return result

    def _verify(self, index: int, untrusted: object) -> None:
        proof, cryptosuite = _check_shape(untrusted, index)
        if self.purpose is not None and proof["proofPurpose"] != self.purpose:
            raise PurposeMismatchError(
                f"proofPurpose {proof['proofPurpose']!r}, expected {self.purpose!r}",
                proof_index=index,
            )
        self._check_times(index, proof)
        try:
            public_key = _public_key(self.resolve(proof["verificationMethod"]))
        except (KeyFormatError, ValueError, TypeError) as exc:
            raise UnsupportedKeyError(str(exc), proof_index=index) from None
        signature = _decode_proof_value(proof["proofValue"], index)

        options = {k: v for k, v in proof.items() if k != "proofValue"}
        unsecured = self.unsecured
        if cryptosuite.context_in_proof:
            if "@context" in options:
                context = options["@context"]
                document_context = self.document.get("@context")
                if not _same_urls(context, document_context):  # else a prefix, and the same
                    _check_context_prefix(context, document_context, index)
                    unsecured = {**unsecured, "@context": context}
            config = options
        else:
            config = {k: v for k, v in options.items() if k != "@context"}
            if "@context" in unsecured:
                config["@context"] = unsecured["@context"]

        hash_data = cryptosuite.hash_data(unsecured, config, self.loader)
        try:
            _crypto_sign_open(signature + hash_data, public_key)
        except nacl.exceptions.BadSignatureError:
            raise BadSignatureError(
                "the signature does not match the document and proof options",
                proof_index=index,
            ) from None

    def _check_times(self, index: int, proof: dict[str, Any]) -> None:
        if "created" in proof:
            created = _parse_datetime(proof["created"], "created", index)
            if created > self.latest_created:
                raise ProofTimeError(
                    f"created {proof['created']} is in the future", proof_index=index
                )
        if "expires" in proof:
            expires = _parse_datetime(proof["expires"], "expires", index)
            if expires < self.now:
                raise ProofTimeError(f"expired at {proof['expires']}", proof_index=index)


@lru_cache(maxsize=4096)
def _public_key(public_key: bytes) -> bytes:
    """The key once pynacl's VerifyKey has accepted it (ValueError, TypeError otherwise),
    checked once per key: signers sign many records."""
    return bytes(nacl.signing.VerifyKey(public_key))


# VerifyKey.verify(message, signature) is crypto_sign_open(signature + message, key) after
# checks that _public_key and _decode_proof_value have made: called directly, it saves
# pynacl's Python layer on every proof.
_crypto_sign_open = nacl.bindings.crypto_sign_open


def _check_shape(proof: object, index: int) -> tuple[dict[str, Any], suites.Cryptosuite]:
    """The proof and its cryptosuite, once its required members have the right types."""
    if not isinstance(proof, dict):
        raise MalformedProofError("a proof must be a JSON object", proof_index=index)
    for name in _REQUIRED:
        if proof.get(name).__class__ is str:  # the usual case, in one lookup
            continue
        if name not in proof:
            raise MalformedProofError(f"missing {name}", proof_index=index)
        if not isinstance(proof[name], str):
            raise MalformedProofError(f"{name} must be a string", proof_index=index)
    if proof["type"] != suites.PROOF_TYPE:
        raise UnknownCryptosuiteError(
            f"proof type {proof['type']!r} (expected {suites.PROOF_TYPE})", proof_index=index
        )
    if "previousProof" in proof:
        raise MalformedProofError(
            "proof chains (previousProof) are not supported", proof_index=index
        )
    try:
        return proof, suites.suite(proof["cryptosuite"])
    except KeyError:
        raise UnknownCryptosuiteError(
            f"cryptosuite {proof['cryptosuite']!r} (known: {', '.join(suites.SUITES)})",
            proof_index=index,
        ) from None


def _suite_for_signing(name: str) -> suites.Cryptosuite:
    try:
        return suites.suite(name)
    except KeyError:
        raise SigningError(
            f"unknown cryptosuite {name!r} (known: {', '.join(suites.SUITES)})"
        ) from None


def _existing_proofs(document: dict[str, Any]) -> list[Any]:
    if "proof" not in document:
        return []
    proof = document["proof"]
    if isinstance(proof, dict):
        return [proof]
    if isinstance(proof, list) and all(isinstance(p, dict) for p in proof):
        return list(proof)
    raise DocumentError("'proof' must be an object or a list of objects")


def _check_method_matches_key(verification_method: str, key: KeyPair) -> None:
    if not verification_method.startswith(did_key.PREFIX):
        return
    try:
        named = did_key.public_from_verification_method(verification_method)
    except KeyFormatError as exc:
        raise SigningError(f"verification method: {exc}") from None
    if named != key.public_key:
        raise SigningError("the verification method names another key than the signing key")


def _created_string(created: str | datetime | None) -> str:
    if created is None:
        return _now_text()
    if isinstance(created, datetime):
        if created.tzinfo is None:
            raise SigningError("created must carry a time zone")
        text = created.isoformat()
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    try:
        _parse_datetime(created, "created", 0)
    except MalformedProofError:
        raise SigningError(
            f"created {created!r} is not an XML Schema dateTime with time zone "
            "(e.g. 2026-11-29T10:00:00Z)"
        ) from None
    return created


_clock: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def _now_text() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``, formatted once per second."""
    second = int(time.time())
    if second != _clock[0]:
        _clock[1] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        _clock[0] = second
    text: str = _clock[1]
    return text


_NOT_XSD = "is not an XML Schema dateTime with time zone"


def _parse_datetime(value: object, name: str, index: int) -> datetime:
    if value.__class__ is str:
        parsed = _xsd_datetime(value)
    else:  # a str subclass is not cached: its own __eq__ and __hash__ could mislead the cache
        parsed = _xsd_datetime.__wrapped__(value) if isinstance(value, str) else _NOT_XSD
    if isinstance(parsed, str):
        raise MalformedProofError(f"{name} {parsed}", proof_index=index)
    return parsed


@lru_cache(maxsize=1024)
def _xsd_datetime(value: str) -> datetime | str:
    """The time ``value`` names, or why it names none. Cached: the proofs of a batch, made
    within seconds of each other, share a few ``created`` values."""
    match = _DATETIME.match(value)
    if match is None:
        return _NOT_XSD
    text = value
    if match.group(1) and len(match.group(1)) > 6:  # Python keeps microseconds only
        text = value.replace("." + match.group(1), "." + match.group(1)[:6])
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return "is not a valid date and time"


def _decode_proof_value(value: str, index: int) -> bytes:
    try:
        signature = decode_z(value)
    except ValueError as exc:
        raise MalformedProofError(f"proofValue: {exc}", proof_index=index) from None
    if len(signature) != 64:
        raise MalformedProofError(
            f"proofValue holds {len(signature)} bytes, an Ed25519 signature has 64",
            proof_index=index,
        )
    return signature


def _check_context_prefix(proof_context: object, document_context: object, index: int) -> None:
    """jcs: the document's @context must start with the proof's, in the same order."""
    proof_list = proof_context if isinstance(proof_context, list) else [proof_context]
    doc_list = document_context if isinstance(document_context, list) else [document_context]
    if doc_list[: len(proof_list)] != proof_list:
        raise ContextMismatchError(
            "the document's @context does not start with the proof's @context", proof_index=index
        )


def _same_urls(proof_context: object, document_context: object) -> bool:
    """Whether both are the same list of URL strings, so the document's @context serializes
    exactly as the proof's would and need not be replaced by it (the usual case)."""
    if (
        proof_context.__class__ is not list
        or document_context.__class__ is not list
        or proof_context != document_context  # compared in C
    ):
        return False
    for ours, theirs in zip(proof_context, document_context, strict=True):
        if ours.__class__ is not str or theirs.__class__ is not str:
            return False
    return True


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None

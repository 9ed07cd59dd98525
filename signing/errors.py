"""The signing layer's exceptions.

Every failure is a typed exception that says what failed and why, so callers (the ledger's
append gate, the CLI, the API) can name the rule that refused a document without parsing
messages. Messages never contain secret key material.
"""

from __future__ import annotations


class SigningError(Exception):
    """Base class of every error raised by :mod:`signing`."""


class KeyFormatError(SigningError):
    """A key, key file or Multikey/did:key string is malformed or not Ed25519."""


class KeyFileError(SigningError):
    """A key file cannot be read or written (I/O, permissions, wrong passphrase)."""


class PassphraseRequiredError(KeyFileError):
    """The key file's secret is encrypted and no passphrase was given."""


class DocumentError(SigningError):
    """A JSON document cannot be used: malformed, too large, too deep, bad numbers."""


class MalformedJSONError(DocumentError):
    """Not JSON at all: not UTF-8, or outside JSON's grammar (``NaN`` and ``Infinity``
    aside: refused as numbers). The strict parser's other refusals are of JSON text:
    duplicate keys, numbers, nesting, size, lone surrogate escapes."""


class CanonicalizationError(DocumentError):
    """A document cannot be canonicalized (JCS domain errors, JSON-LD errors)."""


class UnknownContextError(CanonicalizationError):
    """A JSON-LD context URL is not in the offline loader."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"unknown JSON-LD context {url!r}: contexts are never fetched from the network; "
            "add it to the offline loader (bpl --context URL=FILE)"
        )
        self.url = url


class VerificationError(SigningError):
    """A proof did not verify. ``proof_index`` is its position in the proof set."""

    reason = "verification failed"

    def __init__(self, detail: str, *, proof_index: int | None = None) -> None:
        where = f"proof {proof_index}" if proof_index is not None else "document"
        super().__init__(f"{where}: {self.reason}: {detail}")
        self.detail = detail
        self.proof_index = proof_index


class NoProofError(VerificationError):
    """The document carries no proof at all."""

    reason = "no proof"


class MalformedProofError(VerificationError):
    """A proof lacks a required field, has one of the wrong type, or a bad proofValue."""

    reason = "malformed proof"


class UnknownCryptosuiteError(VerificationError):
    """The proof's type or cryptosuite is not one this library implements."""

    reason = "unknown suite"


class UnsupportedKeyError(VerificationError):
    """The verification method cannot be resolved to an Ed25519 public key."""

    reason = "unsupported key"


class ContextMismatchError(VerificationError):
    """The proof's @context is not a prefix of the document's @context."""

    reason = "context mismatch"


class ProofTimeError(VerificationError):
    """``created`` lies in the future (beyond the allowed clock skew) or ``expires`` passed."""

    reason = "proof time"


class PurposeMismatchError(VerificationError):
    """The proof's ``proofPurpose`` is not the one the verifier expects."""

    reason = "purpose mismatch"


class BadSignatureError(VerificationError):
    """The Ed25519 signature does not match the document and proof options."""

    reason = "bad signature"

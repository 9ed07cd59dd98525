"""The two EdDSA cryptosuites of W3C "Data Integrity EdDSA Cryptosuites v1.0".

Both hash the same way (SHA-256 of the canonical proof configuration, then SHA-256 of the
canonical document, concatenated) and sign with Ed25519; they differ in canonicalization:

* ``eddsa-jcs-2022``: RFC 8785 JSON canonicalization; the proof carries a copy of the
  document's ``@context``. Fast; the project's default.
* ``eddsa-rdfc-2022``: JSON-LD to RDF, then RDFC-1.0 canonical N-Quads; the proof carries
  no ``@context``. Slow. Run in *safe mode*: a property or type the ``@context`` does not
  define would be silently dropped from the RDF, and so left unsigned; we refuse it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from signing import jcs
from signing._internal import rdfc
from signing.contexts import CREDENTIALS_V2, DocumentLoader
from signing.errors import CanonicalizationError, DocumentError, UnknownContextError

JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"


@dataclass(frozen=True)
class Cryptosuite:
    """What distinguishes one EdDSA cryptosuite from the other."""

    name: str
    canonicalize: Callable[[dict[str, Any], DocumentLoader], bytes]
    canonicalize_config: Callable[[dict[str, Any], DocumentLoader], bytes]
    # jcs copies the document's @context into the proof; rdfc leaves it out.
    context_in_proof: bool

    def hash_data(
        self, document: dict[str, Any], proof_config: dict[str, Any], loader: DocumentLoader
    ) -> bytes:
        """The 64 bytes that Ed25519 signs: H(canonical proof config) || H(canonical doc)."""
        document_hash = hashlib.sha256(self.canonicalize(document, loader)).digest()
        try:
            config_bytes = self.canonicalize_config(proof_config, loader)
        except DocumentError as exc:
            raise type(exc)(f"proof configuration: {exc}") from None
        return hashlib.sha256(config_bytes).digest() + document_hash


def _jcs(document: dict[str, Any], loader: DocumentLoader) -> bytes:
    return jcs.canonicalize(document)


def _jcs_strings(config: dict[str, Any], loader: DocumentLoader) -> bytes:
    """JCS of a proof configuration, which is nearly always strings and lists of strings.

    For those, orjson with sorted keys *is* JCS (same string escaping; with ASCII keys,
    code point order is UTF-16 order), and skipping the number and key-order checks of
    :func:`signing.jcs.canonicalize` saves a microsecond on every proof when those checks
    run in Python. Anything else takes the general path. With the C accelerator the
    general path is the faster one (0.3 us against 0.6): then it is used instead.
    """
    for value in config.values():
        if value.__class__ is not str and not (
            value.__class__ is list and all(item.__class__ is str for item in value)
        ):
            return jcs.canonicalize(config)
    try:
        out = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. a lone surrogate: let jcs say what is wrong
        return jcs.canonicalize(config)
    return (
        out if out.isascii() or all(key.isascii() for key in config) else jcs.canonicalize(config)
    )


def _rdfc(document: dict[str, Any], loader: DocumentLoader) -> bytes:
    return canonical_nquads(document, loader).encode("utf-8")


def _rdfc_config(config: dict[str, Any], loader: DocumentLoader) -> bytes:
    """rdfc reads the proof options through the document's @context: say so when it fails."""
    try:
        return _rdfc(config, loader)
    except UnknownContextError:
        raise
    except CanonicalizationError as exc:
        raise CanonicalizationError(
            f"{exc} (the document's @context must define the Data Integrity terms, "
            f"e.g. by including {CREDENTIALS_V2})"
        ) from None


SUITES: dict[str, Cryptosuite] = {
    JCS: Cryptosuite(JCS, _jcs, _jcs if jcs.ACCELERATED else _jcs_strings, context_in_proof=True),
    RDFC: Cryptosuite(RDFC, _rdfc, _rdfc_config, context_in_proof=False),
}


def canonical_nquads(document: dict[str, Any], loader: DocumentLoader) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, refusing anything left unsigned."""
    # pyld is imported on first use: eddsa-jcs-2022 (every ledger record) never needs it,
    # and its imports cost each command about 0.2 s.
    from pyld import jsonld  # noqa: PLC0415

    loader.check_known(document.get("@context"))

    def dropped(term: str | None) -> None:
        raise CanonicalizationError(
            f"property {term!r} is not defined by the document's @context, so "
            f"{RDFC} would leave it unsigned"
        )

    # base None: pyld would otherwise resolve relative IRIs against a made-up base URL.
    options = {"documentLoader": loader, "contextResolver": loader.resolver(), "base": None}
    try:
        expanded = jsonld.JsonLdProcessor(on_property_dropped=dropped).expand(
            document, dict(options)
        )
        _check_iris(expanded)
        dataset = jsonld.to_rdf(expanded, {**options, "contextResolver": loader.resolver()})
        return rdfc.canonicalize_dataset(dataset)
    except jsonld.JsonLdError as exc:
        raise _jsonld_failure(exc) from None
    except (rdfc.PoisonDatasetError, ValueError) as exc:  # ValueError: IRI that could forge quads
        raise CanonicalizationError(str(exc)) from None


# An absolute IRI as N-Quads can write it (IRIREF): a scheme, then no space, control
# character or <>"{}|^`\. pyld leaves out of the RDF, without a word, any node whose IRI
# is not like this, so it would go unsigned.
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]*\Z")


def _check_iris(node: object) -> None:
    """Refuse IRIs that to-RDF would drop: relative or malformed ``@id``/``@type``/keys."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if not key.startswith("@"):
            _require_iri(key, "property")
        if key == "@value":
            continue
        if key in ("@id", "@type"):
            for iri in value if isinstance(value, list) else [value]:
                if isinstance(iri, str) and not iri.startswith(("@", "_:")):
                    _require_iri(iri, f"{key} value")
        else:
            _check_iris(value)


def _require_iri(iri: str, what: str) -> None:
    if not _ABSOLUTE_IRI.match(iri):
        raise CanonicalizationError(
            f"{what} {iri!r} is not an absolute IRI the document's @context defines, "
            f"so {RDFC} would leave it unsigned"
        )


def _jsonld_failure(exc: BaseException) -> DocumentError:
    """Turn pyld's nested errors into ours, keeping an unknown context's URL visible."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, DocumentError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return CanonicalizationError(f"JSON-LD processing failed: {exc}")


def suite(name: object) -> Cryptosuite:
    """The cryptosuite called ``name``; KeyError if there is none."""
    if not isinstance(name, str) or name not in SUITES:
        raise KeyError(name)
    return SUITES[name]

"""``POST /credentials/verify``: the W3C VC API's (VCALM) credential verifier.

The request is ``{"verifiableCredential": {...}, "options": {...}}``. Any credential
secured with the Data Integrity cryptosuites bpl implements verifies (``eddsa-jcs-2022``,
``eddsa-rdfc-2022``, a single proof or a proof set, ``did:key`` verification methods),
not only bpl records: W3C's own test vectors do. JSON-LD contexts come from the offline
loader only (signing's W3C contexts, the project's, W3C's examples context bundled here,
and what the caller of :func:`install` adds): an unknown context is reported, never
fetched.

Answers: 200 ``{"verified": true, "checks", "results", "warnings", "problemDetails": []}``
(and ``document`` with ``options.returnCredential``; ``recorded`` when the credential is
a record on this ledger's log); 400 with ``verified: false`` and ``problemDetails``
(entries with ``type``, ``title``, ``detail``: the VC Data Model's and Data Integrity's
error types where one fits), sent as an RFC 9457 problem whose extension members are the
VCALM result, so that the service's every error stays ``application/problem+json``.
Unknown options are accepted and named in a warning (the issue asks for that; VCALM 1.0
would refuse them). Validity periods (``validFrom`` ahead, ``validUntil`` past) are
warnings, as VCALM classes them: ``verified`` says whether the credential is intact and
signed by its verification methods, not whether it is in force.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.core import contexts, records
from ledger.facade import Ledger
from passport.openapi_problems import PROBLEM_SCHEMA, problem_content, problem_responses
from passport.problems import Problem
from signing import json_input, proofs
from signing.contexts import CREDENTIALS_V2, DocumentLoader
from signing.errors import (
    BadSignatureError,
    DocumentError,
    NoProofError,
    SigningError,
    UnknownContextError,
    VerificationError,
)

logger = logging.getLogger("passport.vc_api")

PATH = "/credentials/verify"
BUNDLED_CONTEXTS = {
    "https://www.w3.org/ns/credentials/examples/v2": "contexts/credentials-examples-v2.jsonld",
}
"""Contexts the verifier knows besides signing's and the project's: files of this package
(W3C's, verbatim)."""
MAX_BODY_BYTES = 1024 * 1024
"""The request's body, as for a submission (``passport.app`` refuses a larger declared
length before the route runs)."""
MAX_PROOFS = 16
"""Proofs checked per credential: a larger proof set is refused, not worked through."""
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")
KNOWN_OPTIONS = frozenset({"returnCredential", "returnResults", "returnProblemDetails"})
"""The VCALM options read here; ``returnResults`` and ``returnProblemDetails`` are
accepted and change nothing (results and problem details are always returned)."""

VCDM = "https://www.w3.org/TR/vc-data-model#"
SECURITY = "https://w3id.org/security#"
BPL_PROBLEMS = "https://w3id.org/bpl/problems/"
PARSING_ERROR = VCDM + "PARSING_ERROR"
MALFORMED_VALUE_ERROR = VCDM + "MALFORMED_VALUE_ERROR"
CRYPTOGRAPHIC_SECURITY_ERROR = VCDM + "CRYPTOGRAPHIC_SECURITY_ERROR"
PROOF_VERIFICATION_ERROR = SECURITY + "PROOF_VERIFICATION_ERROR"
UNKNOWN_CONTEXT = BPL_PROBLEMS + "unknown-context"
VALIDITY_PERIOD = BPL_PROBLEMS + "validity-period"
UNKNOWN_OPTION = "https://www.w3.org/TR/vcalm#UNKNOWN_OPTION_PROVIDED"
_TITLES = {
    PARSING_ERROR: "PARSING_ERROR",
    MALFORMED_VALUE_ERROR: "MALFORMED_VALUE_ERROR",
    CRYPTOGRAPHIC_SECURITY_ERROR: "CRYPTOGRAPHIC_SECURITY_ERROR",
    PROOF_VERIFICATION_ERROR: "PROOF_VERIFICATION_ERROR",
    UNKNOWN_CONTEXT: "Unknown JSON-LD context",
    VALIDITY_PERIOD: "Outside the validity period",
    UNKNOWN_OPTION: "UNKNOWN_OPTION_PROVIDED",
}
_DATETIME = re.compile(
    r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def problem_detail(kind: str, detail: str) -> dict[str, str]:
    """One VCALM ProblemDetails entry."""
    return {"type": kind, "title": _TITLES[kind], "detail": detail}


@dataclass
class Verification:
    """What was checked of one credential and what was found."""

    checks: list[str] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.errors

    def fail(self, kind: str, detail: str) -> None:
        self.errors.append(problem_detail(kind, detail))

    def body(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "checks": self.checks,
            "results": self.results,
            "warnings": self.warnings,
            "problemDetails": self.errors,
        }


def verify_credential(
    credential: Mapping[str, Any], loader: DocumentLoader, now: datetime | None = None
) -> Verification:
    """Check a credential as the VC Data Model 2.0 and Data Integrity say: its shape, its
    contexts (known offline), its validity period (warnings) and every proof."""
    outcome = Verification()
    now = now or datetime.now(UTC)
    _check_shape(credential, loader, outcome)
    _check_validity(credential, now, outcome)
    if not any(error["type"] == UNKNOWN_CONTEXT for error in outcome.errors):
        _check_proofs(dict(credential), loader, outcome)
    return outcome


def _check_shape(credential: Mapping[str, Any], loader: DocumentLoader, out: Verification) -> None:
    out.checks += ["@context", "type", "issuer", "credentialSubject"]
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != CREDENTIALS_V2:
        out.fail(
            MALFORMED_VALUE_ERROR,
            f"@context must be a list starting with {CREDENTIALS_V2} (VC Data Model 2.0)",
        )
    if context is not None:
        try:
            loader.check_known(context)
        except UnknownContextError as exc:
            out.fail(
                UNKNOWN_CONTEXT,
                f"the JSON-LD context {exc.url} is not one this service knows; contexts are "
                "never fetched (GET /contexts lists the project's)",
            )
        except DocumentError as exc:
            out.fail(MALFORMED_VALUE_ERROR, f"@context: {exc}")
    types = credential.get("type")
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or "VerifiableCredential" not in names:
        out.fail(MALFORMED_VALUE_ERROR, "type must name VerifiableCredential")
    elif not all(isinstance(name, str) for name in names):
        out.fail(MALFORMED_VALUE_ERROR, "type must be a string or a list of strings")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or ":" not in issuer_id:
        out.fail(MALFORMED_VALUE_ERROR, "issuer must be a URL, or an object whose id is one")
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    if not subjects or not all(isinstance(item, dict) for item in subjects):
        out.fail(MALFORMED_VALUE_ERROR, "credentialSubject must be an object or a list of them")


def _check_validity(credential: Mapping[str, Any], now: datetime, out: Verification) -> None:
    for name in ("validFrom", "validUntil"):
        if name not in credential:
            continue
        out.checks.append(name)
        value = credential[name]
        moment = _datetime(value)
        if moment is None:
            out.results[name] = {"valid": False, "input": value}
            out.fail(MALFORMED_VALUE_ERROR, f"{name} must be an XML Schema dateTimeStamp")
            continue
        valid = moment <= now if name == "validFrom" else moment >= now
        out.results[name] = {"valid": valid, "input": value}
        if not valid:
            when = "is in the future" if name == "validFrom" else "has passed"
            out.warnings.append(problem_detail(VALIDITY_PERIOD, f"{name} {value} {when}"))


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_proofs(credential: dict[str, Any], loader: DocumentLoader, out: Verification) -> None:
    out.checks.append("proof")
    found = credential.get("proof")
    if isinstance(found, list) and len(found) > MAX_PROOFS:
        out.fail(PROOF_VERIFICATION_ERROR, f"more than {MAX_PROOFS} proofs: not checked")
        return
    try:
        results = proofs.verify_each(credential, loader=loader)
    except NoProofError as exc:
        out.results["proof"] = []
        out.fail(PROOF_VERIFICATION_ERROR, str(exc))
        return
    except SigningError as exc:
        out.fail(PROOF_VERIFICATION_ERROR, f"the credential cannot be checked: {exc}")
        return
    except Exception:  # a library error on hostile input: reported, never a 500
        logger.exception("verifying a credential")
        out.fail(PROOF_VERIFICATION_ERROR, "the proofs could not be checked")
        return
    out.results["proof"] = [
        {
            "valid": result.ok,
            "index": result.index,
            "cryptosuite": result.cryptosuite,
            "verificationMethod": result.verification_method,
            "created": result.created,
            **({"details": str(result.error)} if result.error is not None else {}),
        }
        for result in results
    ]
    for result in results:
        if result.error is not None:
            out.fail(_proof_error_type(result.error), str(result.error))


def _proof_error_type(error: VerificationError) -> str:
    """A bad signature is the VC Data Model's tampering error; the rest is Data
    Integrity's proof verification error."""
    if isinstance(error, BadSignatureError):
        return CRYPTOGRAPHIC_SECURITY_ERROR
    return PROOF_VERIFICATION_ERROR


# ----------------------------------------------------------------------------- HTTP


def malformed(detail: str, kind: str = MALFORMED_VALUE_ERROR, status: int = 400) -> Problem:
    """A request the verifier cannot read: a problem that is also a VCALM result."""
    return Problem(
        status,
        "invalid-request",
        detail,
        verified=False,
        problemDetails=[problem_detail(kind, detail)],
    )


async def read_request(request: Request) -> tuple[Any, dict[str, Any]]:
    """The request's credential and options; a problem for anything else."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in JSON_TYPES:
        raise Problem(415, "unsupported-media-type", f"send JSON ({', '.join(JSON_TYPES)})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Problem(
                413,
                "body-too-large",
                f"the request body is over {MAX_BODY_BYTES} bytes",
                limit=MAX_BODY_BYTES,
            )
        chunks.append(chunk)
    try:
        body = json_input.parse_object(b"".join(chunks))
    except SigningError as exc:
        raise malformed(f"the body is not a JSON object: {exc}", PARSING_ERROR) from None
    if "verifiableCredential" not in body:
        raise malformed("the body has no verifiableCredential")
    credential = body["verifiableCredential"]
    if isinstance(credential, str):
        raise malformed(
            "enveloped credentials (JWT and the like) are not supported: send a credential "
            "secured with a Data Integrity proof"
        )
    if not isinstance(credential, dict):
        raise malformed("verifiableCredential must be a JSON object")
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise malformed("options must be a JSON object")
    for name in KNOWN_OPTIONS & options.keys():
        if not isinstance(options[name], bool):
            raise malformed(f"options.{name} must be true or false")
    return credential, options


def _respond(
    ledger: Ledger, credential: dict[str, Any], options: dict[str, Any], outcome: Verification
) -> Response:
    body = outcome.body()
    for name in sorted(options.keys() - KNOWN_OPTIONS):
        body["warnings"].append(
            problem_detail(UNKNOWN_OPTION, f"options.{name} is not known here and was ignored")
        )
    if outcome.verified:
        if options.get("returnCredential") is True:
            body["document"] = credential
        recorded = _on_log(ledger, credential)
        if recorded is not None:
            body["recorded"] = recorded
        return Response(
            orjson.dumps(body),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
    first = outcome.errors[0]
    raise Problem(
        400,
        "credential-not-verified",
        f"the credential did not verify: {first['detail']}",
        members=body,
    )


def _on_log(ledger: Ledger, credential: dict[str, Any]) -> dict[str, Any] | None:
    """Where this ledger's log holds the credential, if it is one of its records."""
    try:
        record_hash = records.record_hash(credential)
    except SigningError:
        return None
    stored = ledger.record(record_hash)
    if stored is None:
        return None
    return {
        "recordHash": record_hash,
        "leafIndex": stored.leaf_index,
        "href": f"/records/{record_hash}",
    }


VERIFY_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["verifiableCredential"],
    "properties": {
        "verifiableCredential": {
            "type": "object",
            "description": "A credential secured with Data Integrity proofs",
            "required": ["@context", "type", "issuer", "credentialSubject", "proof"],
            "properties": {
                "@context": {"type": "array", "items": {}},
                "type": {"type": "array", "items": {"type": "string"}},
                "issuer": {},
                "credentialSubject": {},
                "proof": {},
            },
        },
        "options": {
            "type": "object",
            "properties": {name: {"type": "boolean"} for name in sorted(KNOWN_OPTIONS)},
            "additionalProperties": True,
        },
    },
}
_PROBLEM_DETAILS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "title", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
        },
    },
}
VERIFY_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["verified", "checks", "results", "warnings", "problemDetails"],
    "properties": {
        "verified": {"type": "boolean"},
        "checks": {"type": "array", "items": {"type": "string"}},
        "results": {"type": "object"},
        "warnings": _PROBLEM_DETAILS,
        "problemDetails": _PROBLEM_DETAILS,
        "document": {"type": "object"},
        "recorded": {"type": "object"},
    },
}
_NOT_VERIFIED_SCHEMA = {
    "allOf": [
        PROBLEM_SCHEMA,
        {
            "type": "object",
            "required": ["verified", "problemDetails"],
            "properties": {"verified": {"const": False}, "problemDetails": _PROBLEM_DETAILS},
        },
    ]
}


def _bundled_contexts() -> dict[str, Any]:
    files = resources.files("passport")
    return {
        url: orjson.loads(files.joinpath(name).read_bytes())
        for url, name in BUNDLED_CONTEXTS.items()
    }


def install(
    app: FastAPI,
    ledger: Ledger,
    reader_dependency: Any,
    *,
    extra_contexts: Mapping[str, Any] | None = None,
) -> None:
    """Add ``POST /credentials/verify`` to ``app``. It knows signing's W3C contexts, the
    project's, W3C's examples context (:data:`BUNDLED_CONTEXTS`: the one the W3C's own
    vectors and most sample credentials use) and ``extra_contexts`` (URL -> JSON-LD
    context document)."""
    loader = contexts.loader().with_contexts({**_bundled_contexts(), **(extra_contexts or {})})

    @app.post(
        PATH,
        tags=["credentials"],
        dependencies=[reader_dependency],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": VERIFY_REQUEST_SCHEMA}},
            }
        },
        responses={
            200: {
                "description": "The credential verified",
                "content": {"application/json": {"schema": VERIFY_RESULT_SCHEMA}},
            },
            400: {
                "description": "The credential did not verify, or the request is malformed: "
                "a problem carrying verified: false and problemDetails",
                "content": problem_content(_NOT_VERIFIED_SCHEMA),
            },
            **problem_responses(413, 415),
        },
    )
    async def verify(request: Request) -> Response:
        """Verify a credential secured with Data Integrity proofs (eddsa-jcs-2022,
        eddsa-rdfc-2022, did:key), as the W3C VC API's verifier does."""
        credential, options = await read_request(request)
        outcome = await run_in_threadpool(verify_credential, credential, loader)
        return await run_in_threadpool(_respond, ledger, credential, options, outcome)

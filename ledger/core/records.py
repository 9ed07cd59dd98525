"""Records: their hash, their disclosures, and building one for a signer (docs/records.md).

A record's public part goes in the log; each restricted access group travels beside it as
a *disclosure* whose salted digest the record carries, so the signature covers restricted
data without publishing it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import schemas
from ledger.errors import RecordRejected
from signing import jcs
from signing.errors import CanonicalizationError

VERSION = schemas.CURRENT
"""The record format version new records are built in (older ones stay valid)."""
CONTEXT = schemas.context_of(VERSION)
RESTRICTED_GROUPS = schemas.restricted_groups(VERSION)
_MEASURES_GROUPS = ("performance", "legitimate-interest")
"""Where a DiagnosticTest carries its measures and grade: v2, then v1."""
_DIGEST_PREFIX = "sha256:"
POLICY_CHAIN_PREFIX = "urn:bpl:grading-policy:"


def policy_chain(policy_id: str) -> str:
    """The chain of a grading policy's registrations (every version of one id): its
    subject id, the id percent-encoded (policy ids may be URIs)."""
    return POLICY_CHAIN_PREFIX + urllib.parse.quote(policy_id, safe="")


def canonical(document: Mapping[str, Any]) -> bytes:
    """The JCS bytes of a record or disclosure: what is hashed, signed and logged."""
    return jcs.canonicalize(document)


def digest(data: bytes) -> str:
    """``sha256:`` and the lowercase hex SHA-256 of ``data``."""
    return _DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """The record hash: SHA-256 of the JCS bytes of the whole signed record."""
    return digest(canonical(record))


def subject(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """``credentialSubject`` (an object, or the record is refused)."""
    value = record.get("credentialSubject")
    if not (value.__class__ is dict or isinstance(value, Mapping)):
        raise RecordRejected("schema", "credentialSubject must be an object")
    return value


def new_salt() -> str:
    """16 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def make_disclosure(
    group: str, fields: Mapping[str, Any], salt: str | None = None, version: str = VERSION
) -> dict[str, Any]:
    """A disclosure object for ``group`` (of record format ``version``) holding ``fields``."""
    allowed = schemas.restricted_groups(version)
    if group not in allowed:
        raise ValueError(f"unknown access group {group!r} (one of {', '.join(allowed)})")
    return {"salt": salt or new_salt(), "group": group, **fields}


def measures(disclosed: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The disclosure that holds a DiagnosticTest's measures and grade, in any version."""
    for group in _MEASURES_GROUPS:
        found = disclosed.get(group)
        if found is not None:
            return found
    return {}


def match_disclosures(
    record: Mapping[str, Any], disclosures: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Mapping[str, Any]], dict[str, bytes]]:
    """The disclosures by group, each checked against the digest the record carries, and
    their canonical bytes (what the digest is of, and what is stored).

    Every digest in the record needs its disclosure and every disclosure its digest; a
    group may appear once. Raises RecordRejected (rule ``disclosure``) naming the group.
    """
    expected = subject(record).get("disclosures", {})
    if not (expected.__class__ is dict or isinstance(expected, Mapping)):
        raise RecordRejected("schema", "credentialSubject.disclosures must be an object")
    found: dict[str, Mapping[str, Any]] = {}
    encoded: dict[str, bytes] = {}
    for position, disclosure in enumerate(disclosures):
        is_mapping = disclosure.__class__ is dict or isinstance(disclosure, Mapping)
        group = disclosure.get("group") if is_mapping else None
        if not isinstance(group, str):
            raise RecordRejected("disclosure", f"disclosure {position} has no group")
        if group in found:
            raise RecordRejected("disclosure", f"two disclosures for group {group!r}")
        if group not in expected:
            raise RecordRejected("disclosure", f"the record carries no digest for group {group!r}")
        try:
            encoded[group] = canonical(disclosure)
        except CanonicalizationError as exc:
            raise RecordRejected("disclosure", f"group {group!r}: {exc}") from None
        if digest(encoded[group]) != expected[group]:
            raise RecordRejected(
                "disclosure", f"the {group!r} disclosure does not match its digest in the record"
            )
        found[group] = disclosure
    if len(found) < len(expected):  # every group found is expected: some are missing
        missing = sorted(set(expected) - set(found))
        raise RecordRejected("disclosure", f"no disclosure for group {missing[0]!r}")
    return found, encoded


def build(
    kind: str,
    subject_id: str,
    sequence: int,
    previous: str | None,
    issuer: str,
    public: Mapping[str, Any],
    restricted: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    valid_from: str | datetime | None = None,
    record_id: str | None = None,
    version: str = VERSION,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An unsigned record of ``kind`` in record format ``version``, and its disclosures.

    ``public`` holds the subject's public fields; ``restricted`` maps an access group to
    its fields. Sign the record with :func:`signing.proofs.sign` and submit both.
    """
    disclosures = [
        make_disclosure(group, fields, version=version)
        for group, fields in (restricted or {}).items()
        if fields
    ]
    credential_subject: dict[str, Any] = {"id": subject_id, "sequence": sequence}
    if previous is not None:
        credential_subject["previous"] = previous
    credential_subject.update(public)
    if disclosures:
        credential_subject["disclosures"] = {d["group"]: digest(canonical(d)) for d in disclosures}
    if valid_from is None:
        valid_from = datetime.now(UTC).replace(microsecond=0)
    if isinstance(valid_from, datetime):
        valid_from = valid_from.isoformat().replace("+00:00", "Z")
    record = {
        "@context": schemas.context_of(version),
        "id": record_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", kind],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": credential_subject,
    }
    return record, disclosures


def signer_keys(record: Mapping[str, Any]) -> list[str]:
    """Each proof's verification method (the signing key's id), in proof order."""
    proofs = record.get("proof")
    if proofs.__class__ is dict and proofs.get("verificationMethod").__class__ is str:
        return [proofs["verificationMethod"]]  # the usual single proof, in two lookups
    items = proofs if isinstance(proofs, list) else [proofs]
    methods = []
    for proof in items:
        method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
        if not isinstance(method, str):
            raise RecordRejected("proof", "a proof has no verificationMethod")
        methods.append(method)
    return methods


def did_key_method(did: str) -> str:
    """The verification method id of a did:key DID (``did:key:z6Mk...#z6Mk...``)."""
    if not did.startswith("did:key:"):
        raise ValueError(f"{did} is not a did:key")
    return f"{did}#{did.removeprefix('did:key:')}"

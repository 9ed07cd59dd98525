"""Data Integrity proofs: round trips, proof sets, tampering and every refusal reason."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core import contexts
from signing import jcs, keys, proofs, suites
from signing.contexts import DocumentLoader, default_loader
from signing.errors import (
    BadSignatureError,
    ContextMismatchError,
    DocumentError,
    MalformedProofError,
    NoProofError,
    ProofTimeError,
    PurposeMismatchError,
    SigningError,
    UnknownContextError,
    UnknownCryptosuiteError,
    UnsupportedKeyError,
    VerificationError,
)
from signing.multibase import decode_z, encode_z
from tests.hypothesis_profiles import examples

ALICE = keys.from_seed(bytes(range(32)))
BOB = keys.from_seed(bytes(range(32, 64)))
BOTH = [suites.JCS, suites.RDFC]
BPL = contexts.loader()
"""signing's loader with the project's contexts, as the ledger hands them over (the test
credential is in the bpl vocabulary; signing alone knows no battery context)."""


@pytest.mark.parametrize("suite", BOTH)
def test_round_trip(suite: str, battery_credential: dict[str, Any]):
    signed = proofs.sign(battery_credential, ALICE, suite, loader=BPL)
    proofs.verify(signed, loader=BPL)
    proof = signed["proof"]
    assert proof["cryptosuite"] == suite
    assert proof["verificationMethod"] == ALICE.verification_method
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")
    assert ("@context" in proof) is (suite == suites.JCS)


def test_created_accepts_datetime_and_defaults_to_now(battery_credential: dict[str, Any]):
    when = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert proofs.sign(battery_credential, ALICE, created=when, loader=BPL)["proof"]["created"] == (
        "2026-11-29T10:00:00Z"
    )
    created = proofs.sign(battery_credential, ALICE, loader=BPL)["proof"]["created"]
    parsed = datetime.fromisoformat(created)
    assert abs(parsed - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "created",
    [
        "2026-11-29",
        "2026-11-29T10:00:00",
        "yesterday",
        "2026-13-45T10:00:00Z",
        "٢٠٢٦-11-29T10:00:00Z",  # Arabic-Indic digits
    ],
)
def test_created_must_be_a_datetime_with_zone(created: str, battery_credential: dict[str, Any]):
    with pytest.raises(SigningError, match="created"):
        proofs.sign(battery_credential, ALICE, created=created, loader=BPL)
    with pytest.raises(SigningError, match="time zone"):
        proofs.sign(battery_credential, ALICE, created=datetime(2026, 1, 1), loader=BPL)


def test_unknown_suite_is_refused_when_signing(battery_credential: dict[str, Any]):
    with pytest.raises(SigningError, match="unknown cryptosuite"):
        proofs.sign(battery_credential, ALICE, "ecdsa-rdfc-2019", loader=BPL)


def test_verification_method_of_another_key_is_refused(battery_credential: dict[str, Any]):
    with pytest.raises(SigningError, match="another key"):
        proofs.sign(
            battery_credential, ALICE, verification_method=BOB.verification_method, loader=BPL
        )


@pytest.mark.parametrize("first", BOTH)
@pytest.mark.parametrize("second", BOTH)
def test_proof_sets(first: str, second: str, battery_credential: dict[str, Any]):
    once = proofs.sign(battery_credential, ALICE, first, loader=BPL)
    twice = proofs.sign(once, BOB, second, loader=BPL)
    assert isinstance(twice["proof"], list)
    assert len(twice["proof"]) == 2
    assert twice["proof"][0] == once["proof"]  # adding a proof never changes the others
    results = proofs.verify_each(twice, loader=BPL)
    assert [r.ok for r in results] == [True, True]
    assert [r.verification_method for r in results] == [
        ALICE.verification_method,
        BOB.verification_method,
    ]
    thrice = proofs.sign(twice, ALICE, first, created="2026-01-01T00:00:00Z", loader=BPL)
    assert thrice["proof"][:2] == twice["proof"]
    proofs.verify(thrice, loader=BPL)


def test_each_proof_of_a_set_is_judged_on_its_own(battery_credential: dict[str, Any]):
    signed = proofs.sign(proofs.sign(battery_credential, ALICE, loader=BPL), BOB, loader=BPL)
    broken = copy.deepcopy(signed)
    broken["proof"][1]["created"] = "2020-01-01T00:00:00Z"
    results = proofs.verify_each(broken, loader=BPL)
    assert results[0].ok
    assert isinstance(results[1].error, BadSignatureError)
    assert results[1].error.proof_index == 1
    with pytest.raises(BadSignatureError, match="proof 1"):
        proofs.verify(broken, loader=BPL)


def leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaf_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in leaf_paths(v, (*path, i))]
    return [path]


def tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x" if not value else value[:-1] + ("x" if value[-1] != "x" else "y")
    return "tampered"


@pytest.mark.parametrize("suite", BOTH)
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_changing_any_value_breaks_verification(
    suite: str, data: st.DataObject, battery_credential: dict[str, Any]
):
    signed = proofs.sign(
        battery_credential, ALICE, suite, created="2026-11-29T10:00:00Z", loader=BPL
    )
    path = data.draw(st.sampled_from(leaf_paths(signed)))
    broken = copy.deepcopy(signed)
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = tampered(parent[path[-1]])
    with pytest.raises((VerificationError, DocumentError)):
        proofs.verify(broken, loader=BPL)


@pytest.mark.parametrize("suite", BOTH)
@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_renaming_any_member_breaks_verification(
    suite: str, data: st.DataObject, battery_credential: dict[str, Any]
):
    signed = proofs.sign(
        battery_credential, ALICE, suite, created="2026-11-29T10:00:00Z", loader=BPL
    )
    path = data.draw(st.sampled_from([p for p in leaf_paths(signed) if isinstance(p[-1], str)]))
    broken = copy.deepcopy(signed)
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1] + "X"] = parent.pop(path[-1])
    with pytest.raises((VerificationError, DocumentError)):
        proofs.verify(broken, loader=BPL)


@pytest.mark.parametrize("suite", BOTH)
def test_flipping_any_signature_bit_breaks_verification(
    suite: str, battery_credential: dict[str, Any]
):
    signed = proofs.sign(battery_credential, ALICE, suite, loader=BPL)
    signature = decode_z(signed["proof"]["proofValue"])
    for bit in range(0, 512, 7):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        broken = copy.deepcopy(signed)
        broken["proof"]["proofValue"] = encode_z(bytes(flipped))
        with pytest.raises(BadSignatureError):
            proofs.verify(broken, loader=BPL)


def refusal(signed: dict[str, Any], change: Any) -> VerificationError:
    broken = copy.deepcopy(signed)
    change(broken)
    with pytest.raises(VerificationError) as info:
        proofs.verify(broken, loader=BPL)
    return info.value


PROOF_CHANGES = {
    "no proofValue": (
        lambda d: d["proof"].pop("proofValue"),
        MalformedProofError,
        "missing proofValue",
    ),
    "no verificationMethod": (
        lambda d: d["proof"].pop("verificationMethod"),
        MalformedProofError,
        "missing verificationMethod",
    ),
    "proofValue not a string": (
        lambda d: d["proof"].update(proofValue=42),
        MalformedProofError,
        "must be a string",
    ),
    "truncated proofValue": (
        lambda d: d["proof"].update(proofValue=d["proof"]["proofValue"][:40]),
        MalformedProofError,
        "an Ed25519 signature has 64",
    ),
    "proofValue not base58btc": (
        lambda d: d["proof"].update(proofValue="u" + d["proof"]["proofValue"][1:]),
        MalformedProofError,
        "must start with 'z'",
    ),
    "proofValue with a non-alphabet character": (
        lambda d: d["proof"].update(proofValue=d["proof"]["proofValue"][:-1] + "0"),
        MalformedProofError,
        "invalid base58",
    ),
    "unknown suite": (
        lambda d: d["proof"].update(cryptosuite="eddsa-2022"),
        UnknownCryptosuiteError,
        "eddsa-2022",
    ),
    "unknown proof type": (
        lambda d: d["proof"].update(type="Ed25519Signature2020"),
        UnknownCryptosuiteError,
        "Ed25519Signature2020",
    ),
    "unsupported key": (
        lambda d: d["proof"].update(verificationMethod="https://example.com/keys#1"),
        UnsupportedKeyError,
        "not a did:key",
    ),
    "non-Ed25519 did:key": (
        lambda d: d["proof"].update(
            verificationMethod="did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
            "#zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
        ),
        UnsupportedKeyError,
        "not an Ed25519 key",
    ),
    "created in the future": (
        lambda d: d["proof"].update(created="2999-01-01T00:00:00Z"),
        ProofTimeError,
        "in the future",
    ),
    "created not a date": (
        lambda d: d["proof"].update(created="soon"),
        MalformedProofError,
        "created",
    ),
    "expired": (
        lambda d: d["proof"].update(expires="2001-01-01T00:00:00Z"),
        ProofTimeError,
        "expired",
    ),
    "other purpose": (
        lambda d: d["proof"].update(proofPurpose="authentication"),
        PurposeMismatchError,
        "authentication",
    ),
    "proof chain": (
        lambda d: d["proof"].update(previousProof="urn:uuid:1"),
        MalformedProofError,
        "previousProof",
    ),
    "proof not an object": (lambda d: d.update(proof=["x"]), MalformedProofError, "JSON object"),
    "proof context not a prefix": (
        lambda d: d["proof"].update(**{"@context": ["https://w3id.org/bpl/v1"]}),
        ContextMismatchError,
        "does not start with",
    ),
}


@pytest.mark.parametrize("name", list(PROOF_CHANGES))
def test_refusals_name_their_reason(name: str, battery_credential: dict[str, Any]):
    change, error, message = PROOF_CHANGES[name]
    signed = proofs.sign(battery_credential, ALICE, suites.JCS, loader=BPL)
    refused = refusal(signed, change)
    assert type(refused) is error
    assert message in str(refused)
    assert refused.proof_index == 0


def test_no_proof(battery_credential: dict[str, Any]):
    with pytest.raises(NoProofError):
        proofs.verify(battery_credential, loader=BPL)
    with pytest.raises(NoProofError):
        proofs.verify({**battery_credential, "proof": []}, loader=BPL)


def test_clock_skew_is_tolerated_up_to_the_limit(battery_credential: dict[str, Any]):
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    signed = proofs.sign(battery_credential, ALICE, created=soon, loader=BPL)
    proofs.verify(signed, loader=BPL)
    with pytest.raises(ProofTimeError):
        proofs.verify(signed, max_clock_skew=timedelta(seconds=30), loader=BPL)


def test_jcs_allows_contexts_appended_after_signing(battery_credential: dict[str, Any]):
    doc = {**battery_credential, "@context": ["https://www.w3.org/ns/credentials/v2"]}
    signed = proofs.sign(doc, ALICE, suites.JCS, loader=BPL)
    extended = {**signed, "@context": [*doc["@context"], "https://w3id.org/bpl/v1"]}
    proofs.verify(extended, loader=BPL)


def test_unknown_context_is_named(battery_credential: dict[str, Any]):
    doc = {
        **battery_credential,
        "@context": [*battery_credential["@context"], "https://evil.example/ctx"],
    }
    for call in (
        lambda: proofs.sign(doc, ALICE, loader=BPL),
        lambda: proofs.verify({**doc, "proof": {}}, loader=BPL),
    ):
        with pytest.raises(UnknownContextError, match=re.escape("https://evil.example/ctx")):
            call()


def test_rdfc_refuses_terms_the_context_does_not_define():
    doc = {
        "@context": [
            {"@version": 1.1, "id": "@id", "type": "@type", "name": "https://schema.org/name"}
        ],
        "id": "urn:uuid:3c2a0e2e-0c36-4b43-93a5-5f0c3e1e4a11",
        "name": "signed",
        "unmapped": "would be left unsigned",
    }
    with pytest.raises(DocumentError, match="unmapped"):
        proofs.sign(doc, ALICE, suites.RDFC)
    typed = {**doc, "type": "Undefined"}
    typed.pop("unmapped")
    with pytest.raises(DocumentError, match="Undefined"):
        proofs.sign(typed, ALICE, suites.RDFC)
    fine = {k: v for k, v in doc.items() if k != "unmapped"}
    with pytest.raises(DocumentError, match="proof configuration: property 'created'"):
        proofs.sign(fine, ALICE, suites.RDFC)  # the proof's own terms would go unsigned


def test_loaders_with_extra_contexts_do_not_leak(battery_credential: dict[str, Any]):
    url = "https://example.com/ctx/v1"
    custom = default_loader().with_contexts(
        {url: {"@context": {"id": "@id", "colour": "https://ex.com/c"}}}
    )
    assert url in custom
    assert url not in default_loader()
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2", url],
        "id": "urn:x:1",
        "colour": "blue",
    }
    signed = proofs.sign(doc, ALICE, suites.RDFC, loader=custom)
    proofs.verify(signed, loader=custom)
    with pytest.raises(UnknownContextError):
        proofs.verify(signed)


def test_context_documents_must_hold_a_context():
    with pytest.raises(DocumentError, match="no top-level @context"):
        default_loader().with_contexts({"https://example.com/x": {"not": "a context"}})


def test_loader_is_pyld_compatible():
    loader: DocumentLoader = default_loader()
    remote = loader("https://www.w3.org/ns/credentials/v2")
    assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert "@context" in remote["document"]


@pytest.mark.parametrize(
    "change",
    [
        {"id": 'urn:a> <urn:b> "x" .\n<urn:c'},  # would forge quads, or be dropped
        {"id": "urn:with space"},
        {"id": "relative/path"},
        {"issuer": "not an iri"},
        {"issuer": {"id": "relative", "name": "an issuer object"}},
    ],
)
def test_rdfc_refuses_iris_pyld_would_silently_drop(change: dict[str, Any]):
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:6a3f0c1e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "name": "a node that must stay signed",
        **change,
    }
    with pytest.raises(DocumentError, match="not an absolute IRI"):
        proofs.sign(doc, ALICE, suites.RDFC)


def test_jcs_verifies_against_the_proofs_context_when_it_only_equals_the_documents(
    battery_credential: dict[str, Any],
):
    """Python calls 1 and True equal, JCS writes them apart: the document's @context stands
    in for the proof's only when both are the same URL strings."""
    base = battery_credential["@context"]
    doc = {**battery_credential, "@context": [*base, {"flag": 1}]}
    signed = proofs.sign(doc, ALICE, suites.JCS, loader=BPL)
    look_alike = {**signed, "@context": [*base, {"flag": True}]}
    assert look_alike["@context"] == signed["proof"]["@context"]
    proofs.verify(look_alike, loader=BPL)  # verified over the proof's @context, as the suite says


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(
    proof_context=st.lists(st.sampled_from(["a", "b", 1, 1.0, True, {"x": 1}, {"x": True}])),
    document_context=st.lists(st.sampled_from(["a", "b", 1, 1.0, True, {"x": 1}, {"x": True}])),
)
def test_same_urls_means_the_same_canonical_bytes(
    proof_context: list[Any], document_context: list[Any]
):
    if proofs._same_urls(proof_context, document_context):
        assert jcs.canonicalize(proof_context) == jcs.canonicalize(document_context)
    if proofs._same_urls(proof_context, proof_context):
        assert all(type(item) is str for item in proof_context)


def test_a_key_pynacl_refuses_is_unsupported(battery_credential: dict[str, Any]):
    signed = proofs.sign(battery_credential, ALICE, suites.JCS, loader=BPL)
    for key in (bytes(31), "not bytes"):
        with pytest.raises(UnsupportedKeyError):
            proofs.verify(signed, resolver=lambda _url, key=key: key, loader=BPL)  # type: ignore[misc]


class _Text(str):
    """A str subclass, as a caller (not a JSON parser) may put in a proof."""


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-02-30T10:00:00Z", "is not a valid date and time"),
        ("2026-02-03 10:00:00Z", "is not an XML Schema dateTime with time zone"),
        (20260203, "is not an XML Schema dateTime with time zone"),
        (_Text("2026-02-30T10:00:00Z"), "is not a valid date and time"),  # parsed uncached
    ],
)
def test_time_refusals_name_their_member_every_time(
    value: object, reason: str, battery_credential: dict[str, Any]
):
    signed = proofs.sign(battery_credential, ALICE, suites.JCS, loader=BPL)
    for name in ("created", "expires", "created"):  # parsed times are cached, names are not
        broken = copy.deepcopy(signed)
        broken["proof"][name] = value
        with pytest.raises(MalformedProofError) as caught:
            proofs.verify(broken, loader=BPL)
        assert str(caught.value).endswith(f": {name} {reason}")


# --- the usual case's own path (proofs._verified_usual) --------------------------------------


def general_accepts(document: dict[str, Any]) -> bool:
    """The general path's verdict (``verify_each`` never takes the usual case's path):
    every proof verifies."""
    try:
        return all(result.ok for result in proofs.verify_each(document, loader=BPL))
    except (VerificationError, DocumentError):
        return False


class Text(str):
    """A str subclass: equal to its text, but not what the usual path takes."""


USUAL_CASE_CHANGES: dict[str, Any] = {
    **{name: change for name, (change, _, _) in PROOF_CHANGES.items()},
    "created null": lambda d: d["proof"].update(created=None),
    "no created": lambda d: d["proof"].pop("created"),
    "created with a fraction": lambda d: d["proof"].update(created="2026-11-29T10:00:00.5Z"),
    "future expiry": lambda d: d["proof"].update(expires="2999-01-01T00:00:00Z"),
    "proof context null": lambda d: d["proof"].update(**{"@context": None}),
    "no proof context": lambda d: d["proof"].pop("@context"),
    "no document context": lambda d: d.pop("@context"),
    "no contexts at all": lambda d: (d.pop("@context"), d["proof"].pop("@context")),
    "proof context a prefix": lambda d: d["proof"].update(**{"@context": d["@context"][:1]}),
    "proof context shared": lambda d: d["proof"].update(**{"@context": d["@context"]}),
    "unknown document context": lambda d: d["@context"].append("https://example.com/ctx"),
    "contexts as one string": lambda d: (
        d.update(**{"@context": d["@context"][0]}),
        d["proof"].update(**{"@context": d["@context"]}),
    ),
    "type a str subclass": lambda d: d["proof"].update(type=Text(d["proof"]["type"])),
    "purpose a str subclass": lambda d: d["proof"].update(
        proofPurpose=Text(d["proof"]["proofPurpose"])
    ),
    "value a str subclass": lambda d: d["proof"].update(proofValue=Text(d["proof"]["proofValue"])),
    "proof in a list": lambda d: d.update(proof=[d["proof"]]),
    "extra proof member": lambda d: d["proof"].update(nonce="abc"),
    "document changed": lambda d: d["credentialSubject"].update(sequence=4),
    "no proof": lambda d: d.pop("proof"),
}


@pytest.mark.parametrize("name", list(USUAL_CASE_CHANGES))
@pytest.mark.parametrize("resign", [False, True])
def test_the_usual_path_accepts_only_what_the_general_path_accepts(
    name: str, resign: bool, battery_credential: dict[str, Any]
):
    """Changed after signing (most then fail) or signed as changed (then the signature
    holds and only the rules decide): whenever the usual path accepts, the general path
    does too; and on the plain signed credential, it accepts."""
    signed = proofs.sign(
        battery_credential, ALICE, suites.JCS, created="2026-11-29T10:00:00Z", loader=BPL
    )
    assert proofs._verified_usual(signed, BPL)
    changed = copy.deepcopy(signed)
    USUAL_CASE_CHANGES[name](changed)
    if resign and isinstance(changed.get("proof"), dict) and "proofValue" in changed["proof"]:
        config = {k: v for k, v in changed["proof"].items() if k != "proofValue"}
        unsecured = {k: v for k, v in changed.items() if k != "proof"}
        try:
            data = suites.SUITES[suites.JCS].hash_data(unsecured, config, BPL)
        except DocumentError:
            return  # nothing to sign: both paths refuse it (the loop below is not needed)
        changed["proof"]["proofValue"] = encode_z(ALICE.sign(data))
    if proofs._verified_usual(changed, BPL):
        assert general_accepts(changed), name


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_usual_path_agrees_on_any_changed_value(
    data: st.DataObject, battery_credential: dict[str, Any]
):
    signed = proofs.sign(
        battery_credential, ALICE, suites.JCS, created="2026-11-29T10:00:00Z", loader=BPL
    )
    path = data.draw(st.sampled_from(leaf_paths(signed)))
    value = data.draw(st.none() | st.booleans() | st.integers() | st.text(max_size=8))
    changed = copy.deepcopy(signed)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    assert proofs._verified_usual(changed, BPL) == general_accepts(changed)


def outcome_of_verify(document: dict[str, Any]) -> str | None:
    try:
        proofs.verify(document, loader=BPL)
    except SigningError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def test_verify_many_gives_each_document_the_verdict_of_verify(
    battery_credential: dict[str, Any],
) -> None:
    """One batch of every changed case, signed as is and re-signed, with documents that the
    usual path does not take (a proof set, rdfc): each outcome is verify()'s, error and
    message included, in order."""
    signed = proofs.sign(
        battery_credential, ALICE, suites.JCS, created="2026-11-29T10:00:00Z", loader=BPL
    )
    documents = [signed, proofs.sign(battery_credential, ALICE, suites.RDFC, loader=BPL)]
    documents.append(proofs.sign(signed, ALICE, suites.JCS, loader=BPL))  # a proof set
    for change in USUAL_CASE_CHANGES.values():
        changed = copy.deepcopy(signed)
        change(changed)
        documents.append(changed)
    outcomes = proofs.verify_many(documents, loader=BPL)
    assert len(outcomes) == len(documents)
    expected = [outcome_of_verify(document) for document in documents]
    assert [
        None if outcome is None else f"{type(outcome).__name__}: {outcome}" for outcome in outcomes
    ] == expected
    assert expected[:3] == [None, None, None] and any(expected)
    assert proofs.verify_many([], loader=BPL) == []

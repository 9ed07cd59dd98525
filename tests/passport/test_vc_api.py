"""POST /credentials/verify as the W3C VC API (VCALM) verifier: bpl records and any other
credential secured with eddsa-jcs-2022 or eddsa-rdfc-2022 (the W3C test vectors, proof
sets), tampering, unknown contexts, options, and every malformed request as a problem."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import Response

from ledger.core import records
from ledger.core.access import PUBLIC, Reader
from passport import vc_api
from passport.problems import MEDIA_TYPE, Problem
from signing import keys, proofs, suites
from tests.conftest import DI_VECTORS, EXAMPLES_CONTEXT_FILE, EXAMPLES_CONTEXT_URL, read_json
from tests.passport.conftest import Service
from tests.passport.helpers import logged
from tests.passport.shared_service import read_only_sqlite  # noqa: F401 (a fixture)

PATH = vc_api.PATH
VECTORS = {
    suites.JCS: DI_VECTORS / "eddsa-jcs-2022" / "signedJCS.json",
    suites.RDFC: DI_VECTORS / "eddsa-rdfc-2022" / "signedDataInt.json",
}


def verify(client: TestClient, credential: Any, **options: Any) -> Any:
    body: dict[str, Any] = {"verifiableCredential": credential}
    if options:
        body["options"] = options
    return client.post(PATH, json=body)


def problem_types(body: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in body["problemDetails"]]


def not_verified(response: Any) -> dict[str, Any]:
    """The body of a 400 that says ``verified: false``, checked as a problem too."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["verified"] is False
    assert body["status"] == 400 and body["type"].startswith("https://w3id.org/bpl/problems/")
    assert body["problemDetails"], body
    for entry in body["problemDetails"]:
        assert set(entry) == {"type", "title", "detail"} and entry["detail"]
    return body


@pytest.fixture(scope="module")
def client(read_only_sqlite: Service) -> TestClient:  # noqa: F811 (the fixture imported)
    return read_only_sqlite.client


@pytest.fixture(scope="module")
def a_record(read_only_sqlite: Service) -> dict[str, Any]:  # noqa: F811
    """A signed record the demo ledger holds (a v2 passport's issue)."""
    for record in logged(read_only_sqlite.ledger):
        if "PassportIssued" in record["type"]:
            return record
    raise AssertionError("the demo has no passport")


@pytest.fixture(scope="module")
def examples_client(read_only_sqlite: Service) -> TestClient:  # noqa: F811
    """The verifier over the same ledger in an app of its own, given the W3C examples
    context again through ``extra_contexts`` (what a caller of ``install`` adds)."""
    app = FastAPI()

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return exc.response(request.url.path)

    extra = {EXAMPLES_CONTEXT_URL: read_json(EXAMPLES_CONTEXT_FILE)}
    vc_api.install(app, read_only_sqlite.ledger, Depends(public), extra_contexts=extra)
    return TestClient(app)


def public() -> Reader:
    return PUBLIC


def signed(*suite_names: str, **fields: Any) -> dict[str, Any]:
    """A small VC 2.0 credential (W3C contexts only) with one proof per suite named."""
    key = keys.generate()
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": key.did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:battery-owner"},
        **fields,
    }
    credential = {k: v for k, v in credential.items() if v is not None}
    for name in suite_names:
        credential = proofs.sign(
            credential, keys.generate() if name != suite_names[0] else key, name
        )
    return credential


def test_a_bpl_record_verifies_and_is_found_on_the_log(
    client: TestClient,
    a_record: dict[str, Any],
    read_only_sqlite: Service,  # noqa: F811
) -> None:
    response = verify(client, a_record)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["verified"] is True and body["problemDetails"] == []
    assert {"@context", "type", "issuer", "credentialSubject", "proof"} <= set(body["checks"])
    [proof] = body["results"]["proof"]
    assert proof["valid"] is True and proof["cryptosuite"] == suites.JCS
    assert proof["verificationMethod"] == a_record["proof"]["verificationMethod"]
    record_hash = records.record_hash(a_record)
    stored = read_only_sqlite.ledger.record(record_hash)
    assert stored is not None
    assert body["recorded"] == {
        "recordHash": record_hash,
        "leafIndex": stored.leaf_index,
        "href": f"/records/{record_hash}",
    }
    assert "document" not in body
    returned = verify(client, a_record, returnCredential=True).json()
    assert returned["document"] == a_record


@pytest.mark.parametrize("suite", list(VECTORS))
def test_the_w3c_vectors_verify(
    examples_client: TestClient, client: TestClient, suite: str
) -> None:
    vector = read_json(VECTORS[suite])
    response = verify(examples_client, vector)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True
    [proof] = body["results"]["proof"]
    assert proof["cryptosuite"] == suite and proof["valid"] is True
    assert "recorded" not in body  # not a record of this ledger
    # The service as deployed knows W3C's examples context too (bundled, never fetched).
    deployed = verify(client, vector)
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["verified"] is True


@pytest.mark.parametrize("suite", list(VECTORS))
def test_a_tampered_w3c_vector_does_not_verify(examples_client: TestClient, suite: str) -> None:
    vector = read_json(VECTORS[suite])
    vector["credentialSubject"]["alumniOf"] = "Another School"
    body = not_verified(verify(examples_client, vector))
    assert problem_types(body) == [vc_api.CRYPTOGRAPHIC_SECURITY_ERROR]
    assert body["results"]["proof"][0]["valid"] is False


def test_a_tampered_record_does_not_verify(client: TestClient, a_record: dict[str, Any]) -> None:
    tampered = copy.deepcopy(a_record)
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    body = not_verified(verify(client, tampered))
    assert problem_types(body) == [vc_api.CRYPTOGRAPHIC_SECURITY_ERROR]
    assert "bad signature" in body["detail"]
    assert "recorded" not in body
    other_key = copy.deepcopy(a_record)
    other_key["proof"]["verificationMethod"] = keys.generate().verification_method
    assert problem_types(not_verified(verify(client, other_key))) == [
        vc_api.CRYPTOGRAPHIC_SECURITY_ERROR
    ]


def test_unknown_context_is_reported_not_fetched(client: TestClient) -> None:
    credential = signed(suites.JCS)
    credential["@context"] = [*credential["@context"], "https://example.org/unknown/v1"]
    body = not_verified(verify(client, credential))
    assert problem_types(body) == [vc_api.UNKNOWN_CONTEXT]
    assert "https://example.org/unknown/v1" in body["detail"]


def test_unknown_options_are_accepted_and_named(
    client: TestClient, a_record: dict[str, Any]
) -> None:
    response = verify(client, a_record, frobnicate={"x": 1}, returnResults=True, challenge="c")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True
    named = sorted(w["detail"] for w in body["warnings"] if w["type"] == vc_api.UNKNOWN_OPTION)
    assert named == [
        "options.challenge is not known here and was ignored",
        "options.frobnicate is not known here and was ignored",
    ]


def test_proof_sets_verify_proof_by_proof(client: TestClient) -> None:
    both = signed(suites.JCS, suites.RDFC)
    response = verify(client, both)
    assert response.status_code == 200, response.text
    results = response.json()["results"]["proof"]
    assert [(r["index"], r["cryptosuite"], r["valid"]) for r in results] == [
        (0, suites.JCS, True),
        (1, suites.RDFC, True),
    ]
    broken = copy.deepcopy(both)
    broken["proof"][1]["proofValue"] = broken["proof"][0]["proofValue"]
    body = not_verified(verify(client, broken))
    assert [r["valid"] for r in body["results"]["proof"]] == [True, False]
    assert problem_types(body) == [vc_api.CRYPTOGRAPHIC_SECURITY_ERROR]
    assert body["problemDetails"][0]["detail"].startswith("proof 1:")


def test_what_is_no_credential_does_not_verify(client: TestClient) -> None:
    no_proof = signed()
    assert "proof" not in no_proof
    assert problem_types(not_verified(verify(client, no_proof))) == [
        vc_api.PROOF_VERIFICATION_ERROR
    ]
    no_issuer = signed(suites.JCS, issuer=None)
    body = not_verified(verify(client, no_issuer))
    assert problem_types(body) == [vc_api.MALFORMED_VALUE_ERROR]
    assert body["results"]["proof"][0]["valid"] is True  # signed, but not a credential
    not_vc = signed(suites.JCS, type=["SomethingElse"])
    assert problem_types(not_verified(verify(client, not_vc))) == [vc_api.MALFORMED_VALUE_ERROR]
    bad_date = signed(suites.JCS, validFrom="yesterday")
    assert problem_types(not_verified(verify(client, bad_date))) == [vc_api.MALFORMED_VALUE_ERROR]
    purpose = proofs.sign(signed(), keys.generate(), proof_purpose="authentication")
    assert problem_types(not_verified(verify(client, purpose))) == [vc_api.PROOF_VERIFICATION_ERROR]


def test_a_validity_period_is_a_warning(client: TestClient) -> None:
    expired = signed(suites.JCS, validUntil="2026-01-02T00:00:00Z")
    response = verify(client, expired)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True
    assert body["results"]["validUntil"] == {"valid": False, "input": "2026-01-02T00:00:00Z"}
    assert [w["type"] for w in body["warnings"]] == [vc_api.VALIDITY_PERIOD]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "not a JSON object"),
        (b"{", "not a JSON object"),
        (b"[]", "not a JSON object"),
        (b'{"verifiableCredential": {}, "verifiableCredential": {}}', "not a JSON object"),
        (b"{}", "no verifiableCredential"),
        (b'{"verifiableCredential": "eyJhbGciOiJFZERTQSJ9.e30.sig"}', "enveloped"),
        (b'{"verifiableCredential": [1]}', "must be a JSON object"),
        (b'{"verifiableCredential": {}, "options": []}', "options must be"),
        (b'{"verifiableCredential": {}, "options": {"returnCredential": 1}}', "true or false"),
    ],
)
def test_malformed_requests_are_problems(client: TestClient, content: bytes, detail: str) -> None:
    response = client.post(PATH, content=content, headers={"Content-Type": "application/json"})
    body = not_verified(response)
    assert body["type"] == "https://w3id.org/bpl/problems/invalid-request"
    assert detail in body["detail"]
    assert body["problemDetails"][0]["type"] in (vc_api.PARSING_ERROR, vc_api.MALFORMED_VALUE_ERROR)


def test_body_limit_and_media_type(client: TestClient) -> None:
    huge = json.dumps({"verifiableCredential": {"x": "a" * (vc_api.MAX_BODY_BYTES + 1)}})
    response = client.post(PATH, content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == MEDIA_TYPE

    def chunks() -> Any:
        yield b'{"verifiableCredential": {"x": "'
        for _ in range(vc_api.MAX_BODY_BYTES // 65536 + 1):
            yield b"a" * 65536
        yield b'"}}'

    streamed = client.post(PATH, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["limit"] == vc_api.MAX_BODY_BYTES
    wrong = client.post(PATH, content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 415 and wrong.headers["content-type"] == MEDIA_TYPE

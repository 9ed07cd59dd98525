"""POST /records and /records/batch (201, 200 for a resubmission, 409 stale with the head,
422 refused with the rule, all-or-nothing batches), limits (413, 415, a log entry's 65,535
bytes) and GET /records/{hash} with an inclusion proof the client checks itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ledger.core import records
from ledger.core.contexts import loader
from ledger.log import checkpoint, merkle
from passport import app as service_app
from signing import keys, proofs
from signing.keys import KeyPair
from tests.passport.conftest import Service


def registration(
    signer: KeyPair, did: str, *, name: str = "Test Yard", sequence: int = 0
) -> dict[str, Any]:
    """An actor's registration (a record only the operator may sign), as a submission."""
    public = {
        "roles": ["dismantler"],
        "keys": [records.did_key_method(did)],
        "entity": "organisation",
        "name": name,
    }
    record, disclosures = records.build(
        "ActorRegistered", did, sequence, None, signer.did, public, None
    )
    signed = proofs.sign(record, signer, loader=loader())
    return {"record": signed, "disclosures": disclosures}


def post(service: Service, path: str, body: Any, **headers: str) -> Any:
    return service.client.post(
        path, content=orjson.dumps(body), headers={"Content-Type": "application/json", **headers}
    )


def test_a_new_record_201_then_200_with_the_same_receipt(service: Service) -> None:
    submission = registration(service.operator, keys.generate().did)
    first = post(service, "/records", submission)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["recordHash"] == records.record_hash(submission["record"])
    assert first.headers["location"].endswith(f"/records/{receipt['recordHash']}")
    again = post(service, "/records", submission)
    assert again.status_code == 200
    assert again.json()["leafIndex"] == receipt["leafIndex"]
    # The receipt checks with the log's key alone.
    head = checkpoint.verify(receipt["checkpoint"], service.ledger.verifier_key)
    merkle.verify_inclusion(
        bytes.fromhex(receipt["leafHash"]),
        receipt["leafIndex"],
        head.size,
        [bytes.fromhex(h) for h in receipt["inclusionProof"]],
        head.root,
    )


def test_a_stale_position_is_409_with_the_head(service: Service) -> None:
    did = keys.generate().did
    first = post(service, "/records", registration(service.operator, did))
    assert first.status_code == 201
    stale = post(service, "/records", registration(service.operator, did, name="Other"))
    assert stale.status_code == 409
    problem = stale.json()
    assert stale.headers["content-type"] == "application/problem+json"
    assert problem["rule"] == "sequence"
    assert problem["head"] == {"sequence": 0, "recordHash": first.json()["recordHash"]}


def test_a_refused_record_is_422_with_the_rule(service: Service) -> None:
    stranger = keys.generate()
    response = post(service, "/records", registration(stranger, keys.generate().did))
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and problem["rule"] in {"signer", "role"}
    assert {"type", "title", "detail"} <= set(problem)


def test_bodies_that_are_no_record(service: Service) -> None:
    for body in (b"", b"not json", b"[]", b'{"a": 1, "a": 2}', b"{}"):
        response = service.client.post(
            "/records", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), (body, response.text)
        assert response.json()["rule"] in {"parse", "schema"}
    response = service.client.post("/records", content=b"{}", headers={"Content-Type": "text/csv"})
    assert response.status_code == 415


def test_413_over_the_limit_declared_or_streamed(sqlite_service: Service) -> None:
    client = sqlite_service.client
    big = b" " * (service_app.MAX_BODY_BYTES + 1)
    response = client.post("/records", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["limit"] == service_app.MAX_BODY_BYTES

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked
        for _ in range(service_app.MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    streamed = client.post(
        "/records", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert client.post("/records", headers={"Content-Length": "x1"}).status_code == 400


def test_a_record_too_large_for_a_log_entry_is_refused(sqlite_service: Service) -> None:
    submission = registration(sqlite_service.operator, keys.generate().did, name="N" * 70_000)
    response = post(sqlite_service, "/records", submission)
    assert response.status_code == 422
    assert response.json()["rule"] == "size"
    assert "65535" in response.json()["detail"]


def test_a_batch_is_all_or_nothing(service: Service) -> None:
    dids = [keys.generate().did for _ in range(3)]
    good = [registration(service.operator, did) for did in dids[:2]]
    bad = registration(keys.generate(), dids[2])
    refused = post(service, "/records/batch", [*good, bad])
    assert refused.status_code == 422
    assert refused.json()["index"] == 2
    assert all(service.ledger.actor(did) is None for did in dids)  # nothing stored
    accepted = post(service, "/records/batch", good)
    assert accepted.status_code == 201
    body = accepted.json()
    assert body["atomic"] is True and body["appended"] == 2
    assert [r["recordHash"] for r in body["receipts"]] == [
        records.record_hash(s["record"]) for s in good
    ]
    again = post(service, "/records/batch", good)
    assert again.status_code == 200 and again.json()["appended"] == 0
    body_: object
    for body_ in ([], {}, [1], "x"):
        assert post(service, "/records/batch", body_).status_code == 400


def test_get_a_record_with_its_proof(service: Service) -> None:
    submission = registration(service.operator, keys.generate().did)
    receipt = post(service, "/records", submission).json()
    got = service.client.get(f"/records/{receipt['recordHash']}")
    assert got.status_code == 200
    body = got.json()
    assert body["record"] == submission["record"]
    assert body["leafIndex"] == receipt["leafIndex"]
    head = checkpoint.verify(body["checkpoint"], service.ledger.verifier_key)
    merkle.verify_inclusion(
        merkle.leaf_hash(records.canonical(body["record"])),
        body["leafIndex"],
        head.size,
        [bytes.fromhex(h) for h in body["inclusionProof"]],
        head.root,
    )
    assert service.client.get("/records/sha256:" + "0" * 64).status_code == 404
    for bad in ("abc", "sha256:XYZ", "sha256:" + "A" * 64):
        response = service.client.get(f"/records/{bad}")
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"

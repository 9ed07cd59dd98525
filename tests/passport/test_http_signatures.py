"""Actors read by signing their requests (RFC 9421, Ed25519; ADR 0021), and every read
of restricted data is recorded in the access log (who, what, when; never a secret)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from http_message_signatures import HTTPMessageSigner, algorithms

from ledger.core import access
from ledger.facade import Ledger
from passport.app import create_app
from signing import keys
from signing.http_signatures import sign_request
from signing.keys import KeyPair
from tests.passport.conftest import Service
from tests.passport.helpers import chains, hash_of, kind, logged
from tests.passport.shared_service import (  # noqa: F401 (fixtures)
    read_only_service,
    read_only_sqlite,
)

ROLES = list(access.READER_ROLES)


@pytest.fixture
def each_engine(read_only_service: Service) -> Service:  # noqa: F811 (the fixture imported)
    """The shared demo service, on each engine: these tests only read (and sign)."""
    return read_only_service


@pytest.fixture
def on_sqlite(read_only_sqlite: Service) -> Service:  # noqa: F811 (the fixture imported)
    return read_only_sqlite


def signed(
    client: TestClient,
    key: Any,
    method: str,
    path: str,
    body: bytes | None = None,
    **options: Any,
) -> httpx.Request:
    """A request for ``path`` signed with ``key`` as bpl signs them (not yet sent)."""
    request = client.build_request(
        method,
        path,
        content=body,
        headers={"Content-Type": "application/json"} if body is not None else {},
    )
    headers: dict[str, str] = {}
    sign_request(method, str(request.url), headers, body, key, tag="bpl", **options)
    request.headers.update(headers)
    return request


def get_signed(service: Service, role: str, path: str) -> httpx.Response:
    return service.client.send(signed(service.client, service.role_keys[role], "GET", path))


def restricted_passport(service: Service) -> str:
    """A passport whose records hold several restricted groups."""
    best, count = "", -1
    for pid, chain in chains(service.ledger).items():
        groups = sum(len(r["credentialSubject"].get("disclosures") or {}) for r in chain)
        if groups > count:
            best, count = pid, groups
    return best


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Accept-Signature" in response.headers
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/invalid-signature")
    return body


@pytest.mark.parametrize("role", ROLES)
def test_a_signed_request_reads_as_its_actor(each_engine: Service, role: str) -> None:
    """Signed by each role's actor, a passport reads exactly as with that actor's token:
    the role's groups, and what the public sees is less (unless the role reads nothing
    more here)."""
    service = each_engine
    pid = restricted_passport(service)
    path = f"/passports/{pid}"
    by_signature = get_signed(service, role, path)
    assert by_signature.status_code == 200, by_signature.text
    assert by_signature.headers["cache-control"] == "private, no-cache"
    by_token = service.client.get(path, headers=service.as_role(role))
    assert by_signature.json() == by_token.json()
    shown = {g for r in by_signature.json()["records"] for g in r["disclosures"]}
    expected = set()
    for record in chains(service.ledger)[pid]:
        disclosed = service.ledger.disclosures(hash_of(record), access.OPERATOR_READER)
        reader = access.Reader.of_actor(service.role_dids[role], {role})
        expected |= set(access.readable(reader, record, disclosed))
    assert shown == expected
    public = service.client.get(path).json()
    assert all(not r["disclosures"] for r in public["records"])


def test_tampered_requests_are_refused(on_sqlite: Service) -> None:
    service = on_sqlite
    client = service.client
    key = service.role_keys["market-surveillance"]
    pid = restricted_passport(service)
    other = next(p for p in chains(service.ledger) if p != pid)

    def resend(request: httpx.Request, **changes: Any) -> httpx.Response:
        copy = client.build_request(
            changes.get("method", request.method),
            changes.get("url", str(request.url)),
            content=changes.get("content", request.content),
            headers={**request.headers, **changes.get("headers", {})},
        )
        return client.send(copy)

    request = signed(client, key, "GET", f"/passports/{pid}/records?limit=5")
    refused(resend(request, url=f"http://testserver/passports/{other}/records?limit=5"))
    refused(resend(request, url=f"http://testserver/passports/{pid}/records?limit=6"))
    refused(resend(request, url=f"http://testserver/passports/{pid}/records"))
    refused(resend(request, headers={"host": "elsewhere.example"}))
    assert client.send(request).status_code == 200  # untouched, it reads

    record = next(
        r for r in logged(service.ledger) if not r["credentialSubject"].get("disclosures")
    )
    body = json.dumps({"record": record}).encode()
    post = signed(client, key, "POST", "/records", body)
    as_post = signed(client, key, "POST", f"/passports/{pid}")
    refused(resend(as_post, method="GET"))  # signed for another method
    problem = refused(resend(post, content=body.replace(b"{", b" {", 1)))
    assert "Content-Digest" in problem["detail"]
    import hashlib, base64  # noqa: E401, I001, PLC0415 (only here)

    forged = body.replace(b"{", b" {", 1)
    digest = base64.b64encode(hashlib.sha256(forged).digest()).decode()
    refused(resend(post, content=forged, headers={"content-digest": f"sha-256=:{digest}:"}))
    sent = client.send(post)
    assert sent.status_code == 200, sent.text  # stored already: its receipt again
    assert sent.json()["recordHash"] == hash_of(record)


def test_keys_the_ledger_does_not_hold_are_refused(on_sqlite: Service) -> None:
    service = on_sqlite
    client = service.client
    path = f"/passports/{restricted_passport(service)}"
    refused(client.send(signed(client, keys.generate(), "GET", path)))

    @dataclass
    class Impostor:  # signs with its own key, names a registered one
        verification_method: str
        signer: KeyPair

        def sign(self, message: bytes) -> bytes:
            return self.signer.sign(message)

    claimed = service.role_keys["operator"].verification_method
    refused(client.send(signed(client, Impostor(claimed, keys.generate()), "GET", path)))


def test_a_revoked_key_is_refused_an_added_key_reads(tmp_path: Path) -> None:
    operator = keys.generate()
    ledger = Ledger.init(tmp_path / "data", operator, origin="signed.bpl.example/log")
    try:
        client = TestClient(create_app(ledger))
        first, added, revoked = keys.generate(), keys.generate(), keys.generate()
        ledger.register_actor(
            operator,
            first.did,
            ["legitimate-interest"],
            name="Second-life analytics GmbH",
            keys=[first.verification_method, revoked.verification_method],
            contact={"email": "ops@second-life.example"},
        )
        ledger.add_key(operator, first.did, added.verification_method)
        ledger.revoke_key(operator, first.did, revoked.verification_method, "compromised")
        head = ledger.head(first.did)
        assert head is not None
        path = f"/records/{head.record_hash}"
        problem = refused(client.send(signed(client, revoked, "GET", path)))
        assert "not registered here, or revoked" in problem["detail"]
        for key in (first, added):
            response = client.send(signed(client, key, "GET", path))
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "private, no-cache"
    finally:
        ledger.close()


def test_stale_future_and_expired_signatures_are_refused(on_sqlite: Service) -> None:
    service = on_sqlite
    client = service.client
    key = service.role_keys["notified-body"]
    path = f"/passports/{restricted_passport(service)}"
    now = int(time.time())
    assert (
        "age" in refused(client.send(signed(client, key, "GET", path, created=now - 400)))["detail"]
    )
    assert (
        "future"
        in refused(client.send(signed(client, key, "GET", path, created=now + 120)))["detail"]
    )
    expired = signed(client, key, "GET", path, created=now - 60, expires_in=10)
    assert "expires" in refused(client.send(expired))["detail"]
    skewed = signed(client, key, "GET", path, created=now + 10)  # within the skew allowed
    assert client.send(skewed).status_code == 200


def _signature(
    client: TestClient, key: KeyPair, method: str, path: str, body: bytes | None, **options: Any
) -> httpx.Request:
    """A request signed with the library directly, covering what ``options`` say."""
    request = client.build_request(method, path, content=body)
    headers = dict(request.headers)

    @dataclass
    class Message:
        method: str
        url: str
        headers: dict[str, str]

    message = Message(method, str(request.url), headers)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    prepared = signer.prepare(
        message, key_id=key.verification_method, body=body, label="sig1", **options
    )
    signer.apply(message, prepared, key.sign(prepared.signature_base))
    request.headers.update(message.headers)
    return request


def test_signatures_that_cover_too_little_are_refused(on_sqlite: Service) -> None:
    service = on_sqlite
    client = service.client
    key = service.role_keys["commission"]
    path = f"/passports/{restricted_passport(service)}?lang=en"
    full = ("@method", "@authority", "@path", "@query")
    for covered, options, reason in (
        (("@method", "@authority", "@path"), {"tag": "bpl"}, "target"),
        (("@authority", "@path", "@query"), {"tag": "bpl"}, "@method"),
        (full, {}, "tag"),
        (full, {"tag": "other-app"}, "tag"),
        (full, {"tag": "bpl", "include_alg": False}, "alg"),
    ):
        request = _signature(
            client, key, "GET", path, None, covered_component_ids=covered, **options
        )
        assert reason in refused(client.send(request))["detail"], (covered, options)
    target = ("@method", "@target-uri")
    request = _signature(client, key, "GET", path, None, covered_component_ids=target, tag="bpl")
    assert client.send(request).status_code == 200  # @target-uri names the target too

    body = b'{"record": {}}'
    undigested = _signature(
        client, key, "POST", "/records", None, covered_component_ids=full, tag="bpl"
    )
    undigested = client.build_request(
        "POST", "/records", content=body, headers=dict(undigested.headers)
    )
    assert "Content-Digest" in refused(client.send(undigested))["detail"]
    for header in ("Signature", "Signature-Input"):
        request = signed(client, key, "GET", path)
        del request.headers[header]
        refused(client.send(request))


def test_a_signature_over_another_request_or_replayed_is_refused(
    on_sqlite: Service,
) -> None:
    service = on_sqlite
    client = service.client
    key = service.role_keys["market-surveillance"]
    first, second = list(chains(service.ledger))[:2]
    made = signed(client, key, "GET", f"/passports/{first}")
    borrowed = client.build_request("GET", f"/passports/{second}")
    for name in ("Signature", "Signature-Input"):
        borrowed.headers[name] = made.headers[name]
    refused(client.send(borrowed))
    assert client.send(made).status_code == 200
    assert "nonce" in refused(client.send(made))["detail"]  # the same request again


def test_a_bad_signature_is_refused_before_any_lookup(on_sqlite: Service) -> None:
    """An unknown and a known passport answer the same 401: no probing for ids."""
    service = on_sqlite
    client = service.client
    known = restricted_passport(service)
    answers = []
    stranger = keys.generate()
    for pid in (known, "urn:bpl:passport:does-not-exist"):
        request = signed(client, stranger, "GET", f"/passports/{pid}")
        response = client.send(request)
        body = refused(response)
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        answers.append((body["detail"], body["type"], headers))
    assert answers[0] == answers[1]
    both = signed(client, service.role_keys["operator"], "GET", f"/passports/{known}")
    both.headers["Authorization"] = f"Bearer {service.role_tokens['operator']}"
    assert "not both" in refused(client.send(both))["detail"]


def _lines(service: Service) -> list[dict[str, Any]]:
    assert service.access is not None
    if not service.access.path.exists():
        return []
    return [json.loads(line) for line in service.access.path.read_text().splitlines()]


@pytest.fixture
def log_lines(each_engine: Service) -> Iterator[int]:
    yield len(_lines(each_engine))


def test_a_restricted_read_is_recorded_once(each_engine: Service, log_lines: int) -> None:
    service = each_engine
    pid = restricted_passport(service)
    role = "market-surveillance"
    response = get_signed(service, role, f"/passports/{pid}")
    assert response.status_code == 200
    new = _lines(service)[log_lines:]
    assert len(new) == 1
    entry = new[0]
    assert entry["reader"] == service.role_dids[role]
    assert entry["roles"] == [role]
    assert entry["credential"] == f"signature {service.role_keys[role].verification_method}"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", f"/passports/{pid}", 200)
    assert abs(time.time() - _epoch(entry["time"])) < 60
    shown = {
        r["recordHash"]: sorted(r["disclosures"])
        for r in response.json()["records"]
        if r["disclosures"]
    }
    logged = {r["recordHash"]: r["groups"] for r in entry["records"]}
    assert shown and all(logged[h] == groups for h, groups in shown.items())
    assert service.access is not None
    assert oct(os.stat(service.access.path).st_mode & 0o777) == "0o600"

    token = service.client.get(f"/passports/{pid}", headers=service.as_role("operator"))
    assert token.status_code == 200
    by_token = _lines(service)[-1]
    assert by_token["credential"].startswith("token ") and by_token["roles"] == ["operator"]
    text = service.access.path.read_text()
    assert not any(secret in text for secret in service.role_tokens.values())
    assert response.request.headers["signature"].split("=", 1)[1] not in text


def test_public_reads_and_reads_of_nothing_restricted_are_not_recorded(
    each_engine: Service, log_lines: int
) -> None:
    service = each_engine
    pid = restricted_passport(service)
    assert service.client.get(f"/passports/{pid}").status_code == 200
    assert service.client.get("/log/checkpoint").status_code == 200
    signed_public = get_signed(service, "operator", "/log/checkpoint")
    assert signed_public.status_code == 200
    actor_record = next(r for r in chains(service.ledger)[pid] if kind(r) == "PassportIssued")
    assert service.client.get(f"/records/{hash_of(actor_record)}").status_code == 200
    assert len(_lines(service)) == log_lines


def test_a_read_that_cannot_be_recorded_is_not_served(on_sqlite: Service) -> None:
    service = on_sqlite
    assert service.access is not None
    pid = restricted_passport(service)
    get_signed(service, "commission", f"/passports/{pid}")  # the log exists
    os.chmod(service.access.path, 0o644)
    try:
        response = get_signed(service, "commission", f"/passports/{pid}")
        assert response.status_code == 503
        assert response.json()["type"].endswith("/unavailable")
        assert service.client.get(f"/passports/{pid}").status_code == 200  # the public
    finally:
        os.chmod(service.access.path, 0o600)


def _epoch(text: str) -> float:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_chain_head_says_where_the_next_record_goes(on_sqlite: Service) -> None:
    service = on_sqlite
    pid = restricted_passport(service)
    head = service.ledger.head(pid)
    assert head is not None
    body = service.client.get(f"/subjects/{pid}/head").json()
    assert body == {
        "subject": pid,
        "sequence": head.sequence,
        "recordHash": head.record_hash,
        "next": {"sequence": head.sequence + 1, "previous": head.record_hash},
    }
    assert "status" not in body  # Annex XIII point 4: never to the public
    new = service.client.get("/subjects/urn:bpl:passport:not-issued-yet/head")
    assert new.status_code == 404
    assert new.json()["next"] == {"sequence": 0, "previous": None}
    refused(
        service.client.send(signed(service.client, keys.generate(), "GET", f"/subjects/{pid}/head"))
    )

"""GET /passports/{id}: content negotiation, the state derived from the chain, the model,
what each reader sees (the access matrix over every group and role, on both engines),
succeeded passports, the records in pages and the verification report."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ledger.core import access, records
from ledger.core.access import READER_ROLES, Reader
from ledger.log import checkpoint, merkle
from signing import note
from tests.passport.conftest import Service
from tests.passport.helpers import chains, hash_of, kind

ROLES: list[str | None] = [None, *READER_ROLES]


def passport_with(service: Service, *kinds: str) -> str:
    """A passport whose chain holds records of every kind named."""
    for pid, chain in chains(service.ledger).items():
        if set(kinds) <= {kind(r) for r in chain}:
            return pid
    raise AssertionError(f"the demo has no passport with {kinds}")


def test_json_ld_by_default_with_vary_and_alternate_links(service: Service) -> None:
    pid = passport_with(service, "DiagnosticTest")
    for accept, media in (
        (None, "application/ld+json"),
        ("*/*", "application/ld+json"),
        ("application/ld+json", "application/ld+json"),
        ("application/json", "application/json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/json;q=0.5, text/html;q=0.4", "application/json"),
    ):
        headers = {} if accept is None else {"Accept": accept}
        response = service.client.get(f"/passports/{pid}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media
        assert "Accept" in response.headers["vary"]
        # who reads: a bearer token, or a signature by an actor's key (RFC 9421)
        readers = {"Authorization", "Signature", "Signature-Input"}
        assert readers <= set(response.headers["vary"].split(", "))
        links = response.headers["link"]
        assert 'rel="alternate"' in links
        assert all(f'type="{t}"' in links for t in {"application/ld+json", "text/html"} - {media})


def test_406_for_what_it_cannot_give(service: Service) -> None:
    pid = passport_with(service, "DiagnosticTest")
    response = service.client.get(f"/passports/{pid}", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 406


def test_the_state_comes_from_the_chain(service: Service) -> None:
    pid = passport_with(service, "CustodyTransfer")
    chain = chains(service.ledger)[pid]
    document = service.client.get(f"/passports/{pid}").json()
    assert document["id"] == pid and document["type"] == "BatteryPassport"
    assert document["batteryId"] == chain[0]["credentialSubject"]["batteryId"]
    assert [r["recordHash"] for r in document["records"]] == [hash_of(r) for r in chain]
    state = document["state"]
    assert state["sequence"] == len(chain) - 1 and state["head"] == hash_of(chain[-1])
    transfers = [r for r in chain if kind(r) == "CustodyTransfer"]
    assert state["custodian"] == transfers[-1]["credentialSubject"]["to"]
    model = document["model"]
    named = chain[0]["credentialSubject"]["model"]
    assert (model["id"], model["record"]) == (named["id"], named["record"])
    assert model["data"]["category"] in {"EV", "industrial", "LMT"}
    assert set(model["withheld"]) == {"circularity", "compliance", "performance"}
    assert model["disclosures"] == {}


def test_status_is_annex_xiii_point_4(service: Service) -> None:
    """A head's status is shown to a legitimate interest (and the operator) only."""
    pid = passport_with(service, "StatusChange")
    for role in ROLES:
        document = service.client.get(f"/passports/{pid}", headers=service.as_role(role)).json()
        shown = "status" in document["state"]
        assert shown == (role in (access.LEGITIMATE_INTEREST, access.OPERATOR)), role
        page = service.client.get(
            f"/passports/{pid}", headers={**service.as_role(role), "Accept": "text/html"}
        ).text
        status = service.ledger.head(pid).status  # type: ignore[union-attr]
        assert (f"<td>{status}</td>" in page) == shown


@pytest.mark.parametrize("role", ROLES)
def test_every_reader_sees_exactly_its_groups(service: Service, role: str | None) -> None:
    """The access matrix on the service: for every record of a few passports (and their
    models), the groups shown are the ones the ledger gives the reader, and every other
    group is listed as withheld."""
    reader = (
        access.PUBLIC
        if role is None
        else Reader.of_actor(service.role_dids[role], frozenset({role}))
    )
    picked = {
        passport_with(service, "DiagnosticTest"),
        passport_with(service, "Shipment"),
        passport_with(service, "Recycled"),
    }
    for pid in picked:
        response = service.client.get(f"/passports/{pid}", headers=service.as_role(role))
        document = response.json()
        assert response.headers["cache-control"].startswith("private" if role else "public")
        for item in document["records"]:
            expected = service.ledger.disclosures(item["recordHash"], reader)
            assert item["disclosures"] == expected
            stored = service.ledger.disclosures(item["recordHash"], access.OPERATOR_READER)
            assert set(item["withheld"]) == set(stored) - set(expected)
            for group in expected:
                version = "v2"
                assert role is not None
                assert role in access.readers(version, group) or (
                    group == "business" and service.role_dids[role] in str(item)
                ), (role, group)
        model = document["model"]
        assert model["disclosures"] == service.ledger.disclosures(model["record"], reader)


def test_restricted_values_never_reach_the_public(service: Service) -> None:
    """No value of any disclosure appears in what the public gets, JSON or HTML."""
    pid = passport_with(service, "DiagnosticTest", "CustodyTransfer")
    json_text = service.client.get(f"/passports/{pid}").text
    html_text = service.client.get(f"/passports/{pid}", headers={"Accept": "text/html"}).text
    records_text = service.client.get(f"/passports/{pid}/records").text
    verify_text = service.client.get(f"/passports/{pid}/verify").text
    for record in chains(service.ledger)[pid]:
        for disclosure in service.ledger.disclosures(
            hash_of(record), access.OPERATOR_READER
        ).values():
            salt = disclosure["salt"]
            for text in (json_text, html_text, records_text, verify_text):
                assert salt not in text


def test_a_succeeded_passport_says_so_and_links_its_successors(service: Service) -> None:
    pid = passport_with(service, "PassportSucceeded")
    succeeded = next(r for r in chains(service.ledger)[pid] if kind(r) == "PassportSucceeded")
    subject = succeeded["credentialSubject"]
    expected = subject.get("successors") or [subject["successor"]]
    document = service.client.get(f"/passports/{pid}").json()
    assert document["state"]["lifecycle"] == "succeeded"
    assert document["state"]["closed"] is True
    assert document["state"]["successors"] == expected
    assert [link.rsplit("/", 1)[1] for link in document["links"]["successors"]] == expected
    page = service.client.get(f"/passports/{pid}", headers={"Accept": "text/html"}).text
    assert "it was succeeded" in page
    assert all(f'/passports/{s}"' in page for s in expected)
    successor = service.client.get(f"/passports/{expected[0]}").json()
    assert pid in successor["state"]["predecessors"]


def test_unknown_and_other_chains_are_404(service: Service) -> None:
    operator = service.operator.did
    for pid in ("urn:bpl:passport:00000000-0000-4000-8000-000000000000", operator, "x" * 600):
        response = service.client.get(f"/passports/{pid}")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/not-found")


def test_records_in_pages(service: Service) -> None:
    pid = passport_with(service, "DiagnosticTest", "CustodyTransfer")
    chain = chains(service.ledger)[pid]
    seen: list[str] = []
    url: str | None = f"/passports/{pid}/records?limit=2"
    while url:
        page = service.client.get(url).json()
        seen += [item["recordHash"] for item in page["items"]]
        start = len(seen) - len(page["items"])
        assert [item["record"] for item in page["items"]] == chain[start : len(seen)]
        url = page["next"]
    assert seen == [hash_of(r) for r in chain]
    for bad in ("limit=0", "limit=1001", "after=-2", "limit=x"):
        assert service.client.get(f"/passports/{pid}/records?{bad}").status_code == 400


def _verify_inclusion(leaf: bytes, index: int, size: int, path: list[str], root: bytes) -> None:
    merkle.verify_inclusion(
        merkle.leaf_hash(leaf), index, size, [bytes.fromhex(h) for h in path], root
    )


def test_the_verification_report_checks_by_itself(service: Service) -> None:
    """What a client holding only the log's key can check in the report: the checkpoint's
    signature, every record's hash, links and inclusion in the checkpoint's tree."""
    pid = passport_with(service, "DiagnosticTest", "CustodyTransfer")
    report: dict[str, Any] = service.client.get(f"/passports/{pid}/verify").json()
    assert report["verified"] is True
    key = service.ledger.verifier_key
    head = checkpoint.verify(report["checkpoint"]["note"], key, service.ledger.log.origin)
    assert note.verify(report["checkpoint"]["note"], [key])
    chain = chains(service.ledger)[pid]
    previous = None
    for item, record in zip(report["records"], chain, strict=True):
        assert item["recordHash"] == hash_of(record)
        assert all(proof["verified"] for proof in item["proofs"])
        assert item["links"] == {"previous": previous, "matches": True}
        _verify_inclusion(
            records.canonical(record),
            item["leafIndex"],
            head.size,
            item["inclusionProof"],
            head.root,
        )
        assert set(item["disclosures"]) == set(record["credentialSubject"].get("disclosures", {}))
        assert not any(d["shown"] for d in item["disclosures"].values())
        previous = item["recordHash"]
    assert base64.b64decode(report["checkpoint"]["note"].split("\n")[2]) == head.root
    operator = service.client.get(
        f"/passports/{pid}/verify", headers=service.as_role("operator")
    ).json()
    shown = [d for item in operator["records"] for d in item["disclosures"].values()]
    assert shown and all(d["shown"] and d["matches"] for d in shown)


def test_the_public_passport_is_kept_until_the_log_grows(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anonymous readers get a passport made once per state of the log (its page and its
    JSON-LD, per language); an append makes it again; an entitled reader's is made for
    each request (so that each restricted read is recorded)."""
    from passport import views  # noqa: PLC0415

    service = sqlite_service
    pid = passport_with(service, "DiagnosticTest")
    made: list[str] = []
    view_of = views.passport_view

    def counted(ledger: Any, passport_id: str, reader: Reader) -> Any:
        made.append(passport_id)
        return view_of(ledger, passport_id, reader)

    monkeypatch.setattr(views, "passport_view", counted)
    html = {"Accept": "text/html"}
    first = service.client.get(f"/passports/{pid}", headers=html)
    again = service.client.get(f"/passports/{pid}", headers=html)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and len(made) == 1
    assert first.headers["content-type"] == again.headers["content-type"]
    assert first.headers["vary"] == again.headers["vary"]
    assert first.headers["content-language"] == again.headers["content-language"] == "en"
    assert service.client.get(f"/passports/{pid}").status_code == 200  # JSON-LD: its own
    assert service.client.get(f"/passports/{pid}", headers=html, params={"lang": "de"}).text
    assert len(made) == 3

    service.ledger.register_actor(service.operator, _new_did(), ["recycler"], name="Late Recycler")
    grown = service.client.get(f"/passports/{pid}", headers=html)
    assert len(made) == 4 and grown.content != first.content  # the seal's checkpoint

    for _ in range(2):
        entitled = service.client.get(f"/passports/{pid}", headers=service.as_role("operator"))
        assert entitled.status_code == 200
    assert len(made) == 6


def _new_did() -> str:
    from signing import keys  # noqa: PLC0415

    return keys.generate().did

"""The HTML pages (passport.html, model.html) over HTTP: what each reader sees, the seal,
shipments, documents, predecessors and successors, the languages and their catalogues.
The browser's view of the same pages: tests/passport/browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages import pofile
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from ledger.core import access
from ledger.core.access import READER_ROLES, Reader
from passport import i18n
from tests.passport.conftest import Service
from tests.passport.helpers import chains, hash_of, kind, logged

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Accept": "text/html"}
ROLES: list[str | None] = [None, *READER_ROLES]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # shown as the page's language writes it


def page(service: Service, path: str, role: str | None = None, **headers: str) -> str:
    response = service.client.get(path, headers={**HTML, **service.as_role(role), **headers})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


def passport_with(service: Service, *kinds: str) -> str:
    for pid, chain in chains(service.ledger).items():
        if set(kinds) <= {kind(r) for r in chain}:
            return pid
    raise AssertionError(f"the demo has no passport with {kinds}")


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in ("salt", "group") for s in strings(v)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def public_text(service: Service) -> str:
    """Everything the public log holds (and so any page may show to anyone)."""
    return "\n".join(str(record) for record in logged(service.ledger))


@pytest.mark.parametrize("role", ROLES)
def test_a_reader_never_sees_a_value_of_a_group_withheld_from_it(
    service: Service, role: str | None
) -> None:
    """For passports with every kind of restricted data, every string of a disclosure the
    reader may not read (and the public log does not hold anyway) is absent from the page;
    each withheld group is there by its digest; what the reader may read is there."""
    reader = (
        access.PUBLIC
        if role is None
        else Reader.of_actor(service.role_dids[role], frozenset({role}))
    )
    public = public_text(service)
    for pid in {
        passport_with(service, "DiagnosticTest"),
        passport_with(service, "Shipment"),
        passport_with(service, "Recycled"),
        passport_with(service, "DocumentAttached"),
    }:
        html = page(service, f"/passports/{pid}", role)
        chain = chains(service.ledger)[pid]
        model = chain[0]["credentialSubject"]["model"]["record"]
        hashes = [model, *(hash_of(record) for record in chain)]
        readable = {
            value
            for record_hash in hashes
            for value in strings(service.ledger.disclosures(record_hash, reader))
        }
        for record in chain:
            record_hash = hash_of(record)
            shown = service.ledger.disclosures(record_hash, reader)
            every = service.ledger.disclosures(record_hash, access.OPERATOR_READER)
            for group, body in every.items():
                if group in shown:
                    continue
                assert record["credentialSubject"]["disclosures"][group] in html
                for value in strings(body):
                    if len(value) >= 6 and value not in public and value not in readable:
                        assert value not in html, (role, group, value)
            for group, body in shown.items():
                for value in strings(body):
                    if not value.startswith("did:") and len(value) >= 6 and not _DATE.match(value):
                        worded = i18n.TERMS.get(value, value).replace("'", "&#39;")
                        assert worded in html, (role, group, value)


def test_state_of_health_grade_and_status_for_entitled_readers_only(service: Service) -> None:
    pid = passport_with(service, "DiagnosticTest")
    for role in ROLES:
        html = page(service, f"/passports/{pid}", role)
        entitled = role in (access.LEGITIMATE_INTEREST, access.OPERATOR)
        assert ('id="soh"' in html) == entitled, role
        assert ('id="grade"' in html) == entitled, role
        assert ('id="status"' in html) == entitled, role
        assert ("<svg" in html) == entitled, role
        if not entitled:
            assert "Diagnostic tests whose measures are withheld from you: 1." in html


def test_the_seal_names_the_checkpoint_and_links_its_details(sqlite_service: Service) -> None:
    service = sqlite_service
    pid = passport_with(service, "CustodyTransfer")
    html = page(service, f"/passports/{pid}")
    origin, size, root = service.ledger.log.checkpoint().split("\n")[:3]
    assert f"Verified against checkpoint {size} of log {origin}" in html
    assert root in html
    assert 'href="http://testserver/log/checkpoint"' in html
    assert f'href="http://testserver/passports/{pid}/verify"' in html
    records = len(chains(service.ledger)[pid])
    assert f"{records} of {records} records' proofs verify" in html
    assert html.count("proof verified") == records
    assert f'src="http://testserver/passports/{pid}/qr.svg"' in html
    assert "<script" not in html  # complete without JavaScript


def test_succeeded_and_successor_passports_link_each_other(sqlite_service: Service) -> None:
    service = sqlite_service
    pid = passport_with(service, "PassportSucceeded")
    succeeded = [r for r in chains(service.ledger)[pid] if kind(r) == "PassportSucceeded"]
    successors = succeeded[0]["credentialSubject"]["successors"]
    html = page(service, f"/passports/{pid}")
    assert "This passport is closed: it was succeeded." in html
    for successor in successors:
        assert f'href="http://testserver/passports/{successor}"' in html
    child = page(service, f"/passports/{successors[0]}?lang=fr")
    assert f'href="http://testserver/passports/{pid}?lang=fr"' in child
    recycled = passport_with(service, "Recycled")
    if service.ledger.head(recycled).closed:  # type: ignore[union-attr]
        assert "This passport is closed." in page(service, f"/passports/{recycled}")


def test_shipments_show_their_dangerous_goods_and_documents_their_hashes(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    pid = passport_with(service, "Shipment")
    shipment = next(r for r in chains(service.ledger)[pid] if kind(r) == "Shipment")
    goods = shipment["credentialSubject"]["dangerousGoods"]
    html = page(service, f"/passports/{pid}", access.MARKET_SURVEILLANCE)
    assert shipment["credentialSubject"]["shipmentId"] in html
    assert goods["unNumber"] in html and goods["properShippingName"] in html
    papers = service.ledger.disclosures(hash_of(shipment), access.OPERATOR_READER)["business"]
    for paper in papers["documents"]:
        assert paper["hash"] in html
    documented = passport_with(service, "DocumentAttached")
    attached = next(r for r in chains(service.ledger)[documented] if kind(r) == "DocumentAttached")
    assert attached["credentialSubject"]["documentHash"] in page(
        service, f"/passports/{documented}"
    )


def test_language_by_query_or_accept_language(sqlite_service: Service) -> None:
    service = sqlite_service
    pid = passport_with(service, "PassportIssued")
    made = chains(service.ledger)[pid][0]["credentialSubject"]["manufacturedOn"]
    year, month, day = made.split("-")
    for headers, query, lang, words in (
        ({}, "", "en", "Battery passport"),
        ({"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}, "", "de", "Batteriepass"),
        ({"Accept-Language": "es, fr;q=0.8, de;q=0.7"}, "", "fr", "Passeport de batterie"),
        ({"Accept-Language": "es, ja"}, "", "en", "Battery passport"),
        ({"Accept-Language": "de"}, "?lang=fr-CA", "fr", "Passeport de batterie"),
    ):
        response = service.client.get(f"/passports/{pid}{query}", headers={**HTML, **headers})
        assert response.status_code == 200
        assert response.headers["content-language"] == lang
        vary = [v.strip() for v in response.headers["vary"].split(",")]
        assert {"Accept", "Authorization", "Accept-Language"} <= set(vary)
        assert f'<html lang="{lang}">' in response.text and words in response.text
    german = page(service, f"/passports/{pid}?lang=de")
    assert f"{day}.{month}.{year}" in german  # Babel's medium date in German
    json = service.client.get(f"/passports/{pid}", headers={"Accept-Language": "de"})
    assert "content-language" not in json.headers and json.json()["id"] == pid


@pytest.mark.parametrize("lang", ["xx", "english", "de;", "", "d" * 300])
def test_an_unknown_language_is_a_clear_400(sqlite_service: Service, lang: str) -> None:
    pid = passport_with(sqlite_service, "PassportIssued")
    response = sqlite_service.client.get(f"/passports/{pid}", params={"lang": lang}, headers=HTML)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "lang is one of en, de, fr" in response.json()["detail"]


def test_accept_language_is_read_leniently() -> None:
    assert i18n.choose(None, None) == "en"
    assert i18n.choose(None, "fr;q=0, de;q=0.1") == "de"
    assert i18n.choose(None, "fr;q=nonsense, de;q=0.2") == "de"
    assert i18n.choose(None, "*;q=0.9, de;q=0.5") == "en"
    assert i18n.choose(None, ",,;;=, 12%$") == "en"
    assert i18n.choose(None, ", ".join(["xx"] * 100 + ["fr"])) == "en"  # ranges capped


def test_the_model_page_by_content_negotiation(service: Service) -> None:
    pid = passport_with(service, "PassportIssued")
    gtin = service.client.get(f"/passports/{pid}").json()["model"]["gtin"]
    model = service.ledger.models_by_gtin(gtin)[0]
    record_hash = model.head.record_hash
    every = service.ledger.disclosures(record_hash, access.OPERATOR_READER)
    public = public_text(service)
    for role in (None, access.NOTIFIED_BODY):
        response = service.client.get(
            f"/models/{gtin}", headers={**HTML, **service.as_role(role), "Accept-Language": "fr"}
        )
        assert response.status_code == 200 and response.headers["content-language"] == "fr"
        assert "Accept-Language" in response.headers["vary"]
        html = response.text
        assert "Modèle de batterie" in html and gtin in html
        reader = (
            access.PUBLIC
            if role is None
            else Reader.of_actor(service.role_dids[role], frozenset({role}))
        )
        shown = service.ledger.disclosures(record_hash, reader)
        stored = service.ledger.record(record_hash)
        assert stored is not None
        digests = stored.record["credentialSubject"]["disclosures"]
        for group, body in every.items():
            if group in shown:
                assert all(v in html for v in strings(body) if len(v) >= 6 and "'" not in v)
            else:
                assert digests[group] in html
                assert not [
                    v for v in strings(body) if len(v) >= 6 and v not in public and v in html
                ]
    assert service.client.get(f"/models/{gtin}").headers["content-type"] == "application/json"
    refused = service.client.get(f"/models/{gtin}", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    bad = service.client.get(f"/models/{gtin}?lang=zz", headers=HTML)
    assert bad.status_code == 400


def test_every_message_has_a_german_and_a_french_translation() -> None:
    """The messages extracted from the templates and passport/i18n.py with babel.cfg are
    the catalogues' ids, each translated (not fuzzy, the same placeholders)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    extracted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None, "N_": None}
        )
    }
    assert len(extracted) > 200
    for lang in ("de", "fr"):
        path = ROOT / "passport" / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as po:
            catalogue = pofile.read_po(po, locale=lang)
        ids = {message.id for message in catalogue if message.id}
        assert extracted - ids == set(), f"{lang}: not in the catalogue"
        assert ids - extracted == set(), f"{lang}: no longer used"
        for message in catalogue:
            if not message.id:
                continue
            assert message.string and not message.fuzzy, (lang, message.id)
            assert set(_PLACEHOLDER.findall(str(message.id))) == set(
                _PLACEHOLDER.findall(str(message.string))
            ), (lang, message.id)

"""``GET /passports/{id}/bundle``: the offline evidence bundle, as each reader may see it,
on SQLite and PostgreSQL; it verifies with the log's key alone; caching by reader; 404 for
an unknown passport, 400 for a ``since`` beyond the tree."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from ledger import bundle
from ledger.core import records
from ledger.core.access import READER_ROLES, Reader
from tests.passport.conftest import Service


def _linked_passport(service: Service) -> str:
    """A passport with a successor (its bundle holds several passports)."""
    for actor in service.ledger.actors():
        for passport in service.ledger.passports_by_manufacturer(actor.did, limit=1000):
            kinds = [r["type"][1] for r in service.ledger.chain(passport.subject_id)]
            if "PassportSucceeded" in kinds:
                return passport.subject_id
    raise AssertionError("the demo has no succeeded passport")


def _get(service: Service, passport: str, role: str | None, query: str = "") -> Any:
    return service.client.get(
        f"/passports/{quote(passport, safe=':')}/bundle{query}", headers=service.as_role(role)
    )


def _reader(service: Service, role: str | None) -> Reader:
    if role is None:
        return Reader()
    did = service.role_dids[role]
    actor = service.ledger.actor(did)
    assert actor is not None
    return Reader.of_actor(did, frozenset(actor.roles))


@pytest.mark.parametrize("role", [None, *READER_ROLES])
def test_the_bundle_carries_exactly_the_groups_the_reader_may_read(
    service: Service, role: str | None
) -> None:
    passport = _linked_passport(service)
    response = _get(service, passport, role)
    assert response.status_code == 200, response.text
    assert {"Authorization", "Signature", "Signature-Input"} <= set(
        response.headers["vary"].split(", ")
    )
    cache = response.headers["cache-control"]
    assert cache.startswith("private") if role else cache.startswith("public")
    body = response.json()
    reader = _reader(service, role)
    shown: set[str] = set()
    for entry in body["records"]:
        readable = service.ledger.disclosures(records.record_hash(entry["record"]), reader)
        groups = [d["group"] for d in entry.get("disclosures", [])]
        assert groups == sorted(readable), (role, entry["leafIndex"])
        shown.update(groups)
    expected = {
        None: set(),
        "legitimate-interest": {"circularity", "performance"},
        "notified-body": {"circularity", "compliance"},
        "market-surveillance": {"circularity", "compliance", "business"},
        "commission": {"circularity", "compliance", "business"},
        "operator": {"circularity", "compliance", "performance", "business"},
    }[role]
    assert shown <= expected | {"business"}  # a party reads its own records' business data
    assert expected - {"compliance"} <= shown  # the demo's passport may carry no compliance
    verdict = bundle.verify(body, service.ledger.verifier_key)
    assert verdict.verified, verdict.failures
    assert passport in verdict.passports and len(verdict.passports) >= 2


def test_since_and_the_problems(service: Service) -> None:
    passport = _linked_passport(service)
    size, kept = service.ledger.log.latest()
    response = _get(service, passport, None, f"?since={size - 1}")
    assert response.status_code == 200
    assert response.json()["consistency"]["oldSize"] == size - 1
    assert bundle.verify(response.json(), service.ledger.verifier_key, since=kept).verified
    for query in (f"?since={size + 1}", "?since=-1", "?since=ten"):
        refused = _get(service, passport, None, query)
        assert refused.status_code == 400, query
        assert refused.headers["content-type"] == "application/problem+json"
    missing = _get(service, "urn:bpl:passport:00000000-0000-4000-8000-000000000000", None)
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")

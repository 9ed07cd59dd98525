"""The GS1 Digital Link resolver: 307 to a battery's passport (query string passed on), an
unknown serial of a known GTIN to the model's page, 400 naming the rule for malformed URIs
(GS1's valid and invalid cases), HEAD, OPTIONS, CORS, the linkset and the well-known file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.core.battery_id import parse_battery_id
from passport import resolver
from tests.passport.conftest import Service
from tests.passport.helpers import chains

CASES = Path(__file__).parents[1] / "vectors" / "gs1-digital-link" / "cases.json"


def routed_cases() -> list[dict[str, Any]]:
    """GS1's parse cases whose path starts with a primary key (the resolver's routes) and
    that a request's path and query can carry (no fragment; not the cases about the
    scheme or host, which the request's own are)."""
    found = []
    for case in json.loads(CASES.read_text(encoding="utf-8"))["parse"]:
        uri = case["uri"]
        if "://" not in uri or "#" in uri or case.get("reason") in ("scheme", "host"):
            continue
        rest = uri.split("://", 1)[1]
        if "/" not in rest:
            continue
        target = "/" + rest.split("/", 1)[1]
        first = target.split("/")[1].split("?")[0]
        if first in resolver.PRIMARY_KEYS and target.count("/") >= 2:
            found.append({**case, "target": target})
    return found


def battery(service: Service, *, live: bool) -> tuple[str, str, str]:
    """(GTIN, serial, the passport the resolver should lead to) of a demo battery."""
    for pid, chain in chains(service.ledger).items():
        battery_id = chain[0]["credentialSubject"]["batteryId"]
        history = service.ledger.battery_history(battery_id)
        parsed = parse_battery_id(battery_id)
        if parsed.gtin is None or parsed.serial is None:
            continue
        if live and history.current is not None and history.current.subject_id == pid:
            return parsed.gtin, parsed.serial, pid
        if not live and history.current is None and history.passports[-1].subject_id == pid:
            return parsed.gtin, parsed.serial, pid
    raise AssertionError("no such battery in the demo")


@pytest.mark.parametrize("case", routed_cases(), ids=lambda case: case["uri"][:60])
def test_gs1_cases(sqlite_service: Service, case: dict[str, Any]) -> None:
    response = sqlite_service.client.get(case["target"], follow_redirects=False)
    if case["valid"]:
        assert response.status_code in (307, 404), response.text
    else:
        assert response.status_code == 400, response.text
        problem = response.json()
        assert problem["rule"] == case["reason"]
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        ("/01/09506000134353/21/X1", "check_digit"),
        ("/01/09506000134352/21/X1/10/L1", "qualifier_order"),
        ("/01/09506000134352/21/X1?21=X2", "duplicate_ai"),
        ("/01/09506000134352/10/L1/10/L2/21/X1", "duplicate_ai"),
        ("/01/09506000134352?21=X1", "qualifier_in_query"),
        ("/01/09506000134352/21/X1?9876=1", "unknown_ai"),
        ("/01/09506000134352/21/X%20Y", "charset"),
        ("/01/095060001343521/21/X1", "length"),
    ],
)
def test_malformed_uris_name_the_rule(sqlite_service: Service, target: str, rule: str) -> None:
    response = sqlite_service.client.get(target, follow_redirects=False)
    assert response.status_code == 400
    assert response.json()["rule"] == rule


def test_a_battery_leads_to_its_live_passport(service: Service) -> None:
    gtin, serial, pid = battery(service, live=True)
    response = service.client.get(f"/01/{gtin}/21/{serial}?src=qr&x=1", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith(f"/passports/{pid}?src=qr&x=1")
    followed = service.client.get(f"/01/{gtin}/21/{serial}", headers={"Accept": "text/html"})
    assert followed.status_code == 200 and "<html" in followed.text
    lot = service.client.get(f"/01/{gtin}/10/LOT7/21/{serial}", follow_redirects=False)
    assert lot.headers["location"].endswith(f"/passports/{pid}")


def test_a_battery_without_a_live_passport_leads_to_its_last(service: Service) -> None:
    gtin, serial, pid = battery(service, live=False)
    response = service.client.get(f"/01/{gtin}/21/{serial}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith(f"/passports/{pid}")


def test_an_unknown_serial_walks_up_to_the_model(service: Service) -> None:
    gtin, _, _ = battery(service, live=True)
    for target in (f"/01/{gtin}/21/NEVER-MADE", f"/01/{gtin}"):
        response = service.client.get(target, follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"].endswith(f"/models/{gtin}")
    models = service.client.get(f"/models/{gtin}").json()
    assert models["gtin"] == gtin and models["models"]
    assert all(m["disclosures"] == {} for m in models["models"])
    unknown = service.client.get("/01/09506000134352/21/X1", follow_redirects=False)
    assert unknown.status_code == 404


def test_head_options_and_cors(sqlite_service: Service) -> None:
    client = sqlite_service.client
    gtin, serial, pid = battery(sqlite_service, live=True)
    head = client.head(f"/01/{gtin}/21/{serial}", follow_redirects=False)
    assert head.status_code == 307 and head.content == b""
    options = client.options(f"/01/{gtin}/21/{serial}")
    assert options.status_code == 204 and "GET" in options.headers["allow"]
    preflight = client.options(
        f"/01/{gtin}/21/{serial}",
        headers={"Origin": "https://scanner.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    simple = client.get(f"/passports/{pid}", headers={"Origin": "https://scanner.example"})
    assert simple.headers["access-control-allow-origin"] == "*"


def test_the_linkset_has_exactly_one_default_link(sqlite_service: Service) -> None:
    client = sqlite_service.client
    gtin, serial, pid = battery(sqlite_service, live=True)
    for request in (
        {"url": f"/01/{gtin}/21/{serial}?linkType=all"},
        {"url": f"/01/{gtin}/21/{serial}", "headers": {"Accept": "application/linkset+json"}},
    ):
        response = client.get(**request, follow_redirects=False)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/linkset+json"
        (entry,) = response.json()["linkset"]
        assert entry["anchor"].endswith(f"/01/{gtin}/21/{serial}")
        defaults = entry[resolver.GS1_VOC + "defaultLink"]
        assert len(defaults) == 1 and defaults[0]["href"].endswith(f"/passports/{pid}")


def test_the_well_known_file(sqlite_service: Service) -> None:
    body = sqlite_service.client.get("/.well-known/gs1resolver").json()
    assert body["resolverRoot"] == "http://testserver"
    assert body["supportedPrimaryKeys"] == ["01"]

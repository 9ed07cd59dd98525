"""HEAD answers every GET route of the OpenAPI document as GET does, without the body;
OPTIONS names the methods of every route; a 405 names HEAD and OPTIONS where GET is."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.passport.conftest import Service
from tests.passport.helpers import hash_of, logged
from tests.passport.shared_service import read_only_sqlite  # noqa: F401 (a fixture)

PER_REQUEST = {"date", "server", "x-request-id"}
"""Headers that may differ between two requests for the same thing."""


@pytest.fixture(scope="module")
def paths(read_only_sqlite: Service) -> list[str]:  # noqa: F811 (the fixture imported)
    """A request path for every GET operation of the service's OpenAPI document, its
    parameters filled with things the demo ledger holds."""
    records = logged(read_only_sqlite.ledger)
    issued = next(r for r in records if "PassportIssued" in r["type"])
    battery = issued["credentialSubject"]["batteryId"]
    found = re.search(r"/01/([0-9]{14})/21/([^/?]+)", battery)
    assert found is not None, battery
    samples = {
        "passport_id": issued["credentialSubject"]["id"],
        "record_hash": hash_of(issued),
        "gtin": found.group(1),
        "tile": "0/000",
        "rest": f"{found.group(1)}/21/{found.group(2)}",
        "name": "bpl/v2",
        "kind": "Shipment",
        "first": "0",
        "index": "0",
    }
    document = read_only_sqlite.client.get("/openapi.json").json()
    built = []
    for template, operations in document["paths"].items():
        if "get" not in operations:
            continue
        path = re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: samples.get(m.group(1), "x"), template)
        required = [
            p["name"]
            for p in operations["get"].get("parameters", [])
            if p["in"] == "query" and p.get("required")
        ]
        query = "&".join(f"{name}={samples.get(name, '1')}" for name in required)
        built.append(path + (f"?{query}" if query else ""))
    assert len(built) >= 15 and "/log/checkpoint" in built
    return built


def comparable(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in PER_REQUEST}


def test_head_is_get_without_the_body(
    read_only_sqlite: Service,  # noqa: F811
    paths: list[str],
) -> None:
    client = read_only_sqlite.client
    statuses = set()
    for path in paths:
        for headers in ({}, read_only_sqlite.as_role("operator")):
            got = client.get(path, headers=headers, follow_redirects=False)
            head = client.head(path, headers=headers, follow_redirects=False)
            assert head.status_code == got.status_code, path
            assert head.content == b"", path
            assert comparable(head.headers) == comparable(got.headers), path
            if "content-length" in got.headers:
                assert int(head.headers["content-length"]) == len(got.content), path
            statuses.add(got.status_code)
    assert {200, 307} <= statuses  # the paths reach real resources, not only 404s


def test_head_of_an_unknown_path_or_a_post_route(read_only_sqlite: Service) -> None:  # noqa: F811
    client = read_only_sqlite.client
    missing = client.head("/no/such/thing")
    assert missing.status_code == 404 and missing.content == b""
    assert missing.headers["content-type"] == "application/problem+json"
    post_only = client.head("/records")
    assert post_only.status_code == 405
    assert post_only.headers["allow"] == "POST"


def test_options_names_the_methods(
    read_only_sqlite: Service,  # noqa: F811
    paths: list[str],
) -> None:
    client = read_only_sqlite.client
    for path in paths:
        response = client.options(path)
        assert response.status_code == 204, path
        assert {"GET", "HEAD", "OPTIONS"} <= set(response.headers["allow"].split(", ")), path
        assert response.content == b""
    assert client.options("/records").headers["allow"] == "POST, OPTIONS"
    assert client.options("/no/such/thing").status_code == 404


def test_cors_preflight_and_405(read_only_sqlite: Service) -> None:  # noqa: F811
    client = read_only_sqlite.client
    preflight = client.options(
        "/log/checkpoint",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "HEAD" in preflight.headers["access-control-allow-methods"]
    refused = client.post("/log/checkpoint")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
    assert refused.headers["content-type"] == "application/problem+json"

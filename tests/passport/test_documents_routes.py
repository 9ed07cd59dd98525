"""GET /contexts and /schemas: the project's JSON-LD contexts byte for byte as signing
knows them, each record kind's JSON Schema per version, with ETags and long caching."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from fastapi.testclient import TestClient

import schemas
from ledger.core import contexts
from passport import documents_routes
from tests.passport.conftest import Service
from tests.passport.shared_service import read_only_sqlite  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def client(read_only_sqlite: Service) -> TestClient:  # noqa: F811 (the fixture imported)
    return read_only_sqlite.client


def test_the_contexts_listed_are_those_the_ledger_signs_with(client: TestClient) -> None:
    listing = client.get("/contexts")
    assert listing.status_code == 200
    served = listing.json()["contexts"]
    assert set(served) == set(contexts.documents()) >= set(schemas.CONTEXTS.values())
    index = json.loads(resources.files("schemas").joinpath("contexts/index.json").read_text())
    for url, href in served.items():
        assert href == "http://testserver/contexts/" + url.removeprefix("https://w3id.org/")
        response = client.get(href)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/ld+json"
        assert response.headers["cache-control"] == documents_routes.CACHE
        shipped = resources.files("schemas").joinpath(f"contexts/{index[url]}").read_bytes()
        assert response.content == shipped
        assert response.json() == contexts.documents()[url]


def test_etags_answer_304_and_change_with_the_document(client: TestClient) -> None:
    first = client.get("/contexts/bpl/v1")
    second = client.get("/contexts/bpl/v2")
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag != second.headers["etag"]
    again = client.get("/contexts/bpl/v1", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    listed = client.get("/contexts/bpl/v1", headers={"If-None-Match": f'"x", W/{tag}'})
    assert listed.status_code == 304
    other = client.get("/contexts/bpl/v1", headers={"If-None-Match": second.headers["etag"]})
    assert other.status_code == 200 and other.content == first.content


@pytest.mark.parametrize("name", ["bpl/v3", "bpl", "credentials/v2", "..%2F..%2Fetc", "bpl/v1/x"])
def test_unknown_contexts_are_404(client: TestClient, name: str) -> None:
    response = client.get(f"/contexts/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "bpl/v1, bpl/v2" in response.json()["detail"]


@pytest.mark.parametrize("version", schemas.VERSIONS)
def test_every_kind_has_its_schema(client: TestClient, version: str) -> None:
    listing = client.get("/schemas").json()
    assert listing["current"] == schemas.CURRENT
    assert list(listing["versions"][version]) == list(schemas.kinds(version))
    for kind, href in listing["versions"][version].items():
        response = client.get(href)
        assert response.status_code == 200, href
        assert response.headers["content-type"] == "application/schema+json"
        assert response.json() == schemas.schema(kind, version)
        assert response.headers["etag"]


def test_the_default_version_is_the_current_one(client: TestClient) -> None:
    default = client.get("/schemas/Shipment")
    assert default.json() == schemas.schema("Shipment", schemas.CURRENT)
    assert default.json() != client.get("/schemas/Shipment?version=v1").json()
    tag = default.headers["etag"]
    assert client.get("/schemas/Shipment", headers={"If-None-Match": tag}).status_code == 304


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/schemas/Nothing", 404),
        ("/schemas/BatteryModelPublished?version=v1", 404),
        ("/schemas/proof", 404),
        ("/schemas/Shipment?version=v3", 400),
        ("/schemas/Shipment?version=", 400),
    ],
)
def test_unknown_kinds_and_versions(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"

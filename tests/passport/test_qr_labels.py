"""QR codes and crate labels, read by a real decoder (zxing-cpp) from the PNG and from the
label PDF rendered by pdfium at 300 dpi: the code is the battery's GS1 Digital Link at
the service's resolver and leads to the battery's current passport; the label prints the
ids, chemistry, mass and the open shipment's dangerous-goods marks, public data only and
the same bytes for every reader; a sheet holds every label asked for; bad parameters are
400 and unknown passports 404. On SQLite and PostgreSQL (conftest's ``service``: this
module appends a shipment)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from ledger.core import contexts, records
from ledger.core.access import OPERATOR_READER, READER_ROLES
from ledger.core.battery_id import parse_battery_id
from ledger.demo import _Demo
from passport import labels
from signing import proofs
from signing.keys import KeyPair
from tests.passport.conftest import SEED, Service
from tests.passport.helpers import chains, hash_of, kind

BASE = "http://testserver"
ROLES: list[str | None] = [None, *READER_ROLES]
SVG = "{http://www.w3.org/2000/svg}"


def subject(record: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = record["credentialSubject"]
    return found


def reused(service: Service) -> tuple[str, str, str]:
    """A battery re-used under a successor passport with the same id: (its first passport,
    the successor, the battery id)."""
    found = chains(service.ledger)
    for pid, chain in found.items():
        for record in chain:
            if kind(record) != "PassportSucceeded":
                continue
            battery = subject(chain[0])["batteryId"]
            for successor in subject(record)["successors"]:
                if subject(found[successor][0])["batteryId"] == battery:
                    return pid, successor, battery
    raise AssertionError("the demo has no re-used battery")


def digital_link(battery_id: str) -> str:
    parsed = parse_battery_id(battery_id)
    return f"{BASE}/01/{parsed.gtin}/21/{parsed.serial}"


def decode(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


def pdf_pages(body: bytes, dpi: int = 300) -> Iterator[tuple[Image.Image, str]]:
    """Each page rendered (300 dpi unless asked; a label's modules are 1 mm), and its text."""
    document = pdfium.PdfDocument(body)
    try:
        for page in document:
            text = page.get_textpage().get_text_range()
            yield page.render(scale=dpi / 72).to_pil(), text
    finally:
        document.close()


def pdf_text(body: bytes) -> str:
    document = pdfium.PdfDocument(body)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


@pytest.fixture(scope="module")
def demo_keys(service: Service) -> dict[str, KeyPair]:
    """The demo actors' keys by DID (derived from the demo's seed)."""
    return {key.did: key for key in _Demo(service.operator, 0, SEED).keys.values()}


def append(
    service: Service, key: KeyPair, kind_: str, pid: str, public: Any, restricted: Any
) -> None:
    sequence, previous = service.ledger.next_position(pid)
    record, disclosures = records.build(
        kind_, pid, sequence, previous, key.did, public, restricted, version="v2"
    )
    signed = proofs.sign(record, key, loader=contexts.loader())
    service.ledger.append({"record": signed, "disclosures": disclosures})


def ship(service: Service, holder: KeyPair, pid: str, shipment: str) -> str:
    """A Shipment of ``pid`` by its custodian ``holder`` to a recycler, damaged waste under
    ADR SP 376, whose record lists no mark; the consignee's DID."""
    recycler = next(a.did for a in service.ledger.actors() if "recycler" in a.roles)
    append(
        service,
        holder,
        "Shipment",
        pid,
        {
            "shipmentId": shipment,
            "carrier": next(a.did for a in service.ledger.actors() if "carrier" in a.roles),
            "dangerousGoods": {
                "unNumber": "UN3480",
                "properShippingName": "WASTE LITHIUM ION BATTERIES",
                "class": "9",
                "specialProvisions": [376],
                "packingInstruction": "P908",
                "marks": [],
                "packages": 1,
                "grossMass": 402.5,
                "tunnelCode": "E",
            },
            "crateIds": [f"CRATE-{shipment}"],
        },
        {
            "business": {
                "consignor": holder.did,
                "consignee": recycler,
                "waste": True,
                "documents": [
                    {"type": "adr-transport-document", "hash": records.digest(shipment.encode())}
                ],
            }
        },
    )
    return recycler


@pytest.fixture(scope="module")
def shipped(service: Service, demo_keys: dict[str, KeyPair]) -> tuple[str, str]:
    """The re-used battery's successor, found damaged, declared waste and shipped to a
    recycler (still on the road): (passport id, shipment id)."""
    _, pid, _ = reused(service)
    head = service.ledger.head(pid)
    assert head is not None and head.custodian in demo_keys
    holder = demo_keys[head.custodian]
    append(
        service,
        holder,
        "StatusChange",
        pid,
        {},
        {"performance": {"status": "waste", "reason": "swollen cells after a fall"}},
    )
    ship(service, holder, pid, "SHP-LABEL-1")
    return pid, "SHP-LABEL-1"


def test_the_png_decodes_to_the_digital_link_at_every_size_and_level(service: Service) -> None:
    first, current, battery = reused(service)
    expected = digital_link(battery)
    for ec in "LMQH":
        for size in (96, 1024):
            response = service.client.get(f"/passports/{first}/qr.png?size={size}&ec={ec}")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "image/png"
            image = Image.open(io.BytesIO(response.content))
            assert image.size == (size, size)
            assert decode(image) == [expected], (ec, size)
    # the successor's code is the same battery's: the same URI
    response = service.client.get(f"/passports/{current}/qr.png?ec=q")
    assert decode(Image.open(io.BytesIO(response.content))) == [expected]


def test_the_label_code_leads_to_the_current_passport(service: Service) -> None:
    """Printed on the first passport, the code (vector in the PDF, rendered by pdfium)
    still leads to the passport the battery has now."""
    first, current, battery = reused(service)
    response = service.client.get(f"/passports/{first}/label.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    ((image, _),) = list(pdf_pages(response.content, dpi=200))
    (url,) = decode(image)
    assert url == digital_link(battery)
    page = service.client.get(url, headers={"Accept": "text/html"}, follow_redirects=True)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.url.path == f"/passports/{current}"
    assert current in page.text


def test_the_svg_is_a_vector_with_caching(service: Service) -> None:
    first, _, battery = reused(service)
    response = service.client.get(f"/passports/{first}/qr.svg?size=25&ec=H")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"].startswith("public")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg" and root.get("width") == "25mm"
    tags = {element.tag for element in root.iter()}
    assert tags == {f"{SVG}svg", f"{SVG}title", f"{SVG}rect", f"{SVG}path"}
    assert b"data:" not in response.content and b"<image" not in response.content
    path = root.find(f"{SVG}path")
    assert path is not None and re.fullmatch(r"(M\d+ \d+h\d+v1h-\d+z)+", path.get("d", ""))
    assert root.findtext(f"{SVG}title") == digital_link(battery)
    etag = response.headers["etag"]
    again = service.client.get(
        f"/passports/{first}/qr.svg?size=25&ec=H", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["etag"] == etag
    other = service.client.get(f"/passports/{first}/qr.svg?size=25&ec=L")
    assert other.headers["etag"] != etag


def test_the_label_prints_the_open_shipment(service: Service, shipped: tuple[str, str]) -> None:
    pid, shipment = shipped
    chain = chains(service.ledger)[pid]
    issued = subject(chain[0])
    model = service.ledger.record(issued["model"]["record"])
    assert model is not None
    response = service.client.get(f"/passports/{pid}/label.pdf")
    assert response.status_code == 200, response.text
    ((image, text),) = list(pdf_pages(response.content, dpi=200))
    assert decode(image) == [digital_link(issued["batteryId"])]
    lines = text.splitlines()
    for value in (
        issued["batteryId"],
        pid,
        subject(model.record)["chemistry"],
        f"{issued['mass']:g} kg",
        "WASTE LITHIUM ION BATTERIES",
        "DAMAGED/DEFECTIVE LITHIUM ION BATTERIES",  # SP 376's mark, though the record omits it
        "ADR SP 376",
        "Packing P908",
        "Tunnel (E)",
    ):
        assert value in lines, value
    assert "UN3480 CLASS 9" in lines  # the UN number 12 mm high, the class beside it
    assert f"Shipment {shipment} · crate CRATE-{shipment}" in lines


def test_a_received_shipment_is_off_the_label(
    service: Service, shipped: tuple[str, str], demo_keys: dict[str, KeyPair]
) -> None:
    """Another live passport, shipped and then received (``shipped``'s stays open)."""
    pid = next(
        pid
        for pid in chains(service.ledger)
        if pid != shipped[0]
        and (head := service.ledger.head(pid)) is not None
        and not head.closed
        and head.custodian in demo_keys
        and not head.open_shipments
    )
    head = service.ledger.head(pid)
    assert head is not None
    consignee = ship(service, demo_keys[head.custodian], pid, "SHP-LABEL-2")
    before = pdf_text(service.client.get(f"/passports/{pid}/label.pdf").content)
    assert "UN3480" in before
    append(
        service,
        demo_keys[consignee],
        "ShipmentReceived",
        pid,
        {"shipmentId": "SHP-LABEL-2"},
        {"business": {"condition": "damaged"}},
    )
    after = pdf_text(service.client.get(f"/passports/{pid}/label.pdf").content)
    assert "UN3480" not in after and "CLASS 9" not in after
    assert "No open shipment: no dangerous-goods marks." in after


def restricted_strings(service: Service, pid: str) -> set[str]:
    """Every string of five characters or more that the operator reads in the disclosures
    of the passport's records and of its model record, and that no public string holds
    (a component named "module" is no secret where the model's public name says it)."""
    chain = chains(service.ledger)[pid]
    hashes = [hash_of(r) for r in chain] + [subject(chain[0])["model"]["record"]]
    public: set[str] = set()
    hidden: set[str] = set()

    def walk(value: Any, into: set[str]) -> None:
        if isinstance(value, str) and len(value) >= 5:
            into.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, into)
        elif isinstance(value, list):
            for item in value:
                walk(item, into)

    for record_hash in hashes:
        stored = service.ledger.record(record_hash)
        assert stored is not None
        walk(stored.record, public)
        for group, disclosure in service.ledger.disclosures(record_hash, OPERATOR_READER).items():
            walk({k: v for k, v in disclosure.items() if k not in ("salt", "group")}, hidden)
            assert group
    return {value for value in hidden if not any(value in text for text in public)}


def test_the_label_is_the_same_for_every_reader_and_holds_nothing_restricted(
    service: Service, shipped: tuple[str, str]
) -> None:
    pid, _ = shipped
    bodies = {
        role: service.client.get(f"/passports/{pid}/label.pdf", headers=service.as_role(role))
        for role in ROLES
    }
    assert all(r.status_code == 200 for r in bodies.values())
    public = bodies[None].content
    assert all(r.content == public for r in bodies.values())
    assert all(r.headers["cache-control"].startswith("public") for r in bodies.values())
    text = pdf_text(public)
    assert "UN3480 CLASS 9" in text.splitlines()  # the open shipment's marks are printed
    hidden = restricted_strings(service, pid)
    assert "swollen cells after a fall" in hidden and len(hidden) >= 10
    assert [value for value in hidden if value in text] == []


def test_a_sheet_holds_every_label(service: Service) -> None:
    found = list(chains(service.ledger))[:4]
    asked = [*found, found[0]]  # one twice: printed twice
    query = "&".join(f"passport={pid}" for pid in asked)
    response = service.client.get(f"/labels.pdf?{query}")
    assert response.status_code == 200, response.text
    pages = list(pdf_pages(response.content, dpi=150))  # modules of 7 pixels
    assert len(pages) == 2
    text = "\n".join(page_text for _, page_text in pages)
    assert text.count("BATTERY PASSPORT") == len(asked)
    for pid in found:
        assert text.count(pid) == asked.count(pid)
    codes = [code for image, _ in pages for code in decode(image)]
    assert len(codes) == len(asked)
    assert all(code.startswith(f"{BASE}/01/") for code in codes)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("qr.png?size=63", "size"),
        ("qr.png?size=4097", "size"),
        ("qr.png?size=abc", None),
        ("qr.png?size=", None),
        ("qr.png?ec=X", "ec"),
        ("qr.png?ec=", "ec"),
        ("qr.svg?size=9", "size"),
        ("qr.svg?size=1001", "size"),
        ("qr.svg?size=1e3", None),
        ("qr.svg?ec=MM", "ec"),
    ],
)
def test_bad_parameters_are_400(service: Service, query: str, parameter: str | None) -> None:
    first, _, _ = reused(service)
    response = service.client.get(f"/passports/{first}/{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-request")
    assert problem.get("parameter") == parameter


def test_sheets_of_no_or_too_many_passports_are_400(service: Service) -> None:
    first, _, _ = reused(service)
    for query, limit in (
        ("", None),
        ("&".join([f"passport={first}"] * 101), labels.MAX_SHEET_LABELS),
    ):
        response = service.client.get(f"/labels.pdf?{query}")
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json().get("limit") == limit
    assert service.client.get("/labels.pdf?passport=").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/passports/urn:bpl:passport:00000000-0000-4000-8000-000000000000/qr.svg",
        "/passports/urn:bpl:passport:00000000-0000-4000-8000-000000000000/qr.png",
        "/passports/urn:bpl:passport:00000000-0000-4000-8000-000000000000/label.pdf",
        "/passports/did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/label.pdf",
        "/passports/%C3%A9t%C3%A9/qr.svg",
        "/labels.pdf?passport=urn:bpl:passport:nope",
    ],
)
def test_unknown_passports_are_404(service: Service, path: str) -> None:
    response = service.client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_an_actor_chain_is_no_passport(service: Service) -> None:
    """A DID has a chain too (its registration), but no label."""
    did = service.ledger.actors()[0].did
    assert service.client.get(f"/passports/{did}/qr.png").status_code == 404
    assert service.client.get(f"/labels.pdf?passport={did}").status_code == 404

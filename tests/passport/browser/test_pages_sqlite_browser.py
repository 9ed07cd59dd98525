"""The pages in a real browser on SQLite alone, for what does not depend on the engine:
axe-core's accessibility checks, a phone's viewport without JavaScript, the browser's
language, and the QR code as Chromium draws it, read by zxing-cpp and followed through
the resolver to the battery's current passport. Screenshots go to pytest's tmp_path."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import zxingcpp
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from PIL import Image
from playwright.sync_api import Browser, Page

from ledger.core import access
from tests.passport.browser.conftest import Served
from tests.passport.browser.test_pages_browser import passport_with, shot
from tests.passport.helpers import chains

PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page."""
    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


def test_axe_finds_nothing_serious(served_sqlite: Served, browser: Browser, tmp_path: Path) -> None:
    """axe-core on the passport page with everything on it (the operator's, in German)
    and a model page (a notified body's, in French): two pages, as axe takes seconds a
    page on the shared machine."""
    pid = passport_with(served_sqlite, "Shipment", "DiagnosticTest")
    gtin = served_sqlite.service.client.get(f"/passports/{pid}").json()["model"]["gtin"]
    for name, role, path in (
        ("passport-de", access.OPERATOR, f"/passports/{pid}?lang=de"),
        ("model-fr", access.NOTIFIED_BODY, f"/models/{gtin}?lang=fr"),
    ):
        context = served_sqlite.context(browser, role)
        page = context.new_page()
        page.goto(served_sqlite.url + path)
        shot(page, tmp_path, f"axe-{name}")
        assert blocking_violations(page) == [], name
        context.close()


def test_a_phone_reads_the_page_without_scrolling_sideways(
    served_sqlite: Served, browser: Browser, tmp_path: Path
) -> None:
    pid = passport_with(served_sqlite, "Shipment", "DiagnosticTest")
    gtin = served_sqlite.service.client.get(f"/passports/{pid}").json()["model"]["gtin"]
    context = served_sqlite.context(
        browser, access.OPERATOR, viewport=PHONE, java_script_enabled=False
    )
    page = context.new_page()
    for name, path in (("passport", f"/passports/{pid}?lang=de"), ("model", f"/models/{gtin}")):
        page.goto(served_sqlite.url + path)
        shot(page, tmp_path, f"phone-{name}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)
        assert page.get_by_role("heading", level=1).is_visible()
    context.close()


def test_the_browser_language_chooses_the_page_language(
    served_sqlite: Served, browser: Browser
) -> None:
    pid = passport_with(served_sqlite, "PassportIssued")
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{served_sqlite.url}/passports/{pid}")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Auf einen Blick").is_visible()
    page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="En bref").is_visible()
    context.close()


def test_the_qr_code_as_drawn_leads_to_the_current_passport(
    served_sqlite: Served, browser: Browser, tmp_path: Path
) -> None:
    """The QR code on a succeeded passport's page, screenshotted as Chromium draws it and
    read by zxing-cpp, is the battery's Digital Link; followed through the resolver it
    lands on the battery's current (live) passport page."""
    ledger = served_sqlite.service.ledger
    for pid, chain in chains(ledger).items():
        battery = chain[0]["credentialSubject"]["batteryId"]
        history = [p.subject_id for p in ledger.passports_by_battery(battery)]
        head = ledger.head(pid)
        if len(history) > 1 and head is not None and head.closed:
            break
    else:
        raise AssertionError("the demo has no battery with a successor passport")
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(f"{served_sqlite.url}/passports/{pid}")
    image = page.locator("figure.qr img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    picture = Image.open(io.BytesIO(image.screenshot()))
    picture.save(tmp_path / "qr.png")
    print(f"screenshot: {tmp_path / 'qr.png'}")
    found = zxingcpp.read_barcodes(picture)
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    uri = found[0].text
    path = uri[uri.index("/01/") :]
    response = page.goto(served_sqlite.url + path)
    assert response is not None and response.status == 200
    live = [p for p in history if not ledger.head(p).closed]  # type: ignore[union-attr]
    current = live[-1] if live else history[-1]
    assert page.url.split("?")[0].endswith(current), (page.url, current)
    assert page.get_by_role("heading", level=1).inner_text() == battery
    context.close()

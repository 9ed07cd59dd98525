"""The passport pages in a real browser (Debian's Chromium, Playwright), on SQLite and
PostgreSQL: what an anonymous and an entitled reader see. Screenshots go to pytest's
tmp_path (their paths are printed). What does not depend on the engine (axe-core, the
phone, languages, the QR code): test_pages_sqlite_browser.py."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from ledger.core import access
from tests.passport.browser.conftest import Served
from tests.passport.helpers import chains, hash_of, kind


def passport_with(served: Served, *kinds: str) -> str:
    for pid, chain in chains(served.service.ledger).items():
        if set(kinds) <= {kind(r) for r in chain}:
            return pid
    raise AssertionError(f"the demo has no passport with {kinds}")


def shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def test_anonymous_and_market_surveillance_readers_see_what_they_may(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    """A shipment's papers (business data) are in the market surveillance authority's
    page and nowhere in the anonymous page's DOM or HTML source, which shows the group
    as withheld by its digest instead (both engines)."""
    pid = passport_with(served, "Shipment")
    shipment = next(r for r in chains(served.service.ledger)[pid] if kind(r) == "Shipment")
    business = served.service.ledger.disclosures(hash_of(shipment), access.OPERATOR_READER)
    papers = [paper["hash"] for paper in business["business"]["documents"]]
    digest = shipment["credentialSubject"]["disclosures"]["business"]
    url = f"{served.url}/passports/{pid}"

    anonymous = served.context(browser)
    page = anonymous.new_page()
    response = page.goto(url)
    assert response is not None and response.status == 200
    source, dom = response.text(), page.content()
    for paper in papers:
        assert paper not in source and paper not in dom
    assert page.get_by_text(digest).count() >= 1
    assert page.locator("#soh").count() == 0
    shot(page, tmp_path, f"anonymous-{served.service.engine}")
    anonymous.close()

    authority = served.context(browser, access.MARKET_SURVEILLANCE)
    page = authority.new_page()
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert response.headers["cache-control"].startswith("private")
    for paper in papers:
        assert page.get_by_text(paper).first.is_visible()
    shot(page, tmp_path, f"market-surveillance-{served.service.engine}")
    authority.close()


def test_a_legitimate_interest_sees_state_of_health_and_its_trend(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    pid = passport_with(served, "DiagnosticTest")
    context = served.context(browser, access.LEGITIMATE_INTEREST)
    page = context.new_page()
    page.goto(f"{served.url}/passports/{pid}")
    assert page.locator("#soh").is_visible()
    assert page.locator("#grade").inner_text().strip()
    assert page.get_by_role("img", name="State of health over the tests").is_visible()
    shot(page, tmp_path, f"legitimate-interest-{served.service.engine}")
    context.close()

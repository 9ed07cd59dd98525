"""``bpl label``: crate labels from the local ledger, read by a real QR decoder (zxing-cpp
on the PDF as pdfium renders it); the service's URL from the log's origin or
``--base-url``; one label page or A4 sheets; a failed run writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from typer.testing import CliRunner

from cli.main import app
from ledger.core.battery_id import parse_battery_id
from ledger.demo import run_demo
from ledger.facade import Ledger
from signing import keys

runner = CliRunner()
ORIGIN = "passport.yard.example/log"


@dataclass(frozen=True)
class Yard:
    home: Path
    passports: dict[str, str]
    """Passport id -> battery id."""


@pytest.fixture(scope="module")
def yard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Yard]:
    """A small demo ledger on SQLite, closed: ``bpl label`` opens it read-only."""
    home = tmp_path_factory.mktemp("label") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        operator = keys.generate()
        ledger = Ledger.init(home, operator, origin=ORIGIN)
        try:
            run_demo(ledger, operator, batteries=2, seed=5)
            passports = {
                p.subject_id: p.battery_id
                for actor in ledger.actors()
                for p in ledger.passports_by_manufacturer(actor.did)
            }
        finally:
            ledger.close()
        yield Yard(home, passports)


def bpl(yard: Yard, *args: str | Path) -> Any:
    return runner.invoke(app, [*map(str, args), "--data-dir", str(yard.home)])


def codes(path: Path) -> list[list[str]]:
    """The QR codes of each page, rendered at 200 dpi."""
    document = pdfium.PdfDocument(path.read_bytes())
    try:
        return [
            [found.text for found in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())]
            for page in document
        ]
    finally:
        document.close()


def link(base: str, battery_id: str) -> str:
    parsed = parse_battery_id(battery_id)
    return f"{base}/01/{parsed.gtin}/21/{parsed.serial}"


def test_a_label_leads_to_the_service_the_origin_names(yard: Yard, tmp_path: Path) -> None:
    pid, battery = next(iter(yard.passports.items()))
    out = tmp_path / "crate.pdf"
    result = bpl(yard, "label", pid, "--out", out)
    assert result.exit_code == 0, result.output
    assert codes(out) == [[link("https://passport.yard.example", battery)]]
    assert f"{out}: 1 label, 1 page(s)" in result.output


def test_several_passports_make_a_sheet_at_the_base_url(yard: Yard, tmp_path: Path) -> None:
    chosen = list(yard.passports.items())[:2]
    out = tmp_path / "sheet.pdf"
    result = bpl(
        yard, "label", *(pid for pid, _ in chosen), "--out", out,
        "--base-url", "https://labels.example/bpl/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (page,) = codes(out)
    assert sorted(page) == sorted(link("https://labels.example/bpl", b) for _, b in chosen)


def test_a_failed_run_writes_nothing(yard: Yard, tmp_path: Path) -> None:
    pid = next(iter(yard.passports))
    out = tmp_path / "labels.pdf"
    unknown = "urn:bpl:passport:00000000-0000-4000-8000-000000000000"
    result = bpl(yard, "label", pid, unknown, "--out", out)
    assert result.exit_code == 1
    assert unknown in result.output
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"the labels printed yesterday")
    assert bpl(yard, "label", unknown, "--out", out).exit_code == 1
    assert out.read_bytes() == b"the labels printed yesterday"
    assert list(tmp_path.iterdir()) == [out]


@pytest.mark.parametrize("base", ["ftp://labels.example", "https://labels.example/?a=1", "x"])
def test_a_base_url_that_is_none_exits_2(yard: Yard, tmp_path: Path, base: str) -> None:
    pid = next(iter(yard.passports))
    result = bpl(yard, "label", pid, "--out", tmp_path / "x.pdf", "--base-url", base)
    assert result.exit_code == 2
    assert "--base-url" in result.output
    assert list(tmp_path.iterdir()) == []

"""``ledger.demo`` and ``bpl demo``: a small demo ledger holds every battery kind, audits
clean, links successors to their originals and is the same for the same seed."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from ledger.core import grading, records
from ledger.core.access import OPERATOR_READER as OPERATOR
from ledger.core.rules import KIND_ROLES
from ledger.demo import DemoSummary, gtin_check_digit, run_demo
from ledger.facade import Ledger
from signing import keys

BATTERIES = 20
SEED = 2027
GS1_DIGITAL_LINK = re.compile(r"^https://[a-z0-9.-]+/01/(\d{14})/21/[A-Z0-9]+$")


def new_demo(path: Path, seed: int = SEED) -> tuple[Ledger, DemoSummary]:
    operator = keys.generate()
    ledger = Ledger.init(path, operator, origin="demo.bpl.example/log")
    return ledger, run_demo(ledger, operator, batteries=BATTERIES, seed=seed)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, DemoSummary]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        ledger, summary = new_demo(tmp_path_factory.mktemp("demo") / "data")
        yield ledger, summary
        ledger.engine.dispose()


def passports(ledger: Ledger) -> list[str]:
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT subject_id FROM ledger_heads WHERE subject_id LIKE 'urn:bpl:passport:%' "
                "ORDER BY subject_id"
            )
        )
        return [row.subject_id for row in rows]


def records_of(ledger: Ledger, kind: str) -> list[dict[str, Any]]:
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT l.data FROM ledger_records r JOIN log_leaves l ON l.idx = r.leaf_index "
                "WHERE r.kind = :k ORDER BY r.leaf_index"
            ),
            {"k": kind},
        )
        return [json.loads(row.data) for row in rows]


def test_every_battery_kind_and_the_summary(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, summary = demo
    assert set(KIND_ROLES) <= set(summary.by_kind)
    assert all(summary.by_kind[kind] >= 1 for kind in KIND_ROLES)
    assert summary.actors == 13
    assert summary.by_kind["ActorRegistered"] == 13
    assert summary.by_kind["DiagnosticTest"] == BATTERIES
    assert summary.records == sum(summary.by_kind.values())
    assert ledger.log.size() == summary.records + 1  # and the operator's registration
    assert len(passports(ledger)) == summary.passports
    assert summary.passports == BATTERIES + summary.by_kind["PassportSucceeded"]
    assert summary.seconds > 0


def test_the_demo_audits_and_every_chain_verifies(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    audit = ledger.audit()
    assert audit.ok, audit
    for passport in passports(ledger):
        report = ledger.verify_chain(passport)
        assert report.ok, (passport, report)


def test_successors_link_their_originals(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    succeeded = records_of(ledger, "PassportSucceeded")
    assert succeeded
    for record in succeeded:
        original = record["credentialSubject"]["id"]
        successor = record["credentialSubject"]["successor"]
        original_head, successor_head = ledger.head(original), ledger.head(successor)
        assert original_head is not None and original_head.closed
        assert successor_head is not None
        assert successor_head.predecessors == (original,)
        assert successor_head.status in ("repurposed", "remanufactured")
        assert successor_head.custodian == record["issuer"]
        issued = ledger.chain(successor)[0]["credentialSubject"]
        assert issued["predecessors"] == [original]
        assert issued["manufacturer"] == record["issuer"]


def test_batteries_have_gs1_ids_and_tests_carry_the_policys_grade(
    demo: tuple[Ledger, DemoSummary],
) -> None:
    ledger, _ = demo
    issued = records_of(ledger, "PassportIssued")
    battery_ids = [r["credentialSubject"]["batteryId"] for r in issued]
    assert len(set(battery_ids)) == len(battery_ids)
    for battery_id in battery_ids:
        match = GS1_DIGITAL_LINK.match(battery_id)
        assert match, battery_id
        gtin = match.group(1)
        assert gtin[-1] == gtin_check_digit(gtin[:-1]), battery_id
    for record in issued:
        subject = record["credentialSubject"]
        assert 300 <= subject["mass"] <= 700
        if "predecessors" not in subject:
            assert 300 <= subject["mass"] <= 600
            assert subject["chemistry"] in ("NMC811", "LFP", "NCA")
    policy = grading.load_policy()
    grades = set()
    for record in records_of(ledger, "DiagnosticTest"):
        measures = ledger.disclosures(records.record_hash(record), OPERATOR)["legitimate-interest"]
        assert measures["grade"] == grading.grade(measures, policy).grade
        assert measures["gradingPolicy"] == grading.policy_ref(policy)
        grades.add(measures["grade"])
    assert grades == set(grading.GRADES)


def test_waste_shipments_carry_the_adr_block(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    shipments = records_of(ledger, "Shipment")
    assert shipments
    for record in shipments:
        details = ledger.disclosures(records.record_hash(record), OPERATOR)["legitimate-interest"]
        goods = details["dangerousGoods"]
        assert details["waste"] is True
        assert (goods["unNumber"], goods["class"]) == ("UN3480", "9")
        assert (goods["specialProvisions"], goods["packingInstruction"]) in (
            ([377], "P909"),
            ([376], "P908"),
        )
        if goods["specialProvisions"] == [377]:
            assert goods["marks"] == ["LITHIUM BATTERIES FOR RECYCLING"]
    # Restricted values stay out of the public log.
    leaves = b"".join(ledger.log.leaves(0, ledger.log.size()))
    assert b"UN3480" not in leaves and b"waste-handover" not in leaves


def test_the_same_seed_gives_the_same_demo(
    demo: tuple[Ledger, DemoSummary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ledger, summary = demo
    again, summary_again = new_demo(tmp_path / "again")
    try:
        assert (summary_again.passports, summary_again.records, summary_again.by_kind) == (
            summary.passports,
            summary.records,
            summary.by_kind,
        )
        assert passports(again) == passports(ledger)
        ids = [r["credentialSubject"]["batteryId"] for r in records_of(ledger, "PassportIssued")]
        assert ids == [
            r["credentialSubject"]["batteryId"] for r in records_of(again, "PassportIssued")
        ]
    finally:
        again.engine.dispose()


def test_gtin_check_digit() -> None:
    assert gtin_check_digit("0950600013435") == "2"  # GS1's example GTIN 09506000134352
    assert gtin_check_digit("0400638133393") == "1"  # 04006381333931


runner = CliRunner()


def test_bpl_demo_creates_a_new_ledger_and_refuses_an_existing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo", "--data-dir", str(path), "--batteries", "6", "--seed", "11"]
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["audit"]["ok"] is True
    assert summary["audit"]["records"] == summary["records"] + 1
    assert summary["byKind"]["DiagnosticTest"] == 6
    assert (summary["batteries"], summary["seed"], summary["actors"]) == (6, 11, 13)
    assert summary["operator"].startswith("did:key:")
    assert "audit ok" in result.stderr
    assert stat.S_IMODE((path / "operator.json").stat().st_mode) == 0o600
    assert keys.load(path / "operator.json").did == summary["operator"]
    ledger = Ledger.open(path)
    try:
        assert ledger.log.size() == summary["records"] + 1
    finally:
        ledger.engine.dispose()

    again = runner.invoke(app, ["demo", "--data-dir", str(path), "--batteries", "1"])
    assert again.exit_code == 2
    assert "already holds a ledger" in again.stderr

"""``ledger.demo`` and ``bpl demo``: a small demo ledger holds every record kind in record
format v2, a full battery model per category and chemistry, checked battery ids, splits and
partial recycling; it audits clean, links successors to their originals and is the same for
the same seed."""

from __future__ import annotations

import json
import re
import stat
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import schemas
from cli.main import app
from ledger.core import grading, records
from ledger.core.access import OPERATOR_READER as OPERATOR
from ledger.core.access import Reader
from ledger.core.battery_id import is_valid_gtin, parse_battery_id
from ledger.core.rules import KIND_ROLES
from ledger.demo import DemoSummary, demo_batches, gtin_check_digit, run_demo
from ledger.demo_models import ACTORS, MODELS
from ledger.facade import Ledger
from signing import keys

BATTERIES = 20
SEED = 2027
GS1_DIGITAL_LINK = re.compile(r"^https://[a-z0-9.-]+/01/(\d{14})/21/[A-Z0-9]+$")
CATEGORIES = {("EV", "NMC811"), ("EV", "LFP"), ("industrial", "LFP"), ("LMT", "NMC622")}
HISTORY = (  # Annex VII part B, in every DiagnosticTest
    "capacityThroughput",
    "energyThroughput",
    "temperatureHistory",
    "fullCycles",
    "deepDischargeEvents",
    "overchargeEvents",
)


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


def logged(ledger: Ledger) -> list[dict[str, Any]]:
    """Every record on the log, in log order (the operator's own registration first)."""
    return [json.loads(leaf) for leaf in ledger.log.leaves(0, ledger.log.size())]


def records_of(ledger: Ledger, kind: str) -> list[dict[str, Any]]:
    return [record for record in logged(ledger) if record["type"][1] == kind]


def disclosed(ledger: Ledger, record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return ledger.disclosures(records.record_hash(record), OPERATOR)


def test_every_record_kind_and_the_summary(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, summary = demo
    assert set(KIND_ROLES) <= set(summary.by_kind)
    assert all(summary.by_kind[kind] >= 1 for kind in KIND_ROLES)
    assert summary.actors == len(ACTORS) == 21
    assert summary.by_kind["ActorRegistered"] == summary.actors
    assert summary.models == len(MODELS) == summary.by_kind["BatteryModelPublished"]
    assert summary.by_kind["DiagnosticTest"] == BATTERIES
    assert summary.records == sum(summary.by_kind.values())
    assert ledger.log.size() == summary.records + 1  # and the operator's registration
    assert len(passports(ledger)) == summary.passports == summary.by_kind["PassportIssued"]
    assert summary.seconds > 0
    assert summary.to_dict()["models"] == len(MODELS)


def test_the_demo_audits_and_every_chain_verifies(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    audit = ledger.audit()
    assert audit.ok, audit
    for chain in [*passports(ledger), *(spec.id for spec in MODELS)]:
        report = ledger.verify_chain(chain)
        assert report.ok, (chain, report)


def test_the_demos_records_are_v2_and_valid(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    for record in logged(ledger)[1:]:  # the operator's registration is Ledger.init's
        assert schemas.version_of(record) == "v2"
        kind = schemas.validate_record(record)
        for disclosure in disclosed(ledger, record).values():
            schemas.validate_disclosure(kind, disclosure, "v2")


def test_demo_batches_validate_without_a_ledger() -> None:
    """Another seed and more batteries, schema-checked only (no ledger: fast)."""
    seen: set[str] = set()
    for batch in demo_batches(keys.generate(), batteries=60, seed=5):
        chains = [submission["record"]["credentialSubject"]["id"] for submission in batch]
        assert len(set(chains)) == len(chains)  # one record per chain and batch
        for submission in batch:
            kind = schemas.validate_record(submission["record"])
            for disclosure in submission["disclosures"]:
                schemas.validate_disclosure(kind, disclosure, "v2")
            seen.add(kind)
    assert seen == set(schemas.kinds("v2")) - {"GradingPolicyRegistered", "KeyAdded", "KeyRevoked"}


def test_actors_organisations_persons_and_reader_roles(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    registered = records_of(ledger, "ActorRegistered")[1:]
    roles = {role for record in registered for role in record["credentialSubject"]["roles"]}
    assert {"legitimate-interest", "notified-body", "market-surveillance", "commission"} <= roles
    leaves = b"".join(ledger.log.leaves(0, ledger.log.size()))
    persons = [r for r in registered if r["credentialSubject"]["entity"] == "person"]
    assert persons
    for record in persons:
        subject = record["credentialSubject"]
        assert not {"name", "address", "contact"} & set(subject)
        business = disclosed(ledger, record)["business"]
        assert business["name"] and business["address"]
        assert business["name"].encode() not in leaves  # a pseudonymous DID on the log
    for record in registered:
        subject = record["credentialSubject"]
        if subject["entity"] == "organisation":
            assert subject["name"] and subject["address"] and subject["contact"]
            assert "disclosures" not in subject
    # A person who handed in a battery reads that transfer's business data as a party;
    # a notified body does not (Art. 77(2) gives it points 2 and 3, not trade data).
    person = persons[0]["credentialSubject"]["id"]
    transfers = [
        r
        for r in records_of(ledger, "CustodyTransfer")
        if person in (r["credentialSubject"]["from"], r["credentialSubject"]["to"])
    ]
    assert transfers
    own = ledger.disclosures(
        records.record_hash(transfers[0]), Reader(frozenset({"legitimate-interest"}), person)
    )
    assert "business" in own
    notified = ledger.disclosures(
        records.record_hash(transfers[0]), Reader(frozenset({"notified-body"}))
    )
    assert notified == {}


def test_every_category_and_chemistry_has_a_full_consistent_model(
    demo: tuple[Ledger, DemoSummary],
) -> None:
    ledger, _ = demo
    schema = schemas.schema("BatteryModelPublished", "v2")
    required = schema["properties"]["credentialSubject"]["required"]
    published = records_of(ledger, "BatteryModelPublished")
    assert {
        (r["credentialSubject"]["category"], r["credentialSubject"]["chemistry"]) for r in published
    } >= CATEGORIES
    for record in published:
        subject = record["credentialSubject"]
        assert set(required) <= set(subject), subject["modelName"]
        groups = disclosed(ledger, record)
        assert set(groups) == {"circularity", "compliance", "performance"}
        for group, body in groups.items():
            assert set(schema["$defs"][f"disclosure-{group}"]["required"]) <= set(body)
        # The model id is the GS1 Digital Link URI of its GTIN, without a serial.
        assert is_valid_gtin(subject["gtin"])
        assert subject["id"].endswith(f"/01/{subject['gtin']}")
        assert subject["manufacturer"]["id"] == record["issuer"]
        voltage = subject["voltage"]
        assert 0 < voltage["minimum"] < voltage["nominal"] < voltage["maximum"]
        footprint = subject["carbonFootprint"]
        stages = ("rawMaterialAcquisition", "production", "distribution", "endOfLife")
        assert sum(footprint[s] for s in stages) == pytest.approx(
            footprint["perFunctionalUnit"], abs=1e-4
        )
        for origin in ("preConsumer", "postConsumer"):
            assert set(subject["recycledContent"][origin]) == {"Co", "Li", "Ni", "Pb"}
        assert subject["power"]["original"] <= subject["power"]["maximumPermitted"]
        efficiency = subject["roundTripEfficiency"]
        assert efficiency["at50PercentCycleLife"] < efficiency["initial"] <= 100
        assert subject["idleTemperatureRange"]["lower"] < subject["idleTemperatureRange"]["upper"]
        resistance = subject["internalResistance"]
        assert (
            resistance["cell"] < resistance.get("module", resistance["pack"]) <= resistance["pack"]
        )
        assert subject["ratedEnergy"] == pytest.approx(
            subject["ratedCapacity"] * voltage["nominal"] / 1000, rel=0.01
        )
        assert all(s["symbol"] and s["meaning"] for s in subject["symbols"])
        assert subject["dueDiligenceReport"]["hash"].startswith("sha256:")
        assert subject["declarationOfConformity"]["hash"].startswith("sha256:")
        assert set(subject["endUserInformation"]) == {
            "wastePrevention",
            "separateCollection",
            "collectionAndTreatment",
        }
        circularity = groups["circularity"]
        assert sum(c["mass"] for c in circularity["composition"]) == pytest.approx(
            subject["mass"], rel=0.005
        )
        assert all(part["source"] for part in circularity["partNumbers"])
        assert circularity["dismantling"] and circularity["safety"]["documents"]
        assert groups["compliance"]["complianceReports"]
        assert groups["performance"]["expectedLifetimeYears"] > 0


def test_passports_name_their_model_and_a_valid_unique_battery_id(
    demo: tuple[Ledger, DemoSummary],
) -> None:
    ledger, _ = demo
    models = {r["credentialSubject"]["id"]: r for r in records_of(ledger, "BatteryModelPublished")}
    live: dict[str, str] = {}
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records_of(ledger, "PassportIssued"):
        subject = record["credentialSubject"]
        battery = parse_battery_id(subject["batteryId"])
        match = GS1_DIGITAL_LINK.match(subject["batteryId"])
        assert match and battery.scheme == "gs1-digital-link", subject["batteryId"]
        assert match.group(1) == battery.gtin and battery.gtin[-1] == gtin_check_digit(
            battery.gtin[:-1]
        )
        model = models[subject["model"]["id"]]
        assert subject["model"]["record"] == records.record_hash(model)
        assert subject["batteryId"].startswith(model["credentialSubject"]["id"] + "/21/")
        assert subject["mass"] == pytest.approx(model["credentialSubject"]["mass"], rel=0.01)
        status = disclosed(ledger, record)["performance"]["status"]
        assert (status == "original") == ("predecessors" not in subject)
        by_key[battery.key].append(subject)
        head = ledger.head(subject["id"])
        assert head is not None
        if not head.closed:
            assert battery.key not in live, (subject["batteryId"], live.get(battery.key))
            live[battery.key] = subject["id"]
    # Two passports share a battery id only when a re-used battery succeeds its original.
    shared = [issued for issued in by_key.values() if len(issued) > 1]
    assert shared
    for original, successor in shared:
        assert successor["predecessors"] == [original["id"]]
        assert successor["model"] == original["model"]


def test_successors_link_their_originals(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    succeeded = records_of(ledger, "PassportSucceeded")
    assert succeeded
    statuses = set()
    for record in succeeded:
        original = record["credentialSubject"]["id"]
        original_head = ledger.head(original)
        assert original_head is not None and original_head.closed
        for successor in record["credentialSubject"]["successors"]:
            successor_head = ledger.head(successor)
            assert successor_head is not None
            assert successor_head.predecessors == (original,)
            assert successor_head.status in ("repurposed", "remanufactured", "re-used")
            assert successor_head.custodian == record["issuer"]
            issued = ledger.chain(successor)[0]["credentialSubject"]
            assert issued["predecessors"] == [original]
            assert issued["manufacturer"] == record["issuer"]
            statuses.add(successor_head.status)
    assert statuses == {"repurposed", "remanufactured", "re-used"}


def test_a_split_pack_has_several_successors(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    splits = [
        r
        for r in records_of(ledger, "PassportSucceeded")
        if len(r["credentialSubject"]["successors"]) > 1
    ]
    assert splits
    for record in splits:
        successors = record["credentialSubject"]["successors"]
        issued = [ledger.chain(s)[0]["credentialSubject"] for s in successors]
        assert len({i["batteryId"] for i in issued}) == len(successors)
        assert len({i["model"]["id"] for i in issued}) == 1  # one module model


def test_partial_recycling_leaves_the_passport_open(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    recycled = records_of(ledger, "Recycled")
    parts = [r for r in recycled if r["credentialSubject"]["scope"] == "part"]
    assert parts and any(r["credentialSubject"]["scope"] == "whole" for r in recycled)
    afterwards = set()
    for record in parts:
        subject = record["credentialSubject"]
        chain = ledger.chain(subject["id"])
        after = chain[subject["sequence"] + 1 :]
        assert after, "the passport took no record after a partial recycling"
        afterwards.add(after[-1]["type"][1])
        business = disclosed(ledger, record)["business"]
        components = business["components"]
        assert business["inputMass"] == pytest.approx(sum(c["mass"] for c in components))
    assert afterwards == {"Recycled", "PassportSucceeded"}  # the rest recycled or repurposed


def test_tests_carry_the_policys_grade_and_the_use_history(
    demo: tuple[Ledger, DemoSummary],
) -> None:
    ledger, _ = demo
    policy = grading.load_policy()
    grades = set()
    for record in records_of(ledger, "DiagnosticTest"):
        measures = disclosed(ledger, record)["performance"]
        assert measures["grade"] == grading.grade(measures, policy).grade
        assert measures["gradingPolicy"] == grading.policy_ref(policy)
        assert set(HISTORY) <= set(measures)
        assert len(set(measures) & set(grading.MEASURES)) >= 12
        grades.add(measures["grade"])
    assert grades == set(grading.GRADES)


def test_shipments_carry_the_adr_block(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    shipments = records_of(ledger, "Shipment")
    assert shipments
    wastes = set()
    for record in shipments:
        goods = record["credentialSubject"]["dangerousGoods"]  # public: the crate's marks
        details = disclosed(ledger, record)["business"]
        assert {"consignor", "consignee"} <= set(details)
        assert (goods["unNumber"], goods["class"]) == ("UN3480", "9")
        wastes.add(details["waste"])
        if details["waste"]:
            assert goods["properShippingName"].startswith("WASTE ")
            assert (goods["specialProvisions"], goods["packingInstruction"]) in (
                ([377], "P909"),
                ([376], "P908"),
            )
            if goods["specialProvisions"] == [377]:
                assert goods["marks"] == ["LITHIUM BATTERIES FOR RECYCLING"]
        else:
            assert goods["packingInstruction"] == "P903"
            assert details["annexXivEvidence"]["testRecords"]
    assert wastes == {True, False}
    # Business data stays out of the public log; the crate's marks are on it.
    leaves = b"".join(ledger.log.leaves(0, ledger.log.size()))
    assert b"waste-handover" not in leaves and b"consignee" not in leaves
    assert b"UN3480" in leaves


def test_documents_public_and_restricted(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    documents = records_of(ledger, "DocumentAttached")
    public = [r for r in documents if "documentType" in r["credentialSubject"]]
    restricted = [r for r in documents if "disclosures" in r["credentialSubject"]]
    assert {r["credentialSubject"]["documentType"] for r in public} == {"declaration-of-conformity"}
    assert restricted
    assert {group for r in restricted for group in disclosed(ledger, r)} <= {
        "business",
        "compliance",
    }


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
        assert models_of(again) == models_of(ledger)
    finally:
        again.engine.dispose()


def models_of(ledger: Ledger) -> list[dict[str, Any]]:
    """The models' public data and disclosures, without the salts and their digests."""
    found = []
    for record in records_of(ledger, "BatteryModelPublished"):
        subject = {k: v for k, v in record["credentialSubject"].items() if k != "disclosures"}
        groups = {
            group: {k: v for k, v in body.items() if k != "salt"}
            for group, body in disclosed(ledger, record).items()
        }
        found.append({**subject, **groups})
    return found


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
    assert (summary["batteries"], summary["seed"], summary["actors"]) == (6, 11, len(ACTORS))
    assert summary["models"] == len(MODELS)
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

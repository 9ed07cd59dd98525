"""Record format v2 end to end on SQLite and PostgreSQL, over the demo's ledger: who reads
which disclosure through ``Ledger.disclosures`` (every stored group against every reader
role), lookups by battery id and GTIN, one live passport per battery in one batch, and
v1 records beside v2 ones under one audit (ADR 0016)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import schemas
from ledger.core import access, contexts, records
from ledger.core.access import Reader
from ledger.core.battery_id import parse_battery_id
from ledger.demo import run_demo
from ledger.errors import RecordRejected
from ledger.facade import Ledger
from signing import keys, proofs
from tests.ledger.test_access import EXPECTED
from tests.ledger.world import MANUFACTURED, World

BATTERIES = 20


@pytest.fixture
def demo(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, keys.KeyPair]]:
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    operator = keys.generate()
    ledger = Ledger.init(tmp_path / "data", operator, origin="v2.bpl.example/log")
    run_demo(ledger, operator, batteries=BATTERIES, seed=16)
    yield ledger, operator
    ledger.engine.dispose()


def logged(ledger: Ledger) -> list[dict[str, Any]]:
    return [json.loads(leaf) for leaf in ledger.log.leaves(0, ledger.log.size())]


def of_kind(ledger: Ledger, kind: str) -> list[dict[str, Any]]:
    return [r for r in logged(ledger) if r["type"][1] == kind]


def test_every_stored_group_is_served_to_exactly_its_readers(
    demo: tuple[Ledger, keys.KeyPair],
) -> None:
    ledger, _ = demo
    seen: set[tuple[str, str]] = set()
    for record in logged(ledger):
        record_hash = records.record_hash(record)
        stored = ledger.disclosures(record_hash, access.OPERATOR_READER)
        version = schemas.version_of(record)
        assert ledger.disclosures(record_hash, access.PUBLIC) == (
            stored if record["credentialSubject"].get("publicProfile") else {}
        )
        for role in access.READER_ROLES:
            shown = ledger.disclosures(record_hash, Reader(frozenset({role})))
            assert set(shown) == {g for g in stored if role in EXPECTED[(version, g)]}, (
                record["type"][1],
                role,
            )
            assert all(shown[g] == stored[g] for g in shown)
        parties = access.parties(record, stored)
        for party in parties:
            shown = ledger.disclosures(record_hash, Reader(did=party))
            assert set(shown) == {g for g in stored if (version, g) in access.PARTY_GROUPS}
        seen |= {(version, group) for group in stored}
    # The demo stores every v2 group, so the matrix above covered each of them.
    assert {("v2", g) for g in schemas.restricted_groups("v2")} <= seen


def test_a_battery_is_found_with_its_history_in_any_form_of_its_id(
    demo: tuple[Ledger, keys.KeyPair],
) -> None:
    ledger, _ = demo
    issued = of_kind(ledger, "PassportIssued")
    by_battery: dict[str, list[dict[str, Any]]] = {}
    for record in issued:
        key = parse_battery_id(record["credentialSubject"]["batteryId"]).key
        by_battery.setdefault(key, []).append(record["credentialSubject"])
    reused = next(subjects for subjects in by_battery.values() if len(subjects) > 1)
    battery_id = reused[0]["batteryId"]
    battery = parse_battery_id(battery_id)
    # Another resolver host and the GTIN-13 form: the same battery.
    other_form = f"https://resolver.example.org/01/{battery.gtin[1:]}/21/{battery.serial}"
    assert battery.gtin is not None and battery.gtin.startswith("0")
    for asked in (battery_id, other_form):
        history = ledger.battery_history(asked)
        assert [p.subject_id for p in history.passports] == [s["id"] for s in reused]
        assert history.current is not None
        assert history.current.subject_id == reused[-1]["id"]
        assert history.passports[-1].head.predecessors == (reused[0]["id"],)
    assert (
        ledger.battery_history("https://id.example.com/01/09506000134352/21/NONE").passports == ()
    )


def test_a_module_is_found_with_the_pack_it_came_from(demo: tuple[Ledger, keys.KeyPair]) -> None:
    ledger, _ = demo
    split = next(
        r["credentialSubject"]
        for r in of_kind(ledger, "PassportSucceeded")
        if len(r["credentialSubject"]["successors"]) > 1
    )
    module = ledger.chain(split["successors"][0])[0]["credentialSubject"]
    history = ledger.battery_history(module["batteryId"])
    assert history.ancestors[0].subject_id == split["id"]
    pack = ledger.battery_history(history.ancestors[0].battery_id)
    assert pack.current is None  # the pack's passport closed when it was split


def test_a_gtin_finds_its_model_and_its_passports(demo: tuple[Ledger, keys.KeyPair]) -> None:
    ledger, _ = demo
    model = of_kind(ledger, "BatteryModelPublished")[0]
    gtin = model["credentialSubject"]["gtin"]
    found = ledger.models_by_gtin(gtin)
    assert [m.model_id for m in found] == [model["credentialSubject"]["id"]]
    assert found[0].publisher == model["issuer"]
    assert ledger.model(model["credentialSubject"]["id"]) == found[0]
    passports = ledger.passports_by_gtin(gtin, limit=1000)
    expected = sorted(
        r["credentialSubject"]["id"]
        for r in of_kind(ledger, "PassportIssued")
        if parse_battery_id(r["credentialSubject"]["batteryId"]).gtin == gtin
    )
    assert [p.subject_id for p in passports] == expected
    assert all(p.model_id == model["credentialSubject"]["id"] for p in passports)
    assert ledger.models_by_gtin("09506000134352") == []


def test_a_batch_with_two_passports_for_one_battery_is_refused_whole(
    demo: tuple[Ledger, keys.KeyPair],
) -> None:
    ledger, _ = demo
    original = of_kind(ledger, "PassportIssued")[0]
    maker_did = original["issuer"]
    size = ledger.log.size()
    # The demo's maker key is not ours: re-sign copies with a new registered manufacturer.
    maker = keys.generate()
    operator = demo[1]
    ledger.register_actor(operator, maker.did, ["manufacturer"], name="Second Maker GmbH")
    model_id = original["credentialSubject"]["model"]["id"]
    head = ledger.head(model_id)
    assert head is not None and maker_did
    battery = parse_battery_id(original["credentialSubject"]["batteryId"])
    fresh = f"https://id.example.com/01/{battery.gtin}/21/FRESH1"
    submissions = []
    for n in range(2):
        record, disclosures = records.build(
            "PassportIssued",
            f"urn:bpl:passport:00000000-0000-4000-8000-00000000000{n}",
            0,
            None,
            maker.did,
            {
                "batteryId": fresh,
                "model": {"id": model_id, "record": head.record_hash},
                "manufacturer": maker.did,
                "manufacturedOn": "2031-01-10",
            },
            {"performance": {"status": "original"}},
        )
        submissions.append(
            {
                "record": proofs.sign(record, maker, loader=contexts.loader()),
                "disclosures": disclosures,
            }
        )
    size = ledger.log.size()
    with pytest.raises(RecordRejected) as refused:
        ledger.append_many(copy.deepcopy(submissions))
    assert refused.value.rule == "battery-id"
    assert ledger.log.size() == size  # all or nothing: the first one is not stored either
    ledger.append(submissions[0])
    with pytest.raises(RecordRejected, match="live passport"):
        ledger.append(submissions[1])
    assert ledger.audit().ok


def test_v1_records_stay_valid_beside_v2_ones(demo: tuple[Ledger, keys.KeyPair]) -> None:
    ledger, operator = demo
    world = World(ledger, operator)
    world.add("maker", "manufacturer")
    passport = "urn:bpl:passport:11111111-0000-4000-8000-000000000001"
    world.issue(passport)
    stored = ledger.chain(passport)[0]
    assert schemas.version_of(stored) == "v1"
    assert stored["credentialSubject"]["batteryId"] == MANUFACTURED["batteryId"]
    assert ledger.verify_chain(passport).ok
    assert ledger.audit().ok

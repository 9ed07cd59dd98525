"""The facade's reads for the service and the pages (``ledger.storage.lookups``): passports by
battery, manufacturer and custodian, chains and lists in keyset pages, a record by hash
with a proof a client checks with the log's key alone, actors with their keys; and the
lookup table the audit holds to the log. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.core import records
from ledger.errors import LedgerError
from ledger.facade import Ledger
from ledger.log import checkpoint
from signing import keys
from tests.ledger.world import MANUFACTURED, World

BATTERY = MANUFACTURED["batteryId"]


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    operator = keys.generate()
    ledger = Ledger.init(tmp_path / "data", operator, origin="lookups.bpl.example/log")
    world = World(ledger, operator)
    for name, role in (("maker", "manufacturer"), ("dismantler", "dismantler")):
        world.add(name, role)
    yield world
    ledger.engine.dispose()


def passport(n: int) -> str:
    return f"urn:bpl:passport:00000000-0000-4000-8000-{n:012d}"


def test_passports_by_battery_manufacturer_and_custodian(world: World) -> None:
    world.issue(passport(1))
    world.transfer(passport(1), "maker", "dismantler")
    maker, dismantler = world.actors["maker"].did, world.actors["dismantler"].did
    (found,) = world.ledger.passports_by_battery(BATTERY)
    assert (found.subject_id, found.battery_id, found.manufacturer) == (passport(1), BATTERY, maker)
    assert found.head.custodian == dismantler and found.head.sequence == 1
    assert found.to_dict()["custodian"] == dismantler
    assert [p.subject_id for p in world.ledger.passports_by_manufacturer(maker)] == [passport(1)]
    assert [p.subject_id for p in world.ledger.passports_by_custodian(dismantler)] == [passport(1)]
    assert world.ledger.passports_by_custodian(maker) == []
    assert world.ledger.passports_by_battery("https://id.example.com/01/00000000000000/21/X") == []


def test_pages_cover_every_passport_once_in_order(world: World) -> None:
    for n in (5, 1, 4, 2, 3):
        world.issue(passport(n))
    maker = world.actors["maker"].did
    seen: list[str] = []
    after = None
    while page := world.ledger.passports_by_manufacturer(maker, after=after, limit=2):
        assert len(page) <= 2
        seen += [p.subject_id for p in page]
        after = page[-1].subject_id
    assert seen == [passport(n) for n in range(1, 6)]
    held = world.ledger.passports_by_custodian(maker, after=passport(3), limit=10)
    assert [p.subject_id for p in held] == [passport(4), passport(5)]
    for bad in (0, 1001, True):
        with pytest.raises(LedgerError, match="a page holds 1 to 1000 rows"):
            world.ledger.passports_by_manufacturer(maker, limit=bad)  # type: ignore[arg-type]


def test_a_chain_in_pages(world: World) -> None:
    world.issue(passport(1))
    world.transfer(passport(1), "maker", "dismantler")
    world.transfer(passport(1), "dismantler", "maker")
    whole = world.ledger.chain(passport(1))
    assert world.ledger.chain_page(passport(1), limit=2) == whole[:2]
    assert world.ledger.chain_page(passport(1), after=1, limit=2) == whole[2:]
    assert world.ledger.chain_page(passport(1), after=2) == []


def test_a_record_by_hash_with_a_proof_checked_by_the_log_key_alone(world: World) -> None:
    receipt = world.issue(passport(1))
    world.transfer(passport(1), "maker", "dismantler")
    found = world.ledger.record(receipt.record_hash)
    assert found is not None
    assert records.record_hash(found.record) == receipt.record_hash
    assert found.leaf_index == receipt.leaf_index
    head = checkpoint.verify(found.checkpoint, world.ledger.verifier_key, world.ledger.log.origin)
    assert found.inclusion.size == head.size > receipt.leaf_index
    found.inclusion.verify(head.root)
    assert found.to_dict()["leafIndex"] == receipt.leaf_index
    assert world.ledger.record("sha256:" + "0" * 64) is None
    assert world.ledger.record("not a hash") is None


def test_actors_with_their_keys(world: World) -> None:
    maker = world.actors["maker"]
    spare = keys.generate()
    method = f"{spare.did}#{spare.did.split(':')[-1]}"
    world.ledger.add_key(world.operator, maker.did, method)
    world.ledger.revoke_key(world.operator, maker.did, method, "superseded")
    found = world.ledger.actor(maker.did)
    assert found is not None and found.roles == ("manufacturer",)
    assert dict(found.keys)[method] is True
    assert list(dict(found.keys).values()).count(False) == 1
    everyone = world.ledger.actors()
    assert [a.did for a in everyone] == sorted(a.did for a in everyone)
    assert {a.did for a in everyone} >= {maker.did, world.operator.did}
    assert world.ledger.actor("did:example:nobody") is None


def test_the_lookup_rows_are_held_to_the_log_and_filled_by_the_migration(
    world: World, tmp_path: Path
) -> None:
    world.issue(passport(1))
    assert world.ledger.audit().ok
    with world.ledger.engine.begin() as connection:
        connection.execute(sa.text("UPDATE ledger_passports SET battery_id = 'elsewhere'"))
    report = world.ledger.audit()
    assert not report.ok
    assert f"the stored lookup row of passport {passport(1)} differs" in (report.reason or "")
    # A ledger from before the table: migration 0009 fills it from the records.
    with world.ledger.engine.begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_ledger_heads_custodian"))
        connection.execute(sa.text("DROP TABLE ledger_passports"))
        connection.execute(sa.text("DROP TABLE ledger_models"))  # made by 0010, after it
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0008'"))
    world.ledger.engine.dispose()
    reopened = Ledger.open(tmp_path / "data")
    try:
        assert [p.subject_id for p in reopened.passports_by_battery(BATTERY)] == [passport(1)]
        assert reopened.audit().ok
    finally:
        reopened.engine.dispose()

"""``bpl passport find``: passports by battery (in any form of its id, with its history),
by GTIN (the model and its passports), by manufacturer and by custodian; the JSON a
script reads; exit 1 when nothing is found, 2 unless exactly one query is given."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.cli import v2_data

runner = CliRunner()
P1 = "urn:bpl:passport:10000000-0000-4000-8000-000000000001"
P2 = "urn:bpl:passport:20000000-0000-4000-8000-000000000002"
P3 = "urn:bpl:passport:30000000-0000-4000-8000-000000000003"
"""The successor of P2: the same battery, re-used."""
OTHER = "urn:bpl:passport:40000000-0000-4000-8000-000000000004"
"""A battery of another model, with another GTIN."""
OTHER_GTIN = "09506000134376"
OTHER_MODEL = f"https://id.example.com/01/{OTHER_GTIN}"
PASSPORT_KEYS = {
    "id",
    "batteryId",
    "model",
    "gtin",
    "manufacturer",
    "issuedLeaf",
    "predecessors",
    "sequence",
    "custodian",
    "status",
    "closed",
}


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


@dataclass(frozen=True)
class World:
    """A ledger where the maker published two models and issued P1, P2 (model 1) and
    OTHER (model 2); the yard took P2 and re-used the battery under P3 (P2 closed)."""

    home: Path
    maker: str
    yard: str
    models: dict[str, str]
    """Model id -> its current record hash."""

    def find(self, *args: str) -> Any:
        return bpl("passport", "find", *args, "--data-dir", self.home)


class _Builder:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.home = work / "home"

    def __call__(self, *args: str | Path) -> Any:
        return ok(bpl(*args, "--data-dir", self.home))

    def key(self, name: str) -> str:
        made = ok(bpl("keys", "new", "--out", self.work / f"{name}.json", "--json"))
        did: str = json.loads(made.stdout)["id"]
        return did

    def submit(
        self, kind: str, subject: str, signer: str, data: dict[str, Any], *cosigners: str
    ) -> str:
        """Build ``kind`` on ``subject`` from ``data``, signed by ``signer`` (and
        countersigned), submit it; its record hash."""
        path = self.work / "data.json"
        path.write_text(json.dumps(data))
        made = self(
            "record", "new", kind, "--subject", subject, "--key", self.work / f"{signer}.json",
            "--data", path,
        )  # fmt: skip
        submission = self.work / "submission.json"
        submission.write_text(made.stdout)
        for cosigner in cosigners:
            signed = ok(bpl("sign", "--key", self.work / f"{cosigner}.json", submission))
            submission.write_text(signed.stdout)
        record_hash: str = json.loads(self("submit", submission).stdout)["recordHash"]
        return record_hash


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        build = _Builder(tmp_path_factory.mktemp("passports"))
        ok(bpl("init", "--data-dir", build.home))
        maker, yard = build.key("maker"), build.key("yard")
        build("actor", "add", "--did", maker, "--role", "manufacturer", "--name", "Volta")
        build("actor", "add", "--did", yard, "--role", "dismantler", "--name", "Yard")
        models = {
            v2_data.MODEL_ID: build.submit(
                "BatteryModelPublished", v2_data.MODEL_ID, "maker", v2_data.model(maker)
            ),
            OTHER_MODEL: build.submit(
                "BatteryModelPublished",
                OTHER_MODEL,
                "maker",
                v2_data.model(maker) | {"gtin": OTHER_GTIN, "modelName": "Volta EV-60"},
            ),
        }
        record = models[v2_data.MODEL_ID]
        for passport, serial in ((P1, "SN-0001"), (P2, "SN-0002")):
            build.submit(
                "PassportIssued", passport, "maker", v2_data.passport(maker, record, serial)
            )
        other = v2_data.passport(maker, models[OTHER_MODEL], "SN-0001")
        other |= {
            "batteryId": f"https://id.example.com/01/{OTHER_GTIN}/21/SN-0001",
            "model": {"id": OTHER_MODEL, "record": models[OTHER_MODEL]},
        }
        build.submit("PassportIssued", OTHER, "maker", other)
        transfer = {"from": maker, "to": yard, "reason": "waste-handover"}
        build.submit("CustodyTransfer", P2, "maker", transfer, "yard")
        reused = v2_data.passport(yard, record, "SN-0002") | {
            "status": "re-used",
            "predecessors": [P2],
        }
        build.submit("PassportIssued", P3, "yard", reused)
        build.submit("PassportSucceeded", P2, "yard", {"successors": [P3]})
        yield World(build.home, maker, yard, models)


def test_a_battery_is_found_with_its_history(world: World) -> None:
    battery = v2_data.battery("SN-0002")
    shown = ok(world.find("--battery", battery)).stdout.splitlines()
    assert shown == [
        f"battery {battery}",
        f"  live passport: {P3}",
        f"  passport {P2} (closed; battery {battery}; custodian {world.yard})",
        f"  passport {P3} (re-used; battery {battery}; custodian {world.yard})",
    ]
    found = json.loads(ok(world.find("--battery", battery, "--json")).stdout)
    assert set(found) == {"batteryId", "current", "passports", "ancestors"}
    assert (found["batteryId"], found["current"], found["ancestors"]) == (battery, P3, [])
    first, second = found["passports"]
    assert set(first) == PASSPORT_KEYS
    assert first == {
        "id": P2,
        "batteryId": battery,
        "model": v2_data.MODEL_ID,
        "gtin": v2_data.GTIN,
        "manufacturer": world.maker,
        "issuedLeaf": first["issuedLeaf"],
        "predecessors": [],
        "sequence": 2,
        "custodian": world.yard,
        "status": "original",
        "closed": True,
    }
    assert (second["id"], second["predecessors"], second["manufacturer"]) == (
        P3,
        [P2],
        world.yard,
    )
    assert (second["status"], second["closed"]) == ("re-used", False)
    assert second["issuedLeaf"] > first["issuedLeaf"]


@pytest.mark.parametrize(
    "written",
    [
        "https://id.gs1.org/01/09506000134352/21/SN-0001",  # another resolver host
        "https://id.example.com/01/9506000134352/21/SN-0001",  # the GTIN-13 form
        "https://resolver.example.org/01/9506000134352/21/SN-0001",  # both
    ],
)
def test_any_form_of_a_battery_id_finds_the_same_battery(world: World, written: str) -> None:
    found = json.loads(ok(world.find("--battery", written, "--json")).stdout)
    assert found["batteryId"] == written and found["current"] == P1
    assert [p["id"] for p in found["passports"]] == [P1]
    assert found["passports"][0]["batteryId"] == v2_data.battery("SN-0001")
    human = ok(world.find("--battery", written)).stdout
    assert human.startswith(f"battery {written}\n  live passport: {P1}\n")


@pytest.mark.parametrize("gtin", [v2_data.GTIN, v2_data.GTIN.lstrip("0")])
def test_a_gtin_finds_its_model_and_its_passports(world: World, gtin: str) -> None:
    found = json.loads(ok(world.find("--gtin", gtin, "--json")).stdout)
    assert set(found) == {"gtin", "models", "passports"}
    assert found["gtin"] == v2_data.GTIN  # padded to GTIN-14
    [model] = found["models"]
    assert model == {
        "id": v2_data.MODEL_ID,
        "gtin": v2_data.GTIN,
        "publisher": world.maker,
        "publishedLeaf": model["publishedLeaf"],
        "revision": 0,
        "record": world.models[v2_data.MODEL_ID],
    }
    assert [p["id"] for p in found["passports"]] == [P1, P2, P3]  # not OTHER's model
    assert all(set(p) == PASSPORT_KEYS for p in found["passports"])
    lines = ok(world.find("--gtin", gtin)).stdout.splitlines()
    record = world.models[v2_data.MODEL_ID]
    assert lines[0] == f"model {v2_data.MODEL_ID} by {world.maker}: revision 0, record {record}"
    assert [line.split()[1] for line in lines[1:]] == [P1, P2, P3]
    assert all(line.startswith("passport ") for line in lines[1:])
    other = json.loads(ok(world.find("--gtin", OTHER_GTIN, "--json")).stdout)
    assert [m["id"] for m in other["models"]] == [OTHER_MODEL]
    assert [p["id"] for p in other["passports"]] == [OTHER]


def test_passports_by_manufacturer_and_by_custodian(world: World) -> None:
    made = json.loads(ok(world.find("--manufacturer", world.maker, "--json")).stdout)
    assert set(made) == {"passports"}
    assert [p["id"] for p in made["passports"]] == [P1, P2, OTHER]  # P3 is the yard's
    assert all(set(p) == PASSPORT_KEYS for p in made["passports"])
    page = json.loads(
        ok(world.find("--manufacturer", world.maker, "--limit", "2", "--json")).stdout
    )
    assert [p["id"] for p in page["passports"]] == [P1, P2]
    rest = world.find("--manufacturer", world.maker, "--after", P2, "--json")
    assert [p["id"] for p in json.loads(ok(rest).stdout)["passports"]] == [OTHER]
    held = ok(world.find("--custodian", world.yard)).stdout.splitlines()
    assert held == [
        f"passport {P2} (closed; battery {v2_data.battery('SN-0002')}; custodian {world.yard})",
        f"passport {P3} (re-used; battery {v2_data.battery('SN-0002')}; custodian {world.yard})",
    ]
    kept = json.loads(ok(world.find("--custodian", world.maker, "--json")).stdout)
    assert [p["id"] for p in kept["passports"]] == [P1, OTHER]


@pytest.mark.parametrize(
    ("query", "message", "empty"),
    [
        (
            ("--battery", v2_data.battery("SN-9999")),
            f"no passport for battery {v2_data.battery('SN-9999')}",
            {"current": None, "passports": [], "ancestors": []},
        ),
        (
            ("--battery", "not a battery id"),
            "no passport for battery not a battery id",
            {"current": None, "passports": [], "ancestors": []},
        ),
        (
            ("--gtin", "4006381333931"),
            "no battery model or passport with GTIN 04006381333931",
            {"gtin": "04006381333931", "models": [], "passports": []},
        ),
        (
            ("--manufacturer", "did:key:z6MkNobody"),
            "no passports for --manufacturer did:key:z6MkNobody",
            {"passports": []},
        ),
        (
            ("--custodian", "did:key:z6MkNobody"),
            "no passports for --custodian did:key:z6MkNobody",
            {"passports": []},
        ),
    ],
)
def test_nothing_found_exits_1(
    world: World, query: tuple[str, str], message: str, empty: dict[str, Any]
) -> None:
    human = world.find(*query)
    assert human.exit_code == 1, human.output
    assert (human.stdout, human.stderr) == ("", f"bpl: {message}\n")
    scripted = world.find(*query, "--json")
    assert scripted.exit_code == 1, scripted.output
    assert empty.items() <= json.loads(scripted.stdout).items()  # the same shape, empty


@pytest.mark.parametrize(
    "query",
    [
        (),
        ("--battery", v2_data.battery("SN-0001"), "--gtin", v2_data.GTIN),
        ("--manufacturer", "did:key:z6MkA", "--custodian", "did:key:z6MkB"),
    ],
    ids=["none", "battery-and-gtin", "manufacturer-and-custodian"],
)
def test_not_exactly_one_query_exits_2(world: World, query: tuple[str, ...]) -> None:
    result = world.find(*query)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "bpl: give exactly one of --battery, --gtin, --manufacturer, --custodian\n"
    )
    scripted = world.find(*query, "--json")
    assert scripted.exit_code == 2
    assert json.loads(scripted.stdout)["error"]["exitCode"] == 2


@pytest.mark.parametrize(
    ("gtin", "message"),
    [
        ("950600013435x", "--gtin takes 8 to 14 digits, not '950600013435x'"),
        ("123456789012345", "--gtin takes 8 to 14 digits, not '123456789012345'"),
        ("09506000134353", "--gtin 09506000134353: wrong check digit (a GTIN ending 2)"),
        ("9506000134351", "--gtin 9506000134351: wrong check digit (a GTIN ending 2)"),
    ],
)
def test_a_gtin_that_is_no_gtin_exits_2(world: World, gtin: str, message: str) -> None:
    result = world.find("--gtin", gtin)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"bpl: {message}\n"


def test_find_reads_a_database_url_alone(world: World) -> None:
    url = f"sqlite:///{world.home / 'ledger.db'}"
    by_url = bpl("passport", "find", "--gtin", v2_data.GTIN, "--database-url", url, "--json")
    assert json.loads(ok(by_url).stdout) == json.loads(
        ok(world.find("--gtin", v2_data.GTIN, "--json")).stdout
    )

"""The append rules v2 records add (ledger/core/rules.py): battery models, validated and
unique battery ids, several successors, partial recycling, the authorities' roles. Over
the in-memory view of test_rules.py, with no database and no signatures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.ledger.test_rules import (
    OTHER,
    PASSPORT,
    SUCCESSOR,
    Submission,
    World,
    did,
)

MODEL = "https://id.example.com/01/09506000134352"
MODULE_A = "urn:bpl:passport:1a1a1a1a-0000-4000-8000-00000000000a"
MODULE_B = "urn:bpl:passport:1b1b1b1b-0000-4000-8000-00000000000b"
BATTERY_ID = "https://id.example.com/01/09506000134352/21/SN-0001"
# The same battery written another way: another host, the GTIN-13 form of the GTIN.
SAME_BATTERY = "https://resolver.example.org/01/9506000134352/21/SN-0001"


class V2(World):
    """test_rules' world, writing v2 records."""

    def model(self, by: str = "maker", model_id: str = MODEL) -> Submission:
        public = {"modelName": "Pack 75", "category": "EV", "chemistry": "NMC811"}
        return self.build("BatteryModelPublished", model_id, by, public, version="v2")

    def issue_v2(
        self,
        passport: str,
        by: str = "maker",
        *,
        battery_id: str = BATTERY_ID,
        predecessors: Sequence[str] = (),
        status: str = "original",
        model_record: str | None = None,
    ) -> Submission:
        head = self.view.head(MODEL)
        public: dict[str, Any] = {
            "batteryId": battery_id,
            "model": {"id": MODEL, "record": model_record or (head.record_hash if head else "")},
            "manufacturer": did(by),
            "manufacturedOn": "2031-01-10",
        }
        if predecessors:
            public["predecessors"] = list(predecessors)
        restricted = {"performance": {"status": status}}
        return self.build("PassportIssued", passport, by, public, restricted, version="v2")

    def v2(
        self,
        kind: str,
        passport: str,
        by: str,
        public: dict[str, Any] | None = None,
        restricted: dict[str, dict[str, Any]] | None = None,
    ) -> Submission:
        return self.build(kind, passport, by, public, restricted, version="v2")


@pytest.fixture
def world() -> V2:
    world = V2()
    world.accept(world.bootstrap())
    for name, roles in {
        "maker": ("manufacturer",),
        "rival": ("manufacturer",),
        "dismantler": ("dismantler",),
        "recycler": ("recycler",),
        "inspector": ("market-surveillance",),
        "notified": ("notified-body",),
    }.items():
        world.accept(world.registration(name, roles))
    world.accept(world.model())
    return world


# --------------------------------------------------------------------------- models


def test_a_model_is_published_by_a_manufacturer_and_revised_by_it_alone(world: V2) -> None:
    world.refuse(world.model("dismantler", "urn:bpl:model:x"), "role", "BatteryModelPublished")
    world.refuse(world.model("rival"), "model", "revised by its publisher")
    effects = world.accept(world.model("maker"))
    assert effects.head.sequence == 1
    assert effects.head.custodian == did("maker")


def test_a_passport_names_a_published_model(world: V2) -> None:
    submission = world.issue_v2(PASSPORT)
    submission.record["credentialSubject"]["model"]["id"] = "urn:bpl:model:nowhere"
    world.refuse(submission, "model", "is not published")


def test_a_passport_names_its_models_current_record(world: V2) -> None:
    first = world.view.head(MODEL)
    assert first is not None
    world.accept(world.model())
    world.refuse(
        world.issue_v2(PASSPORT, model_record=first.record_hash), "model", "current record is"
    )
    world.accept(world.issue_v2(PASSPORT))


def test_a_model_chain_takes_no_battery_record_and_a_passport_no_model(world: V2) -> None:
    world.refuse(
        world.v2("StatusChange", MODEL, "maker", {}, {"performance": {"status": "waste"}}),
        "sequence",
        "is a battery model",
    )
    world.accept(world.issue_v2(PASSPORT))
    world.refuse(world.model("maker", PASSPORT), "sequence", "not a battery model")


# --------------------------------------------------------------------------- battery ids


@pytest.mark.parametrize(
    "battery_id",
    [
        "SN-0001",  # free text, as v1 allowed
        "https://id.example.com/01/09506000134353/21/SN-0001",  # wrong check digit
        "https://id.example.com/01/09506000134352",  # a model, not one battery
        "https://id.example.com/01/09506000134352/21/SN 0001",  # a space in the serial
    ],
)
def test_a_v2_passport_needs_a_valid_battery_id(world: V2, battery_id: str) -> None:
    world.refuse(world.issue_v2(PASSPORT, battery_id=battery_id), "battery-id", "")


def test_a_battery_has_one_live_passport(world: V2) -> None:
    world.accept(world.issue_v2(PASSPORT))
    world.refuse(world.issue_v2(OTHER, battery_id=SAME_BATTERY), "battery-id", PASSPORT)
    world.refuse(world.issue_v2(OTHER, by="rival"), "battery-id", "live passport")
    # Another battery is another matter.
    world.accept(world.issue_v2(OTHER, battery_id=BATTERY_ID.replace("SN-0001", "SN-0002")))


def test_a_successor_of_the_live_passport_may_share_its_battery_id(world: V2) -> None:
    """A battery prepared for re-use gets a new passport for the same battery."""
    world.accept(world.issue_v2(PASSPORT))
    world.accept(world.transfer(PASSPORT, "maker", "dismantler"))
    successor = world.issue_v2(SUCCESSOR, "dismantler", predecessors=[PASSPORT], status="re-used")
    effects = world.accept(successor)
    assert effects.battery is not None
    assert world.view.passports_of(effects.battery) == [PASSPORT, SUCCESSOR]


def test_a_closed_passport_frees_its_battery_id(world: V2) -> None:
    world.accept(world.issue_v2(PASSPORT))
    world.accept(world.transfer(PASSPORT, "maker", "recycler"))
    world.accept(world.v2("Recycled", PASSPORT, "recycler", {"scope": "whole"}, {}))
    world.accept(world.issue_v2(OTHER))


# --------------------------------------------------------------------------- successors


def test_a_pack_split_into_modules_has_several_successors(world: V2) -> None:
    world.accept(world.issue_v2(PASSPORT))
    world.accept(world.transfer(PASSPORT, "maker", "dismantler"))
    for module, serial in ((MODULE_A, "M-A"), (MODULE_B, "M-B")):
        world.accept(
            world.issue_v2(
                module,
                "dismantler",
                battery_id=BATTERY_ID.replace("SN-0001", serial),
                predecessors=[PASSPORT],
                status="repurposed",
            )
        )
    world.refuse(
        world.v2("PassportSucceeded", PASSPORT, "dismantler", {"successors": [MODULE_A, OTHER]}),
        "successor",
        OTHER,
    )
    effects = world.accept(
        world.v2("PassportSucceeded", PASSPORT, "dismantler", {"successors": [MODULE_A, MODULE_B]})
    )
    assert effects.head.closed


def test_partial_recycling_leaves_the_passport_open(world: V2) -> None:
    world.accept(world.issue_v2(PASSPORT))
    world.accept(world.transfer(PASSPORT, "maker", "recycler"))
    part = world.accept(world.v2("Recycled", PASSPORT, "recycler", {"scope": "part"}, {}))
    assert not part.head.closed
    whole = world.accept(world.v2("Recycled", PASSPORT, "recycler", {"scope": "whole"}, {}))
    assert whole.head.closed


# --------------------------------------------------------------------------- roles


def test_authorities_attach_documents_but_write_no_battery_event(world: V2) -> None:
    world.accept(world.issue_v2(PASSPORT))
    document = {"documentHash": "sha256:" + "1" * 64, "mediaType": "application/pdf"}
    world.accept(world.v2("DocumentAttached", PASSPORT, "inspector", document))
    world.accept(world.v2("DocumentAttached", PASSPORT, "notified", document))
    change = world.v2(
        "StatusChange", PASSPORT, "inspector", {}, {"performance": {"status": "waste"}}
    )
    world.refuse(change, "role", "StatusChange needs one of the roles")

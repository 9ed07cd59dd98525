"""The ledger's gate on SQLite and PostgreSQL: a battery's life accepted end to end, every
append rule refusing its named bad case with nothing stored, replays, batches and
concurrent writers that never fork a chain."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import audit
from ledger import facade as service
from ledger.core import admission, contexts, records
from ledger.core.access import OPERATOR_READER as OPERATOR
from ledger.errors import LedgerError, RecordRejected, StaleRecord, StoreError
from ledger.facade import Ledger, Receipt
from ledger.log import checkpoint, merkle
from ledger.storage import ledger_rows as ledger_store
from signing import keys, proofs
from tests.hypothesis_profiles import examples
from tests.ledger.world import (
    MANUFACTURED,
    STRICT_MEASURES,
    TEST_MEASURES,
    World,
    document_hash,
    policy_file,
)

PASSPORT = "urn:bpl:passport:0b6f2a8e-3c1d-4f5e-8a9b-1c2d3e4f5a6b"


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    operator = keys.generate()
    ledger = Ledger.init(tmp_path / "data", operator, origin="test.bpl.example/log")
    world = World(ledger, operator)
    world.add("maker", "manufacturer")
    world.add("dismantler", "dismantler")
    world.add("lab", "test-lab")
    world.add("recycler", "recycler")
    world.add("repurposer", "repurposer")
    world.add("carrier", "carrier")
    yield world
    ledger.engine.dispose()


def waste_shipment(world: World, consignor: str, consignee: str) -> dict[str, Any]:
    """The restricted part of a Shipment of one waste battery for recycling (ADR SP 377)."""
    return {
        "legitimate-interest": {
            "consignor": world.actors[consignor].did,
            "consignee": world.actors[consignee].did,
            "dangerousGoods": {
                "unNumber": "UN3480",
                "properShippingName": "LITHIUM ION BATTERIES",
                "class": "9",
                "specialProvisions": [377],
                "packingInstruction": "P909",
                "packages": 1,
                "grossMass": 480.0,
            },
            "waste": True,
        }
    }


def snapshot(world: World) -> tuple[int, Any]:
    """What a refused record must leave untouched: the log size and the passport's head."""
    return world.ledger.log.size(), world.ledger.head(PASSPORT)


def test_a_battery_life_is_accepted_with_receipts(world: World) -> None:
    receipts = [world.issue(PASSPORT)]
    receipts.append(world.transfer(PASSPORT, "maker", "dismantler"))
    receipts.append(
        world.submit(
            "DiagnosticTest",
            PASSPORT,
            "lab",
            {"testedOn": "2031-05-02"},
            {"legitimate-interest": TEST_MEASURES},
        )
    )
    receipts.append(
        world.submit(
            "Shipment",
            PASSPORT,
            "dismantler",
            {"shipmentId": "SHP-1"},
            waste_shipment(world, "dismantler", "recycler"),
        )
    )
    receipts.append(
        world.submit(
            "ShipmentReceived",
            PASSPORT,
            "recycler",
            {"shipmentId": "SHP-1"},
            {"legitimate-interest": {"condition": "intact"}},
        )
    )
    receipts.append(world.transfer(PASSPORT, "dismantler", "recycler", "waste-handover"))
    receipts.append(
        world.submit(
            "StatusChange", PASSPORT, "recycler", {}, {"legitimate-interest": {"status": "waste"}}
        )
    )
    receipts.append(
        world.submit(
            "Recycled",
            PASSPORT,
            "recycler",
            {},
            {
                "legitimate-interest": {
                    "recovered": {"Li": 3.1, "Co": 4.2, "Ni": 20.5},
                    "inputMass": 450.0,
                    "process": "hydrometallurgical",
                }
            },
        )
    )
    head = world.ledger.head(PASSPORT)
    assert head is not None
    assert (head.sequence, head.custodian, head.status, head.closed) == (
        7,
        world.actors["recycler"].did,
        "waste",
        True,
    )
    chain = world.ledger.chain(PASSPORT)
    assert [r["credentialSubject"]["sequence"] for r in chain] == list(range(8))
    for receipt, record in zip(receipts, chain, strict=True):
        assert receipt.record_hash == records.record_hash(record)
        head_note = checkpoint.verify(receipt.checkpoint, world.ledger.verifier_key)
        assert head_note.size == receipt.inclusion.size
        receipt.inclusion.verify(head_note.root)
        assert receipt.inclusion.leaf_hash == merkle.leaf_hash(records.canonical(record))
    # Restricted values never reach the log; their disclosures are stored beside it.
    leaves = b"".join(world.ledger.log.leaves(0, world.ledger.log.size()))
    assert b"hydrometallurgical" not in leaves and b"waste-handover" not in leaves
    assert (
        world.ledger.disclosures(receipts[-1].record_hash, OPERATOR)["legitimate-interest"][
            "process"
        ]
        == "hydrometallurgical"
    )


def test_resubmitting_returns_the_same_receipt_and_stores_nothing(world: World) -> None:
    submission = world.issued_record(PASSPORT)
    first = world.ledger.append(submission)
    size = world.ledger.log.size()
    again = world.ledger.append(copy.deepcopy(submission))
    assert (again.record_hash, again.leaf_index) == (first.record_hash, first.leaf_index)
    assert world.ledger.log.size() == size
    assert first.appended and not again.appended  # the service answers 201, then 200


def test_an_earlier_record_resubmitted_with_new_ones_gets_its_receipt(
    world: World, tmp_path: Path
) -> None:
    """A stored record is recognised by its chain position (not looked up by hash): an
    earlier one, resubmitted in a batch beside new records, and again after the ledger was
    reopened (nothing kept from the last commit), gets its own receipt back."""
    genesis = world.issued_record(PASSPORT)
    first = world.ledger.append(genesis)
    world.transfer(PASSPORT, "maker", "dismantler")
    test = world.diagnostic(PASSPORT, TEST_MEASURES, lab="dismantler")
    again, fresh = world.ledger.append_many([copy.deepcopy(genesis), test])
    assert (again.record_hash, again.leaf_index) == (first.record_hash, first.leaf_index)
    assert fresh.leaf_index == first.leaf_index + 2 and fresh.sequence == 2
    assert fresh.appended and not again.appended
    size = world.ledger.log.size()
    reopened = Ledger.open(tmp_path / "data")
    assert reopened.append_many([test, genesis])[1].leaf_index == first.leaf_index
    assert reopened.log.size() == size
    reopened.engine.dispose()


@pytest.fixture
def epochs_of_two_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash keys with epochs of two leaves (before the ledger writes any record)."""
    monkeypatch.setattr(ledger_store, "HASH_KEY_EPOCH_BITS", 1)


def test_records_are_found_by_hash_in_every_epoch(epochs_of_two_leaves: None, world: World) -> None:
    """Disclosures are served by record hash through the hash key, one seek per epoch of
    leaves: with epochs of two leaves, records spread over several are all found."""
    world.issue(PASSPORT)
    world.transfer(PASSPORT, "maker", "dismantler")
    world.transfer(PASSPORT, "dismantler", "maker", "return")
    for record in world.ledger.chain(PASSPORT):
        assert world.ledger.disclosures(records.record_hash(record), OPERATOR)[
            "legitimate-interest"
        ]
    assert world.ledger.log.size() > 8  # over four epochs
    assert world.ledger.audit().ok
    assert world.ledger.disclosures("sha256:" + "0" * 64, OPERATOR) == {}
    assert world.ledger.disclosures("not a hash", OPERATOR) == {}


def tamper_disclosure(submission: dict[str, Any]) -> None:
    submission["disclosures"][0]["status"] = "re-used"


def clear_restricted(submission: dict[str, Any]) -> None:
    submission["record"]["credentialSubject"]["status"] = "original"


BAD_CASES: dict[str, tuple[Callable[[World], dict[str, Any]], str]] = {
    "disclosure-does-not-match-digest": (
        lambda w: _mutated(
            w.record(
                "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
            ),
            tamper_disclosure,
        ),
        "disclosure",
    ),
    "restricted-field-in-clear": (
        lambda w: _signed_after(w, "maker", clear_restricted),
        "schema",
    ),
    "dismantler-issues-a-passport": (
        lambda w: w.record(
            "PassportIssued",
            "urn:bpl:passport:other",
            "dismantler",
            dict(MANUFACTURED, manufacturer=w.actors["dismantler"].did),
            {"legitimate-interest": {"status": "original"}},
        ),
        "role",
    ),
    "transfer-with-one-signature": (
        lambda w: w.record(
            "CustodyTransfer",
            PASSPORT,
            "maker",
            {"from": w.actors["maker"].did, "to": w.actors["dismantler"].did},
            {"legitimate-interest": {"reason": "sale"}},
        ),
        "custody",
    ),
    "shipment-by-a-party-without-custody": (
        lambda w: w.record(
            "Shipment",
            PASSPORT,
            "dismantler",
            {"shipmentId": "S-9"},
            waste_shipment(w, "dismantler", "recycler"),
        ),
        "custody",
    ),
    "stale-sequence": (
        lambda w: _stale(w),  # noqa: PLW0108 (_stale is defined below)
        "sequence",
    ),
    "future-sequence": (
        lambda w: w.record(
            "StatusChange",
            PASSPORT,
            "maker",
            {},
            {"legitimate-interest": {"status": "waste"}},
            position=(5, w.ledger.next_position(PASSPORT)[1]),
        ),
        "sequence",
    ),
    "unregistered-signer": (
        lambda w: w.record(
            "StatusChange",
            PASSPORT,
            keys.generate(),
            {},
            {"legitimate-interest": {"status": "waste"}},
        ),
        "signer",
    ),
    "status-transition-not-allowed": (
        lambda w: w.record(
            "StatusChange",
            PASSPORT,
            "maker",
            {},
            {"legitimate-interest": {"status": "remanufactured"}},
        ),
        "status",
    ),
    "successor-of-a-missing-passport": (
        lambda w: w.record(
            "PassportIssued",
            "urn:bpl:passport:successor",
            "repurposer",
            dict(
                MANUFACTURED,
                manufacturer=w.actors["repurposer"].did,
                predecessors=["urn:bpl:passport:nowhere"],
            ),
            {"legitimate-interest": {"status": "repurposed"}},
        ),
        "successor",
    ),
    "successor-of-a-passport-held-by-another": (
        lambda w: w.record(
            "PassportIssued",
            "urn:bpl:passport:successor",
            "repurposer",
            dict(MANUFACTURED, manufacturer=w.actors["repurposer"].did, predecessors=[PASSPORT]),
            {"legitimate-interest": {"status": "repurposed"}},
        ),
        "custody",
    ),
    "grade-not-what-its-policy-gives": (
        lambda w: w.record(
            "DiagnosticTest",
            PASSPORT,
            "lab",
            {"testedOn": "2031-05-02"},
            {"legitimate-interest": dict(TEST_MEASURES, soce=55.0)},  # says reuse
        ),
        "grade",
    ),
    "unknown-grading-policy": (
        lambda w: _graded_under(w, id="my-own", version="9"),
        "grade",
    ),
    "graded-under-other-rules": (  # the policy's id and version, another document's digest
        lambda w: _graded_under(w, digest="sha256:" + "ab" * 32),
        "grade",
    ),
    "unknown-context": (
        lambda w: _mutated(
            w.record(
                "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
            ),
            lambda s: s["record"]["@context"].append("https://example.org/unknown/v1"),
        ),
        "schema",
    ),
    "wrong-kind-to-start-a-passport": (
        lambda w: w.record(
            "StatusChange",
            "urn:bpl:passport:new",
            "maker",
            {},
            {"legitimate-interest": {"status": "waste"}},
            position=(0, None),
        ),
        "schema",
    ),
    "missing-field": (
        lambda w: w.record(
            "CustodyTransfer",
            PASSPORT,
            "maker",
            {"from": w.actors["maker"].did},
            {"legitimate-interest": {"reason": "sale"}},
            cosigners=["dismantler"],
        ),
        "schema",
    ),
    "altered-after-signing": (
        lambda w: _mutated(
            w.record(
                "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
            ),
            lambda s: s["record"].__setitem__("validFrom", "2031-01-01T00:00:00Z"),
        ),
        "proof",
    ),
    "unsigned": (
        lambda w: _mutated(
            w.record(
                "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
            ),
            lambda s: s["record"].pop("proof"),
        ),
        "proof",
    ),
    "ten-megabyte-record": (
        lambda w: _mutated(
            w.record(
                "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
            ),
            lambda s: s["record"].__setitem__("padding", "x" * 10_000_000),
        ),
        "size",
    ),
}


def _stale(world: World) -> dict[str, Any]:
    """A record built on the head, submitted after someone else appended to it."""
    position = world.ledger.next_position(PASSPORT)
    world.submit(
        "DocumentAttached",
        PASSPORT,
        "maker",
        {"documentHash": document_hash(b"first"), "mediaType": "application/pdf"},
        {"legitimate-interest": {"documentType": "invoice"}},
    )
    return world.record(
        "StatusChange",
        PASSPORT,
        "maker",
        {},
        {"legitimate-interest": {"status": "waste"}},
        position=position,
    )


def _graded_under(world: World, **policy: str) -> dict[str, Any]:
    """A lab's DiagnosticTest naming the bundled policy with ``policy``'s fields changed."""
    reference = dict(TEST_MEASURES["gradingPolicy"], **policy)
    return world.record(
        "DiagnosticTest",
        PASSPORT,
        "lab",
        {"testedOn": "2031-05-02"},
        {"legitimate-interest": dict(TEST_MEASURES, gradingPolicy=reference)},
    )


def _mutated(submission: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    change(submission)
    return submission


def _signed_after(
    world: World, signer: str, change: Callable[[dict[str, Any]], Any]
) -> dict[str, Any]:
    """A record changed before signing (so the proof is good and the rule is the schema's)."""
    sequence, previous = world.ledger.next_position(PASSPORT)
    record, disclosures = records.build(
        "StatusChange",
        PASSPORT,
        sequence,
        previous,
        world.actors[signer].did,
        {},
        {"legitimate-interest": {"status": "waste"}},
        version="v1",
    )
    submission = {"record": record, "disclosures": disclosures}
    change(submission)
    submission["record"] = proofs.sign(record, world.actors[signer], loader=contexts.loader())
    return submission


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_rule_refuses_its_bad_case_and_stores_nothing(world: World, case: str) -> None:
    world.issue(PASSPORT)
    make, rule = BAD_CASES[case]
    submission = make(world)
    before = snapshot(world)
    with pytest.raises(RecordRejected) as refused:
        world.ledger.append(submission)
    assert refused.value.rule == rule, str(refused.value)
    assert snapshot(world) == before


def admitted_alone(submission: Any) -> object:
    """check_submission's verdict: the Checked record, or the refusal's rule and message."""
    try:
        return admission.check_submission(submission)
    except RecordRejected as exc:
        return (exc.rule, str(exc))


@pytest.mark.parametrize("chunk", [admission.STAGE_CHUNK, 3], ids=["one-chunk", "chunks-of-3"])
def test_a_batch_is_admitted_with_each_record_s_own_verdict(
    world: World, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """check_submissions runs the checks stage by stage over a chunk of records: every bad
    case and good records in one batch get exactly check_submission's verdict each, in
    order (a refused record leaves the later stages, the others go on), whether the batch
    fits one chunk or spans many."""
    monkeypatch.setattr(admission, "STAGE_CHUNK", chunk)
    world.issue(PASSPORT)
    good = world.diagnostic(PASSPORT, TEST_MEASURES)
    batch: list[Any] = [good]
    for make, _ in BAD_CASES.values():
        batch += [make(world), good]
    batch += [b"{not json", b"[]", json.dumps({"record": 3}).encode()]
    outcomes = admission.check_submissions(batch)
    assert [(o.rule, str(o)) if isinstance(o, RecordRejected) else o for o in outcomes] == [
        admitted_alone(submission) for submission in batch
    ]
    assert sum(isinstance(o, RecordRejected) for o in outcomes) > len(BAD_CASES) // 2
    assert admission.check_submissions([]) == []


def test_a_stale_record_carries_the_current_head(world: World) -> None:
    genesis = world.issue(PASSPORT)
    receipt = world.transfer(PASSPORT, "maker", "dismantler")
    stale = world.record(
        "StatusChange",
        PASSPORT,
        "dismantler",
        {},
        {"legitimate-interest": {"status": "waste"}},
        position=(1, genesis.record_hash),
    )
    with pytest.raises(StaleRecord) as refused:
        world.ledger.append(stale)
    assert (refused.value.head_sequence, refused.value.head_hash) == (1, receipt.record_hash)


def test_nothing_is_accepted_after_recycled(world: World) -> None:
    world.issue(PASSPORT)
    world.transfer(PASSPORT, "maker", "recycler", "waste-handover")
    world.submit(
        "Recycled",
        PASSPORT,
        "recycler",
        {},
        {
            "legitimate-interest": {
                "recovered": {"Li": 1.0},
                "inputMass": 400.0,
                "process": "pyrometallurgical",
            }
        },
    )
    with pytest.raises(RecordRejected, match="closed"):
        world.submit(
            "DocumentAttached",
            PASSPORT,
            "recycler",
            {"documentHash": document_hash(b"late"), "mediaType": "application/pdf"},
            {"legitimate-interest": {"documentType": "invoice"}},
        )


def test_a_revoked_key_signs_nothing_after_its_revocation(world: World) -> None:
    world.issue(PASSPORT)
    maker = world.actors["maker"]
    world.ledger.revoke_key(world.operator, maker.did, maker.verification_method, "compromised")
    with pytest.raises(RecordRejected) as refused:
        world.submit(
            "StatusChange", PASSPORT, "maker", {}, {"legitimate-interest": {"status": "waste"}}
        )
    assert refused.value.rule == "signer"
    assert "revoked" in str(refused.value)
    assert len(world.ledger.chain(PASSPORT)) == 1  # the record before stays


def test_a_successor_passport_links_its_original(world: World) -> None:
    world.issue(PASSPORT)
    world.transfer(PASSPORT, "maker", "repurposer", "repurposing")
    successor = "urn:bpl:passport:successor-1"
    world.submit(
        "PassportIssued",
        successor,
        "repurposer",
        dict(MANUFACTURED, manufacturer=world.actors["repurposer"].did, predecessors=[PASSPORT]),
        {"legitimate-interest": {"status": "repurposed"}},
    )
    world.submit("PassportSucceeded", PASSPORT, "repurposer", {"successor": successor})
    original = world.ledger.head(PASSPORT)
    assert original is not None and original.closed
    new = world.ledger.head(successor)
    assert new is not None and new.predecessors == (PASSPORT,) and new.status == "repurposed"


def test_a_refused_record_refuses_its_whole_batch(world: World) -> None:
    world.issue(PASSPORT)
    first = world.transfer_record(PASSPORT, "maker", "dismantler")
    bad = world.record(
        "PassportIssued",
        "urn:bpl:passport:b",
        "dismantler",
        dict(MANUFACTURED, manufacturer=world.actors["dismantler"].did),
        {"legitimate-interest": {"status": "original"}},
    )
    before, rows = snapshot(world), row_counts(world)
    with pytest.raises(RecordRejected) as refused:
        world.ledger.append_many([first, bad])
    assert (refused.value.index, refused.value.rule) == (1, "role")
    assert snapshot(world) == before
    assert row_counts(world) == rows  # the rows sent before the rules ran are rolled back


def row_counts(world: World) -> dict[str, int]:
    """Rows in every table an append writes."""
    tables = ["log_leaves", "log_leaf_index", "log_tiles", "log_checkpoints"]
    tables += ["ledger_records", "ledger_disclosures", "ledger_heads", "ledger_keys"]
    with world.ledger.engine.connect() as connection:
        return {
            table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in tables
        }


def test_a_batch_registers_an_actor_that_signs_later_in_it(world: World) -> None:
    """Actor records change what the rules read next: such a batch runs its rules before
    any of its rows are written."""
    second_maker = keys.generate()
    registered, disclosures = records.build(
        "ActorRegistered",
        second_maker.did,
        0,
        None,
        world.operator.did,
        {
            "roles": ["manufacturer"],
            "keys": [second_maker.verification_method],
            "publicProfile": False,
        },
        {"legitimate-interest": {"name": "Second Maker"}},
        version="v1",
    )
    signed = proofs.sign(registered, world.operator, loader=contexts.loader())
    registration = {"record": signed, "disclosures": disclosures}
    world.actors["second"] = second_maker
    issued = world.record(
        "PassportIssued",
        PASSPORT,
        "second",
        dict(MANUFACTURED, manufacturer=second_maker.did),
        {"legitimate-interest": {"status": "original"}},
    )
    receipts = world.ledger.append_many([registration, issued])
    assert receipts[1].leaf_index == receipts[0].leaf_index + 1
    assert world.ledger.audit().ok


def test_the_rules_cannot_read_while_a_batch_is_being_written(world: World) -> None:
    """While a batch's rows are in flight (a PostgreSQL pipeline), a read would not see its
    rows: the view refuses to read rather than answer wrongly."""
    with world.ledger.engine.connect() as connection:
        view = ledger_store.LedgerView(connection)
        view.prefetch([PASSPORT], [])
        with view.without_reads():
            assert view.head(PASSPORT) is None  # prefetched: no read needed
            with pytest.raises(LedgerError, match="chain heads not prefetched"):
                view.head("urn:bpl:passport:never-prefetched")
            with pytest.raises(LedgerError, match="keys not prefetched"):
                view.key("did:key:z6MkNeverPrefetched#z6MkNeverPrefetched")
        assert view.head("urn:bpl:passport:never-prefetched") is None  # reads again


def test_a_batch_chains_records_of_one_passport(world: World) -> None:
    issued = world.record(
        "PassportIssued",
        PASSPORT,
        "maker",
        dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
        {"legitimate-interest": {"status": "original"}},
    )
    issued_hash = records.record_hash(issued["record"])
    test = world.record(
        "DiagnosticTest",
        PASSPORT,
        "lab",
        {"testedOn": "2031-05-02"},
        {"legitimate-interest": TEST_MEASURES},
        position=(1, issued_hash),
    )
    receipts = world.ledger.append_many([issued, test])
    assert [r.sequence for r in receipts] == [0, 1]
    assert receipts[1].leaf_index == receipts[0].leaf_index + 1


def chained_batch(world: World, passports: list[str], tests: int) -> list[dict[str, Any]]:
    """A batch that issues ``passports`` and then tests each ``tests`` times in turn, every
    record chained to the one before it on its passport."""
    batch = [world.issued_record(passport) for passport in passports]
    last = {p: (0, records.record_hash(r["record"])) for p, r in zip(passports, batch, strict=True)}
    for _ in range(tests):
        for passport in passports:
            sequence, previous = last[passport]
            test = world.record(
                "DiagnosticTest",
                passport,
                "lab",
                {"testedOn": "2031-05-02"},
                {"legitimate-interest": TEST_MEASURES},
                position=(sequence + 1, previous),
            )
            last[passport] = (sequence + 1, records.record_hash(test["record"]))
            batch.append(test)
    return batch


def test_a_batch_writes_its_heads_in_parts(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a batch's heads are written every ``HEADS_PART`` records: a head first
    written (inserted) in one part and changed again in later ones ends as its chain's
    last record, and the audit agrees with every stored head."""
    monkeypatch.setattr(service, "HEADS_PART", 3)
    passports = [f"urn:bpl:passport:part-{n}" for n in range(4)]
    batch = chained_batch(world, passports, tests=3)
    receipts = world.ledger.append_many(batch)
    for passport in passports:
        head = world.ledger.head(passport)
        assert head is not None
        last = [r for r in receipts if r.subject_id == passport][-1]
        assert (head.sequence, head.record_hash) == (3, last.record_hash)
    assert world.ledger.audit().ok


def test_a_refusal_after_heads_were_written_stores_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Heads written by the earlier parts of a batch are rolled back with it."""
    monkeypatch.setattr(service, "HEADS_PART", 2)
    world.issue(PASSPORT)
    batch = chained_batch(world, ["urn:bpl:passport:part-a", "urn:bpl:passport:part-b"], 2)
    head = world.ledger.head(PASSPORT)
    assert head is not None
    stale = world.record(  # the head is at 0
        "DiagnosticTest",
        PASSPORT,
        "lab",
        {"testedOn": "2031-05-02"},
        {"legitimate-interest": TEST_MEASURES},
        position=(5, head.record_hash),
    )
    before, rows = snapshot(world), row_counts(world)
    with pytest.raises(RecordRejected) as refused:
        world.ledger.append_many([*batch, stale])
    assert (refused.value.index, refused.value.rule) == (len(batch), "sequence")
    assert snapshot(world) == before
    assert row_counts(world) == rows
    assert world.ledger.head("urn:bpl:passport:part-a") is None


def test_concurrent_writers_never_fork_a_chain(world: World) -> None:
    world.issue(PASSPORT)

    def write(n: int) -> int:
        ledger = Ledger(world.ledger.log, world.ledger.verifier_key)
        accepted = 0
        for attempt in range(40):
            submission = world.record(
                "DocumentAttached",
                PASSPORT,
                "maker",
                {
                    "documentHash": document_hash(f"{n}-{attempt}".encode()),
                    "mediaType": "application/pdf",
                },
                {"legitimate-interest": {"documentType": "invoice"}},
            )
            try:
                ledger.append(submission)
                accepted += 1
            except StaleRecord:
                continue
        return accepted

    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(write, range(4)))
    chain = world.ledger.chain(PASSPORT)
    assert len(chain) == accepted + 1
    previous = None
    for sequence, record in enumerate(chain):
        subject = record["credentialSubject"]
        assert subject["sequence"] == sequence
        assert subject.get("previous") == previous
        previous = records.record_hash(record)


def a_short_life(world: World, tmp_path: Path) -> None:
    """A passport issued, handed over and tested twice: under the bundled grading policy,
    and under one the ledger registered (acme-strict)."""
    world.issue(PASSPORT)
    world.transfer(PASSPORT, "maker", "dismantler")
    world.ledger.append(world.diagnostic(PASSPORT, TEST_MEASURES))
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    world.ledger.append(world.diagnostic(PASSPORT, STRICT_MEASURES))


def test_audit_and_chain_verification_pass_on_an_honest_ledger(
    world: World, tmp_path: Path
) -> None:
    a_short_life(world, tmp_path)
    report = world.ledger.audit()
    assert report.ok, report
    assert report.records == world.ledger.log.size()
    chain = world.ledger.verify_chain(PASSPORT)
    assert chain.ok and chain.records == 4


LEAF_OF_TRANSFER = "SELECT leaf_index FROM ledger_records WHERE sequence = 1 AND subject_id = :p"

TAMPERING = {
    "record-bytes-edited": (
        f"UPDATE log_leaves SET data = :b WHERE idx = ({LEAF_OF_TRANSFER})",
        lambda body: body.replace(b'"sale"', b'"sold"').replace(b"z", b"y", 1),
        "does not match its stored hash",
    ),
    "disclosure-deleted": (
        "DELETE FROM ledger_disclosures WHERE leaf_index = "
        "(SELECT leaf_index FROM ledger_records WHERE sequence = 2 AND subject_id = :p)",
        None,
        "disclosure",
    ),
    "hash-key-edited": (
        "UPDATE ledger_records SET hash_key = hash_key + 1 WHERE sequence = 1 AND subject_id = :p",
        None,
        "hash key does not match",
    ),
    "disclosure-added-beyond-the-log": (
        "INSERT INTO ledger_disclosures (leaf_index, grp, body) "
        "SELECT leaf_index + 1000, grp, body FROM ledger_disclosures",
        None,
        "disclosures belong to no leaf",
    ),
    "head-rewound": (
        "UPDATE ledger_heads SET sequence = 1 WHERE subject_id = :p",
        None,
        "stored head",
    ),
    "role-granted-outside-the-log": (
        'UPDATE ledger_actors SET roles = \'["authority", "dismantler"]\' '
        "WHERE roles = '[\"dismantler\"]'",
        None,
        "the stored actor did:key:",
    ),
    "revocation-erased": (
        "UPDATE ledger_keys SET revoked = :t",
        None,
        "the stored key did:key:",
    ),
    "records-reordered": (
        "UPDATE ledger_records SET leaf_index = -leaf_index - 1 WHERE subject_id = :p",
        None,
        "leaf index",
    ),
    "grading-policy-edited": (  # reuse from 80 %: the strict test (84.5 %) would be reuse
        "UPDATE ledger_grading_policies SET document = "
        "replace(document, 'minSoh\"\\:85', 'minSoh\"\\:80')",  # \\: a colon, not a :bind
        None,
        "grading policy acme-strict version 2025.1: its stored document has digest",
    ),
    "grading-policy-digest-edited": (
        f"UPDATE ledger_grading_policies SET digest = 'sha256:{'0' * 64}'",
        None,
        "not its stored digest sha256:0000",
    ),
    "record-moved-to-another-chain": (  # chain(P) would miss it: issue 14, item 1
        "UPDATE ledger_records SET subject_id = 'urn:bpl:passport:hidden' "
        "WHERE sequence = 3 AND subject_id = :p",
        None,
        "its row's subject is 'urn:bpl:passport:hidden'",
    ),
    "record-sequence-edited": (
        "UPDATE ledger_records SET sequence = 9 WHERE sequence = 1 AND subject_id = :p",
        None,
        "its row's sequence is 9",
    ),
    "record-kind-edited": (
        "UPDATE ledger_records SET kind = 'Recycled' WHERE sequence = 1 AND subject_id = :p",
        None,
        "its row's kind is 'Recycled'",
    ),
    "record-issuer-edited": (
        "UPDATE ledger_records SET issuer = 'did:example:x' WHERE sequence = 1 AND subject_id = :p",
        None,
        "its row's issuer is 'did:example:x'",
    ),
    "disclosure-relabelled": (  # served to another group's readers: issue 14, item 4
        "UPDATE ledger_disclosures SET grp = 'authority' WHERE leaf_index = "
        "(SELECT leaf_index FROM ledger_records WHERE sequence = 2 AND subject_id = :p)",
        None,
        "its 'legitimate-interest' disclosure is stored under group 'authority'",
    ),
    "head-state-malformed": (  # issue 14, item 5: named, not a crash
        "UPDATE ledger_heads SET state = '{not json' WHERE subject_id = :p",
        None,
        f"the stored head of {PASSPORT} differs",
    ),
    "actor-roles-malformed": (
        "UPDATE ledger_actors SET roles = '[\"dismantler\"' WHERE roles = '[\"dismantler\"]'",
        None,
        "the stored actor did:key:",
    ),
    "grading-policy-deleted": (
        "DELETE FROM ledger_grading_policies",
        None,
        "grade: unknown grading policy acme-strict version 2025.1",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_audit_names_tampering(world: World, case: str, tmp_path: Path) -> None:
    a_short_life(world, tmp_path)
    statement, change, reason = TAMPERING[case]
    with world.ledger.engine.begin() as connection:
        params: dict[str, Any] = {"p": PASSPORT, "t": True}
        if change is not None:
            body = connection.execute(
                sa.text(f"SELECT data FROM log_leaves WHERE idx = ({LEAF_OF_TRANSFER})"), params
            ).scalar_one()
            params["b"] = change(bytes(body))
        connection.execute(sa.text(statement), params)
    report = world.ledger.audit()
    assert not report.ok
    assert reason in (report.reason or ""), report


def test_audit_names_a_logged_record_that_is_not_in_canonical_form(
    world: World, tmp_path: Path
) -> None:
    """A log whose operator logged a record in other bytes than its JCS form (same JSON
    value, so the signature still verifies) is caught: a record hash is of the JCS bytes."""
    a_short_life(world, tmp_path)
    submission = world.record(
        "PassportIssued",
        "urn:bpl:passport:not-canonical",
        "maker",
        dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
        {"legitimate-interest": {"status": "original"}},
    )
    body = json.dumps(submission["record"], indent=1, sort_keys=True).encode()
    record_hash = records.digest(body)
    leaf_index = world.ledger.log.append([body]).first_index
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ledger_records (record_hash, hash_key, subject_id, sequence, "
                "kind, issuer, leaf_index) VALUES (:h, :k, :s, 0, 'PassportIssued', :i, :l)"
            ),
            {
                "h": record_hash,
                "k": ledger_store.hash_key(leaf_index, record_hash),
                "s": "urn:bpl:passport:not-canonical",
                "i": world.actors["maker"].did,
                "l": leaf_index,
            },
        )
        for disclosure in submission["disclosures"]:
            connection.execute(
                sa.text(
                    "INSERT INTO ledger_disclosures (leaf_index, grp, body) VALUES (:l, :g, :b)"
                ),
                {"l": leaf_index, "g": disclosure["group"], "b": records.canonical(disclosure)},
            )
    report = world.ledger.audit()
    assert not report.ok
    assert (report.records, report.record_hash) == (leaf_index, record_hash)
    assert "canonical" in (report.reason or "")


def test_parallel_audit_agrees_with_the_inline_one(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Worker processes admit the records, a few per chunk (graded under the bundled and
    the registered policies, sent to them); the verdicts, and the first bad record named,
    are those of the audit in one process."""
    a_short_life(world, tmp_path)
    monkeypatch.setattr(audit, "CHUNK", 3)  # several chunks in flight
    honest = world.ledger.audit(workers=2)
    assert honest.ok and honest == world.ledger.audit(workers=1)
    statement, _, reason = TAMPERING["disclosure-deleted"]
    with world.ledger.engine.begin() as connection:
        connection.execute(sa.text(statement), {"p": PASSPORT})
    report = world.ledger.audit(workers=2)
    assert not report.ok and reason in (report.reason or "")
    assert report == world.ledger.audit(workers=1)
    assert report.records > audit.CHUNK  # found in a later chunk than the first


def issued_and_transferred(directory: Path) -> World:
    """A new ledger (for one hypothesis example) with PASSPORT issued and transferred."""
    world = World(Ledger.init(directory / "data", (operator := keys.generate())), operator)
    world.add("maker", "manufacturer")
    world.add("dismantler", "dismantler")
    world.issue(PASSPORT)
    world.transfer(PASSPORT, "maker", "dismantler")
    return world


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_flipped_byte_of_a_stored_record_is_caught(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    world = issued_and_transferred(tmp_path_factory.mktemp("flip"))
    with world.ledger.engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT idx, data FROM log_leaves ORDER BY idx")).all()
        # Draws independent of the run's random keys and salts (hypothesis replays them).
        row = rows[data.draw(st.integers(0, len(rows) - 1))]
        body = bytearray(row.data)
        position = int(data.draw(st.floats(0, 1, exclude_max=True)) * len(body))
        body[position] ^= data.draw(st.integers(1, 255))
        connection.execute(
            sa.text("UPDATE log_leaves SET data = :b WHERE idx = :l"),
            {"b": bytes(body), "l": row.idx},
        )
    assert not world.ledger.audit().ok
    world.ledger.engine.dispose()


@settings(
    max_examples=examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_reordering_of_two_stored_records_is_caught(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Swapping the log positions (leaf indexes) of any two stored records is named by the
    audit, at the first position that holds the wrong record."""
    world = issued_and_transferred(tmp_path_factory.mktemp("swap"))
    with world.ledger.engine.begin() as connection:
        rows = connection.execute(
            sa.text("SELECT record_hash, leaf_index FROM ledger_records ORDER BY leaf_index")
        ).all()
        first = data.draw(st.integers(0, len(rows) - 2))
        second = data.draw(st.integers(first + 1, len(rows) - 1))
        a, b = rows[first], rows[second]
        swap = "UPDATE ledger_records SET leaf_index = :to WHERE leaf_index = :at"
        connection.execute(sa.text(swap), {"to": -1, "at": a.leaf_index})
        connection.execute(sa.text(swap), {"to": a.leaf_index, "at": b.leaf_index})
        connection.execute(sa.text(swap), {"to": b.leaf_index, "at": -1})
    report = world.ledger.audit()
    assert not report.ok
    assert report.records == first  # the first position that holds the wrong record
    world.ledger.engine.dispose()


def test_concurrent_processes_never_fork_a_chain(
    world: World, tmp_path: Path, database_url: str
) -> None:
    world.issue(PASSPORT)
    key_file = tmp_path / "maker.json"
    keys.save(world.actors["maker"], key_file)
    env = {**os.environ}
    if database_url.startswith("postgresql"):
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ledger.ledger_writer",
                str(tmp_path / "data"),
                str(key_file),
                PASSPORT,
                f"p{n}",
                "25",
            ],
            cwd=Path(__file__).parents[2],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    accepted = 0
    for writer in writers:
        out, _ = writer.communicate(timeout=300)
        assert writer.returncode == 0
        accepted += int(out.strip())
    chain = world.ledger.chain(PASSPORT)
    assert accepted >= 25  # someone always wins a round
    assert len(chain) == accepted + 1
    previous = None
    for sequence, record in enumerate(chain):
        assert record["credentialSubject"]["sequence"] == sequence
        assert record["credentialSubject"].get("previous") == previous
        previous = records.record_hash(record)
    assert world.ledger.audit().ok


def test_a_commit_by_another_writer_is_seen_by_the_next_commit(
    world: World, tmp_path: Path
) -> None:
    """A ledger keeps the heads its last commit left, but only while the log is still at
    the size that commit left: another writer's commit in between is read, not missed."""
    issued = world.issue(PASSPORT)
    position = (1, issued.record_hash)
    other = Ledger.open(tmp_path / "data")
    try:  # sequence 1, by another writer
        other.append(world.transfer_record(PASSPORT, "maker", "dismantler", position=position))
    finally:
        other.engine.dispose()
    again = world.transfer_record(PASSPORT, "maker", "dismantler", position=position)
    with pytest.raises(StaleRecord) as refused:  # the first ledger sees sequence 1 taken
        world.ledger.append(again)
    assert refused.value.head_sequence == 1
    assert world.ledger.audit().ok


def test_a_refused_batch_leaves_no_remembered_state(world: World) -> None:
    world.issue(PASSPORT)
    good = world.transfer_record(PASSPORT, "maker", "dismantler")
    bad = world.transfer_record("urn:bpl:passport:none", "maker", "dismantler")
    with pytest.raises(RecordRejected) as refused:  # bad: a passport never issued
        world.ledger.append_many([good, bad])  # good's effects were applied, then dropped
    assert refused.value.index == 1
    assert world.ledger.head(PASSPORT).sequence == 0  # type: ignore[union-attr]
    world.ledger.append_many([good])  # seen afresh: sequence 1 is still free
    assert world.ledger.head(PASSPORT).sequence == 1  # type: ignore[union-attr]
    assert world.ledger.audit().ok


def appended(ledger: Ledger, errors: type[Exception] = RecordRejected) -> Callable[[Any], Any]:
    """``ledger.append`` for a thread pool: each submission's receipt, or the error of type
    ``errors`` it raised."""

    def append(submission: Any) -> Any:
        try:
            return ledger.append(submission)
        except errors as exc:
            return exc

    return append


def test_group_commit_gives_each_concurrent_caller_its_own_outcome(world: World) -> None:
    passports = [f"urn:bpl:passport:group-{n}" for n in range(24)]
    submissions = [
        world.record(
            "PassportIssued",
            p,
            "maker",
            dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
            {"legitimate-interest": {"status": "original"}},
        )
        for p in passports
    ]
    bad = world.record(
        "PassportIssued",
        "urn:bpl:passport:group-bad",
        "dismantler",
        dict(MANUFACTURED, manufacturer=world.actors["dismantler"].did),
        {"legitimate-interest": {"status": "original"}},
    )

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(
            pool.map(appended(world.ledger), [*submissions[:12], bad, *submissions[12:]])
        )
    refused = outcomes.pop(12)
    assert isinstance(refused, RecordRejected) and refused.rule == "role"
    note = checkpoint.verify(world.ledger.log.checkpoint(), world.ledger.verifier_key)
    for receipt, submission in zip(outcomes, submissions, strict=True):
        assert receipt.record_hash == records.record_hash(submission["record"])
        receipt.inclusion.verify(
            checkpoint.verify(receipt.checkpoint, world.ledger.verifier_key).root
        )
    assert len({r.leaf_index for r in outcomes}) == 24
    assert note.size == world.ledger.log.size()
    assert world.ledger.head("urn:bpl:passport:group-bad") is None


def test_a_check_that_fails_unexpectedly_reaches_only_its_caller(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Single appends are admitted together; should a check raise something else than a
    refusal (a bug), the group is admitted record by record: only the caller whose record
    trips it hears, the others get their receipts."""
    broken = "urn:bpl:passport:trips-a-bug"
    check_signed = admission._check_signed

    def buggy(candidate: Any) -> None:
        if candidate.record["credentialSubject"]["id"] == broken:
            raise RuntimeError("a bug in a check")
        check_signed(candidate)

    monkeypatch.setattr(admission, "_check_signed", buggy)
    submissions = [
        world.record(
            "PassportIssued",
            passport,
            "maker",
            dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
            {"legitimate-interest": {"status": "original"}},
        )
        for passport in (broken, *(f"urn:bpl:passport:beside-a-bug-{n}" for n in range(7)))
    ]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(appended(world.ledger, RuntimeError), submissions))
    assert isinstance(outcomes[0], RuntimeError) and str(outcomes[0]) == "a bug in a check"
    assert all(getattr(o, "sequence", None) == 0 for o in outcomes[1:]), outcomes
    assert world.ledger.head(broken) is None
    assert world.ledger.audit().ok


def test_group_commit_refuses_a_bad_record_alone_and_keeps_serving(
    world: World, tmp_path: Path
) -> None:
    """The committer thread checks each queued record: a malformed one, a replay and a
    good one in the same moment each get their own outcome; a commit that fails reaches
    its callers, and later appends are still served."""
    first = world.issue("urn:bpl:passport:group-first")
    replay = {"record": world.ledger.chain("urn:bpl:passport:group-first")[0]}
    replay["disclosures"] = [
        {"group": group, **fields}
        for group, fields in world.ledger.disclosures(first.record_hash, OPERATOR).items()
    ]
    fresh = world.record(
        "PassportIssued",
        "urn:bpl:passport:group-second",
        "maker",
        dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
        {"legitimate-interest": {"status": "original"}},
    )

    with ThreadPoolExecutor(3) as pool:
        malformed, again, accepted = pool.map(
            appended(world.ledger), [b'{"record": ', replay, fresh]
        )
    assert isinstance(malformed, RecordRejected) and malformed.rule == "parse"
    assert (again.record_hash, again.leaf_index) == (first.record_hash, first.leaf_index)
    assert accepted.record_hash == records.record_hash(fresh["record"])
    assert world.ledger.log.size() == accepted.leaf_index + 1

    third = world.record(
        "PassportIssued",
        "urn:bpl:passport:group-third",
        "maker",
        dict(MANUFACTURED, manufacturer=world.actors["maker"].did),
        {"legitimate-interest": {"status": "original"}},
    )
    reader = Ledger.open(tmp_path / "data", writable=False)  # no log key: its commits fail
    try:
        with pytest.raises(LedgerError, match="signer key"):
            reader.append(third)
    finally:
        reader.engine.dispose()
    assert world.ledger.head("urn:bpl:passport:group-third") is None
    assert world.ledger.append(third).leaf_index == accepted.leaf_index + 1


# -- chain positions already taken: a refusal, never the database's error -------------------


def slow_rules(monkeypatch: pytest.MonkeyPatch, subject_id: str) -> None:
    """The rules of the record on ``subject_id`` take 0.2 s, and a batch's heads are
    written after every record: a batch that sends its rows first (on PostgreSQL) then
    hears the server's answer to them before its later records' rules run, as a batch of
    many records does."""
    monkeypatch.setattr(service, "HEADS_PART", 1)
    apply_rules = service._apply_rules

    def slow(item: admission.Checked, view: ledger_store.LedgerView) -> Any:
        if item.position[0] == subject_id:
            time.sleep(0.2)
        return apply_rules(item, view)

    monkeypatch.setattr(service, "_apply_rules", slow)


def by_another_writer(tmp_path: Path, submissions: list[dict[str, Any]]) -> list[service.Receipt]:
    """``submissions`` appended by another writer: a Ledger of its own on the database."""
    other = Ledger.open(tmp_path / "data")
    try:
        return other.append_many(submissions)
    finally:
        other.engine.dispose()


def issued_records(world: World, count: int, prefix: str = "crowd") -> list[dict[str, Any]]:
    return [world.issued_record(f"urn:bpl:passport:{prefix}-{n}") for n in range(count)]


@pytest.mark.parametrize("behind", [0, 3], ids=["alone", "behind-new-passports"])
def test_a_batch_record_at_a_position_another_writer_took_is_stale(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behind: int
) -> None:
    """A client builds a record on the head it read; another writer appends at that
    position first. The batch is refused by the sequence rule (StaleRecord, with the head
    as it is now), not by the database's unique chain position (an IntegrityError: the
    batch's rows were sent before its rules ran), and nothing of it is stored."""
    issued = world.issue(PASSPORT)
    position = (1, issued.record_hash)
    mine = world.transfer_record(PASSPORT, "maker", "dismantler", position=position)
    theirs = world.transfer_record(PASSPORT, "maker", "dismantler", "return", position=position)
    (taken,) = by_another_writer(tmp_path, [theirs])
    crowd = issued_records(world, behind)
    slow_rules(monkeypatch, "urn:bpl:passport:crowd-0")
    before, rows = snapshot(world), row_counts(world)
    with pytest.raises(StaleRecord) as refused:
        world.ledger.append_many([*crowd, mine])
    assert refused.value.index == behind
    assert (refused.value.head_sequence, refused.value.head_hash) == (1, taken.record_hash)
    assert snapshot(world) == before
    assert row_counts(world) == rows
    assert len(world.ledger.append_many(crowd)) == behind  # the ledger goes on
    assert world.ledger.audit().ok


@pytest.mark.parametrize("behind", [0, 3], ids=["alone", "behind-new-passports"])
def test_a_batch_claiming_one_position_twice_is_stale(
    world: World, monkeypatch: pytest.MonkeyPatch, behind: int
) -> None:
    """Two records at one chain position in one batch: the second is refused by the
    sequence rule, with the head the first made."""
    issued = world.issue(PASSPORT)
    position = (1, issued.record_hash)
    first = world.transfer_record(PASSPORT, "maker", "dismantler", position=position)
    second = world.transfer_record(PASSPORT, "maker", "dismantler", "return", position=position)
    crowd = issued_records(world, behind)
    slow_rules(monkeypatch, "urn:bpl:passport:crowd-0")
    before, rows = snapshot(world), row_counts(world)
    with pytest.raises(StaleRecord) as refused:
        world.ledger.append_many([*crowd, first, second])
    assert refused.value.index == behind + 1
    head = (refused.value.head_sequence, refused.value.head_hash)
    assert head == (1, records.record_hash(first["record"]))
    assert snapshot(world) == before
    assert row_counts(world) == rows
    assert world.ledger.append_many([first, first])[1].sequence == 1  # sent twice: one record
    assert world.ledger.audit().ok


def missing_a_commit(world: World, commit: Callable[[], Any]) -> Any:
    """Runs ``commit`` (another writer's), then makes the next commit of ``world.ledger``
    start from what it knew before, as if nothing had been committed meanwhile: a view
    that missed a commit, such as a stale cache of heads would give. ``commit``'s
    result."""
    known = world.ledger._known
    assert known is not None  # the ledger's last commit left what it knew
    kept = ledger_store.Known(
        known.size, dict(known.heads), dict(known.actors), dict(known.keys), known.has_actors
    )
    result = commit()
    world.ledger._known = dataclasses.replace(kept, size=world.ledger.log.size())
    return result


def an_actor_registration(world: World) -> dict[str, Any]:
    """A new actor's ActorRegistered record, signed by the operator (not appended)."""
    actor = keys.generate()
    record, disclosures = records.build(
        "ActorRegistered",
        actor.did,
        0,
        None,
        world.operator.did,
        {"roles": ["carrier"], "keys": [actor.verification_method], "publicProfile": False},
        {"legitimate-interest": {"name": "Late Carrier"}},
        version="v1",
    )
    signed = proofs.sign(record, world.operator, loader=contexts.loader())
    return {"record": signed, "disclosures": disclosures}


@pytest.mark.parametrize("path", ["append_many", "append_many-with-an-actor", "append"])
def test_a_view_that_missed_a_commit_refuses_a_taken_position(
    world: World, tmp_path: Path, path: str
) -> None:
    """Whatever the commit's order (rows first: a batch of battery records; rules first: a
    batch with an actor record, a group commit of single appends), a record at a position
    its view wrongly held free is refused by the sequence rule with the head as it is
    (the database refused its row first: IntegrityError)."""
    issued = world.issue(PASSPORT)
    position = (1, issued.record_hash)
    mine = world.transfer_record(PASSPORT, "maker", "dismantler", position=position)
    theirs = world.transfer_record(PASSPORT, "maker", "dismantler", "return", position=position)
    (taken,) = missing_a_commit(world, lambda: by_another_writer(tmp_path, [theirs]))
    before, rows = snapshot(world), row_counts(world)
    with pytest.raises(StaleRecord) as refused:
        if path == "append":
            world.ledger.append(mine)
        elif path == "append_many":
            world.ledger.append_many([mine])
        else:
            world.ledger.append_many([an_actor_registration(world), mine])
    assert refused.value.index == (None if path == "append" else len(path.split("-")) // 3)
    assert (refused.value.head_sequence, refused.value.head_hash) == (1, taken.record_hash)
    assert snapshot(world) == before
    assert row_counts(world) == rows
    assert world.ledger.append(an_actor_registration(world)).sequence == 0  # it goes on
    assert world.ledger.audit().ok


def test_a_resubmission_a_view_missed_gets_its_receipt(world: World, tmp_path: Path) -> None:
    """A record another writer appended, sent again to a ledger whose view missed that
    commit: its receipt, nothing stored twice (not the database's IntegrityError)."""
    issued = world.issue(PASSPORT)
    theirs = world.transfer_record(
        PASSPORT, "maker", "dismantler", position=(1, issued.record_hash)
    )
    (taken,) = missing_a_commit(world, lambda: by_another_writer(tmp_path, [theirs]))
    size = world.ledger.log.size()
    (again,) = world.ledger.append_many([theirs])
    assert (again.record_hash, again.leaf_index) == (taken.record_hash, taken.leaf_index)
    assert world.ledger.log.size() == size
    assert world.ledger.audit().ok


def test_group_commit_with_a_view_that_missed_a_commit_keeps_each_outcome(
    world: World, tmp_path: Path
) -> None:
    """A group commit whose view missed a commit: the record at the taken position is
    refused to its caller alone; the others of its group are committed."""
    issued = world.issue(PASSPORT)
    position = (1, issued.record_hash)
    mine = world.transfer_record(PASSPORT, "maker", "dismantler", position=position)
    theirs = world.transfer_record(PASSPORT, "maker", "dismantler", "return", position=position)
    (taken,) = missing_a_commit(world, lambda: by_another_writer(tmp_path, [theirs]))
    # As the committer thread does with what is queued:
    refused, *others = world.ledger._commit_queued([mine, *issued_records(world, 2)])
    assert isinstance(refused, StaleRecord), refused
    assert (refused.head_sequence, refused.head_hash) == (1, taken.record_hash)
    assert [receipt.sequence for receipt in others if isinstance(receipt, Receipt)] == [0, 0]
    assert world.ledger.head("urn:bpl:passport:crowd-1") is not None
    assert world.ledger.audit().ok


def test_concurrent_batches_on_one_chain_are_refused_as_stale(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers (a Ledger each, in threads) append batches of new passports and a record on
    one shared passport, each built on the head it read: a batch whose shared record lost
    the race is refused with StaleRecord at that record, never by the database; nothing of
    it is stored, and the chain never forks."""
    monkeypatch.setattr(service, "HEADS_PART", 1)  # the server's answers heard mid-batch
    world.issue(PASSPORT)

    def write(n: int) -> list[Any]:
        ledger = Ledger(world.ledger.log, world.ledger.verifier_key)
        outcomes: list[Any] = []
        for attempt in range(8):
            crowd = issued_records(world, 4, f"writer-{n}-{attempt}")
            shared = world.record(
                "DocumentAttached",
                PASSPORT,
                "maker",
                {
                    "documentHash": document_hash(f"{n}-{attempt}".encode()),
                    "mediaType": "application/pdf",
                },
                {"legitimate-interest": {"documentType": "invoice"}},
            )
            try:
                outcomes.append(ledger.append_many([*crowd, shared]))
            except StaleRecord as exc:
                assert exc.index == len(crowd)
                outcomes.append(exc)
        return outcomes

    with ThreadPoolExecutor(3) as pool:
        outcomes = [o for batch in pool.map(write, range(3)) for o in batch]
    accepted = [o for o in outcomes if isinstance(o, list)]
    chain = world.ledger.chain(PASSPORT)
    assert len(chain) == len(accepted) + 1
    for sequence, record in enumerate(chain):
        assert record["credentialSubject"]["sequence"] == sequence
    assert world.ledger.log.size() == row_counts(world)["log_leaves"]
    with world.ledger.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM ledger_records").scalar_one()
    assert stored == 1 + len(world.actors) + 1 + 5 * len(accepted)  # operator, actors, issued
    assert world.ledger.audit().ok


def test_only_a_taken_chain_position_is_a_collision(world: World) -> None:
    """The database errors the ledger turns into a refusal: a second record at a chain
    position, and no other (another unique key, another kind of error)."""
    issued = world.issue(PASSPORT)
    columns = "leaf_index, record_hash, hash_key, subject_id, sequence, kind, issuer"

    def error_of(statement: str) -> BaseException:
        with world.ledger.engine.connect() as connection:
            try:
                connection.exec_driver_sql(statement)
            except sa.exc.DBAPIError as exc:
                return exc
        raise AssertionError(f"no error from {statement}")

    taken = error_of(
        f"INSERT INTO ledger_records ({columns}) VALUES "
        f"(100000, 'sha256:00', 1, '{PASSPORT}', 0, 'PassportIssued', 'did:x')"
    )
    leaf = error_of(
        f"INSERT INTO ledger_records ({columns}) VALUES "
        f"({issued.leaf_index}, 'sha256:00', 1, '{PASSPORT}', 7, 'PassportIssued', 'did:x')"
    )
    head = error_of(
        "INSERT INTO ledger_heads (subject_id, sequence, record_hash, kind, closed, state) "
        f"VALUES ('{PASSPORT}', 0, 'sha256:00', 'PassportIssued', false, '{{}}')"
    )
    missing = error_of("SELECT nothing FROM ledger_records")
    assert isinstance(taken, sa.exc.IntegrityError) and isinstance(leaf, sa.exc.IntegrityError)
    assert ledger_store.is_chain_collision(taken)
    assert not any(ledger_store.is_chain_collision(e) for e in (leaf, head, missing))


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (  # the last record hidden: the chain would end early
            "UPDATE ledger_records SET subject_id = 'urn:bpl:passport:hidden' "
            "WHERE sequence = 3 AND subject_id = :p",
            "a record is missing from the chain",
        ),
        (  # a record in the middle hidden at another position
            "UPDATE ledger_records SET sequence = 90 WHERE sequence = 1 AND subject_id = :p",
            "sequence 2 where 1 belongs",
        ),
        (  # a record of another chain shown in this one
            "UPDATE ledger_records SET subject_id = :p, sequence = 4 WHERE kind = 'KeyAdded' "
            "OR (kind = 'ActorRegistered' AND sequence = 0 AND leaf_index = "
            "(SELECT max(leaf_index) FROM ledger_records WHERE kind = 'ActorRegistered'))",
            "not of this chain",
        ),
    ],
    ids=["last-hidden", "middle-moved", "stranger-shown"],
)
def test_chain_verification_names_a_record_hidden_from_or_added_to_its_chain(
    world: World, tmp_path: Path, statement: str, reason: str
) -> None:
    """Issue 14, item 1: verify_chain held only the rows it found; now each row's chain
    and position are its record's, and the chain's records end at its stored head."""
    a_short_life(world, tmp_path)
    with world.ledger.engine.begin() as connection:
        connection.execute(sa.text(statement), {"p": PASSPORT})
    report = world.ledger.verify_chain(PASSPORT)
    assert not report.ok
    assert reason in (report.reason or ""), report
    assert not world.ledger.audit().ok


def test_a_disclosure_is_never_served_under_another_group(world: World, tmp_path: Path) -> None:
    """Issue 14, item 4: a disclosure row relabelled to another group is refused when read
    (and named by the audit), never served to the other group's readers."""
    a_short_life(world, tmp_path)
    transfer = world.ledger.chain(PASSPORT)[1]
    record_hash = records.record_hash(transfer)
    assert set(world.ledger.disclosures(record_hash, OPERATOR)) == {"legitimate-interest"}
    with world.ledger.engine.begin() as connection:
        connection.execute(sa.text("UPDATE ledger_disclosures SET grp = 'authority'"))
    with pytest.raises(StoreError, match="stored under group 'authority'"):
        world.ledger.disclosures(record_hash, OPERATOR)
    assert "stored under group 'authority'" in (world.ledger.audit().reason or "")


AUDIT_FROM_ANOTHER_PROGRAM = """
import sys
from ledger.facade import Ledger
print("program body ran", flush=True)
ledger = Ledger.open({directory!r}, writable=False)
print(ledger.audit(workers=2).ok, flush=True)
"""


@pytest.mark.parametrize("how", ["stdin", "unguarded-script"])
def test_the_parallel_audit_does_not_depend_on_how_its_caller_started(
    world: World, tmp_path: Path, how: str
) -> None:
    """Issue 14, item 11: the audit's workers never import the caller's main program: from
    a program read from stdin (no file to import) and from a script without a main guard
    (which would run again in every worker)."""
    a_short_life(world, tmp_path)
    # The data directory; on PostgreSQL, $DATABASE_URL (set by the fixture) is inherited.
    program = AUDIT_FROM_ANOTHER_PROGRAM.format(directory=str(tmp_path / "data"))
    if how == "stdin":
        command = [sys.executable, "-"]
        run = subprocess.run(command, input=program, capture_output=True, text=True, timeout=120)
    else:
        script = tmp_path / "audit_it.py"
        script.write_text(program)
        command = [sys.executable, str(script)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "program body ran\nTrue\n"

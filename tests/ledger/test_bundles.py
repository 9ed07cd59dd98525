"""Offline evidence bundles (ledger.bundle): built over demo ledgers on SQLite and
PostgreSQL, verified with the log's key alone; every tampering fails, naming the record and
the rule."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import bundle
from ledger.core import access, records
from ledger.core.access import Reader
from ledger.demo import run_demo
from ledger.facade import Ledger
from ledger.log import checkpoint
from signing import keys, note
from tests.hypothesis_profiles import examples
from tests.ledger.conftest import POSTGRES_ADMIN_URL, _create_database, _drop_database

ORIGIN = "bundles.bpl.example/log"


@dataclass
class Demo:
    ledger: Ledger
    operator: keys.KeyPair
    passport: str
    """A passport with predecessors or successors (a life that ended in a successor)."""


def _demo(directory: Path, engine: str) -> Iterator[Demo]:
    name = None
    if engine == "postgresql" and os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    # $DATABASE_URL only while the ledger is made: the fixture lives for the module, and
    # other tests in the worker meanwhile make ledgers of their own.
    with pytest.MonkeyPatch.context() as patch:
        if engine == "postgresql":
            name = _create_database()
            patch.setenv("DATABASE_URL", f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
        else:
            patch.delenv("DATABASE_URL", raising=False)
        operator = keys.generate()
        try:
            ledger = Ledger.init(directory / "data", operator, origin=ORIGIN)
        except BaseException:
            if name is not None:
                _drop_database(name)
            raise
    try:
        run_demo(ledger, operator, batteries=3, seed=17)
        yield Demo(ledger, operator, _succeeded_passport(ledger))
    finally:
        ledger.close()
        if name is not None:
            _drop_database(name)


def _succeeded_passport(ledger: Ledger) -> str:
    """A passport closed by PassportSucceeded: it has successors, and its chain is long."""
    for actor in ledger.actors():
        for passport in ledger.passports_by_manufacturer(actor.did, limit=1000):
            kinds = [r["type"][1] for r in ledger.chain(passport.subject_id)]
            if "PassportSucceeded" in kinds and len(kinds) >= 4:
                return passport.subject_id
    raise AssertionError("the demo has no succeeded passport")


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from _demo(tmp_path_factory.mktemp("sqlite"), "sqlite")


@pytest.fixture(scope="module")
def postgresql_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from _demo(tmp_path_factory.mktemp("postgresql"), "postgresql")


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest) -> Demo:
    """The demo on each engine (one ledger per engine for the module)."""
    found: Demo = request.getfixturevalue(f"{request.param}_demo")
    return found


@pytest.fixture(scope="module")
def operator_bundle(sqlite_demo: Demo) -> dict[str, Any]:
    """The operator's bundle (every disclosure), as JSON would carry it."""
    built = bundle.build(sqlite_demo.ledger, sqlite_demo.passport, access.OPERATOR_READER)
    parsed: dict[str, Any] = json.loads(json.dumps(built))
    return parsed


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)


def _failures(demo: Demo, tampered: dict[str, Any], since: str | None = None) -> list[Any]:
    verdict = bundle.verify(tampered, demo.ledger.verifier_key, since=since)
    assert not verdict.verified
    return verdict.failures


def _index_of(built: dict[str, Any], kind: str, subject: str | None = None) -> int:
    for position, entry in enumerate(built["records"]):
        record = entry["record"]
        if record["type"][1] == kind and subject in (None, record["credentialSubject"]["id"]):
            return position
    raise AssertionError(f"no {kind} in the bundle")


# -- building and verifying, on both engines ------------------------------------------------


@pytest.mark.parametrize("role", [None, "market-surveillance", "legitimate-interest", "operator"])
def test_a_bundle_verifies_and_carries_what_its_reader_may_read(
    demo: Demo, role: str | None
) -> None:
    reader = access.PUBLIC if role is None else Reader(frozenset({role}))
    built = json.loads(json.dumps(bundle.build(demo.ledger, demo.passport, reader)))
    verdict = bundle.verify(built, demo.ledger.verifier_key)
    assert verdict.verified, verdict.failures
    assert demo.passport in verdict.passports and len(verdict.passports) >= 2
    kinds = {entry["record"]["type"][1] for entry in built["records"]}
    assert {"ActorRegistered", "BatteryModelPublished", "PassportIssued"} <= kinds
    leaves = [entry["leafIndex"] for entry in built["records"]]
    assert leaves == sorted(set(leaves)) and leaves[0] == 0  # from the operator's registration
    shown = 0
    for entry in built["records"]:
        readable = demo.ledger.disclosures(records.record_hash(entry["record"]), reader)
        assert entry.get("disclosures", []) == [readable[g] for g in sorted(readable)]
        shown += len(readable)
    assert verdict.disclosures == shown
    assert (shown == 0) == (role is None)


def test_since_proves_the_log_only_grew(demo: Demo) -> None:
    kept_size, kept = demo.ledger.log.latest()
    demo.ledger.register_actor(demo.operator, keys.generate().did, ["test-lab"], name="Lab")
    built = json.loads(
        json.dumps(bundle.build(demo.ledger, demo.passport, access.PUBLIC, since=kept_size))
    )
    assert built["consistency"]["oldSize"] == kept_size
    verdict = bundle.verify(built, demo.ledger.verifier_key, since=kept)
    assert verdict.verified, verdict.failures
    assert verdict.since == kept_size < verdict.tree_size
    # Without a consistency proof, the kept checkpoint cannot be tied to the bundle's.
    del built["consistency"]
    assert _failures(demo, built, since=kept)[0].rule == "since"


def test_a_since_beyond_the_tree_or_an_unknown_passport_is_refused(demo: Demo) -> None:
    size = demo.ledger.log.size()
    with pytest.raises(bundle.BundleError, match="not a tree size"):
        bundle.build(demo.ledger, demo.passport, access.PUBLIC, since=size + 1)
    with pytest.raises(bundle.PassportNotFoundError):
        bundle.build(demo.ledger, "urn:bpl:passport:nobody", access.PUBLIC)
    actor = demo.ledger.actors()[0].did  # a chain, but no passport's
    with pytest.raises(bundle.PassportNotFoundError):
        bundle.build(demo.ledger, actor, access.PUBLIC)


# -- tampering: each a change of one thing ---------------------------------------------------


def test_a_changed_record_field_fails(sqlite_demo: Demo, operator_bundle: dict[str, Any]) -> None:
    tampered = _copy(operator_bundle)
    entry = tampered["records"][_index_of(tampered, "CustodyTransfer")]
    entry["record"]["credentialSubject"]["to"] = entry["record"]["credentialSubject"]["from"]
    found = _failures(sqlite_demo, tampered)
    rules = {f.rule for f in found if f.leaf_index == entry["leafIndex"]}
    assert {"inclusion", "proof"} <= rules


def test_a_changed_proof_fails(sqlite_demo: Demo, operator_bundle: dict[str, Any]) -> None:
    tampered = _copy(operator_bundle)
    entry = tampered["records"][_index_of(tampered, "PassportIssued")]
    value = entry["record"]["proof"]["proofValue"]
    entry["record"]["proof"]["proofValue"] = (
        value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    )
    found = _failures(sqlite_demo, tampered)
    assert "proof" in {f.rule for f in found if f.leaf_index == entry["leafIndex"]}


def test_a_changed_disclosure_value_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    tampered = _copy(operator_bundle)
    entry = tampered["records"][_index_of(tampered, "DiagnosticTest")]
    entry["disclosures"][0]["soce"] = 99.5
    [failure] = _failures(sqlite_demo, tampered)
    assert (failure.rule, failure.leaf_index) == ("disclosure", entry["leafIndex"])
    assert "does not match its digest" in failure.detail


def test_a_disclosure_of_another_record_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    tampered = _copy(operator_bundle)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for entry in tampered["records"]:
        for disclosure in entry.get("disclosures", []):
            by_group.setdefault(disclosure["group"], []).append(entry)
    first, second = next(entries[:2] for entries in by_group.values() if len(entries) > 1)
    group = first["disclosures"][0]["group"]
    second["disclosures"] = [d for d in second["disclosures"] if d["group"] != group]
    second["disclosures"].append(next(d for d in first["disclosures"] if d["group"] == group))
    [failure] = _failures(sqlite_demo, tampered)
    assert (failure.rule, failure.leaf_index) == ("disclosure", second["leafIndex"])


def test_a_changed_leaf_index_fails(sqlite_demo: Demo, operator_bundle: dict[str, Any]) -> None:
    tampered = _copy(operator_bundle)
    entries = tampered["records"]
    position = next(
        n
        for n in range(1, len(entries) - 1)
        if entries[n + 1]["leafIndex"] - entries[n]["leafIndex"] > 1
    )
    entries[position]["leafIndex"] += 1
    found = _failures(sqlite_demo, tampered)
    assert [(f.rule, f.leaf_index) for f in found] == [
        ("inclusion", entries[position]["leafIndex"])
    ]


def test_a_changed_inclusion_proof_node_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    for position in (0, len(operator_bundle["records"]) // 2, -1):
        tampered = _copy(operator_bundle)
        entry = tampered["records"][position]
        node = entry["inclusionProof"][-1]  # the top of the path: shared with the others
        entry["inclusionProof"][-1] = ("0" if node[0] != "0" else "1") + node[1:]
        found = _failures(sqlite_demo, tampered)
        assert [(f.rule, f.leaf_index) for f in found] == [("inclusion", entry["leafIndex"])]


def test_a_changed_checkpoint_root_or_signature_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    text, signatures = operator_bundle["checkpoint"].split("\n\n")
    origin, size, root = text.split("\n")[:3]
    other_root = ("A" if root[0] != "A" else "B") + root[1:]
    changed_sig = signatures[:-6] + ("A" if signatures[-6] != "A" else "B") + signatures[-5:]
    for note_text in (
        f"{origin}\n{size}\n{other_root}\n" + "\n".join(text.split("\n")[3:]) + "\n" + signatures,
        f"{text}\n\n{changed_sig}",
    ):
        tampered = _copy(operator_bundle)
        tampered["checkpoint"] = note_text
        [failure] = _failures(sqlite_demo, tampered)
        assert failure.rule == "checkpoint" and failure.leaf_index is None


def test_a_dropped_record_in_the_middle_of_a_chain_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    tampered = _copy(operator_bundle)
    chain = [
        n
        for n, e in enumerate(tampered["records"])
        if e["record"]["credentialSubject"]["id"] == sqlite_demo.passport
    ]
    dropped = tampered["records"].pop(chain[1])
    after = tampered["records"][chain[2] - 1]
    found = _failures(sqlite_demo, tampered)
    assert (found[0].rule, found[0].leaf_index) == ("chain", after["leafIndex"])
    assert dropped["leafIndex"] not in {f.leaf_index for f in found}


def test_a_dropped_key_record_fails(sqlite_demo: Demo, operator_bundle: dict[str, Any]) -> None:
    tampered = _copy(operator_bundle)
    test = tampered["records"][_index_of(tampered, "DiagnosticTest")]
    lab = test["record"]["issuer"]
    registration = _index_of(tampered, "ActorRegistered", lab)
    tampered["records"].pop(registration)
    found = _failures(sqlite_demo, tampered)
    assert ("signer", test["leafIndex"]) in {(f.rule, f.leaf_index) for f in found}
    assert any("not registered" in f.detail for f in found)


def test_a_swapped_order_fails(sqlite_demo: Demo, operator_bundle: dict[str, Any]) -> None:
    tampered = _copy(operator_bundle)
    entries = tampered["records"]
    entries[3], entries[4] = entries[4], entries[3]
    assert "order" in {f.rule for f in _failures(sqlite_demo, tampered)}


def test_a_since_checkpoint_of_another_log_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    signer, _ = note.generate(ORIGIN)  # another log under the same name
    head = checkpoint.parse(operator_bundle["checkpoint"].split("\n\n")[0] + "\n")
    other = checkpoint.sign(checkpoint.Checkpoint(ORIGIN, head.size - 1, bytes(32)), signer)
    [failure] = _failures(sqlite_demo, _copy(operator_bundle), since=other)
    assert failure.rule == "since" and "does not verify" in failure.detail


def test_another_log_key_or_a_passport_not_in_the_bundle_fails(
    sqlite_demo: Demo, operator_bundle: dict[str, Any]
) -> None:
    _, other_key = note.generate(ORIGIN)
    verdict = bundle.verify(_copy(operator_bundle), other_key)
    assert [f.rule for f in verdict.failures] == ["log-key", "checkpoint"]
    tampered = _copy(operator_bundle)
    tampered["passport"] = "urn:bpl:passport:someone-else"
    assert [f.rule for f in _failures(sqlite_demo, tampered)] == ["bundle"]


def test_no_bundle_is_unusable_input(operator_bundle: dict[str, Any]) -> None:
    key = "k"
    unusable: list[object] = [
        [],
        {"type": "VerifiableCredential"},
        {**operator_bundle, "version": 2},
        {**operator_bundle, "records": {}},
        {**operator_bundle, "log": {"origin": ORIGIN}},
    ]
    for broken in unusable:
        with pytest.raises(bundle.BundleError):
            bundle.verify(broken, key)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield path, value


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_single_byte_flip_in_a_value_fails_or_is_unparseable(
    sqlite_demo: Demo, operator_bundle: dict[str, Any], data: st.DataObject
) -> None:
    leaves = list(_leaves(operator_bundle))
    path, value = data.draw(st.sampled_from(leaves), label="value")
    encoded = (str(value) if isinstance(value, int) else value).encode()
    if not encoded:
        return
    position = data.draw(st.integers(0, len(encoded) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    flipped = bytearray(encoded)
    flipped[position] ^= 1 << bit
    try:
        text = bytes(flipped).decode()
        new: Any = int(text) if isinstance(value, int) else text
    except ValueError:
        return  # no longer UTF-8, or no longer a number: unparseable
    if new == value:
        return  # int() reads " 1" as 1: the flip changed the text, not the value
    tampered = _copy(operator_bundle)
    target: Any = tampered
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    try:
        verdict = bundle.verify(tampered, sqlite_demo.ledger.verifier_key)
    except bundle.BundleError:
        return
    assert not verdict.verified, (path, value, new)

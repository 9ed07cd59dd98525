"""Grading policies per ledger, on SQLite and PostgreSQL: registered once per (id, version)
by a record on the log and never changed, known to every Ledger on the database, used by
both append paths and by the audit, which holds each stored document to its digest and each
row to its registration on the log."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import audit
from ledger.core import contexts, grading, records
from ledger.core.admission import bundled_policies, check_submission
from ledger.core.grading import GradingError
from ledger.errors import PolicyConflictError, RecordRejected, UnknownGradingPolicy
from ledger.facade import Ledger
from signing import keys, proofs
from tests.ledger.world import (
    STRICT_MEASURES,
    STRICT_POLICY,
    TEST_MEASURES,
    World,
    policy_file,
    policy_ref,
)

PASSPORT = "urn:bpl:passport:9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
STRICT = ("acme-strict", "2025.1")


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A ledger (data directory ``tmp_path / "data"``) with a manufacturer, a test lab and
    an issued passport."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    operator = keys.generate()
    world = World(Ledger.init(tmp_path / "data", operator, origin="test.bpl.example/log"), operator)
    world.add("maker", "manufacturer")
    world.add("lab", "test-lab")
    world.issue(PASSPORT)
    yield world
    world.ledger.engine.dispose()


@pytest.fixture
def other(world: World, tmp_path: Path) -> Iterator[Ledger]:
    """Another Ledger on the same database (as another process would open it)."""
    ledger = Ledger.open(tmp_path / "data")
    yield ledger
    ledger.engine.dispose()


def changed(**fields: Any) -> dict[str, Any]:
    """STRICT_POLICY with other content (same id and version unless given)."""
    document = json.loads(json.dumps(STRICT_POLICY))
    document["grades"][0]["minSoh"] = 80
    document.update(fields)
    return document


def rows(world: World) -> list[Any]:
    with world.ledger.engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT policy_id, version, digest, document, registered_at "
                    "FROM ledger_grading_policies ORDER BY policy_id, version"
                )
            )
        )


def snapshot(world: World) -> tuple[int, Any]:
    return world.ledger.log.size(), world.ledger.head(PASSPORT)


# -- admission ---------------------------------------------------------------------------


def test_check_submission_grades_under_the_policies_it_is_given(
    world: World, tmp_path: Path
) -> None:
    strict = grading.load_policy(policy_file(tmp_path))
    submission = world.diagnostic(PASSPORT, STRICT_MEASURES)
    with pytest.raises(UnknownGradingPolicy) as unknown:
        check_submission(submission)  # the bundled ones only
    assert unknown.value.rule == "grade" and unknown.value.key == STRICT
    assert "unknown grading policy acme-strict version 2025.1" in str(unknown.value)
    known = bundled_policies() | {STRICT: strict}
    assert check_submission(submission, known).kind == "DiagnosticTest"
    assert check_submission(submission, known) == check_submission(submission, known)
    default = world.diagnostic(PASSPORT, TEST_MEASURES)
    assert check_submission(default).record == check_submission(default, known).record
    with pytest.raises(UnknownGradingPolicy):
        check_submission(default, {STRICT: strict})  # only what it is given
    assert bundled_policies() is not bundled_policies()  # a caller's copy to add to
    assert list(bundled_policies()) == [("bpl-default", "1")]


# -- appending ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["append", "append_many"])
def test_a_record_under_a_registered_policy_is_refused_before_and_accepted_after(
    world: World, tmp_path: Path, path: str
) -> None:
    submission = world.diagnostic(PASSPORT, STRICT_MEASURES)
    append = getattr(world.ledger, path)
    send = (lambda: append(submission)) if path == "append" else (lambda: append([submission]))
    before = snapshot(world)
    with pytest.raises(RecordRejected) as refused:
        send()
    assert refused.value.rule == "grade"
    assert "unknown grading policy acme-strict version 2025.1" in str(refused.value)
    assert snapshot(world) == before

    policy = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    assert (policy.id, policy.version) == STRICT
    accepted = send()
    receipt = accepted if path == "append" else accepted[0]
    assert receipt.sequence == 1 and world.ledger.head(PASSPORT).sequence == 1
    # The same measures graded under the bundled policy give reuse: the policy decides.
    assert world.ledger.append(world.diagnostic(PASSPORT, TEST_MEASURES)).sequence == 2


def test_a_wrong_grade_under_the_registered_policy_is_refused_with_its_reasons(
    world: World, tmp_path: Path
) -> None:
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    before = snapshot(world)
    wrong = dict(STRICT_MEASURES, grade="reuse")  # what bpl-default v1 gives
    with pytest.raises(RecordRejected) as refused:
        world.ledger.append(world.diagnostic(PASSPORT, wrong))
    assert refused.value.rule == "grade"
    assert (
        "grade 'reuse', but acme-strict v2025.1 gives 'repurpose' "
        "(soce 84.5 % < reuse threshold 85 %; soce 84.5 % >= repurpose threshold 65 %)"
    ) in str(refused.value)
    with pytest.raises(RecordRejected, match=r"record 0: grade: grade 'reuse', but acme-strict"):
        world.ledger.append_many([world.diagnostic(PASSPORT, wrong)])
    damaged = dict(STRICT_MEASURES, damaged=True)  # recycle under acme-strict
    with pytest.raises(RecordRejected, match="damaged true: not reuse, repurpose"):
        world.ledger.append(world.diagnostic(PASSPORT, damaged))
    assert snapshot(world) == before


# -- registering -------------------------------------------------------------------------


def test_registering_the_same_policy_again_changes_nothing(world: World, tmp_path: Path) -> None:
    first = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    stored = rows(world)
    assert [(row.policy_id, row.version, row.digest) for row in stored] == [(*STRICT, first.digest)]
    assert json.loads(stored[0].document) == STRICT_POLICY
    assert first.digest == "sha256:" + hashlib.sha256(stored[0].document.encode()).hexdigest()
    again = world.ledger.add_grading_policy(
        world.operator, str(policy_file(tmp_path))
    )  # a str path too
    relaid = tmp_path / "relaid.json"  # other layout and key order: the same policy
    relaid.write_text(json.dumps(dict(reversed(STRICT_POLICY.items()))), encoding="utf-8")
    assert again == first == world.ledger.add_grading_policy(world.operator, relaid)
    assert rows(world) == stored  # registration time included


def test_other_content_under_a_registered_version_is_refused(world: World, tmp_path: Path) -> None:
    original = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    world.ledger.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
    stored = rows(world)
    (tmp_path / "edited").mkdir()
    edited = policy_file(tmp_path / "edited", changed())
    new_digest = grading.load_policy(edited).digest
    with pytest.raises(PolicyConflictError) as refused:
        world.ledger.add_grading_policy(world.operator, edited)
    message = str(refused.value)
    for part in ("acme-strict", "version 2025.1", original.digest, new_digest, "never changes"):
        assert part in message, message
    assert rows(world) == stored  # nothing stored
    # Records are still graded under the registered content, by this ledger and another.
    with pytest.raises(RecordRejected, match="gives 'repurpose'"):
        world.ledger.append(world.diagnostic(PASSPORT, dict(STRICT_MEASURES, grade="reuse")))
    reopened = Ledger.open(tmp_path / "data")
    try:
        assert reopened.append(world.diagnostic(PASSPORT, STRICT_MEASURES)).sequence == 2
    finally:
        reopened.engine.dispose()
    # A new version is how content changes.
    newer = policy_file(tmp_path, changed(version="2026.1"))
    assert world.ledger.add_grading_policy(world.operator, newer).version == "2026.1"
    assert [row.version for row in rows(world)] == ["2025.1", "2026.1"]


def test_the_bundled_policy_ids_are_reserved(world: World, tmp_path: Path) -> None:
    bundled = grading.load_policy()
    default = json.loads(grading.read_policy()[1])
    assert (
        world.ledger.add_grading_policy(world.operator, policy_file(tmp_path, default)) == bundled
    )
    edited = dict(default, description="edited")
    (tmp_path / "edited").mkdir()
    with pytest.raises(PolicyConflictError) as refused:
        world.ledger.add_grading_policy(world.operator, policy_file(tmp_path / "edited", edited))
    message = str(refused.value)
    assert "bpl-default version 1 is bundled with bpl with digest " + bundled.digest in message
    assert grading.load_policy(tmp_path / "edited" / "bpl-default-1.json").digest in message
    with pytest.raises(PolicyConflictError, match=r"id bpl-default is reserved .* version 2,"):
        world.ledger.add_grading_policy(
            world.operator, policy_file(tmp_path, dict(default, version="2"))
        )
    assert rows(world) == []  # bundled policies are never stored


def test_an_invalid_file_is_refused_naming_the_problem(world: World, tmp_path: Path) -> None:
    bad = policy_file(tmp_path, dict(STRICT_POLICY, grades=[{"grade": "best"}]))
    with pytest.raises(GradingError, match=r"\$\.grades\[0\]\.grade: 'best' is not one of"):
        world.ledger.add_grading_policy(world.operator, bad)
    with pytest.raises(GradingError, match="cannot read it"):
        world.ledger.add_grading_policy(world.operator, tmp_path / "absent.json")
    assert rows(world) == []


def test_concurrent_registrations_of_one_version_store_one_content(
    world: World, other: Ledger, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [policy_file(tmp_path / "a"), policy_file(tmp_path / "b", changed())]
    start = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def register(index: int, ledger: Ledger) -> None:
        start.wait()
        try:
            outcomes[index] = ledger.add_grading_policy(world.operator, files[index])
        except PolicyConflictError as exc:
            outcomes[index] = exc

    threads = [
        threading.Thread(target=register, args=(n, ledger))
        for n, ledger in enumerate([world.ledger, other])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [o for o in outcomes if isinstance(o, grading.GradingPolicy)]
    lost = [o for o in outcomes if isinstance(o, PolicyConflictError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert [row.digest for row in rows(world)] == [won[0].digest]


# -- other Ledger instances ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["append", "append_many"])
def test_a_policy_registered_by_another_ledger_is_found_before_refusing(
    world: World, other: Ledger, tmp_path: Path, path: str
) -> None:
    """``other`` was opened before the registration: it looks the policy up on the first
    record naming it (as it would for one another process registered)."""
    assert STRICT not in {(k.policy.id, k.policy.version) for k in other.grading_policies()}
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    submission = world.diagnostic(PASSPORT, STRICT_MEASURES)
    if path == "append":
        assert other.append(submission).sequence == 1
    else:
        assert other.append_many([submission])[0].sequence == 1
    with pytest.raises(RecordRejected, match="gives 'repurpose'"):  # graded, not unknown
        other.append(world.diagnostic(PASSPORT, dict(STRICT_MEASURES, grade="recycle")))
    unknown = dict(STRICT_MEASURES, gradingPolicy=policy_ref(changed(version="9")))
    with pytest.raises(RecordRejected, match="unknown grading policy acme-strict version 9"):
        other.append(world.diagnostic(PASSPORT, unknown))


def test_grading_policies_lists_the_bundled_and_the_registered(
    world: World, other: Ledger, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    strict = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    listed = other.grading_policies()  # registered by another Ledger
    assert [(k.policy.id, k.policy.version, k.bundled) for k in listed] == [
        ("bpl-default", "1", True),
        ("acme-strict", "2025.1", False),
    ]
    assert listed[0].registered_at is None and listed[1].policy == strict
    registered_at = listed[1].registered_at
    assert registered_at is not None
    assert before - timedelta(seconds=5) <= registered_at <= datetime.now(UTC)
    assert listed[1].to_dict() == {
        "id": "acme-strict",
        "version": "2025.1",
        "digest": strict.digest,
        "bundled": False,
        "registeredAt": registered_at.isoformat(),
    }


# -- the audit ---------------------------------------------------------------------------


def graded_ledger(world: World, tmp_path: Path) -> None:
    """Tests under the bundled policy and under two registered ones."""
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    world.ledger.add_grading_policy(
        world.operator, policy_file(tmp_path, changed(version="2026.1"))
    )
    world.ledger.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
    world.ledger.append(world.diagnostic(PASSPORT, TEST_MEASURES))
    newer = dict(
        STRICT_MEASURES, grade="reuse", gradingPolicy=policy_ref(changed(version="2026.1"))
    )
    world.ledger.append_many([world.diagnostic(PASSPORT, newer)])


def test_the_audit_re_grades_under_the_registered_policies(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    graded_ledger(world, tmp_path)
    monkeypatch.setattr(audit, "CHUNK", 2)  # several chunks, some in each worker
    inline = world.ledger.audit(workers=1)
    assert inline.ok, inline
    assert inline.records == world.ledger.log.size()
    assert world.ledger.audit(workers=2) == inline
    reader = Ledger.open(database_url, writable=False)
    try:
        assert reader.audit(workers=2) == inline  # by URL, no key
    finally:
        reader.engine.dispose()


def rewrite_policy_row(world: World, tmp_path: Path, document: dict[str, Any]) -> str:
    """STRICT's row rewritten consistently (document and digest) to ``document``, as someone
    with write access to the database could; the new digest."""
    (tmp_path / "forged").mkdir()
    forged, text = grading.read_policy(policy_file(tmp_path / "forged", document))
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE ledger_grading_policies SET document = :d, digest = :g "
                "WHERE policy_id = :i AND version = :v"
            ),
            {"d": text.decode(), "g": forged.digest, "i": STRICT[0], "v": STRICT[1]},
        )
    return forged.digest


@pytest.mark.parametrize("grades", ["changed", "unchanged"])
def test_a_policy_rewritten_with_its_digest_is_caught_by_the_records_under_it(
    world: World, tmp_path: Path, grades: str
) -> None:
    """Every DiagnosticTest carries the digest of the policy it was graded under, signed
    (ADR 0012): a consistent rewrite of a row passes the row check, and the audit names the
    first record graded under the old content, even when the new rules would give every
    record the same grade. (Without such records, the registration on the log catches it:
    see test_a_policy_row_rewritten_before_any_record_names_it_is_caught.)"""
    graded_ledger(world, tmp_path)
    document = changed() if grades == "changed" else dict(STRICT_POLICY, description="edited")
    forged = rewrite_policy_row(world, tmp_path, document)
    report = world.ledger.audit()
    assert not report.ok
    assert report.reason == (
        f"grade: graded under grading policy acme-strict version 2025.1 with digest "
        f"{STRICT_MEASURES['gradingPolicy']['digest']}, but that version here is {forged}: "
        "other rules"
    ), report
    assert report.records == 6  # operator, maker, lab, issue, two registrations; then the test


def test_a_policy_row_under_a_bundled_id_is_named_by_the_audit(world: World) -> None:
    document = grading.read_policy()[1].decode()
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ledger_grading_policies "
                "(policy_id, version, digest, document, registered_at) "
                "VALUES ('bpl-default', '1', :g, :d, :t)"
            ),
            {"g": grading.load_policy().digest, "d": document, "t": datetime.now(UTC)},
        )
    report = world.ledger.audit()
    assert not report.ok
    assert report.reason == (
        "grading policy bpl-default version 1: its id is reserved for the policies bundled with bpl"
    )


def test_a_tampered_policy_row_is_left_out_until_the_audit_names_it(
    world: World, tmp_path: Path
) -> None:
    """A Ledger opened on a database with a tampered policy row opens (so it can be
    audited), refuses records naming that policy, and its audit names the row."""
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE ledger_grading_policies SET document = replace(document, '85', '80')")
        )
    reopened = Ledger.open(tmp_path / "data")
    try:
        assert [k.policy.id for k in reopened.grading_policies()] == ["bpl-default"]
        with pytest.raises(RecordRejected, match="unknown grading policy acme-strict"):
            reopened.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
        report = reopened.audit()
        assert not report.ok and report.records == 0
        assert report.reason is not None
        assert report.reason.startswith("grading policy acme-strict version 2025.1: its stored")
        assert "(altered after registration)" in report.reason
    finally:
        reopened.engine.dispose()


def test_a_policy_document_is_served_as_registered(world: World, tmp_path: Path) -> None:
    """What a lab grades under: the bundled and registered documents, in JCS form (their
    digests' bytes); none for an unknown policy or a tampered row."""
    ledger = world.ledger
    assert ledger.grading_policy_document("bpl-default", "1") == grading.read_policy()[1]
    strict, document = grading.read_policy(policy_file(tmp_path))
    ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    served = ledger.grading_policy_document(*STRICT)
    assert served == document
    assert "sha256:" + hashlib.sha256(served).hexdigest() == strict.digest
    assert ledger.grading_policy_document("acme-strict", "9") is None
    with ledger.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE ledger_grading_policies SET document = replace(document, '85', '80')")
        )
    assert ledger.grading_policy_document(*STRICT) is None


# -- registrations on the log (ADR 0013) ---------------------------------------------------


CHAIN = "urn:bpl:grading-policy:acme-strict"


def registered_row(world: World) -> Any:
    with world.ledger.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT digest, record_hash FROM ledger_grading_policies "
                "WHERE policy_id = :i AND version = :v"
            ),
            {"i": STRICT[0], "v": STRICT[1]},
        ).one()


def insert_row(world: World, tmp_path: Path, record_hash: str | None) -> None:
    """STRICT's row written straight into the table with ``record_hash`` (None: off the
    log, as registrations were before ADR 0013), as someone with write access could."""
    strict, document = grading.read_policy(policy_file(tmp_path))
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ledger_grading_policies "
                "(policy_id, version, digest, document, registered_at, record_hash) "
                "VALUES (:i, :v, :g, :d, :at, :r)"
            ).bindparams(sa.bindparam("at", type_=sa.DateTime(timezone=True))),
            {
                "i": STRICT[0],
                "v": STRICT[1],
                "g": strict.digest,
                "d": document.decode(),
                "at": datetime.now(UTC),
                "r": record_hash,
            },
        )


def test_a_registration_is_a_record_on_the_log_signed_by_the_operator(
    world: World, tmp_path: Path
) -> None:
    size = world.ledger.log.size()
    policy = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    assert world.ledger.log.size() == size + 1
    head = world.ledger.head(CHAIN)
    assert head is not None and (head.kind, head.sequence) == ("GradingPolicyRegistered", 0)
    assert tuple(registered_row(world)) == (policy.digest, head.record_hash)
    [record] = world.ledger.chain(CHAIN)
    assert record["issuer"] == world.operator.did
    subject = record["credentialSubject"]
    assert (subject["policyId"], subject["version"], subject["digest"]) == (*STRICT, policy.digest)
    assert subject["policy"] == STRICT_POLICY  # public: anyone can re-grade under it
    # The same content again: nothing appended. A new version: the chain's next record.
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    assert world.ledger.log.size() == size + 1
    world.ledger.add_grading_policy(
        world.operator, policy_file(tmp_path, changed(version="2026.1"))
    )
    assert [r["credentialSubject"]["version"] for r in world.ledger.chain(CHAIN)] == [
        "2025.1",
        "2026.1",
    ]
    assert world.ledger.audit().ok


def registration(world: World, signer: keys.KeyPair, **fields: Any) -> dict[str, Any]:
    """A signed GradingPolicyRegistered record of STRICT_POLICY, first on its chain;
    ``fields`` replace the subject's."""
    strict = grading.parse_policy(json.dumps(STRICT_POLICY).encode(), "test")
    public = {"policyId": strict.id, "version": strict.version, "digest": strict.digest}
    public |= {"policy": STRICT_POLICY} | fields
    subject_id = public.pop("id", CHAIN)
    record, _ = records.build("GradingPolicyRegistered", subject_id, 0, None, signer.did, public)
    return proofs.sign(record, signer, loader=contexts.loader())


@pytest.mark.parametrize(
    ("case", "rule", "message"),
    [
        ("signed-by-a-lab", "role", "GradingPolicyRegistered is signed by the operator"),
        ("other-digest", "policy", "the record says digest sha256:"),
        ("other-version", "policy", "but its policy is acme-strict version 2025.1"),
        ("other-chain", "policy", "is registered on chain urn:bpl:grading-policy:acme-strict"),
        ("bundled-id", "policy", "reserved for the policies bundled with bpl"),
        ("not-a-policy", "policy", "$.grades: must not be empty"),
    ],
)
def test_a_bad_registration_is_refused_and_nothing_stored(
    world: World, case: str, rule: str, message: str
) -> None:
    operator = world.operator
    default = json.loads(grading.read_policy()[1])
    submission = {
        "signed-by-a-lab": lambda: registration(world, world.actors["lab"]),
        "other-digest": lambda: registration(world, operator, digest="sha256:" + "0" * 64),
        "other-version": lambda: registration(world, operator, version="2026.1"),
        "other-chain": lambda: registration(world, operator, id="urn:bpl:grading-policy:acme"),
        "bundled-id": lambda: registration(
            world,
            operator,
            id="urn:bpl:grading-policy:bpl-default",
            policyId="bpl-default",
            policy=dict(default, version="2"),
            version="2",
            digest=grading.parse_policy(
                json.dumps(dict(default, version="2")).encode(), "t"
            ).digest,
        ),
        "not-a-policy": lambda: registration(
            world, operator, policy=dict(STRICT_POLICY, grades=[])
        ),
    }[case]()
    before = world.ledger.log.size()
    with pytest.raises(RecordRejected) as refused:
        world.ledger.append(submission)
    assert refused.value.rule == rule
    assert message in str(refused.value)
    assert world.ledger.log.size() == before
    assert rows(world) == []
    assert world.ledger.audit().ok


def test_a_second_registration_of_a_version_is_refused(world: World, tmp_path: Path) -> None:
    """Only through the API is a registration idempotent: a second record of the same
    version (the same content, or other) is refused by the rules."""
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    head = world.ledger.head(CHAIN)
    assert head is not None
    for document in (STRICT_POLICY, changed()):
        strict = grading.parse_policy(json.dumps(document).encode(), "test")
        public = {"policyId": strict.id, "version": strict.version, "digest": strict.digest}
        record, _ = records.build(
            "GradingPolicyRegistered",
            CHAIN,
            1,
            head.record_hash,
            world.operator.did,
            public | {"policy": document},
        )
        with pytest.raises(RecordRejected) as refused:
            world.ledger.append(proofs.sign(record, world.operator, loader=contexts.loader()))
        assert refused.value.rule == "policy"
    assert world.ledger.head(CHAIN) == head


def test_a_policy_row_rewritten_before_any_record_names_it_is_caught(
    world: World, tmp_path: Path
) -> None:
    """The gap ADR 0012 left: a row rewritten consistently before any DiagnosticTest names
    it. Its registration on the log still carries the published digest."""
    published = world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    registered = world.ledger.head(CHAIN)
    assert registered is not None
    rewrite_policy_row(world, tmp_path, dict(STRICT_POLICY, description="edited"))
    report = world.ledger.audit()
    assert not report.ok
    valid_from = world.ledger.chain(CHAIN)[-1]["validFrom"]
    assert report.reason == (
        "grading policy acme-strict version 2025.1 differs from its registration in the log "
        f"(record {registered.record_hash}, digest {published.digest}, "
        f"registered at {valid_from})"
    )


def test_a_row_off_the_log_is_refused_until_registered_again(world: World, tmp_path: Path) -> None:
    """A row written without its record (as registrations were before ADR 0013, or by
    someone with write access): records cannot name it, the audit names it, and
    registering the same content again puts it on the log."""
    insert_row(world, tmp_path, None)
    report = world.ledger.audit()
    assert not report.ok and report.reason is not None
    assert report.reason.startswith(
        "grading policy acme-strict version 2025.1: it is not on the log"
    )
    other = Ledger.open(tmp_path / "data")
    try:
        with pytest.raises(UnknownGradingPolicy):
            other.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
        size = other.log.size()
        other.add_grading_policy(world.operator, policy_file(tmp_path))
        assert other.log.size() == size + 1
        head = other.head(CHAIN)
        assert head is not None and registered_row(world)[1] == head.record_hash
        other.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
        assert other.audit().ok
    finally:
        other.engine.dispose()


@pytest.mark.parametrize("claimed", ["no-record", "another-record"])
def test_a_row_claiming_a_registration_the_log_lacks_is_caught(
    world: World, tmp_path: Path, claimed: str
) -> None:
    """A row forged with a record hash: a DiagnosticTest graded under it is accepted (the
    table is trusted on append), but the audit names that record: the log registers no such
    policy before it."""
    head = world.ledger.head(PASSPORT)
    assert head is not None
    insert_row(
        world, tmp_path, head.record_hash if claimed == "another-record" else "sha256:" + "1" * 64
    )
    other = Ledger.open(tmp_path / "data")
    try:
        receipt = other.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
        report = other.audit()
    finally:
        other.engine.dispose()
    assert not report.ok
    assert report.record_hash == receipt.record_hash
    assert report.reason == (
        "grade: graded under grading policy acme-strict version 2025.1, which the log does "
        "not register before this record"
    )


def test_a_diagnostic_test_before_its_policy_in_the_log_is_caught(
    world: World, tmp_path: Path
) -> None:
    """Registered on the log, but after a record graded under it (which a forged row let
    in): the audit names that record."""
    insert_row(world, tmp_path, "sha256:" + "1" * 64)
    other = Ledger.open(tmp_path / "data")
    try:
        early = other.append(world.diagnostic(PASSPORT, STRICT_MEASURES))
        with other.engine.begin() as connection:  # back off the log, then registered on it
            connection.execute(sa.text("UPDATE ledger_grading_policies SET record_hash = NULL"))
        other.add_grading_policy(world.operator, policy_file(tmp_path))
        report = other.audit()
    finally:
        other.engine.dispose()
    assert not report.ok
    assert report.record_hash == early.record_hash
    assert report.reason is not None
    assert report.reason.endswith("which the log does not register before this record")


def test_a_policy_row_s_registration_time_is_its_record_s(world: World, tmp_path: Path) -> None:
    """Issue 14: ``registered_at`` (shown by ``bpl policy list``) is derived from the log,
    the registration record's ``validFrom``, and the audit holds the row to it."""
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    valid_from = world.ledger.chain(CHAIN)[-1]["validFrom"]
    listed = [k for k in world.ledger.grading_policies() if not k.bundled]
    assert [k.registered_at for k in listed] == [datetime.fromisoformat(valid_from)]
    assert world.ledger.audit().ok
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE ledger_grading_policies SET registered_at = :at"),
            {"at": datetime.fromisoformat(valid_from) + timedelta(seconds=1)},
        )
    report = world.ledger.audit()
    assert not report.ok
    assert f"registered at {valid_from}" in (report.reason or "")


def test_the_migration_gives_stored_rows_their_record_s_time(
    world: World, tmp_path: Path
) -> None:
    """Migration 0008: a ledger whose rows carry the time they were written (as before
    ADR 0015) audits clean once opened by this bpl."""
    world.ledger.add_grading_policy(world.operator, policy_file(tmp_path))
    with world.ledger.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE ledger_grading_policies SET registered_at = :at"),
            {"at": datetime(2020, 1, 1, tzinfo=UTC)},
        )
        # As it was at migration 0007: before the passports' lookup table too (0009).
        connection.execute(sa.text("DROP INDEX ix_ledger_heads_custodian"))
        connection.execute(sa.text("DROP TABLE ledger_passports"))
        connection.execute(sa.text("DROP TABLE ledger_models"))  # made by 0010, after it
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0007'"))
    world.ledger.engine.dispose()
    reopened = Ledger.open(tmp_path / "data")
    try:
        assert reopened.audit().ok
    finally:
        reopened.engine.dispose()

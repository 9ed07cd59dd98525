"""``ledger.admission_pool``: a large batch of JSON submissions admitted by the caller's
thread and worker processes together gets exactly the outcomes of admission in one
process (the same Checked records, value and type; the same refusals, class and message);
the pool starts with the first batch that needs it and stops with ``Ledger.close``; a
worker that dies fails the batch with an error, stores nothing, and the next batch works.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from ledger import admission_pool
from ledger.admission_pool import AdmissionPool, AdmissionWorkerError
from ledger.core import admission
from ledger.errors import RecordRejected, UnknownGradingPolicy
from tests.ledger.test_ledger import BAD_CASES, PASSPORT, snapshot, world  # noqa: F401 (fixture)
from tests.ledger.world import TEST_MEASURES, World

PASSPORTS = [f"urn:bpl:passport:00000000-0000-4000-8000-{n:012d}" for n in range(8)]


def verdict(outcome: Any) -> object:
    """An outcome as a comparable value: a refusal's class, rule and message; a Checked
    record's ``repr`` (so that 12000.0 and 12000 differ, as they would to the rules)."""
    if isinstance(outcome, RecordRejected):
        return (outcome.__class__, outcome.rule, str(outcome), outcome.index)
    return repr(outcome)


def as_bytes(submission: Any) -> bytes:
    return submission if isinstance(submission, bytes) else json.dumps(submission).encode()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 2 and the pool from batches of 4: a test batch spans many chunks, some
    admitted by the workers and some by the caller."""
    monkeypatch.setattr(admission_pool, "CHUNK", 2)
    monkeypatch.setattr(admission_pool, "POOL_FROM", 4)


def test_the_pool_gives_each_record_the_verdict_of_admission_in_one_process(
    world: World,  # noqa: F811 (the fixture)
    small_chunks: None,
) -> None:
    world.issue(PASSPORT)
    good = world.diagnostic(PASSPORT, TEST_MEASURES)  # cellSohSpread 2.0, which JCS writes
    batch: list[bytes] = [as_bytes(good)]  # as 2: the Checked record keeps 2.0
    for make, _ in BAD_CASES.values():
        batch += [as_bytes(make(world)), as_bytes(good)]
    unknown: dict[str, Any] = {**TEST_MEASURES["gradingPolicy"], "id": "urn:bpl:policy:nowhere"}  # type: ignore[dict-item]
    batch.append(as_bytes(world.diagnostic(PASSPORT, dict(TEST_MEASURES, gradingPolicy=unknown))))
    batch += [b"{not json", b"[]", b'{"record": 3}', b"{}"]
    policies = admission.bundled_policies()
    pool = AdmissionPool(workers=2)
    try:
        first = pool.admit(batch, policies)  # in this thread: the workers are starting
        pool.start(wait=True)
        shared = pool.admit(batch, policies)
        assert pool.running
        again = pool.admit(batch, policies)  # the workers have the policies by now
    finally:
        pool.close()
    assert not pool.running
    alone = admission.check_submissions(batch, policies)
    assert [verdict(o) for o in shared] == [verdict(o) for o in alone]
    assert [verdict(o) for o in first] == [verdict(o) for o in alone]
    assert [verdict(o) for o in again] == [verdict(o) for o in alone]
    assert "'cellSohSpread': 2.0" in str(verdict(shared[0]))
    assert isinstance(shared[-5], UnknownGradingPolicy)
    assert shared[-5].key == (unknown["id"], unknown["version"])
    assert sum(isinstance(o, RecordRejected) for o in shared) > len(BAD_CASES) // 2


def diagnostics(place: World, passports: list[str]) -> list[bytes]:
    return [as_bytes(place.diagnostic(p, TEST_MEASURES)) for p in passports]


def test_append_many_through_the_pool_refuses_as_in_one_process_and_close_stops_it(
    world: World,  # noqa: F811 (the fixture)
    small_chunks: None,
) -> None:
    ledger = world.ledger
    ledger.append_many([world.issued_record(p) for p in PASSPORTS])
    batch = diagnostics(world, PASSPORTS)
    bad = json.loads(batch[5])
    bad["disclosures"][0]["soce"] = 11.5  # no longer what the digest is of
    batch[5] = json.dumps(bad).encode()
    before = snapshot(world), ledger.log.size()
    refusals = []
    for workers in (0, 1, 2):
        ledger.admission.close()
        ledger.admission.workers = workers
        ledger.admission.start(wait=True)
        with pytest.raises(RecordRejected) as refused:
            ledger.append_many(batch)
        assert ledger.admission.running == (workers > 0)
        refusals.append((refused.value.__class__, refused.value.rule, str(refused.value)))
        assert refused.value.index == 5
        assert (snapshot(world), ledger.log.size()) == before
    assert refusals[1] == refusals[0] == refusals[2]
    good = diagnostics(world, PASSPORTS)
    receipts = ledger.append_many(good)
    assert [r.leaf_index for r in receipts] == list(range(before[1], before[1] + len(good)))
    assert ledger.audit(workers=1).ok
    ledger.close()
    assert not ledger.admission.running


def test_a_worker_that_dies_fails_the_batch_stores_nothing_and_the_next_batch_works(
    world: World,  # noqa: F811 (the fixture)
    small_chunks: None,
) -> None:
    ledger = world.ledger
    ledger.admission.workers = 1
    ledger.append_many([world.issued_record(p) for p in PASSPORTS])
    batch = diagnostics(world, PASSPORTS)
    ledger.admission.start(wait=True)
    executor = ledger.admission._executor
    assert executor is not None
    [process] = list(executor._processes.values())
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    time.sleep(0.1)
    before = snapshot(world), ledger.log.size()
    with pytest.raises(AdmissionWorkerError, match="nothing of it was stored"):
        ledger.append_many(batch)
    assert (snapshot(world), ledger.log.size()) == before
    assert not ledger.admission.running
    receipts = ledger.append_many(batch)  # in this thread, while a new pool starts
    assert len(receipts) == len(batch)
    ledger.admission.start(wait=True)
    assert ledger.admission.running
    ledger.close()

"""One sequencer under concurrency, and crash safety, on SQLite and PostgreSQL.

Appenders in several threads and several processes at once must never give two leaves
the same index or leave a gap; a process killed in the middle of a batch must leave the
log at its last committed, checkpointed size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ledger.log import TransparencyLog, checkpoint, merkle
from tests.ledger.conftest import ORIGIN

ROOT = Path(__file__).parents[2]


def appender(
    url: str, label: str, batches: int, batch_size: int, key: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ledger.appender",
            url,
            ORIGIN,
            label,
            str(batches),
            str(batch_size),
        ],
        cwd=ROOT,
        env={**os.environ, "BPL_TEST_SIGNER_KEY": key},
        stdout=subprocess.PIPE,
        text=True,
    )


def assert_log_is_whole(log: TransparencyLog, verifier: str) -> list[bytes]:
    """Every index once, no gap, nodes and root re-derived, checkpoint signed and equal."""
    size = log.size()
    stored = log.leaves(0, size)
    assert len(stored) == size
    assert log.audit(verifier) == size
    latest = checkpoint.verify(log.checkpoint(), verifier, ORIGIN)
    assert latest.size == size
    assert latest.root == merkle.root([merkle.leaf_hash(leaf) for leaf in stored])
    return stored


def test_threads_and_processes_append_without_duplicates_or_gaps(
    log: TransparencyLog, database_url: str, log_keys: tuple[str, str]
) -> None:
    processes = [appender(database_url, f"p{n}", 8, 25, log_keys[0]) for n in range(3)]

    def in_thread(label: str) -> list[int]:
        firsts = []
        for number in range(8):
            batch = [f"{label}-{number}-{i}".encode().ljust(100, b".") for i in range(25)]
            firsts.append(log.append(batch).first_index)
        return firsts

    with ThreadPoolExecutor(3) as pool:
        thread_firsts = list(pool.map(in_thread, ["t0", "t1", "t2"]))
    for process in processes:
        assert process.wait(timeout=120) == 0

    stored = assert_log_is_whole(log, log_keys[1])
    assert len(stored) == 6 * 8 * 25
    counts = Counter(stored)
    assert all(count == 1 for count in counts.values())  # each leaf exactly once
    # A batch is contiguous, in order, where its append said it starts.
    for label, firsts in zip(["t0", "t1", "t2"], thread_firsts, strict=True):
        for number, first in enumerate(firsts):
            expected = [f"{label}-{number}-{i}".encode().ljust(100, b".") for i in range(25)]
            assert stored[first : first + 25] == expected
    # Every batch's checkpoint is consistent with the final tree: one history, no fork.
    final_root = log.root()
    for size in {first + 25 for firsts in thread_firsts for first in firsts}:
        old = checkpoint.verify(log.checkpoint_at(size), log_keys[1], ORIGIN)
        log.consistency_proof(size).verify(old.root, final_root)


def test_a_process_killed_mid_batch_leaves_the_last_committed_checkpoint(
    log: TransparencyLog, database_url: str, log_keys: tuple[str, str]
) -> None:
    batch_size = 100_000  # long enough (about 1 s) that the kill lands inside the batch
    process = appender(database_url, "crash", 100, batch_size, log_keys[0])
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.split())
        if line.startswith("begin 2"):
            break
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    rest = process.stdout.read().split("\n")
    process.wait(timeout=30)
    assert not any(line.startswith("done 2") for line in rest), "the kill came after the commit"
    assert ["done", "1", str(2 * batch_size)] in lines

    reopened = TransparencyLog.open(database_url, ORIGIN, log_keys[0])
    try:
        stored = assert_log_is_whole(reopened, log_keys[1])
        assert len(stored) == 2 * batch_size  # batch 2 left nothing behind
        result = reopened.append([b"after the crash"])
        assert result.first_index == 2 * batch_size
        assert_log_is_whole(reopened, log_keys[1])
    finally:
        reopened.engine.dispose()

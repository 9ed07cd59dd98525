"""SQLite's WAL is checkpointed by a thread after each write transaction, so that the
``-wal`` file stops growing and no commit stalls on a checkpoint of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.log import TransparencyLog
from ledger.storage import database as store
from ledger.storage import sqlite_wal as wal_checkpoints
from tests.ledger.conftest import ORIGIN


@pytest.fixture
def sqlite_log(
    tmp_path: Path, log_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[TransparencyLog]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    opened = TransparencyLog.open(store.database_url(tmp_path), ORIGIN, log_keys[0])
    yield opened
    opened.engine.dispose()


def wal_bytes(tmp_path: Path) -> int:
    return (tmp_path / store.DATABASE_FILE).with_name(store.DATABASE_FILE + "-wal").stat().st_size


def test_the_wal_stops_growing_when_each_write_is_checkpointed(
    sqlite_log: TransparencyLog, tmp_path: Path, log_keys: tuple[str, str]
) -> None:
    log = sqlite_log
    checkpointer = store.CHECKPOINTERS[log.engine]
    batch = [bytes(1000)] * 200
    log.append(batch)
    assert checkpointer.settle()
    first = wal_bytes(tmp_path)
    for _ in range(20):
        log.append(batch)
        assert checkpointer.settle()  # copied before the next write begins: it starts over
    assert checkpointer.checkpoints >= 21
    assert wal_bytes(tmp_path) <= 2 * first  # twenty batches later, not twenty times larger
    assert log.size() == 21 * 200
    assert log.audit(log_keys[1]) == 21 * 200


def test_reads_wake_no_checkpoint(sqlite_log: TransparencyLog) -> None:
    log = sqlite_log
    checkpointer = store.CHECKPOINTERS[log.engine]
    log.append([b"a"])
    assert checkpointer.settle()
    done = checkpointer.checkpoints
    for _ in range(5):
        log.size()
        log.leaves(0, 1)
    assert checkpointer.settle()
    assert checkpointer.checkpoints == done


def test_the_thread_ends_when_idle_and_the_next_write_starts_another(
    sqlite_log: TransparencyLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = sqlite_log
    monkeypatch.setattr(wal_checkpoints, "IDLE_SECONDS", 0.05)
    checkpointer = store.CHECKPOINTERS[log.engine]
    log.append([b"a"])
    assert checkpointer.settle()
    thread = checkpointer._thread
    if thread is not None:
        thread.join(timeout=5)
    assert checkpointer._thread is None
    done = checkpointer.checkpoints
    log.append([b"b"])
    assert checkpointer.settle()
    assert checkpointer.checkpoints == done + 1


def test_postgresql_and_memory_databases_have_no_checkpoint_thread(
    database_url: str,
) -> None:
    engine = store.create_engine(
        "sqlite://" if database_url.startswith("sqlite") else database_url, create=False
    )
    assert engine not in store.CHECKPOINTERS
    engine.dispose()


def test_a_failed_checkpoint_leaves_the_thread_serving(
    sqlite_log: TransparencyLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints are an optimization: one that fails is logged, and the next write's
    checkpoint runs as usual."""
    checkpointer = store.CHECKPOINTERS[sqlite_log.engine]
    sqlite_log.append([b"a"])
    assert checkpointer.settle()
    done = checkpointer.checkpoints
    real = sqlite_log.engine.raw_connection

    def failing() -> object:
        monkeypatch.setattr(sqlite_log.engine, "raw_connection", real)
        raise RuntimeError("the pool is gone")

    monkeypatch.setattr(sqlite_log.engine, "raw_connection", failing)
    sqlite_log.append([b"b"])
    assert checkpointer.settle()
    assert checkpointer.checkpoints == done  # that one failed
    sqlite_log.append([b"c"])
    assert checkpointer.settle()
    assert checkpointer.checkpoints == done + 1
    assert sqlite_log.size() == 3

"""A data directory is its owner's alone: the directory 0700, every file bpl writes in it
0600 (the database holds restricted disclosures), whatever existed before and whatever
the umask; SQLite's ``-wal`` and ``-shm`` files take the database file's mode."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.datadir import DataDir
from ledger.errors import LedgerError
from ledger.facade import Ledger
from ledger.storage import database as store
from signing import keys
from tests.ledger.conftest import ORIGIN


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(directory: Path) -> dict[str, int]:
    return {entry.name: mode(entry) for entry in directory.iterdir()}


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The usual umask, and none at all: neither may matter."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="ledger.datadir")
    return caplog


def open_directory(tmp_path: Path) -> Path:
    """An existing data directory anyone may read and enter, as ``mkdir`` makes one."""
    path = tmp_path / "data"
    path.mkdir()
    path.chmod(0o755)
    return path


def test_init_in_an_existing_directory_leaves_nothing_others_can_read(
    tmp_path: Path, umask: int, warnings: pytest.LogCaptureFixture
) -> None:
    path = open_directory(tmp_path)
    DataDir(path).init(ORIGIN)
    assert mode(path) == 0o700
    assert f"tightened {path} from 0755 to 0700" in warnings.messages
    log = DataDir(path).open_log(writable=True)
    try:
        with log.engine.connect() as connection:  # the pool keeps it: -wal and -shm exist
            connection.exec_driver_sql("SELECT count(*) FROM log_checkpoints")
        found = modes(path)
    finally:
        log.engine.dispose()
    assert {"log.json", "log.key", "log.pub", "ledger.db", "ledger.db-wal", "ledger.db-shm"} <= set(
        found
    )
    assert found == dict.fromkeys(found, 0o600)


def test_a_ledger_in_an_existing_directory_leaves_nothing_others_can_read(
    tmp_path: Path, umask: int
) -> None:
    path = open_directory(tmp_path)
    ledger = Ledger.init(path, keys.generate(), origin=ORIGIN)
    try:
        found = modes(path)
    finally:
        ledger.engine.dispose()
    assert "ledger.db-wal" in found
    assert found == dict.fromkeys(found, 0o600)
    assert mode(path) == 0o700


def test_opening_tightens_what_an_older_bpl_left_readable(
    tmp_path: Path, warnings: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "data"
    DataDir(path).init(ORIGIN)
    path.chmod(0o755)
    (path / "ledger.db").chmod(0o644)  # SQLite would give -wal and -shm this mode
    warnings.clear()
    for writable in (False, True):
        log = DataDir(path).open_log(writable=writable)
        try:
            with log.engine.connect() as connection:
                connection.exec_driver_sql("SELECT count(*) FROM log_checkpoints")
            assert mode(path / "ledger.db-wal") == mode(path / "ledger.db-shm") == 0o600
        finally:
            log.engine.dispose()
    assert mode(path) == 0o700
    assert mode(path / "ledger.db") == 0o600
    assert warnings.messages == [
        f"tightened {path} from 0755 to 0700",
        f"tightened {path / 'ledger.db'} from 0644 to 0600",
    ]  # said once: the second opening found nothing to do


def test_opening_tightens_leftover_wal_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "data"
    DataDir(path).init(ORIGIN)
    for name in ("ledger.db-wal", "ledger.db-shm"):  # an older bpl's, left by a crash
        (path / name).touch()
        (path / name).chmod(0o644)
    secured = DataDir(path).secure()
    assert secured == [
        f"tightened {path / name} from 0644 to 0600" for name in ("ledger.db-wal", "ledger.db-shm")
    ]


def test_a_readable_key_file_is_refused_not_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "data"
    DataDir(path).init(ORIGIN)
    (path / "log.key").chmod(0o644)
    with pytest.raises(LedgerError, match="chmod 600"):
        DataDir(path).open_log(writable=True)
    assert mode(path / "log.key") == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_what_is_not_ours_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "data"
    DataDir(path).init(ORIGIN)
    database = path / "ledger.db"
    database.chmod(0o644)
    os.chown(database, 54321, 54321)
    assert DataDir(path).secure() == []
    assert mode(database) == 0o644


def test_a_new_sqlite_file_anywhere_is_its_owners_alone(tmp_path: Path, umask: int) -> None:
    file = tmp_path / "elsewhere" / "ledger.db"
    engine = store.open_engine(f"sqlite:///{file}")
    try:
        found = modes(file.parent)
    finally:
        engine.dispose()
    assert set(found) >= {"ledger.db", "ledger.db-wal", "ledger.db-shm"}
    assert found == dict.fromkeys(found, 0o600)
    assert mode(file.parent) == 0o700


def test_an_existing_sqlite_file_by_url_keeps_its_mode(tmp_path: Path) -> None:
    file = tmp_path / "shared.db"
    store.open_engine(f"sqlite:///{file}").dispose()
    file.chmod(0o640)  # its owner's choice: a URL names a file, not a data directory
    store.open_engine(f"sqlite:///{file}").dispose()
    assert mode(file) == 0o640

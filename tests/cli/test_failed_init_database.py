"""A failed ``bpl init`` (or ``bpl demo``) leaves the database as it was (issue 15), on a
real PostgreSQL server and on SQLite: whatever step fails (the schema written, the log's
identity or first checkpoint, the operator's registration, an interrupt, the demo after
it), the tables it made are dropped, and a retry succeeds. The failure is injected at
that step; the database is never mocked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger import demo, identity
from ledger.datadir import DataDir
from ledger.errors import StoreError
from ledger.facade import Ledger
from ledger.log import TransparencyLog
from ledger.storage import database as store
from ledger.storage import identity_rows

runner = CliRunner()


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _database(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    yield


def tables(empty_database_url: str) -> list[str]:
    """The tables in the database (none for a SQLite file that is not there)."""
    if empty_database_url.startswith("sqlite:///"):
        file = Path(empty_database_url.removeprefix("sqlite:///"))
        if not file.exists():
            return []
        engine = store.create_engine(empty_database_url, create=False)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
                return sorted(row[0] for row in rows)
        finally:
            store.dispose(engine)
    with psycopg.connect(empty_database_url) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return sorted(row[0] for row in rows)


def _raise(error: BaseException) -> Callable[..., Any]:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return fail


def _after(original: Callable[..., Any], error: BaseException) -> Callable[..., Any]:
    """``original``, done, then ``error``: the step succeeded and what follows fails."""

    def then_fail(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise error

    return then_fail


LOST = StoreError("connection lost")

STEPS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    # the schema is written, the identity insert fails
    "identity": lambda patch: patch.setattr(identity_rows, "insert", _raise(LOST)),
    # identity recorded, the log's first checkpoint fails
    "first checkpoint": lambda patch: patch.setattr(TransparencyLog, "append", _raise(LOST)),
    # the log complete, the operator's registration fails
    "registration": lambda patch: patch.setattr(Ledger, "register_actor", _raise(LOST)),
    # the operator registered: interrupted before the command is done
    "interrupt": lambda patch: patch.setattr(
        Ledger, "register_actor", _after(Ledger.register_actor, KeyboardInterrupt())
    ),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_failed_init_leaves_the_database_as_it_was_and_a_retry_succeeds(
    step: str, empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with monkeypatch.context() as patch:
        STEPS[step](patch)
        failed = bpl("init", "--data-dir", home)
    assert failed.exit_code != 0
    assert "still in the database" not in failed.stderr
    assert tables(empty_database_url) == []
    assert not home.exists()
    retried = bpl("init", "--data-dir", home, "--json")
    assert retried.exit_code == 0, retried.output
    audited = bpl("audit", "--data-dir", home, "--json")
    assert json.loads(audited.stdout)["ok"] is True


def test_a_failed_demo_leaves_the_database_as_it_was(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo fails after its ledger was made: that ledger goes too."""
    home = tmp_path / "demo"
    with monkeypatch.context() as patch:
        patch.setattr(demo, "run_demo", _raise(StoreError("disk full")))
        failed = bpl("demo", "--data-dir", home, "--batteries", "1")
    assert failed.exit_code == 1
    assert tables(empty_database_url) == []
    assert bpl("init", "--data-dir", home).exit_code == 0


def test_an_empty_schema_stays_an_empty_schema(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that held the ledger's schema and no log (an older bpl's failed init) is
    left so: its tables, empty, the log's state the empty tree."""
    store.dispose(store.open_engine(empty_database_url))
    made = tables(empty_database_url)
    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "register_actor", _raise(LOST))
        assert bpl("init", "--data-dir", tmp_path / "home").exit_code == 2
    assert tables(empty_database_url) == made
    engine = store.create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            for table in made:
                if table not in ("alembic_version", "log_state"):
                    count = connection.exec_driver_sql(f"SELECT count(*) FROM {table}")
                    assert count.scalar_one() == 0, table
            state = connection.exec_driver_sql("SELECT id, size, frontier FROM log_state")
            assert [tuple(row) for row in state] == [(1, 0, b"")]
    finally:
        store.dispose(engine)
    assert bpl("init", "--data-dir", tmp_path / "home").exit_code == 0


def test_a_refused_init_never_touches_the_log_in_the_database(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Only the log a failed init made goes: not another ledger's, even with its log.pub
    left in the directory the refused init ran in."""
    assert bpl("init", "--data-dir", tmp_path / "first").exit_code == 0
    second = tmp_path / "second"
    second.mkdir(mode=0o700)
    (second / "log.pub").write_bytes((tmp_path / "first" / "log.pub").read_bytes())
    refused = bpl("init", "--data-dir", second)
    assert refused.exit_code == 2
    assert "already holds log" in refused.stderr
    audited = bpl("audit", "--database-url", empty_database_url, "--json")
    assert json.loads(audited.stdout)["ok"] is True


def test_a_removal_that_fails_too_says_so(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "register_actor", _raise(LOST))
        patch.setattr(identity, "forget", _raise(StoreError("server gone")))
        failed = bpl("init", "--data-dir", tmp_path / "home")
    assert failed.exit_code == 2
    assert "the failed ledger's log is still in the database" in failed.stderr
    assert "(server gone)" in failed.stderr
    assert "bpl: connection lost" in failed.stderr


def test_ledger_init_in_python_leaves_the_database_as_it_was(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signing import keys  # noqa: PLC0415

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "register_actor", _raise(LOST))
        with pytest.raises(StoreError, match="connection lost"):
            Ledger.init(tmp_path / "home", keys.generate())
    assert tables(empty_database_url) == []
    assert DataDir(tmp_path / "home").verifier_key_file.exists()  # files: the caller's

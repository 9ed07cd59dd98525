"""Storage fixtures: every storage test runs on SQLite and on a real PostgreSQL.

Each test gets a fresh database: a new SQLite file, or a new PostgreSQL database (dropped
afterwards) on ``$BPL_TEST_POSTGRES_URL`` (default: the local server, user postgres).
PostgreSQL being unreachable fails the tests; it is never skipped silently. A developer
without PostgreSQL may set ``BPL_TEST_SKIP_POSTGRES=1`` (CI does not).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.log import TransparencyLog
from signing import note

POSTGRES_ADMIN_URL = os.environ.get(
    "BPL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ORIGIN = "test.bpl.example/log"
_counter = itertools.count()


@pytest.fixture(scope="session")
def log_keys() -> tuple[str, str]:
    """(signer key, verifier key) of the test log."""
    return note.generate(ORIGIN)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    name = f"bpl_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def log(database_url: str, log_keys: tuple[str, str]) -> Iterator[TransparencyLog]:
    """A new log with its signer key, on each kind of database."""
    opened = TransparencyLog.open(database_url, ORIGIN, log_keys[0])
    opened.append([])  # the first checkpoint, of the empty tree
    yield opened
    opened.engine.dispose()

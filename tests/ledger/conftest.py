"""Storage fixtures: every storage test runs on SQLite and on a real PostgreSQL.

Each test gets a fresh database: a new SQLite file, or a new PostgreSQL database (dropped
afterwards) on ``$BPL_TEST_POSTGRES_URL`` (default: the local server, user postgres).
PostgreSQL being unreachable fails the tests; it is never skipped silently. A developer
without PostgreSQL may set ``BPL_TEST_SKIP_POSTGRES=1`` (CI does not).

Each test process (a pytest-xdist worker, or pytest itself) names its databases by its
process id, and makes them in a background thread: the next one while a test runs, and
drops each after its test, so that no test waits for CREATE or DROP DATABASE.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


def _create_database() -> str:
    # A random part too: this module may be imported twice in a worker (as the conftest
    # plugin and by test modules that import from it), each copy with its own count.
    name = f"bpl_test_{os.getpid()}_{next(_counter)}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Databases:
    """This process's fresh PostgreSQL databases: empty, from template1, one per test.

    CREATE DATABASE takes 0.1-0.4 s and DROP DATABASE up to 0.2 s; one background thread
    makes the next test's database while a test runs and drops each used one, so tests wait
    for neither. A drop that failed fails the next test that takes a database."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="bpl-test-databases")
        self._next: Future[str] | None = None
        self._drops: list[Future[None]] = []
        atexit.register(self._close)

    def take(self) -> str:
        for drop in [d for d in self._drops if d.done()]:
            self._drops.remove(drop)
            drop.result()
        if self._next is None:
            self._next = self._thread.submit(_create_database)
        upcoming, self._next = self._next, None
        name = upcoming.result()  # PostgreSQL unreachable: the test fails here
        self._next = self._thread.submit(_create_database)
        return name

    def give_back(self, name: str) -> None:
        self._drops.append(self._thread.submit(_drop_database, name))

    def _close(self) -> None:
        """At exit (the thread has finished its queue by then): the unused database."""
        if self._next is not None and self._next.exception() is None:
            _drop_database(self._next.result())


_databases: _Databases | None = None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database of each kind."""
    global _databases  # noqa: PLW0603 (one per test process, made on first use)
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    if _databases is None:
        _databases = _Databases()
    name = _databases.take()
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _databases.give_back(name)


@pytest.fixture
def log(database_url: str, log_keys: tuple[str, str]) -> Iterator[TransparencyLog]:
    """A new log with its signer key, on each kind of database."""
    opened = TransparencyLog.open(database_url, ORIGIN, log_keys[0])
    opened.append([])  # the first checkpoint, of the empty tree
    yield opened
    opened.engine.dispose()

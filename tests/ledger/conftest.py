"""Storage fixtures: every storage test runs on SQLite and on a real PostgreSQL.

Each test gets a fresh database: a new SQLite file, or a new PostgreSQL database (dropped
afterwards) on ``$BPL_TEST_POSTGRES_URL`` (default: the local server, user postgres).
PostgreSQL being unreachable fails the tests; it is never skipped silently. A developer
without PostgreSQL may set ``BPL_TEST_SKIP_POSTGRES=1`` (CI does not).

Each test process (a pytest-xdist worker, or pytest itself) names its databases by its
process id, and makes them in a background thread: the next one while a test runs, and
drops each after its test, so that no test waits for CREATE or DROP DATABASE.

``database_url`` is a database at the ledger's latest schema and holding nothing else
(what the migrations leave): a copy of one migrated once per process (a file copy on
SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), since running the migrations
took most of a test's set-up. ``empty_database_url`` is an empty one, for the tests of
opening, migrating and adopting databases.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from ledger.log import TransparencyLog
from ledger.storage import database as store
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


def _create_database(template: str | None = None) -> str:
    # A random part too: this module may be imported twice in a worker (as the conftest
    # plugin and by test modules that import from it), each copy with its own count.
    name = f"bpl_test_{os.getpid()}_{next(_counter)}_{secrets.token_hex(4)}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    return name


def _url_of(name: str) -> str:
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _migrated_template() -> str:
    """A PostgreSQL database at the latest schema, to copy (no connection may stay open
    to a template while it is copied)."""
    name = _create_database()
    engine = store.open_engine(_url_of(name))
    engine.dispose()
    atexit.register(_drop_database, name)
    return name


def _drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Databases:
    """This process's fresh PostgreSQL databases: empty, from template1, one per test.

    CREATE DATABASE takes 0.1-0.4 s and DROP DATABASE up to 0.2 s; one background thread
    makes the next test's database while a test runs and drops each used one, so tests wait
    for neither. A drop that failed fails the next test that takes a database."""

    def __init__(self, template: str | None = None) -> None:
        self._template = template
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="bpl-test-databases")
        self._next: Future[str] | None = None
        self._drops: list[Future[None]] = []
        atexit.register(self._close)

    def take(self) -> str:
        for drop in [d for d in self._drops if d.done()]:
            self._drops.remove(drop)
            drop.result()
        if self._next is None:
            self._next = self._thread.submit(_create_database, self._template)
        upcoming, self._next = self._next, None
        name = upcoming.result()  # PostgreSQL unreachable: the test fails here
        self._next = self._thread.submit(_create_database, self._template)
        return name

    def give_back(self, name: str) -> None:
        self._drops.append(self._thread.submit(_drop_database, name))

    def _close(self) -> None:
        """At exit (the thread has finished its queue by then): the unused database."""
        if self._next is not None and self._next.exception() is None:
            _drop_database(self._next.result())


_databases: dict[bool, _Databases] = {}
_sqlite_template: list[Path] = []


def _postgres_url(request: pytest.FixtureRequest, *, migrated: bool) -> Iterator[str]:
    if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    if migrated not in _databases:
        _databases[migrated] = _Databases(_migrated_template() if migrated else None)
    databases = _databases[migrated]
    name = databases.take()
    try:
        yield _url_of(name)
    finally:
        databases.give_back(name)


def _migrated_sqlite(tmp_path: Path, factory: pytest.TempPathFactory) -> str:
    if not _sqlite_template:
        template = factory.mktemp("migrated") / "ledger.db"
        store.open_engine(f"sqlite:///{template}").dispose()
        _sqlite_template.append(template)
    shutil.copyfile(_sqlite_template[0], tmp_path / "ledger.db")
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A URL of a fresh database of each kind, at the ledger's latest schema and holding
    only what the migrations insert (see the module doc)."""
    if request.param == "sqlite":
        yield _migrated_sqlite(tmp_path, tmp_path_factory)
        return
    yield from _postgres_url(request, migrated=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database of each kind (no schema at all)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    yield from _postgres_url(request, migrated=False)


@pytest.fixture
def log(database_url: str, log_keys: tuple[str, str]) -> Iterator[TransparencyLog]:
    """A new log with its signer key, on each kind of database."""
    opened = TransparencyLog.open(database_url, ORIGIN, log_keys[0])
    opened.append([])  # the first checkpoint, of the empty tree
    yield opened
    opened.engine.dispose()

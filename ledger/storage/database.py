"""Opening the database: SQLite (the embedded default) or PostgreSQL (``DATABASE_URL``),
each through its driver (:mod:`~ledger.storage.sqlite_driver`,
:mod:`~ledger.storage.postgres_driver`: their settings and crash behaviour), chosen here
once per engine by the URL's backend; :func:`driver_for` gives a connection's. The schema is
managed by the Alembic migrations in ``ledger/storage/migrations``; :func:`open_engine`
brings a database to the current revision. Alembic itself is imported only to migrate:
opening a database that is at the latest revision reads its version row with plain SQL,
and the revisions are the migration files' names (a test holds them equal to Alembic's
view), which keeps about 0.2 s of imports out of every ``bpl`` verb.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from ledger.errors import StoreError
from ledger.storage.driver import WRITE_OPTION, Driver
from ledger.storage.postgres_driver import POSTGRES
from ledger.storage.sqlite_driver import CHECKPOINTERS as _CHECKPOINTERS
from ledger.storage.sqlite_driver import SQLITE
from ledger.storage.tables import STATE_ROW  # and every table, in SQLModel.metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the empty tree (RFC 9162 2.1.1), as migration 0001 stores it."""
DATABASE_FILE = "ledger.db"
VERSION_TABLE = "alembic_version"
"""Alembic's table of the database's revision (one row)."""

WRITE = {WRITE_OPTION: True}
"""Execution options of a write transaction (``engine.execution_options(**WRITE)``)."""

CHECKPOINTERS = _CHECKPOINTERS
"""The WAL checkpoint thread of each SQLite file engine (its driver's)."""

DRIVERS: dict[str, Driver] = {driver.name: driver for driver in (SQLITE, POSTGRES)}
"""The driver of each engine, by SQLAlchemy dialect (and URL backend) name."""


def driver_for(dialect: sa.Dialect) -> Driver:
    """The driver of an engine or connection opened here, by its ``dialect``."""
    return DRIVERS[dialect.name]


def database_url(data_dir: Path) -> str:
    """``$DATABASE_URL`` if set, else the SQLite file in ``data_dir``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return default_url(data_dir)


def default_url(data_dir: Path) -> str:
    """The embedded default's URL: the SQLite file in ``data_dir``."""
    return SQLITE.url_of(data_dir / DATABASE_FILE)


def open_engine(url: str, *, upgrade: bool = True) -> Engine:
    """An engine on ``url`` whose schema is at the latest migration (applied if needed)."""
    engine = create_engine(url)
    if upgrade:
        upgrade_schema(engine)
    else:
        require_current_schema(engine)
    return engine


def create_engine(url: str, *, create: bool = True) -> Engine:
    """An engine with the ledger's connection settings, no schema check. ``create=False``
    refuses a SQLite file that does not exist (rather than creating an empty one)."""
    try:
        parsed = sa.engine.make_url(_with_dbapi(url))
    except sa.exc.ArgumentError:
        raise StoreError("DATABASE_URL is not a database URL") from None
    driver = DRIVERS.get(parsed.get_backend_name())
    if driver is None:
        known = ", ".join(DRIVERS)
        raise StoreError(f"unsupported database {parsed.get_backend_name()!r} ({known})")
    return driver.create_engine(parsed, create=create)


def database_files(url: str) -> list[Path]:
    """The files the database at ``url`` keeps in the file system: a SQLite file with its
    ``-wal`` and ``-shm`` files; none for a server, or for what is no database URL."""
    try:
        parsed = sa.engine.make_url(_with_dbapi(url))
    except sa.exc.ArgumentError:
        return []
    driver = DRIVERS.get(parsed.get_backend_name())
    return [] if driver is None else driver.files(parsed)


def _with_dbapi(url: str) -> str:
    """``url`` naming the DB-API module of its engine's driver (``postgresql://``: psycopg 3)."""
    for driver in DRIVERS.values():
        url = driver.with_dbapi(url)
    return url


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 (only migrating needs Alembic)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _revisions() -> tuple[str, ...]:
    """The migrations' revision ids in order: each file ``NNNN_name.py`` is revision
    ``NNNN``, revising the one before (tests/ledger/test_log_store.py holds this equal to
    Alembic's own reading of the scripts)."""
    names = sorted(
        path.name for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    )
    if not names:  # pragma: no cover - the package ships its migrations
        raise StoreError("no migrations found")
    return tuple(name[:4] for name in names)


def head_revision() -> str:
    """The latest migration's revision id."""
    return _revisions()[-1]


def is_ledger_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the ledger's migrations (a database Alembic manages
    for something else, or for a newer bpl, has others)."""
    return revision in _revisions()


def current_revision(engine: Engine) -> str | None:
    """The database's migration revision, None for an empty database."""
    try:
        with engine.connect() as connection:
            return revision_in(connection)
    except sa.exc.DatabaseError as exc:  # unreachable, locked, or not a database at all
        raise StoreError(f"cannot open the database: {_reason(exc)}") from None


def upgrade_schema(engine: Engine) -> None:
    """Apply the migrations the database lacks (none: a cheap revision check)."""
    revision = current_revision(engine)
    if revision == head_revision():
        return
    if revision is not None and not is_ledger_revision(revision):
        raise StoreError(
            f"database schema is at {revision}, unknown to this bpl: not a bpl ledger's "
            "database, or one from a newer version"
        )
    from alembic import command  # noqa: PLC0415 (only migrating needs Alembic)

    with engine.execution_options(**WRITE).begin() as connection:
        command.upgrade(_alembic_config(connection), "head")


def require_current_schema(engine: Engine) -> None:
    """Raise StoreError unless the database is at the latest migration."""
    revision = current_revision(engine)
    if revision != head_revision():
        raise StoreError(
            f"database schema is at {revision or 'nothing'}, expected {head_revision()}: "
            "run `bpl log init` (or open it with upgrade)"
        )


def revision_in(connection: sa.Connection) -> str | None:
    """The database's migration revision as ``connection``'s transaction sees it: the one
    row of Alembic's version table, None with no table (or no row)."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    rows = connection.execute(sa.select(version.c.version_num)).scalars().all()
    if len(rows) > 1:  # Alembic's branches: not a ledger's database
        raise StoreError(
            f"the database's schema version is not one revision: {', '.join(sorted(rows))}"
        )
    return rows[0] if rows else None


def drop_schema(connection: sa.Connection) -> None:
    """Drop every table of the ledger's schema and Alembic's version table, in the caller's
    transaction (DDL is transactional on both engines): the database as it was before its
    first migration."""
    SQLModel.metadata.drop_all(connection)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")


def empty_schema(connection: sa.Connection) -> None:
    """Delete every row of the ledger's tables and put the log's state back to the empty
    tree, in the caller's transaction: the schema as the migrations leave it."""
    for table in reversed(SQLModel.metadata.sorted_tables):
        connection.execute(table.delete())
    connection.execute(
        sa.insert(SQLModel.metadata.tables["log_state"]),
        {"id": STATE_ROW, "size": 0, "root": EMPTY_ROOT, "frontier": b"", "edges": b""},
    )


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's message without SQL text or parameters (they may hold data)."""
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def dispose(engine: Engine) -> None:
    """Close an engine for good, its driver's background work done first (SQLite's WAL
    checkpoint thread: run after, it would reopen the database and make its -wal and -shm
    files again)."""
    driver_for(engine.dialect).dispose(engine)

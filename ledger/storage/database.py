"""Opening the database: SQLite (the embedded default) or PostgreSQL (``DATABASE_URL``).

A new SQLite file is created with mode 0600 whatever the umask (SQLite gives its ``-wal``
and ``-shm`` files the same mode). SQLite runs in WAL mode with ``synchronous=FULL``, so
an acknowledged append survives a crash of the process and of the machine. New files get
16 KiB pages (measured on ``bench/bench_ledger.py``: 4 and 64 KiB pages were slower, 8
and 32 KiB no faster). A thread checkpoints the WAL after every write transaction
(:mod:`ledger.storage.sqlite_wal`); the commits' own automatic checkpoint, every 16,384
pages, is only the backstop. Its write transactions start with ``BEGIN IMMEDIATE``: the
write lock is taken before anything is read, which is what makes
one sequencer out of many appending processes (on PostgreSQL a row lock does that, see
:mod:`ledger.log`). The schema is managed by the Alembic migrations in
``ledger/storage/migrations``; :func:`open_engine` brings a database to the current revision.
"""

from __future__ import annotations

import functools
import os
import weakref
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from ledger.errors import StoreError
from ledger.storage.sqlite_wal import WalCheckpointer

MIGRATIONS = Path(__file__).parent / "migrations"
DATABASE_FILE = "ledger.db"
WRITE = {"bpl_write": True}
"""Execution options of a write transaction (``engine.execution_options(**WRITE)``)."""

_BUSY_TIMEOUT_MS = 60_000
_WROTE = "bpl_wrote"  # set in a connection's info by a write transaction

CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()
"""The WAL checkpoint thread of each SQLite file engine."""


def database_url(data_dir: Path) -> str:
    """``$DATABASE_URL`` if set, else the SQLite file in ``data_dir``."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir / DATABASE_FILE}"


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
        parsed = sa.engine.make_url(_with_driver(url))
    except sa.exc.ArgumentError:
        raise StoreError("DATABASE_URL is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        file = parsed.database if parsed.database not in (None, "", ":memory:") else None
        if not create and file is not None and not Path(file).is_file():
            raise StoreError(f"no database file at {file} (a new ledger is made by `bpl init`)")
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    raise StoreError(f"unsupported database {parsed.get_backend_name()!r} (sqlite, postgresql)")


def _create_private_file(path: Path) -> None:
    """Create the SQLite file ``path``, if absent, empty and readable by its owner only
    (0600 whatever the umask; its directory, if new, 0700), before SQLite opens it: SQLite
    would create it 0644 under the usual umask, and it creates the ``-wal`` and ``-shm``
    files with the main file's mode. An empty file is an empty database to SQLite."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # an existing database keeps its mode (a data directory tightens its own)
    except OSError as exc:
        raise StoreError(f"cannot create the database file {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _with_driver(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        _create_private_file(Path(url.database))
    engine = sa.create_engine(url, hide_parameters=True)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the sqlite3 module, issue BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA page_size = 16384")  # a new file only
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        # 64 MiB of page cache: a batch's inserts into the leaf-hash index land all over it.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.execute("PRAGMA wal_autocheckpoint = 16384")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get("bpl_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        if write:
            connection.info[_WROTE] = True

    if url.database and url.database != ":memory:":
        checkpointer = WalCheckpointer(engine)
        CHECKPOINTERS[engine] = checkpointer

        @sa.event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
            # A write transaction's connection comes back: committed or rolled back.
            if record is not None and record.info.pop(_WROTE, False):
                checkpointer.nudge()

    return engine


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The latest migration's revision id (read once: every open compares against it)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise StoreError("no migrations found")
    return head


@functools.cache
def _revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return frozenset(migration.revision for migration in script.walk_revisions())


def is_ledger_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the ledger's migrations (a database Alembic manages
    for something else, or for a newer bpl, has others)."""
    return revision in _revisions()


def current_revision(engine: Engine) -> str | None:
    """The database's migration revision, None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.DatabaseError as exc:  # unreachable, locked, or not a database at all
        raise StoreError(f"cannot open the database: {_reason(exc)}") from None
    except CommandError as exc:  # e.g. several revisions in alembic_version: not ours
        raise StoreError(f"the database's schema version is not one revision: {exc}") from None


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


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's message without SQL text or parameters (they may hold data)."""
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def dispose(engine: Engine) -> None:
    """Close an engine for good: its WAL checkpoint thread done first (run after, it would
    reopen the database and make its -wal and -shm files again)."""
    checkpointer = CHECKPOINTERS.get(engine)
    if checkpointer is not None:
        checkpointer.settle()
    engine.dispose()

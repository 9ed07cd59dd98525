"""The SQLite driver: the embedded default, a file in the data directory.

Crash behaviour (docs/log.md, "Crash safety and concurrency, per storage driver"): WAL
journal with ``synchronous=FULL``. A commit appends the pages it changed to the ``-wal``
file and syncs it before it returns, so an acknowledged commit survives a crash of the
process and of the machine. A crash mid-commit leaves frames with no commit frame after
them, which the next opener ignores: the database is as of the last commit, and nothing
of the interrupted transaction is there (tested with ``kill -9`` mid-batch). Checkpoints
(:mod:`ledger.storage.sqlite_wal`, a thread; ADR 0011) copy committed pages into the
database file; one interrupted is simply run again from the ``-wal`` file. There is no
bulk-load path: a batch is ``executemany`` of one prepared statement inside the
transaction. Writers begin with ``BEGIN IMMEDIATE``: the write lock is taken before
anything is read, which makes one sequencer out of many appending processes (others wait,
busy timeout 60 s).

A new file is created with mode 0600 whatever the umask (SQLite gives its ``-wal`` and
``-shm`` files the same mode), with 16 KiB pages (measured on ``bench/bench_ledger.py``: 4
and 64 KiB pages were slower, 8 and 32 KiB no faster). The commits' own automatic
checkpoint, every 16,384 pages, is only the backstop of the thread's.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.errors import StoreError
from ledger.storage.driver import WRITE_OPTION, Column, Driver
from ledger.storage.sqlite_wal import WalCheckpointer

_BUSY_TIMEOUT_MS = 60_000
_WROTE = "bpl_wrote"  # set in a connection's info by a write transaction
_CHUNK = 900  # parameters per IN list, under SQLite's limit

CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()
"""The WAL checkpoint thread of each SQLite file engine."""


class SqliteDriver(Driver):
    """SQLite through the standard library's ``sqlite3`` (see the module doc)."""

    name = "sqlite"
    pipelines_writes = False  # in the process: nothing to overlap
    alters_tables_in_batches = True

    def url_of(self, path: Path) -> str:
        """The URL of the database file ``path``."""
        return f"sqlite:///{path}"

    def create_engine(self, url: sa.URL, *, create: bool) -> Engine:
        file = url.database if url.database not in (None, "", ":memory:") else None
        if not create and file is not None and not Path(file).is_file():
            raise StoreError(f"no database file at {file} (a new ledger is made by `bpl init`)")
        return _sqlite_engine(url)

    def files(self, url: sa.URL) -> list[Path]:
        """The database file and its ``-wal`` and ``-shm`` files (none in memory)."""
        if url.database in (None, "", ":memory:"):
            return []
        file = Path(url.database)
        return [file.with_name(file.name + end) for end in ("", "-wal", "-shm")]

    def dispose(self, engine: Engine) -> None:
        """Close ``engine``: its WAL checkpoint thread done first (run after, it would
        reopen the database and make its -wal and -shm files again)."""
        checkpointer = CHECKPOINTERS.get(engine)
        if checkpointer is not None:
            checkpointer.settle()
        engine.dispose()

    def sql(self, statement: str) -> str:
        return statement  # qmark: the markers as written

    def locked(self, statement: str) -> str:
        return statement  # the write transaction's BEGIN IMMEDIATE holds the lock already

    def insert_rows(
        self,
        connection: sa.Connection,
        table: str,
        columns: Sequence[Column],
        rows: Sequence[tuple[Any, ...]],
        conflict: str,
    ) -> None:
        """``executemany`` of one prepared statement: in the process, already the cheapest
        way in."""
        names = ", ".join(name for name, _ in columns)
        markers = ", ".join("?" * len(columns))
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({markers}){conflict}",  # noqa: S608
            list(rows),
        )

    def rows_in(
        self, connection: sa.Connection, statement: str, values: list[Any], kind: str
    ) -> list[Any]:
        """``IN`` lists, in chunks under SQLite's parameter limit."""
        rows: list[Any] = []
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            markers = "(" + ", ".join("?" * len(chunk)) + ")"
            rows += connection.exec_driver_sql(statement + markers, tuple(chunk)).all()
        return rows

    def pairs_in(
        self,
        connection: sa.Connection,
        statement: str,
        pairs: list[tuple[Any, Any]],
        kinds: tuple[str, str],
    ) -> list[Any]:
        """``IN (VALUES (?, ?), ...)`` lists, in chunks under SQLite's parameter limit."""
        rows: list[Any] = []
        for start in range(0, len(pairs), _CHUNK // 2):
            chunk = pairs[start : start + _CHUNK // 2]
            markers = "(VALUES " + ", ".join(["(?, ?)"] * len(chunk)) + ")"
            flat = tuple(value for pair in chunk for value in pair)
            rows += connection.exec_driver_sql(statement + markers, flat).all()
        return rows

    @contextmanager
    def pipelined(self, connection: sa.Connection) -> Iterator[None]:
        """A plain block: SQLite runs in the process."""
        yield

    def fetch_binary(
        self, connection: sa.Connection, statement: str, parameters: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        """The driver's cursor on the connection's transaction: SQLAlchemy's rows cost
        about 1 us each on top (an audit reads every leaf and index row)."""
        cursor = connection.connection.cursor()
        try:
            cursor.execute(statement, parameters)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def is_unique_violation(
        self, error: sa.exc.IntegrityError, constraint: str, table: str, columns: Iterable[str]
    ) -> bool:
        """SQLite names no constraint: its message names the table's columns."""
        expected = "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)
        cause = error.orig
        return isinstance(cause, sqlite3.IntegrityError) and str(cause) == expected


SQLITE = SqliteDriver()


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
        write = connection.get_execution_options().get(WRITE_OPTION, False)
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

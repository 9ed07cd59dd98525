"""What differs between the two database engines, behind one interface: :class:`Driver`.

Each engine has a driver of its own, with its crash behaviour noted at its top:
:mod:`ledger.storage.sqlite_driver` (the embedded default) and
:mod:`ledger.storage.postgres_driver`. :func:`ledger.storage.database.create_engine` chooses
one when it opens a database (by the URL's backend), and every caller asks the driver of
its connection (:func:`ledger.storage.database.driver_for`) instead of testing which
engine it is on: a test (``tests/ledger/test_drivers.py``) finds any dialect branch
outside the two drivers, and an import contract keeps ``psycopg`` and ``sqlite3`` in them.

Statements are written once, with ``?`` markers, in the SQL both engines speak;
:meth:`Driver.sql` puts them in the driver's parameter style.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

WRITE_OPTION = "bpl_write"
"""The execution option that marks a write transaction (:data:`ledger.storage.database.WRITE`):
on SQLite it begins with ``BEGIN IMMEDIATE``."""

Column = tuple[str, str]
"""A column's name and its PostgreSQL type (``bigint``, ``smallint``, ``boolean``,
``text``, ``bytea``)."""


class Driver(ABC):
    """One database engine: how to open it, and the few statements each writes its way."""

    name: ClassVar[str]
    """The SQLAlchemy dialect (and URL backend) name."""
    pipelines_writes: ClassVar[bool]
    """Whether writes sent in :meth:`pipelined` run on the server while the client goes
    on (PostgreSQL): a caller then sends work in parts rather than all at the end."""
    alters_tables_in_batches: ClassVar[bool]
    """Whether migrations alter a table by copying it (Alembic's batch mode: SQLite)."""

    def with_dbapi(self, url: str) -> str:
        """``url`` naming the DB-API module the driver uses, if it names none."""
        return url

    @abstractmethod
    def create_engine(self, url: sa.URL, *, create: bool) -> Engine:
        """An engine on ``url`` with the ledger's connection settings. ``create=False``
        refuses a database that does not exist rather than making an empty one (where the
        engine would make it: a SQLite file)."""

    def files(self, url: sa.URL) -> list[Path]:
        """The files the database at ``url`` keeps in the file system (none for a server)."""
        return []

    def dispose(self, engine: Engine) -> None:
        """Close ``engine`` for good (its background work done first)."""
        engine.dispose()

    @abstractmethod
    def sql(self, statement: str) -> str:
        """``statement``, written with ``?`` markers, in the driver's parameter style."""

    @abstractmethod
    def locked(self, statement: str) -> str:
        """A ``SELECT`` (in the driver's parameter style) that holds the rows it reads until
        the write transaction ends: the sequencer's lock."""

    @abstractmethod
    def insert_rows(
        self,
        connection: sa.Connection,
        table: str,
        columns: Sequence[Column],
        rows: Sequence[tuple[Any, ...]],
        conflict: str,
    ) -> None:
        """``INSERT`` ``rows`` (tuples in column order, at least one) into ``table``, the
        statement ending with ``conflict`` (an ``ON CONFLICT`` clause, or nothing)."""

    @abstractmethod
    def rows_in(
        self, connection: sa.Connection, statement: str, values: list[Any], kind: str
    ) -> list[Any]:
        """Rows of ``statement`` (ending in ``IN ``) for every one of ``values`` (distinct,
        at least one, of PostgreSQL type ``kind``)."""

    @abstractmethod
    def pairs_in(
        self,
        connection: sa.Connection,
        statement: str,
        pairs: list[tuple[Any, Any]],
        kinds: tuple[str, str],
    ) -> list[Any]:
        """Rows of ``statement`` (ending in ``(a, b) IN ``) for every one of ``pairs``
        (distinct, at least one, of PostgreSQL types ``kinds``)."""

    @abstractmethod
    def pipelined(self, connection: sa.Connection) -> AbstractContextManager[None]:
        """A block whose writes are sent without waiting for each result where the engine
        allows it (:func:`ledger.storage.rows.pipelined`)."""

    @abstractmethod
    def fetch_binary(
        self, connection: sa.Connection, statement: str, parameters: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        """Every row of a read, fetched the cheapest way the engine has
        (:func:`ledger.storage.rows.fetch_binary`)."""

    @abstractmethod
    def is_unique_violation(
        self, error: sa.exc.IntegrityError, constraint: str, table: str, columns: Iterable[str]
    ) -> bool:
        """Whether ``error`` is this engine refusing a row for the unique ``constraint`` on
        ``table``'s ``columns`` (and not any other failure)."""

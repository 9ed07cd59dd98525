"""Writing many rows in one statement, pipelined writes and binary reads: each engine's way,
through its driver (:mod:`~ledger.storage.sqlite_driver`: ``executemany`` of one prepared
statement, in the process; :mod:`~ledger.storage.postgres_driver`: one ``INSERT ... SELECT
FROM unnest(...)`` of binary arrays, psycopg pipelines, binary-format reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledger.storage.database import driver_for
from ledger.storage.postgres_driver import ARRAY_KINDS, EncodedArray, binary_array

__all__ = ["EncodedArray", "Rows", "binary_array", "fetch_binary", "pipelined"]


@dataclass(frozen=True)
class Rows:
    """A table's columns, each with its PostgreSQL type (for the arrays' casts)."""

    table: str
    columns: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        unknown = [kind for _, kind in self.columns if kind not in ARRAY_KINDS]
        if unknown:
            raise ValueError(f"{self.table}: no binary array encoding for {unknown[0]} columns")

    @property
    def names(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    def insert(self, connection: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in column order)."""
        if rows:
            driver_for(connection.dialect).insert_rows(
                connection, self.table, self.columns, rows, ""
            )

    def upsert(self, connection: sa.Connection, key: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write ``rows`` (tuples in column order, the ``key`` column among them): update
        the row with the same key, insert where there is none.

        ``INSERT ... ON CONFLICT (key) DO UPDATE`` on both databases: on PostgreSQL an
        ``UPDATE ... FROM unnest(...)`` was planned as a hash join over the whole table
        (a sequential scan per batch, growing with the table: 8.5 ms for 500 rows of
        12,000), where the conflict check probes the key's index once per row (3.5 ms)."""
        if not rows:
            return
        others = ", ".join(f"{name} = excluded.{name}" for name, _ in self.columns if name != key)
        driver_for(connection.dialect).insert_rows(
            connection,
            self.table,
            self.columns,
            rows,
            f" ON CONFLICT ({key}) DO UPDATE SET {others}",
        )


def pipelined(connection: sa.Connection) -> AbstractContextManager[None]:
    """Writes in the block are sent without waiting for each result, on PostgreSQL (a
    psycopg pipeline): the server executes one statement while the client builds the next,
    instead of one of them waiting for the other. The block ends when the server has
    answered them all; a failed statement raises there, at the latest, and its transaction
    is lost. Only writes in the block: a read through SQLAlchemy would find no rows (its
    result is not there yet). A plain block on SQLite, which runs in the process."""
    return driver_for(connection.dialect).pipelined(connection)


def fetch_binary(
    connection: sa.Connection, statement: str, parameters: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """Every row of a read. On PostgreSQL in the binary format: a ``bytea`` column comes as
    its bytes, where the text format sends twice as many (hex) for the client to decode. On
    SQLite through the driver's own cursor (SQLAlchemy's rows cost about 1 us each on
    top). ``statement`` in the connection's parameter style."""
    return driver_for(connection.dialect).fetch_binary(connection, statement, parameters)

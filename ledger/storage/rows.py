"""Writing many rows in one statement, per database.

SQLite runs in the process: ``executemany`` of one prepared statement is already the
cheapest way in. PostgreSQL is a round trip and a statement per row that way (psycopg
pipelines them, but the client still encodes, and the server still parses and plans, each
row on its own): there, one ``INSERT ... SELECT FROM unnest(...)`` with one array per
column writes a whole batch as a single statement. The arrays travel in PostgreSQL's
binary format (``%b``): in text format, escaping every ``bytea`` element made the
statement slower than the per-row inserts (500 rows of 1.3 KB: 19 ms in text, 5 ms as
``executemany``, 1.6 ms in binary). They are encoded here (:func:`binary_array`, a few
struct calls per column) rather than by psycopg's list dumper, which finds and calls a
dumper per element in Python: 6.8 against 3.9 us a record of the ledger's batches (23
values a record).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import psycopg
import sqlalchemy as sa
from psycopg.adapt import Dumper
from psycopg.pq import Format


@dataclass(frozen=True)
class Rows:
    """A table's columns, each with its PostgreSQL type (for the arrays' casts)."""

    table: str
    columns: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        unknown = [kind for _, kind in self.columns if kind not in _ELEMENTS]
        if unknown:
            raise ValueError(f"{self.table}: no binary array encoding for {unknown[0]} columns")

    @property
    def names(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    def _arrays(self) -> str:
        return ", ".join(f"%b::{kind}[]" for _, kind in self.columns)

    def insert(self, connection: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in column order)."""
        self._write(connection, rows, "")

    def upsert(self, connection: sa.Connection, key: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write ``rows`` (tuples in column order, the ``key`` column among them): update
        the row with the same key, insert where there is none.

        ``INSERT ... ON CONFLICT (key) DO UPDATE`` on both databases: on PostgreSQL an
        ``UPDATE ... FROM unnest(...)`` was planned as a hash join over the whole table
        (a sequential scan per batch, growing with the table: 8.5 ms for 500 rows of
        12,000), where the conflict check probes the key's index once per row (3.5 ms)."""
        others = ", ".join(f"{name} = excluded.{name}" for name, _ in self.columns if name != key)
        self._write(connection, rows, f" ON CONFLICT ({key}) DO UPDATE SET {others}")

    def _write(
        self, connection: sa.Connection, rows: Sequence[tuple[Any, ...]], conflict: str
    ) -> None:
        """``INSERT`` ``rows``, ending with ``conflict`` (an ``ON CONFLICT`` clause, or
        nothing)."""
        if not rows:
            return
        if connection.dialect.name == "postgresql":
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            encoding = driver.info.encoding  # the client encoding, as psycopg's own text
            connection.exec_driver_sql(
                f"INSERT INTO {self.table} ({self.names}) "  # noqa: S608 - names are ours
                f"SELECT * FROM unnest({self._arrays()}){conflict}",
                tuple(
                    binary_array(kind, column, encoding)
                    for (_, kind), column in zip(
                        self.columns, _columns(rows, len(self.columns)), strict=True
                    )
                ),
            )
        else:
            markers = ", ".join("?" * len(self.columns))
            connection.exec_driver_sql(
                f"INSERT INTO {self.table} ({self.names}) VALUES ({markers}){conflict}",  # noqa: S608
                list(rows),
            )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    """Rows turned into one list per column (for ``unnest``)."""
    columns = tuple(map(list, zip(*rows, strict=True)))
    if len(columns) != width:
        raise ValueError(f"rows of {len(columns)} values for {width} columns")
    return columns


class EncodedArray(NamedTuple):
    """A PostgreSQL array in the binary format (``array_send``), sent as a ``%b``
    parameter as it is. The statement casts it (``%b::bigint[]``): the server then reads
    it as that type, and refuses it if the elements are of another (the header names
    their type)."""

    data: bytes


class _EncodedArrayDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: EncodedArray) -> bytes:
        return obj.data


psycopg.adapters.register_dumper(EncodedArray, _EncodedArrayDumper)

_NULL = b"\xff\xff\xff\xff"
"""An element's length of -1: NULL."""
_LENGTH = struct.Struct(">i").pack
_HEADER = struct.Struct(">iiIii").pack
"""One dimension, the has-NULLs flag, the element type, the length, the lower bound (1)."""


Encoder = Callable[[Sequence[Any], str], list[bytes]]
"""Encodes an array's elements (the second argument: the client encoding, for text)."""


def _fixed(layout: str, width: int) -> Encoder:
    """Elements of a fixed ``width``, each packed with its length by ``layout``."""
    pack = struct.Struct(">i" + layout).pack

    def encode(values: Sequence[Any], _encoding: str) -> list[bytes]:
        if None not in values:
            return list(map(pack, repeat(width), values))
        return [_NULL if value is None else pack(width, value) for value in values]

    return encode


def _sized(values: Sequence[bytes | None]) -> list[bytes]:
    pieces: list[bytes] = []
    for value in values:
        if value is None:
            pieces.append(_NULL)
        else:
            pieces += (_LENGTH(len(value)), value)
    return pieces


def _texts(values: Sequence[str | None], encoding: str) -> list[bytes]:
    return _sized([None if value is None else value.encode(encoding) for value in values])


def _byteas(values: Sequence[bytes | None], _encoding: str) -> list[bytes]:
    return _sized([value if value.__class__ is bytes else _bytes(value) for value in values])


def _bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{type(value).__name__} is not bytes")  # bytes(5) would be 5 zeros


_boolean_elements = _fixed("?", 1)


def _booleans(values: Sequence[bool | None], _encoding: str) -> list[bytes]:
    for value in values:
        if value is not None and value.__class__ is not bool:  # "?" packs any truth value
            raise TypeError(f"{type(value).__name__} is not a boolean")
    return _boolean_elements(values, _encoding)


_ELEMENTS: dict[str, tuple[int, Encoder]] = {
    # kind: (element type OID, encoder): PostgreSQL's int8send, int2send, boolsend,
    # textsend (in the client encoding, which the server converts from) and byteasend.
    "bigint": (20, _fixed("q", 8)),
    "smallint": (21, _fixed("h", 2)),
    "boolean": (16, _booleans),
    "text": (25, _texts),
    "bytea": (17, _byteas),
}


def binary_array(kind: str, values: Sequence[Any], encoding: str = "utf-8") -> EncodedArray:
    """``values`` (None for NULL) as a one-dimensional PostgreSQL array of ``kind`` (one of
    bigint, smallint, boolean, text, bytea), text in the connection's client ``encoding``
    (a Python codec name: psycopg's ``Connection.info.encoding``). Raises TypeError for a
    value of another type, and for an integer out of the kind's range; UnicodeEncodeError
    for text the encoding cannot hold."""
    oid, encode = _ELEMENTS[kind]
    try:
        elements = encode(values, encoding)
    except (struct.error, AttributeError, TypeError) as exc:
        raise TypeError(f"not a {kind} array: {exc}") from None
    header = _HEADER(1, None in values, oid, len(values), 1)
    return EncodedArray(b"".join([header, *elements]))


@contextmanager
def pipelined(connection: sa.Connection) -> Iterator[None]:
    """Writes in the block are sent without waiting for each result, on PostgreSQL (a
    psycopg pipeline): the server executes one statement while the client builds the next,
    instead of one of them waiting for the other. The block ends when the server has
    answered them all; a failed statement raises there, at the latest, and its transaction
    is lost. Only writes in the block: a read through SQLAlchemy would find no rows (its
    result is not there yet). A plain block on SQLite, which runs in the process."""
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:  # raised by the pipeline itself: as SQLAlchemy would
        raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from None


def fetch_binary(
    connection: sa.Connection, statement: str, parameters: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """Every row of a read. On PostgreSQL in the binary format: a ``bytea`` column comes as
    its bytes, where the text format sends twice as many (hex) for the client to decode
    (16,384 leaves of 1 KB: 2.9 against 5.6 us a leaf). ``statement`` in the connection's
    parameter style."""
    if connection.dialect.name != "postgresql":
        # The driver's cursor on the connection's transaction: SQLAlchemy's rows cost
        # about 1 us each on top (an audit reads every leaf and index row).
        cursor = connection.connection.cursor()
        try:
            cursor.execute(statement, parameters)
            return list(cursor.fetchall())
        finally:
            cursor.close()
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        cursor.execute(statement, parameters, binary=True)
        return [tuple(row) for row in cursor.fetchall()]

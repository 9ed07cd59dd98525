"""The PostgreSQL driver (``DATABASE_URL=postgresql://...``), through psycopg 3.

Crash behaviour (docs/log.md, "Crash safety and concurrency, per storage driver"): the
server's own write-ahead log, with PostgreSQL's default durability settings (``fsync``
and ``synchronous_commit`` on): a commit returns once its commit record is flushed to
the server's disk. A crash of the client, or a connection lost mid-transaction, rolls the
transaction back on the server; a crash of the server mid-commit is recovered by replaying
its WAL up to the last commit that was flushed: either the whole batch is there, or none of
it. There is no ``COPY`` path: a batch is one ``INSERT ... SELECT FROM unnest(...)`` per
table inside the transaction, and pipelined statements (:meth:`PostgresDriver.pipelined`)
are ordinary statements of it; one that fails aborts the transaction and nothing of it is
committed. Schema changes are transactional too: a migration commits whole or not at all.
Appenders are serialized by a row lock on the log's state (``SELECT ... FOR UPDATE``), in
any number of processes or hosts.

Writing many rows: ``executemany`` is a round trip and a statement per row (psycopg
pipelines them, but the client still encodes, and the server still parses and plans, each
row on its own); here one ``INSERT ... SELECT FROM unnest(...)`` with one array per column
writes a whole batch as a single statement. The arrays travel in PostgreSQL's binary
format (``%b``): in text format, escaping every ``bytea`` element made the statement
slower than the per-row inserts (500 rows of 1.3 KB: 19 ms in text, 5 ms as
``executemany``, 1.6 ms in binary). They are encoded here (:func:`binary_array`, a few
struct calls per column) rather than by psycopg's list dumper, which finds and calls a
dumper per element in Python: 6.8 against 3.9 us a record of the ledger's batches (23
values a record).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.storage.driver import Column, Driver


class PostgresDriver(Driver):
    """PostgreSQL through psycopg 3 (see the module doc)."""

    name = "postgresql"
    pipelines_writes = True
    alters_tables_in_batches = False

    def with_dbapi(self, url: str) -> str:
        """Plain ``postgresql://`` URLs use psycopg 3, the driver we install."""
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url.removeprefix(prefix)
        return url

    def create_engine(self, url: sa.URL, *, create: bool) -> Engine:
        _register_array_dumper()
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def locked(self, statement: str) -> str:
        return statement + " FOR UPDATE"

    def insert_rows(
        self,
        connection: sa.Connection,
        table: str,
        columns: Sequence[Column],
        rows: Sequence[tuple[Any, ...]],
        conflict: str,
    ) -> None:
        """One ``INSERT ... SELECT * FROM unnest(...)`` of binary arrays (the module doc)."""
        import psycopg  # noqa: PLC0415 (loaded by now: see _register_array_dumper)

        driver = connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        encoding = driver.info.encoding  # the client encoding, as psycopg's own text
        names = ", ".join(name for name, _ in columns)
        arrays = ", ".join(f"%b::{kind}[]" for _, kind in columns)
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) "  # noqa: S608 - names are ours
            f"SELECT * FROM unnest({arrays}){conflict}",
            tuple(
                binary_array(kind, column, encoding)
                for (_, kind), column in zip(columns, _columns(rows, len(columns)), strict=True)
            ),
        )

    def rows_in(
        self, connection: sa.Connection, statement: str, values: list[Any], kind: str
    ) -> list[Any]:
        """One ``= ANY(array)`` query: one plan, whatever the count."""
        return list(
            connection.exec_driver_sql(
                statement.removesuffix("IN ") + f"= ANY(%b::{kind}[])", (values,)
            )
        )

    def pairs_in(
        self,
        connection: sa.Connection,
        statement: str,
        pairs: list[tuple[Any, Any]],
        kinds: tuple[str, str],
    ) -> list[Any]:
        """One ``IN (SELECT * FROM unnest(array, array))`` query."""
        firsts, seconds = zip(*pairs, strict=True)
        return list(
            connection.exec_driver_sql(
                statement + f"(SELECT * FROM unnest(%b::{kinds[0]}[], %b::{kinds[1]}[]))",  # noqa: S608
                (list(firsts), list(seconds)),
            )
        )

    @contextmanager
    def pipelined(self, connection: sa.Connection) -> Iterator[None]:
        """A psycopg pipeline: the server executes one statement while the client builds
        the next, instead of one of them waiting for the other. The block ends when the
        server has answered them all; a failed statement raises there, at the latest, and
        its transaction is lost."""
        import psycopg  # noqa: PLC0415 (loaded by now: see _register_array_dumper)

        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            with driver.pipeline():
                yield
        except psycopg.Error as exc:  # raised by the pipeline itself: as SQLAlchemy would
            raise sa.exc.DBAPIError.instance(None, None, exc, psycopg.Error) from None

    def fetch_binary(
        self, connection: sa.Connection, statement: str, parameters: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        """In the binary format: a ``bytea`` column comes as its bytes, where the text
        format sends twice as many (hex) for the client to decode (16,384 leaves of 1 KB:
        2.9 against 5.6 us a leaf)."""
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(statement, parameters, binary=True)
            return [tuple(row) for row in cursor.fetchall()]

    def is_unique_violation(
        self, error: sa.exc.IntegrityError, constraint: str, table: str, columns: Iterable[str]
    ) -> bool:
        """PostgreSQL names the constraint."""
        import psycopg  # noqa: PLC0415 (loaded by now: see _register_array_dumper)

        cause = error.orig
        return (
            isinstance(cause, psycopg.errors.UniqueViolation)
            and cause.diag.constraint_name == constraint
        )


POSTGRES = PostgresDriver()


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


@functools.cache
def _register_array_dumper() -> None:
    """Teach psycopg to send an :class:`EncodedArray` as its bytes. Done when the first
    PostgreSQL engine is made, not on import: a ledger on SQLite (and every command that
    opens none) is spared psycopg's imports, about 0.1 s."""
    import psycopg  # noqa: PLC0415
    from psycopg.adapt import Dumper  # noqa: PLC0415
    from psycopg.pq import Format  # noqa: PLC0415

    class EncodedArrayDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: EncodedArray) -> bytes:
            return obj.data

    psycopg.adapters.register_dumper(EncodedArray, EncodedArrayDumper)


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

ARRAY_KINDS = frozenset(_ELEMENTS)
"""The column types :func:`binary_array` encodes."""


def binary_array(kind: str, values: Sequence[Any], encoding: str = "utf-8") -> EncodedArray:
    """``values`` (None for NULL) as a one-dimensional PostgreSQL array of ``kind`` (one of
    bigint, smallint, boolean, text, bytea), text in the connection's client ``encoding``
    (a Python codec name: psycopg's ``Connection.info.encoding``). Raises TypeError for a
    value of another type, and for an integer out of the kind's range; UnicodeEncodeError
    for text the encoding cannot hold."""
    _register_array_dumper()  # for a connection not opened through an engine of ours
    oid, encode = _ELEMENTS[kind]
    try:
        elements = encode(values, encoding)
    except (struct.error, AttributeError, TypeError) as exc:
        raise TypeError(f"not a {kind} array: {exc}") from None
    header = _HEADER(1, None in values, oid, len(values), 1)
    return EncodedArray(b"".join([header, *elements]))

"""What the whole-ledger audit (:mod:`ledger.audit`) reads of the ledger's rows, as stored:
counts, records and disclosures a range of leaves at a time, and every row of the tables
it derives from the log (heads, actors, keys, passports), unparsed, for comparison value
for value."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledger.storage.ledger_rows import HEAD_COLUMNS, Sql
from ledger.storage.rows import fetch_binary

RECORD_COLUMNS = "record_hash, leaf_index, hash_key, subject_id, sequence, kind, issuer"
"""The columns of a record row the audit reads, in this order."""

Rows = dict[str, tuple[Any, ...]]
"""Stored rows by key, as stored."""


def counts(connection: sa.Connection, size: int) -> tuple[int, int]:
    """The number of record rows, and of disclosure rows outside leaves ``[0, size)``."""
    records = connection.exec_driver_sql("SELECT count(*) FROM ledger_records").scalar_one()
    stray = connection.exec_driver_sql(
        Sql(connection.dialect)(
            "SELECT count(*) FROM ledger_disclosures WHERE leaf_index < 0 OR leaf_index >= ?"
        ),
        (size,),
    ).scalar_one()
    return int(records), int(stray)


def records_between(connection: sa.Connection, start: int, end: int) -> list[Any]:
    """The record rows (:data:`RECORD_COLUMNS`) of leaves ``[start, end)``, by leaf."""
    return fetch_binary(
        connection,
        Sql(connection.dialect)(
            f"SELECT {RECORD_COLUMNS} FROM ledger_records "  # noqa: S608
            "WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index"
        ),
        (start, end),
    )


def disclosures_between(connection: sa.Connection, start: int, end: int) -> list[Any]:
    """The disclosure rows ``(leaf_index, grp, body)`` of leaves ``[start, end)``."""
    return fetch_binary(
        connection,
        Sql(connection.dialect)(
            "SELECT leaf_index, grp, body FROM ledger_disclosures "
            "WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index, grp"
        ),
        (start, end),
    )


def derived_tables(connection: sa.Connection) -> tuple[Rows, Rows, Rows, Rows, Rows]:
    """Every stored chain head, actor, key, passport and model lookup row, by key."""
    execute = connection.exec_driver_sql
    heads = {
        row[0]: tuple(row)
        for row in execute(f"SELECT {HEAD_COLUMNS} FROM ledger_heads")  # noqa: S608
    }
    actors = {row[0]: tuple(row) for row in execute("SELECT did, roles FROM ledger_actors")}
    keys = {row[0]: tuple(row) for row in execute("SELECT key, actor, revoked FROM ledger_keys")}
    passports = {
        row[0]: tuple(row)
        for row in execute(
            "SELECT subject_id, battery_id, manufacturer, issued_leaf, battery_key, gtin, "
            "model_id FROM ledger_passports"
        )
    }
    models = {
        row[0]: tuple(row)
        for row in execute("SELECT model_id, gtin, publisher, published_leaf FROM ledger_models")
    }
    return heads, actors, keys, passports, models

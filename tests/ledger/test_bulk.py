"""Bulk writes (``ledger.storage.rows``) on each database: upserts, pipelined writes that fail, and
the binary arrays that carry a batch's columns to PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.storage import database as store
from ledger.storage.ledger_rows import Sql
from ledger.storage.rows import Rows, binary_array, pipelined
from tests.hypothesis_profiles import examples
from tests.ledger.conftest import POSTGRES_ADMIN_URL

ACTORS = Rows("ledger_actors", (("did", "text"), ("roles", "text")))


def stored(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT did, roles FROM ledger_actors ORDER BY did")
        return [(row[0], row[1]) for row in rows]


def test_upsert_updates_rows_with_the_key_and_inserts_the_others(database_url: str) -> None:
    engine = store.open_engine(database_url)
    with engine.begin() as connection:
        ACTORS.insert(connection, [("did:a", "[]"), ("did:b", "[]")])
        ACTORS.upsert(connection, "did", [("did:b", '["carrier"]'), ("did:c", '["recycler"]')])
    assert stored(engine) == [("did:a", "[]"), ("did:b", '["carrier"]'), ("did:c", '["recycler"]')]
    engine.dispose()


@pytest.mark.parametrize("followed", [False, True], ids=["last", "followed"])
def test_a_failed_write_in_a_pipeline_raises_and_loses_its_transaction(
    database_url: str, followed: bool
) -> None:
    """On PostgreSQL the failure surfaces at the next statement, or when the pipeline ends
    (the failed write was the last): as SQLAlchemy's IntegrityError either way, and nothing
    of the transaction is stored."""
    engine = store.open_engine(database_url)
    with engine.begin() as connection:
        ACTORS.insert(connection, [("did:a", "[]")])
    with (
        pytest.raises(sa.exc.IntegrityError),
        engine.begin() as connection,
        pipelined(connection),
    ):
        ACTORS.insert(connection, [("did:b", "[]")])
        ACTORS.insert(connection, [("did:a", '["operator"]')])  # the key is taken
        if followed:
            ACTORS.insert(connection, [("did:c", "[]")])
    assert stored(engine) == [("did:a", "[]")]
    engine.dispose()


def test_records_are_found_by_chain_position_in_any_number(database_url: str) -> None:
    """More positions than one SQLite statement may carry (chunks of 450 pairs), one
    array statement on PostgreSQL; positions with no record are simply absent."""
    engine = store.open_engine(database_url)
    rows = [
        (n, f"sha256:{n:064x}", n, f"urn:bpl:passport:{n % 700}", n // 700, "StatusChange", "x")
        for n in range(1_000)
    ]
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO ledger_records (leaf_index, record_hash, hash_key, subject_id, "
                "sequence, kind, issuer) VALUES (:l, :h, :k, :s, :q, :t, :i)"
            ),
            [dict(zip("lhksqti", row, strict=True)) for row in rows],
        )
        wanted = [(subject, sequence) for _, _, _, subject, sequence, _, _ in rows]
        found = Sql(connection.dialect).records_at(
            connection, "leaf_index", [*wanted, ("urn:bpl:passport:none", 0)]
        )
    assert sorted(int(row[0]) for row in found) == list(range(1_000))
    engine.dispose()


# -- the arrays sent to PostgreSQL (ledger.storage.rows.binary_array) --------------------

KINDS_OF_ELEMENTS = {
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "smallint": st.integers(-(2**15), 2**15 - 1),
    "boolean": st.booleans(),
    "text": st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
    "bytea": st.binary(max_size=300),
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[Any]]:
    """A connection to the test server (the arrays are only read back: no database is
    created)."""
    if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    with psycopg.connect(POSTGRES_ADMIN_URL) as connection:
        yield connection


def read_back(connection: psycopg.Connection[Any], kind: str, values: list[Any]) -> list[Any]:
    rows = connection.execute(
        f"SELECT * FROM unnest(%b::{kind}[]) WITH ORDINALITY ORDER BY ordinality",
        (binary_array(kind, values),),
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("kind", sorted(KINDS_OF_ELEMENTS))
@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_an_encoded_array_reads_back_as_its_values(
    postgres: psycopg.Connection[Any], kind: str, data: st.DataObject
) -> None:
    """Every kind of element, NULLs among them, the extremes of each integer's range,
    any Unicode text PostgreSQL stores, and empty arrays."""
    values = data.draw(st.lists(st.none() | KINDS_OF_ELEMENTS[kind], max_size=20))
    assert read_back(postgres, kind, values) == values


def test_text_travels_in_the_client_encoding(postgres: psycopg.Connection[Any]) -> None:
    """The server reads binary text in the connection's client encoding: a client set to
    LATIN1 gets its values back as sent, not as UTF-8 bytes misread."""
    with psycopg.connect(POSTGRES_ADMIN_URL, options="-c client_encoding=LATIN1") as latin:
        assert latin.info.encoding == "iso8859-1"
        values = ["Gliwice, PL", "Zürich, CH", None]
        rows = latin.execute(
            "SELECT * FROM unnest(%b::text[]) WITH ORDINALITY ORDER BY ordinality",
            (binary_array("text", values, latin.info.encoding),),
        ).fetchall()
        assert [row[0] for row in rows] == values


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("bigint", 2**63),
        ("bigint", "1"),
        ("smallint", 2**15),
        ("boolean", 1),
        ("boolean", "false"),
        ("text", b"bytes"),
        ("text", 7),
        ("bytea", "text"),
        ("bytea", 5),
    ],
)
def test_a_value_of_another_type_is_refused_before_anything_is_sent(kind: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"not a {kind} array"):
        binary_array(kind, [None, value])


def test_the_server_refuses_an_array_cast_to_another_type(
    postgres: psycopg.Connection[Any],
) -> None:
    with pytest.raises(psycopg.errors.DatatypeMismatch):
        postgres.execute("SELECT * FROM unnest(%b::bigint[])", (binary_array("bytea", [b"x"]),))
    postgres.rollback()


def test_a_column_kind_without_an_array_encoding_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="no binary array encoding for timestamptz"):
        Rows("t", (("id", "bigint"), ("at", "timestamptz")))

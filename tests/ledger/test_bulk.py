"""Bulk writes (``ledger.bulk``) on each database: upserts, and pipelined writes that fail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger import store
from ledger.bulk import Rows, pipelined
from ledger.ledger_store import Sql

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

"""Records and disclosures keyed by leaf index; records found by hash through ``hash_key``
(ADR 0010). The rows are copied over in leaf order, a chunk at a time.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CHUNK = 10_000
_EPOCH_BITS = 16  # as ledger.storage.ledger_rows.hash_key: a migration keeps its own copy
_PREFIX_BITS = 40


def _hash_key(leaf_index: int, record_hash: str) -> int:
    prefix = int(record_hash[7 : 7 + _PREFIX_BITS // 4], 16)
    return (leaf_index >> _EPOCH_BITS) << _PREFIX_BITS | prefix


def upgrade() -> None:
    _set_aside("ledger_records", "ledger_disclosures")
    op.create_table(
        "ledger_records",
        sa.Column(
            "leaf_index",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("hash_key", sa.BigInteger, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("subject_id", "sequence", name="uq_ledger_chain"),
    )
    op.create_index("ix_ledger_records_hash_key", "ledger_records", ["hash_key"])
    op.create_table(
        "ledger_disclosures",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("grp", sa.String(32), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    _copy(
        "SELECT leaf_index, record_hash, subject_id, sequence, kind, issuer, body "
        "FROM ledger_records_0004 WHERE leaf_index >= :lo AND leaf_index < :hi",
        lambda row: {
            "leaf_index": row.leaf_index,
            "record_hash": row.record_hash,
            "hash_key": _hash_key(row.leaf_index, row.record_hash),
            "subject_id": row.subject_id,
            "sequence": row.sequence,
            "kind": row.kind,
            "issuer": row.issuer,
            "body": row.body,
        },
        "INSERT INTO ledger_records (leaf_index, record_hash, hash_key, subject_id, sequence, "
        "kind, issuer, body) VALUES (:leaf_index, :record_hash, :hash_key, :subject_id, "
        ":sequence, :kind, :issuer, :body)",
    )
    _copy(
        "SELECT r.leaf_index, d.grp, d.body FROM ledger_disclosures_0004 d "
        "JOIN ledger_records_0004 r ON r.record_hash = d.record_hash "
        "WHERE r.leaf_index >= :lo AND r.leaf_index < :hi",
        lambda row: {"leaf_index": row.leaf_index, "grp": row.grp, "body": row.body},
        "INSERT INTO ledger_disclosures (leaf_index, grp, body) VALUES (:leaf_index, :grp, :body)",
    )
    op.drop_table("ledger_disclosures_0004")
    op.drop_table("ledger_records_0004")


def downgrade() -> None:
    _set_aside("ledger_records", "ledger_disclosures")
    op.create_table(
        "ledger_records",
        sa.Column("record_hash", sa.String(71), primary_key=True),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("leaf_index", sa.BigInteger, nullable=False, unique=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("subject_id", "sequence", name="uq_ledger_chain"),
    )
    op.create_table(
        "ledger_disclosures",
        sa.Column("record_hash", sa.String(71), primary_key=True),
        sa.Column("grp", sa.String(32), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "INSERT INTO ledger_records (record_hash, subject_id, sequence, kind, issuer, "
        "leaf_index, body) SELECT record_hash, subject_id, sequence, kind, issuer, leaf_index, "
        "body FROM ledger_records_0004"
    )
    op.execute(
        "INSERT INTO ledger_disclosures (record_hash, grp, body) SELECT r.record_hash, d.grp, "
        "d.body FROM ledger_disclosures_0004 d "
        "JOIN ledger_records_0004 r ON r.leaf_index = d.leaf_index"
    )
    op.drop_table("ledger_disclosures_0004")
    op.drop_table("ledger_records_0004")


def _set_aside(*tables: str) -> None:
    """Rename ``tables`` to ``<name>_0004`` and drop their keys and indexes, whose names
    the new tables take (PostgreSQL names them per schema; their rows are checked where
    they came from, and the renamed tables are dropped once copied)."""
    bind = op.get_bind()
    for table in tables:
        op.rename_table(table, f"{table}_0004")
        if bind.dialect.name == "postgresql":
            inspector = sa.inspect(bind)
            for index in inspector.get_indexes(f"{table}_0004"):
                if not index.get("duplicates_constraint"):
                    op.drop_index(str(index["name"]), table_name=f"{table}_0004")
            for unique in inspector.get_unique_constraints(f"{table}_0004"):
                op.drop_constraint(str(unique["name"]), f"{table}_0004", type_="unique")
            primary = inspector.get_pk_constraint(f"{table}_0004")
            if primary.get("name"):
                op.drop_constraint(str(primary["name"]), f"{table}_0004", type_="primary")


def _copy(select: str, convert: Callable[[Any], dict[str, Any]], insert: str) -> None:
    """Copy rows a range of ``_CHUNK`` leaves at a time: ``select`` reads those of leaves
    ``[:lo, :hi)``, ``convert`` makes each an ``insert`` parameter set."""
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT max(leaf_index) FROM ledger_records_0004")).scalar()
    for lo in range(0, -1 if last is None else int(last) + 1, _CHUNK):
        rows = bind.execute(sa.text(select), {"lo": lo, "hi": lo + _CHUNK}).all()
        if rows:
            bind.execute(sa.text(insert), [convert(row) for row in rows])

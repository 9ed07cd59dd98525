"""Passports found by battery, manufacturer and custodian: ``ledger_passports`` holds each
passport's battery id and manufacturer as its PassportIssued record states them (filled
here from the records already stored), and ``ledger_heads`` gets an index by custodian.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_passports",
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("manufacturer", sa.Text, nullable=False),
        sa.Column("issued_leaf", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_passports_battery_id", "ledger_passports", ["battery_id"])
    op.create_index(
        "ix_ledger_passports_manufacturer", "ledger_passports", ["manufacturer", "subject_id"]
    )
    op.create_index("ix_ledger_heads_custodian", "ledger_heads", ["custodian", "subject_id"])
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT r.leaf_index, l.data FROM ledger_records r "
            "JOIN log_leaves l ON l.idx = r.leaf_index WHERE r.kind = 'PassportIssued'"
        )
    ).all()
    for leaf_index, data in rows:
        subject = json.loads(bytes(data))["credentialSubject"]
        connection.execute(
            sa.text(
                "INSERT INTO ledger_passports (subject_id, battery_id, manufacturer, "
                "issued_leaf) VALUES (:s, :b, :m, :l)"
            ),
            {
                "s": subject["id"],
                "b": subject["batteryId"],
                "m": subject["manufacturer"],
                "l": int(leaf_index),
            },
        )


def downgrade() -> None:
    op.drop_index("ix_ledger_heads_custodian", "ledger_heads")
    op.drop_table("ledger_passports")

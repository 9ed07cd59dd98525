"""The ledger: accepted records, their disclosures, chain heads, actors and keys.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table(
        "ledger_heads",
        sa.Column("subject_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("record_hash", sa.String(71), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("custodian", sa.Text, nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_actors",
        sa.Column("did", sa.Text, primary_key=True),
        sa.Column("roles", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_keys",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "ledger_keys",
        "ledger_actors",
        "ledger_heads",
        "ledger_disclosures",
        "ledger_records",
    ):
        op.drop_table(table)

"""Battery models and checked battery ids (record format v2, ADR 0016): ``ledger_passports``
gets each v2 passport's canonical battery key, GTIN and model, and ``ledger_models`` finds
a model by its GTIN. Every record stored before this revision is v1, so the new columns
of the rows already there stay empty and no model exists yet.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_passports", sa.Column("battery_key", sa.Text, nullable=True))
    op.add_column("ledger_passports", sa.Column("gtin", sa.String(14), nullable=True))
    op.add_column("ledger_passports", sa.Column("model_id", sa.Text, nullable=True))
    op.create_index(
        "ix_ledger_passports_battery_key", "ledger_passports", ["battery_key", "subject_id"]
    )
    op.create_index("ix_ledger_passports_gtin", "ledger_passports", ["gtin", "subject_id"])
    op.create_index("ix_ledger_passports_model_id", "ledger_passports", ["model_id", "subject_id"])
    op.create_table(
        "ledger_models",
        sa.Column("model_id", sa.Text, primary_key=True),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("publisher", sa.Text, nullable=False),
        sa.Column("published_leaf", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_models_gtin", "ledger_models", ["gtin", "model_id"])


def downgrade() -> None:
    op.drop_table("ledger_models")
    op.drop_index("ix_ledger_passports_model_id", "ledger_passports")
    op.drop_index("ix_ledger_passports_gtin", "ledger_passports")
    op.drop_index("ix_ledger_passports_battery_key", "ledger_passports")
    with op.batch_alter_table("ledger_passports") as batch:  # SQLite rebuilds the table
        for column in ("model_id", "gtin", "battery_key"):
            batch.drop_column(column)

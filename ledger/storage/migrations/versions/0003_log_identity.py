"""The log's identity (origin and verifier key) in its database: one row, filled by
``bpl init`` or, for a database created before this revision, on the first open through
the data directory (the migration cannot know the key; ADR 0007).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_identity",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("verifier_key", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_log_identity_one_row"),
    )


def downgrade() -> None:
    op.drop_table("log_identity")

"""Grading policy registrations are records on the log (ADR 0013): each registered policy's
row names the ``GradingPolicyRegistered`` record that put it there. Rows registered before
(ADR 0009) keep ``record_hash`` NULL: they are off the log, records can no longer name them,
and the audit names them until ``bpl policy add`` registers them again, on the log.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_grading_policies") as table:
        table.add_column(sa.Column("record_hash", sa.String(71), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_grading_policies") as table:
        table.drop_column("record_hash")

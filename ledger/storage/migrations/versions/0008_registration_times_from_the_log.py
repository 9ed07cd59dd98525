"""A registered grading policy's ``registered_at`` is its registration record's
``validFrom`` (signed by the operator), not the operator's clock when the row was written,
so that the audit can hold it to the log (ADR 0015). Rows on the log get their record's
time; rows off the log (``record_hash`` NULL) keep theirs: the audit names them anyway.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT p.policy_id, p.version, l.data FROM ledger_grading_policies p "
            "JOIN ledger_records r ON r.record_hash = p.record_hash "
            "JOIN log_leaves l ON l.idx = r.leaf_index"
        )
    ).all()
    for policy_id, version, data in rows:
        valid_from = json.loads(bytes(data))["validFrom"]
        connection.execute(
            sa.text(
                "UPDATE ledger_grading_policies SET registered_at = :at "
                "WHERE policy_id = :id AND version = :v"
            ).bindparams(sa.bindparam("at", type_=sa.DateTime(timezone=True))),
            {
                "at": datetime.fromisoformat(valid_from).astimezone(UTC),
                "id": policy_id,
                "v": version,
            },
        )


def downgrade() -> None:
    """The times stay the records' (nothing to undo)."""

"""The transparency log: leaves, complete subtree nodes, state and signed checkpoints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_log_leaves_leaf_hash", "log_leaves", ["leaf_hash"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sqlite_with_rowid=False,
    )
    state = op.create_table(
        "log_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The empty tree: size 0, root SHA-256 of nothing (RFC 9162 2.1.1).
    op.bulk_insert(
        state, [{"id": 1, "size": 0, "root": hashlib.sha256(b"").digest(), "frontier": b""}]
    )


def downgrade() -> None:
    op.drop_table("log_checkpoints")
    op.drop_table("log_state")
    op.drop_table("log_nodes")
    op.drop_index("ix_log_leaves_leaf_hash", table_name="log_leaves")
    op.drop_table("log_leaves")

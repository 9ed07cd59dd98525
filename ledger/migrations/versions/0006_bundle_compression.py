"""Entry bundles compressed with LZ4 on PostgreSQL (where the server has it).

A bundle (256 leaves, about 256 KB) is stored out of line and compressed; with the default
``pglz`` compressing it took most of the time of inserting it (9.4 against 3.2 µs a leaf
with LZ4, in ``bench/bench_ledger.py``). Changes nothing on SQLite, which does not
compress. Bundles already stored keep their compression: PostgreSQL reads both.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    supported = bind.execute(
        sa.text(
            "SELECT :m = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ),
        {"m": method},
    ).scalar()
    if supported:  # a server built without LZ4 keeps pglz
        op.execute(f"ALTER TABLE log_bundles ALTER COLUMN data SET COMPRESSION {method}")

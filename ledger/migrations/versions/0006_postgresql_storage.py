"""PostgreSQL storage settings: entry bundles compressed with LZ4 (where the server has
it), chain heads with room for updates in place. Changes nothing on SQLite.

A bundle (256 leaves, about 256 KB) is stored out of line and compressed; with the default
``pglz`` compressing it took most of the time of inserting it (9.4 against 3.2 us a leaf
with LZ4, in ``bench/bench_ledger.py``). Bundles already stored keep their compression:
PostgreSQL reads both.

A chain head is rewritten by every record of its chain. With half of each page left free
(``fillfactor = 50``) the new version goes on the same page and the key's index is left
alone (a heap-only update); on full pages every update also inserted an index entry, at
a random place: 25.8 against 22.5 us of server CPU a record in the same benchmark. Pages
already full fill their free space as they are rewritten.

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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_heads SET (fillfactor = 50)")


def downgrade() -> None:
    _set_compression("pglz")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_heads RESET (fillfactor)")


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

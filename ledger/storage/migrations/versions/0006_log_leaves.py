"""Each log leaf in a row of its own (``log_leaves``), written once, instead of entry
bundles of 256 leaves and a table of the open bundle's leaves; a record's bytes are its
leaf's, no longer a copy in ``ledger_records`` (ADR 0010); on PostgreSQL, chain heads with
room for updates in place. The leaves are copied over a bundle at a time.

A record's bytes were written up to three times: in its row, waiting for its bundle, then
in the bundle; and the waiting leaves were read back by every append that filled a bundle.

A chain head is rewritten by every record of its chain. On PostgreSQL, with half of each
page left free (``fillfactor = 50``), the new version goes on the same page and the key's
index is left alone (a heap-only update); on full pages every update also inserted an index
entry, at a random place (25.8 against 22.5 us of server CPU a record in
``bench/bench_ledger.py``). Pages already full use their free space as they are rewritten.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import struct

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BUNDLE_SIZE = 256
_LENGTH = struct.Struct(">I")  # a bundle: each leaf's 4-byte big-endian length, its bytes


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column(
            "idx",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    bind = op.get_bind()
    insert = sa.text("INSERT INTO log_leaves (idx, data) VALUES (:idx, :data)")
    last = bind.execute(sa.text("SELECT max(idx) FROM log_bundles")).scalar()
    for bundle in range(0, -1 if last is None else int(last) + 1):
        blob = bind.execute(
            sa.text("SELECT data FROM log_bundles WHERE idx = :i"), {"i": bundle}
        ).scalar_one()
        leaves = _decode_bundle(bytes(blob))
        base = bundle * _BUNDLE_SIZE
        bind.execute(insert, [{"idx": base + n, "data": leaf} for n, leaf in enumerate(leaves)])
    bind.execute(
        sa.text("INSERT INTO log_leaves (idx, data) SELECT idx, data FROM log_pending_leaves")
    )
    op.drop_table("log_bundles")
    op.drop_table("log_pending_leaves")
    op.execute("ALTER TABLE ledger_records DROP COLUMN body")  # the leaf holds its bytes
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_heads SET (fillfactor = 50)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_heads RESET (fillfactor)")
    op.create_table(
        "log_bundles",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "log_pending_leaves",
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.execute(
        "ALTER TABLE ledger_records ADD COLUMN body BYTEA"
        if bind.dialect.name == "postgresql"
        else "ALTER TABLE ledger_records ADD COLUMN body BLOB"
    )
    op.execute(
        "UPDATE ledger_records SET body = "
        "(SELECT data FROM log_leaves WHERE log_leaves.idx = ledger_records.leaf_index)"
    )
    size = bind.execute(sa.text("SELECT count(*) FROM log_leaves")).scalar_one()
    full = size // _BUNDLE_SIZE
    for bundle in range(full):
        rows = bind.execute(
            sa.text("SELECT data FROM log_leaves WHERE idx >= :lo AND idx < :hi ORDER BY idx"),
            {"lo": bundle * _BUNDLE_SIZE, "hi": (bundle + 1) * _BUNDLE_SIZE},
        ).all()
        blob = b"".join(_LENGTH.pack(len(row[0])) + bytes(row[0]) for row in rows)
        bind.execute(
            sa.text("INSERT INTO log_bundles (idx, data) VALUES (:idx, :data)"),
            {"idx": bundle, "data": blob},
        )
    bind.execute(
        sa.text(
            "INSERT INTO log_pending_leaves (idx, data) "
            "SELECT idx, data FROM log_leaves WHERE idx >= :first"
        ),
        {"first": full * _BUNDLE_SIZE},
    )
    op.drop_table("log_leaves")


def _decode_bundle(blob: bytes) -> list[bytes]:
    leaves = []
    position = 0
    while position < len(blob):
        (length,) = _LENGTH.unpack_from(blob, position)
        leaves.append(blob[position + 4 : position + 4 + length])
        position += 4 + length
    if position != len(blob):
        raise ValueError("an entry bundle is truncated: the log cannot be migrated as it is")
    return leaves

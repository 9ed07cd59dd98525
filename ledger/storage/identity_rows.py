"""The log's identity row (``log_identity``: its origin and verifier key, ADR 0007) and the
latest checkpoint a database holds, read before the identity is trusted."""

from __future__ import annotations

import sqlalchemy as sa

from ledger.storage.tables import IDENTITY_ROW


def read(connection: sa.Connection) -> tuple[str, str] | None:
    """The recorded ``(origin, verifier_key)``, or None if the database records none."""
    row = connection.execute(
        sa.text("SELECT origin, verifier_key FROM log_identity WHERE id = :id"),
        {"id": IDENTITY_ROW},
    ).first()
    return None if row is None else (str(row.origin), str(row.verifier_key))


def insert(connection: sa.Connection, origin: str, verifier_key: str) -> None:
    """Record the identity (IntegrityError if another process recorded one first)."""
    connection.execute(
        sa.text("INSERT INTO log_identity (id, origin, verifier_key) VALUES (:id, :origin, :key)"),
        {"id": IDENTITY_ROW, "origin": origin, "key": verifier_key},
    )


def latest_checkpoint(connection: sa.Connection) -> str | None:
    """The signed note of the largest checkpoint stored, or None."""
    note_text = connection.execute(
        sa.text("SELECT note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
    ).scalar()
    return None if note_text is None else str(note_text)

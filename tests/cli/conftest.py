"""CLI fixtures: ``database_url``, a fresh database of each kind (SQLite and PostgreSQL),
as the storage tests get it."""

from __future__ import annotations

from tests.ledger.conftest import database_url

__all__ = ["database_url"]

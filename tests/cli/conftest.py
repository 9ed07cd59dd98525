"""CLI fixtures: ``database_url`` (a fresh database of each kind, SQLite and PostgreSQL,
at the ledger's latest schema) and ``empty_database_url`` (one with no schema at all), as
the storage tests get them."""

from __future__ import annotations

from tests.ledger.conftest import database_url, empty_database_url

__all__ = ["database_url", "empty_database_url"]

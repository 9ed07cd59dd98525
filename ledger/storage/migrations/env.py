"""Alembic environment: runs on the connection :mod:`ledger.storage.database` hands over."""

from __future__ import annotations

from alembic import context

from ledger.storage.database import driver_for

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through ledger.storage.database.upgrade_schema")
context.configure(
    connection=connection,
    render_as_batch=driver_for(connection.dialect).alters_tables_in_batches,
)
with context.begin_transaction():
    context.run_migrations()

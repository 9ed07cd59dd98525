"""Storage: where the ledger's SQL is written, on SQLite (embedded, the default) and
PostgreSQL. :mod:`~ledger.storage.database` opens a database through its engine's driver
and brings its schema to the current Alembic migration (``migrations/``, checked against
:mod:`~ledger.storage.tables` by a test). What differs per engine lives in its driver
alone (:mod:`~ledger.storage.driver`: :mod:`~ledger.storage.sqlite_driver`, with its WAL
checkpoint thread :mod:`~ledger.storage.sqlite_wal`, and
:mod:`~ledger.storage.postgres_driver`, each starting with a note of its crash behaviour);
:mod:`~ledger.storage.rows` writes and reads many rows a statement through it;
:mod:`~ledger.storage.ledger_rows`, :mod:`~ledger.storage.policy_rows` and
:mod:`~ledger.storage.lookups` hold the ledger's own rows and reads. The transparency log's
tiles have their SQL beside the log (:mod:`ledger.log.tile_store`).
"""

"""Storage: where the ledger's SQL is written, on SQLite (embedded, the default) and
PostgreSQL. :mod:`~ledger.storage.database` opens a database and brings its schema to the
current Alembic migration (``migrations/``, checked against
:mod:`~ledger.storage.tables` by a test); :mod:`~ledger.storage.rows` writes and reads
many rows a statement (PostgreSQL arrays in the binary format, pipelining);
:mod:`~ledger.storage.sqlite_wal` keeps SQLite's write-ahead log from growing;
:mod:`~ledger.storage.ledger_rows`, :mod:`~ledger.storage.policy_rows` and
:mod:`~ledger.storage.lookups` hold the ledger's own rows and reads. The transparency log's
tiles have their SQL beside the log (:mod:`ledger.log.tile_store`).
"""

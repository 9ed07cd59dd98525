"""Where a verb finds the ledger: its data directory, or, for the verbs that only read, the
database at a URL instead (an auditor's case: the database records the log's identity).

The storage code (SQLAlchemy, Alembic, the ledger's tables: 0.7 s of imports) is loaded
here, by the verbs that open a ledger, and not when ``bpl`` starts: the verbs a
dismantler runs offline (``bpl keys``, ``bpl sign``, ``bpl verify``, ``bpl record new
--sequence``) start without it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import fail, report
from ledger.defaults import default_data_dir

if TYPE_CHECKING:
    from ledger.datadir import DataDir
    from ledger.facade import Ledger

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="The ledger's data directory (default $BPL_DATA_DIR or ~/.local/share/bpl).",
    ),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="Read the ledger from this database instead of a data directory "
        "(postgresql://... or sqlite:////path/ledger.db; read access is enough). Keep a "
        "PostgreSQL password out of the command line: PGPASSWORD or ~/.pgpass.",
    ),
]


def data_directory(path: Path | None) -> DataDir:
    """``--data-dir``, else ``$BPL_DATA_DIR``, else ``~/.local/share/bpl``. What opening
    it tightens (a directory or database others could read) is said on stderr."""
    from ledger import datadir  # noqa: PLC0415 (the storage code, on demand)

    if not any(isinstance(handler, _Report) for handler in datadir.logger.handlers):
        datadir.logger.addHandler(_Report(logging.WARNING))
    return datadir.DataDir(path or default_data_dir())


class _Report(logging.Handler):
    """The data directory's warnings as ``bpl: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        report(record.getMessage())


def ledger_service() -> type[Ledger]:
    """The :class:`ledger.facade.Ledger` class, imported when a verb opens a ledger."""
    from ledger.facade import Ledger  # noqa: PLC0415 (the storage code, on demand)

    return Ledger


def read_location(path: Path | None, database_url: str | None) -> DataDir | str:
    """Where a read-only verb reads: the data directory, or the database URL given instead
    of it. Exit 2 if both are given, or if the URL is not one."""
    if database_url is None:
        return data_directory(path)
    if path is not None:
        fail("give --data-dir or --database-url, not both")
    if "://" not in database_url:
        fail("--database-url takes a URL: postgresql://... or sqlite:////path/ledger.db")
    return database_url


LEDGER_FILES = ("operator.json", "log.key", "log.pub", "log.json")
"""The files a new ledger writes into its data directory, besides its SQLite database."""


@contextmanager
def creating(directory: DataDir) -> Iterator[None]:
    """Run a verb that creates a ledger (``bpl init``, ``bpl demo``) in ``directory``
    (created 0700 if absent, tightened and said if looser), holding a lock on it: should
    the verb fail, for whatever reason, what it created is removed (the files of
    :data:`LEDGER_FILES`, a new SQLite database, the directory when it made it; in a
    PostgreSQL database the log it made and its tables: :meth:`DataDir.creating`), so
    that the next try starts afresh instead of finding half a ledger. Exit 2 if another
    process is creating a ledger there."""
    from ledger.errors import LedgerError  # noqa: PLC0415 (the storage code, on demand)

    made_directory = not directory.path.exists()
    try:
        directory.secure()
    except LedgerError as exc:
        fail(str(exc))
    try:
        handle = os.open(directory.path, os.O_RDONLY)
    except OSError as exc:
        fail(f"cannot open {directory.path}: {exc.strerror}")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fail(f"another bpl is creating a ledger in {directory.path}")
        files = [directory.path / name for name in LEDGER_FILES]
        files += directory.database_files()
        existed = {path for path in files if os.path.lexists(path)}
        try:
            with directory.creating():  # the database as it was, should the verb fail
                yield
        except BaseException:
            for path in files:
                if path not in existed:
                    with suppress(OSError):
                        path.unlink()
            if made_directory:
                with suppress(OSError):
                    directory.path.rmdir()  # only if empty: never what others put there
            raise
    finally:
        os.close(handle)  # releases the lock

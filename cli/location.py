"""Where a verb finds the ledger: its data directory, or, for the verbs that only read, the
database at a URL instead (an auditor's case: the database records the log's identity)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import fail
from ledger.datadir import DataDir, default_data_dir

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
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
    """``--data-dir``, else ``$BPL_DATA_DIR``, else ``~/.local/share/bpl``."""
    return DataDir(path or default_data_dir())


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

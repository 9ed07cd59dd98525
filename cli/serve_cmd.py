"""``bpl serve``: run the verification service (passport/, uvicorn) over a data directory.

uvicorn's factory mode: every worker process calls ``passport.app:from_environment``,
which opens the ledger of ``$BPL_DATA_DIR`` itself (its database there, SQLite, or at
``$DATABASE_URL``: PostgreSQL, for several workers); ``--data-dir`` sets that variable
before the workers start. The ledger is opened once here first, so that a directory
without one is a clear error instead of a worker dying at start-up.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.errors import UNUSABLE, fail, report
from cli.location import DataDirOption, data_directory, ledger_service
from ledger.defaults import DATA_DIR_ENV
from ledger.errors import LedgerError
from signing.errors import SigningError

FACTORY = "passport.app:from_environment"


def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="N", min=0, max=65535, help="Port to listen on.")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            help="Worker processes (several share PostgreSQL: set DATABASE_URL).",
        ),
    ] = 1,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the ledger of the data directory over HTTP (docs/service.md): passports,
    records, the log as tiles, the resolver; OpenAPI at /docs. Readers sign their
    requests with their actor's key, or send a token (bpl token). Exit 2 if the data
    directory holds no ledger (create one with bpl init or bpl demo)."""
    directory = data_directory(data_dir)
    try:
        ledger = ledger_service().open(directory.path, writable=True)
    except (LedgerError, SigningError) as exc:
        fail(f"{exc}; or a demo ledger: bpl demo --data-dir {directory.path}", UNUSABLE)
    ledger.close()
    os.environ[DATA_DIR_ENV] = str(directory.path.resolve())
    import uvicorn  # noqa: PLC0415 (only the server needs it)

    report(f"serving {directory.path} at http://{_host(host)}:{port}/ (stop with Ctrl-C)")
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

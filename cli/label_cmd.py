"""``bpl label``: print crate labels from the local ledger (read-only), as the service does.

The PDF is the service's own (:mod:`passport.labels`): one passport gives a label-sized
page like ``GET /passports/{id}/label.pdf``, several (or ``--sheet``) A4 sheets of four
like ``GET /labels.pdf``. The QR codes lead to the service at ``--base-url``; by default
the one the log's origin names (``passport.example.org/log`` -> ``https://passport.example.org``,
as the operator is asked to choose it at ``bpl init``). The file is written whole or not at
all: a failed run leaves no file and an existing one as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.errors import FAILED, fail
from cli.location import DatabaseUrlOption, DataDirOption, ledger_service, read_location
from ledger.errors import LedgerError
from signing.errors import SigningError

if TYPE_CHECKING:
    from ledger.facade import Ledger

_BASE = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~!$&'()*+,;=:@%/\-]*)?")
"""An http(s) URL without query, fragment or user info: where the service is served."""
MAX_LABELS = 1000
"""Labels in one run (250 A4 pages)."""


def label(
    passports: Annotated[
        list[str],
        typer.Argument(metavar="PASSPORT...", help="Passport ids, in print order."),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", metavar="FILE", help="The PDF to write (replaced if it exists)."),
    ] = Path("labels.pdf"),
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="The service the QR codes lead to (default: https:// and the log's origin "
            "without its /log).",
        ),
    ] = None,
    sheet: Annotated[
        bool,
        typer.Option("--sheet", help="A4 sheets of four labels even for one passport."),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Write crate labels (PDF) for PASSPORT...: QR code, battery and passport ids,
    chemistry, mass and the open shipment's dangerous-goods marks, public data only.
    Exit 1 if a passport is not in the ledger (nothing written)."""
    from passport import labels  # noqa: PLC0415 (fpdf2 and Pillow, loaded by this verb only)

    if len(passports) > MAX_LABELS:
        fail(f"at most {MAX_LABELS} labels in one run")
    if base_url is not None and not _BASE.fullmatch(base_url):
        fail(f"--base-url takes an http(s) URL without query or fragment, not {base_url!r}")
    ledger = _reader(data_dir, database_url)
    try:
        base = (base_url or _from_origin(ledger.log.origin)).rstrip("/")
        found = []
        for passport_id in passports:
            one = labels.read_label(ledger, passport_id, base)
            if one is None:
                fail(f"no passport {passport_id} in this ledger", FAILED)
            found.append(one)
        body = labels.sheet_pdf(found) if sheet or len(found) > 1 else labels.label_pdf(found[0])
    finally:
        ledger.close()
    _write(out, body)
    pages = -(-len(found) // len(labels.SHEET_ORIGINS)) if sheet or len(found) > 1 else 1
    typer.echo(f"{out}: {len(found)} label{'s' * (len(found) != 1)}, {pages} page(s)")


def _reader(path: Path | None, database_url: str | None) -> Ledger:
    location = read_location(path, database_url)
    try:
        return ledger_service().open(
            location if isinstance(location, str) else location.path, writable=False
        )
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


def _from_origin(origin: str) -> str:
    """The service's URL as the log's origin names it (``host[/path]/log``)."""
    base = "https://" + origin.removesuffix("/log")
    if not _BASE.fullmatch(base):
        fail(f"the log's origin {origin!r} names no URL: give --base-url")
    return base


def _write(out: Path, body: bytes) -> None:
    """``body`` to ``out``, whole: a temporary file beside it, renamed over it."""
    directory = out.parent if str(out.parent) else Path()
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=directory)
    except OSError as exc:
        fail(f"cannot write in {directory}: {exc.strerror}")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        os.chmod(temporary, 0o644)  # public data, like the label itself
        os.replace(temporary, out)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            fail(f"cannot write {out}: {exc.strerror}")
        raise

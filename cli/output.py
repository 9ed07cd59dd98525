"""Writing a verb's result (to stdout, or atomically to the file ``--out`` names), and
saying on stderr how long work is getting on."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from cli.errors import fail, report


def emit(text: str, out: str | None) -> None:
    """``text`` and a newline on stdout, or into file ``out``: written whole to a temporary
    file beside it, then renamed over it, so that a failed or interrupted write leaves
    ``out`` as it was (absent, or the previous content), never empty or half written."""
    if out is None:
        typer.echo(text)
        return
    target = Path(out)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text + "\n")
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as open() would create it (mkstemp: 0600)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        fail(f"cannot write {out}: {exc.strerror}")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


PROGRESS_SECONDS = 2.0
"""Long work says on stderr what it does once it has taken this long (short work: nothing)."""


@contextmanager
def progress(doing: str) -> Iterator[None]:
    """Run long work: once it has taken :data:`PROGRESS_SECONDS`, ``bpl: DOING...`` on
    stderr, and when it ends, how long it took. Work done sooner says nothing."""
    started = time.monotonic()
    timer = threading.Timer(PROGRESS_SECONDS, report, (f"{doing}...",))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if time.monotonic() - started >= PROGRESS_SECONDS:
            report(f"done in {time.monotonic() - started:.1f} s")

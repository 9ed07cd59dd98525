"""Writing a verb's result: to stdout, or atomically to the file ``--out`` names."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from cli.errors import fail


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

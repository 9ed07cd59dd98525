"""Files that hold secrets: written atomically with mode 0600, never silently replaced,
and refused on reading when group or others may read them (as ssh does)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from signing.errors import KeyFileError, KeyFormatError


def write(path: str | os.PathLike[str], payload: bytes, *, overwrite: bool = False) -> None:
    """Write ``payload`` to ``path`` with mode 0600 whatever the umask; atomic and fsynced."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeyFileError(f"{target} exists; refusing to overwrite a key file")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write key file {target}: {exc.strerror}") from None


def read_text(path: str | os.PathLike[str]) -> str:
    """The UTF-8 text of a secret file; KeyFileError if others may read it or it cannot be
    read, KeyFormatError if it is not UTF-8."""
    source = Path(path)
    try:
        mode = source.stat().st_mode
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KeyFormatError(f"key file {source} is not UTF-8 text") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{source} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {source}"
        )
    return text

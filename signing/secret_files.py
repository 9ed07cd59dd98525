"""Files that hold secrets: written with mode 0600 whatever the umask, atomically, never
silently replaced; read at most :data:`MAX_BYTES` and refused when group or others may
read them (as ssh does)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from signing.errors import KeyFileError, KeyFormatError

MAX_BYTES = 64 * 1024
"""The most a key file may hold: a key file is a few hundred bytes, so anything larger is
not one (and is not read whole)."""

# link(2) unsupported by the file system: the key is then created in place, exclusively.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def write(path: str | os.PathLike[str], payload: bytes, *, overwrite: bool = False) -> None:
    """Write ``payload`` to ``path`` with mode 0600 whatever the umask, fsynced.

    The payload goes to a temporary file in the same directory, created exclusively, then
    takes ``path``'s name in one step: ``link`` (fails if ``path`` exists, whenever it
    appeared: an existing file is never replaced) or, with ``overwrite``, ``rename``
    (replaces it atomically). Readers see the old file or the new one, never a part. On a
    file system without hard links, ``path`` itself is created exclusively, then written.
    KeyFileError if ``path`` exists (and not ``overwrite``) or cannot be written.
    """
    target = Path(path)
    try:
        tmp = _write_temporary(target, payload)
    except OSError as exc:
        raise KeyFileError(f"cannot write {target}: {exc.strerror}") from None
    try:
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_or_create(tmp, target, payload)
    except FileExistsError:
        raise KeyFileError(f"{target} exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise KeyFileError(f"cannot write {target}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):  # after link: the temporary name; rename: gone
            tmp.unlink(missing_ok=True)
    _fsync_directory(target.parent)


def _write_temporary(target: Path, payload: bytes) -> Path:
    """A new file next to ``target`` (a name nobody else has: O_EXCL) holding ``payload``."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _link_or_create(tmp: Path, target: Path, payload: bytes) -> None:
    """Give ``tmp``'s file the name ``target``; FileExistsError if ``target`` exists."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    # No hard links here: create the target itself, exclusively (not atomic on a crash).
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        target.unlink(missing_ok=True)  # ours: created exclusively just now
        raise


def _fsync_directory(directory: Path) -> None:
    """Make the new name durable (best effort: not every system opens directories)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_text(path: str | os.PathLike[str], *, private: bool = True) -> str:
    """The UTF-8 text of a key file, read at most :data:`MAX_BYTES`.

    KeyFileError if it cannot be read, is larger, or (``private``, the default: it holds a
    secret) group or others may access it; KeyFormatError if it is not UTF-8. The mode and
    size checked are those of the file actually read (one open, then ``fstat``).
    """
    source = Path(path)
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {source}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if private and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"{source} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
                f"run: chmod 600 {source}"
            )
        if stat.S_ISREG(mode) and info.st_size > MAX_BYTES:
            raise KeyFileError(_too_large(source, f"{info.st_size} bytes"))
        data = _read_at_most(fd, MAX_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {source}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:  # grew since fstat, or not a regular file (a pipe, a device)
        raise KeyFileError(_too_large(source, f"more than {MAX_BYTES} bytes"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"key file {source} is not UTF-8 text") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _too_large(source: Path, size: str) -> str:
    return (
        f"key file {source} is {size}: not a key file (a key file holds at most {MAX_BYTES} bytes)"
    )

"""The data directory of a ledger: its SQLite database, the log's key and its settings.

Layout (``$BPL_DATA_DIR``, default ``$XDG_DATA_HOME/bpl`` i.e. ``~/.local/share/bpl``)::

    log.json     {"origin": ...}: the log's name, the first line of its checkpoints
    log.key      the checkpoint signer key (PRIVATE+KEY+...), never leaves
    log.pub      the verifier key to give to auditors and witnesses
    ledger.db    the SQLite database (and its -wal, -shm), unless $DATABASE_URL names another

The directory is its owner's alone (0700) and so is every file bpl writes there (0600,
whatever the umask): the database holds restricted disclosures. Creating or opening a
data directory tightens the directory and the database files when group or others have
access (an older bpl, or a directory made before), and says so (a warning on this
module's logger, which the command line prints). Key files others may read are refused,
not tightened (:mod:`signing.secret_files`).

The database records the log's identity (origin and verifier key, :mod:`ledger.identity`);
opening refuses a database that holds another log's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from ledger import identity
from ledger.defaults import DATA_DIR_ENV, DEFAULT_ORIGIN, default_data_dir
from ledger.errors import LedgerError, StoreError
from ledger.log import TransparencyLog
from ledger.storage import database as store
from signing import note, secret_files
from signing.errors import KeyFileError

__all__ = ["DATA_DIR_ENV", "DEFAULT_ORIGIN", "DataDir", "default_data_dir"]

# A checkpoint origin: printable, no spaces or "+" (it is also the note key's name).
_ORIGIN = re.compile(r"[!-*,-~]+")
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_DATABASE_FILES = tuple(store.DATABASE_FILE + suffix for suffix in ("", "-wal", "-shm"))

logger = logging.getLogger(__name__)
"""Where :meth:`DataDir.secure` says what it tightened (``bpl`` prints it on stderr)."""


@dataclass(frozen=True)
class DataDir:
    """One ledger's data directory."""

    path: Path

    @property
    def settings_file(self) -> Path:
        return self.path / "log.json"

    @property
    def signer_key_file(self) -> Path:
        return self.path / "log.key"

    @property
    def verifier_key_file(self) -> Path:
        return self.path / "log.pub"

    @property
    def database_url(self) -> str:
        return store.database_url(self.path)

    def database_files(self) -> list[Path]:
        """The files its database keeps (SQLite's, wherever ``$DATABASE_URL`` puts them;
        none for PostgreSQL)."""
        return store.database_files(self.database_url)

    def secure(self) -> list[str]:
        """Create the directory if absent (0700), and take group's and others' access
        away from it and from the database files in it, when they belong to us.

        Returns what it did, one line each ("tightened DIR from 0755 to 0700"), also
        logged as warnings. Key files are left alone: loading refuses loose ones.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise LedgerError(f"cannot create {self.path}: {exc.strerror}") from None
        done = [_restrict(self.path)]
        done += [_restrict(self.path / name) for name in _DATABASE_FILES]
        lines = [line for line in done if line]
        for line in lines:
            logger.warning("%s", line)
        return lines

    @contextmanager
    def creating(self) -> Iterator[None]:
        """A block that creates a ledger here (:meth:`ledger.facade.Ledger.init`; ``bpl
        init`` and ``bpl demo`` around all they do): should it fail, for whatever reason,
        the database is left as it was before the block. The log the block made there is
        removed with everything written to it, and the tables it made are dropped (DDL is
        transactional on both engines), so that a retry starts afresh; the block's files
        are for its caller to remove. Only a log this block made is touched: the one whose
        verifier key the block wrote to ``log.pub`` (each init makes a new key pair).
        Should removing it fail too, a warning says so."""
        before = self._written_verifier_key()
        had_schema = self._has_schema()
        try:
            yield
        except BaseException:
            made = self._written_verifier_key()
            if made is not None and made != before and had_schema is not None:
                self._forget(made, drop_schema=not had_schema)
            raise

    def _written_verifier_key(self) -> str | None:
        try:
            return self.verifier_key_file.read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def _has_schema(self) -> bool | None:
        """Whether the database holds a schema (None: it cannot be opened now)."""
        try:
            engine = store.create_engine(self.database_url)
        except StoreError:
            return None
        try:
            return store.current_revision(engine) is not None
        except StoreError:
            return None
        finally:
            store.dispose(engine)

    def _forget(self, verifier_key: str, *, drop_schema: bool) -> None:
        engine = None
        try:
            engine = store.create_engine(self.database_url)
            identity.forget(engine, verifier_key, drop_schema=drop_schema)
        except Exception as exc:  # the block's own failure is what the caller must see
            where = "" if engine is None else f" at {engine.url.render_as_string(True)}"
            logger.warning(
                "the failed ledger's log is still in the database%s (%s): point "
                "$DATABASE_URL at a new database, or remove its tables, before trying again",
                where,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
        finally:
            if engine is not None:
                store.dispose(engine)

    def init(self, origin: str = DEFAULT_ORIGIN) -> str:
        """Create the log: key pair, settings, schema, the identity the database records
        and the empty tree's checkpoint.

        Returns the verifier key. Refuses to touch a directory that already holds a log
        key (a log's key is its identity), and a database that already holds a log.
        """
        if not _ORIGIN.fullmatch(origin):
            raise LedgerError(f"origin {origin!r}: printable characters without spaces or '+'")
        if self.signer_key_file.exists():
            raise LedgerError(f"{self.path} already holds a log (log.key exists)")
        self.secure()
        engine = store.create_engine(self.database_url)
        try:
            identity.require_new(engine)
            signer, verifier = note.generate(origin)
            # log.key created exclusively: a log key is never replaced, even in a race.
            secret_files.write(self.signer_key_file, (signer + "\n").encode())
            secret_files.write(self.verifier_key_file, (verifier + "\n").encode(), overwrite=True)
            settings = json.dumps({"origin": origin}) + "\n"
            secret_files.write(self.settings_file, settings.encode(), overwrite=True)
            identity.claim(engine, identity.Identity(origin, verifier))
            TransparencyLog(engine, origin, signer).append([])
        finally:
            store.dispose(engine)
        return verifier

    def origin(self) -> str:
        """The log's origin line, from ``log.json``."""
        try:
            settings = json.loads(self.settings_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LedgerError(
                f"no ledger in {self.path}: `bpl init` creates one (`bpl log init`: a bare "
                "transparency log)"
            ) from None
        except (OSError, ValueError) as exc:
            raise LedgerError(f"{self.settings_file} is unreadable: {exc}") from None
        origin = settings.get("origin") if isinstance(settings, dict) else None
        if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin):
            raise LedgerError(f"{self.settings_file} has no valid origin")
        return origin

    def verifier_key(self) -> str:
        """The log's verifier key (public)."""
        try:
            return self.verifier_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LedgerError(f"cannot read {self.verifier_key_file}: {exc.strerror}") from None

    def open_log(self, *, writable: bool = False) -> TransparencyLog:
        """The log; ``writable`` loads the signer key (needed to append).

        Refuses a database that records another log's identity (``$DATABASE_URL`` pointed
        at another ledger's), and records this log's in one that has none yet (created
        before the identity was kept there). Tightens the directory's and the database
        files' modes first (:meth:`secure`): SQLite recreates ``-wal`` and ``-shm`` with
        the database file's mode. A read-only open creates nothing: a missing SQLite file
        or an empty database is no ledger (StoreError), never made an empty one.
        """
        origin = self.origin()
        self.secure()
        expected = identity.Identity(origin, self.verifier_key())
        signer = None
        if writable:
            try:
                signer = secret_files.read_text(self.signer_key_file).strip()
            except KeyFileError as exc:
                raise LedgerError(str(exc)) from None
        engine = store.create_engine(self.database_url) if writable else self._existing()
        try:
            identity.claim(engine, expected)  # migrates it, once it is known to be ours
        except BaseException:
            engine.dispose()
            raise
        return TransparencyLog(engine, origin, signer)

    def _existing(self) -> Engine:
        """The engine of a database that holds a ledger's schema, created by nothing."""
        file = self.path / store.DATABASE_FILE
        if self.database_url == store.default_url(self.path) and not file.is_file():
            raise StoreError(
                f"no ledger in {self.path}: its log's files are there but no database "
                f"({file}); set $DATABASE_URL if the ledger keeps its database elsewhere"
            )
        try:
            engine = store.create_engine(self.database_url, create=False)
        except StoreError as exc:
            raise StoreError(f"no ledger in {self.path}: {exc}") from None
        try:
            empty = store.current_revision(engine) is None
        except BaseException:
            engine.dispose()
            raise
        if empty:
            where = engine.url.render_as_string(hide_password=True)
            engine.dispose()
            raise StoreError(
                f"no ledger in {self.path}: the database at {where} is empty (is "
                "$DATABASE_URL the one the ledger was created with? `bpl init` creates one)"
            )
        return engine


def _restrict(path: Path) -> str | None:
    """Take group's and others' access away from ``path`` if it exists and is ours: what
    was done, or None. A failure is logged, not raised (a read-only mount still reads)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("cannot check the mode of %s: %s", path, exc.strerror)
        return None
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _OTHERS or info.st_uid != os.geteuid():
        return None
    try:
        path.chmod(mode & ~_OTHERS)
    except OSError as exc:
        logger.warning("cannot restrict %s (mode %04o) to its owner: %s", path, mode, exc.strerror)
        return None
    return f"tightened {path} from {mode:04o} to {mode & ~_OTHERS:04o}"

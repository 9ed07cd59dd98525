"""The data directory of a ledger: its SQLite database, the log's key and its settings.

Layout (``$BPL_DATA_DIR``, default ``$XDG_DATA_HOME/bpl`` i.e. ``~/.local/share/bpl``)::

    log.json     {"origin": ...}: the log's name, the first line of its checkpoints
    log.key      the checkpoint signer key (PRIVATE+KEY+...), mode 0600, never leaves
    log.pub      the verifier key to give to auditors and witnesses
    ledger.db    the SQLite database, unless $DATABASE_URL names another

The database records the log's identity (origin and verifier key, :mod:`ledger.identity`);
opening refuses a database that holds another log's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ledger import identity, store
from ledger.defaults import DATA_DIR_ENV, DEFAULT_ORIGIN, default_data_dir
from ledger.errors import LedgerError
from ledger.log import TransparencyLog
from signing import note, secret_files
from signing.errors import KeyFileError

__all__ = ["DATA_DIR_ENV", "DEFAULT_ORIGIN", "DataDir", "default_data_dir"]

# A checkpoint origin: printable, no spaces or "+" (it is also the note key's name).
_ORIGIN = re.compile(r"[!-*,-~]+")


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
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = store.create_engine(self.database_url)
        try:
            identity.require_new(engine)
            signer, verifier = note.generate(origin)
            secret_files.write(self.signer_key_file, (signer + "\n").encode())
            self.verifier_key_file.write_text(verifier + "\n", encoding="utf-8")
            self.settings_file.write_text(json.dumps({"origin": origin}) + "\n", encoding="utf-8")
            identity.claim(engine, identity.Identity(origin, verifier))
            TransparencyLog(engine, origin, signer).append([])
        finally:
            engine.dispose()
        return verifier

    def origin(self) -> str:
        """The log's origin line, from ``log.json``."""
        try:
            settings = json.loads(self.settings_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LedgerError(f"no log in {self.path}: run `bpl log init` first") from None
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
        before the identity was kept there).
        """
        origin = self.origin()
        expected = identity.Identity(origin, self.verifier_key())
        signer = None
        if writable:
            try:
                signer = secret_files.read_text(self.signer_key_file).strip()
            except KeyFileError as exc:
                raise LedgerError(str(exc)) from None
        engine = store.create_engine(self.database_url)
        try:
            identity.claim(engine, expected)  # migrates it, once it is known to be ours
        except BaseException:
            engine.dispose()
            raise
        return TransparencyLog(engine, origin, signer)

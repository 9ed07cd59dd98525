"""The log's identity in its own database: its origin and verifier key (ADR 0007).

The data directory keeps the signer key; the database keeps which log it holds. So a
database URL alone can be opened (to read and audit; with the signer key file, to
append), and a data directory pointed at another log's database is refused before it
writes anything to it. Only public keys are stored; errors never show a secret, and show
database URLs with their password masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.errors import LedgerError
from ledger.log import TransparencyLog, checkpoint
from ledger.log.checkpoint import CheckpointError
from ledger.storage import database as store
from ledger.storage import identity_rows
from signing import note, secret_files
from signing.errors import SigningError

SIGNER_KEY_FILE_ENV = "BPL_LOG_KEY_FILE"
"""The file holding the log's signer key, for appending to a ledger opened by URL."""

_HOW_TO_IDENTIFY = (
    "run `bpl init` with $DATABASE_URL set to it to create a ledger there, or open an "
    "existing ledger once through its data directory, which records the log's identity"
)


@dataclass(frozen=True)
class Identity:
    """Which log a database holds: what its checkpoints are named and checked with."""

    origin: str
    verifier_key: str


def read(engine: Engine) -> Identity | None:
    """The identity the database records; None if it records none yet."""
    with engine.connect() as connection:
        return _read(connection)


def _read(connection: sa.Connection) -> Identity | None:
    found = identity_rows.read(connection)
    return None if found is None else Identity(*found)


def claim(engine: Engine, identity: Identity) -> None:
    """Make sure the database holds ``identity``'s log, else raise LedgerError; bring its
    schema to the current revision, but only once it is known to be this log's.

    A database without an identity (created before migration 0003, or by ``init``) gets
    this one, but only if its latest checkpoint, if any, is this log's: a data directory
    pointed at another log's older database must not adopt it.
    """
    revision = store.current_revision(engine)
    if revision != store.head_revision():
        if revision is not None and store.is_ledger_revision(revision):
            with engine.connect() as connection:  # an older ledger: whose? before migrating
                _check_checkpoints(connection, identity, engine)
        store.upgrade_schema(engine)
    found = read(engine)
    if found is None:
        try:
            with engine.execution_options(**store.WRITE).begin() as connection:
                found = _read(connection)
                if found is None:
                    _check_checkpoints(connection, identity, engine)
                    identity_rows.insert(connection, identity.origin, identity.verifier_key)
                    return
        except sa.exc.IntegrityError:  # another process recorded one first: compare with it
            found = read(engine)
            if found is None:  # pragma: no cover - the row that conflicted is there
                raise
    if found != identity:
        raise LedgerError(_mismatch(found, identity, engine))


def require_new(engine: Engine) -> None:
    """Refuse to create a log in a database that already holds one (an identity, or the
    checkpoints of a log older than the identity). Writes nothing."""
    revision = store.current_revision(engine)
    if revision is None:
        return
    where = _shown(engine)
    if not store.is_ledger_revision(revision):
        raise LedgerError(
            f"the database at {where} has schema revision {revision!r}, unknown to this "
            "bpl: refusing to create a log in it"
        )
    found = read(engine) if revision == store.head_revision() else None
    if found is not None:
        raise LedgerError(
            f"the database at {where} already holds log {found.origin!r}: refusing to "
            "create another log in it (point $DATABASE_URL at a new database)"
        )
    with engine.connect() as connection:
        if _latest_checkpoint(connection) is not None:
            raise LedgerError(
                f"the database at {where} already holds a log's checkpoints: refusing to "
                "create another log in it (point $DATABASE_URL at a new database)"
            )


def forget(engine: Engine, verifier_key: str, *, drop_schema: bool) -> bool:
    """Remove the log with ``verifier_key`` from the database, with everything written to
    it, in one transaction: what a failed ``bpl init`` made (its key pair is new, so the
    verifier key is that init's alone). A database where the init got no further than the
    schema (no identity recorded, no checkpoint) is cleared too; one that records another
    log, or holds a log's checkpoints without an identity, is left alone. ``drop_schema``:
    drop the ledger's tables as well (the database had none before), else empty them.
    Returns whether anything was removed."""
    with engine.execution_options(**store.WRITE).begin() as connection:
        if store.revision_in(connection) != store.head_revision():
            return False  # no schema (a failed migration is rolled back), or not ours
        found = _read(connection)
        if found is None and _latest_checkpoint(connection) is not None:
            return False
        if found is not None and found.verifier_key != verifier_key:
            return False
        if drop_schema:
            store.drop_schema(connection)
        else:
            store.empty_schema(connection)
    return True


def open_url(
    url: str, *, writable: bool, log_key: Path | None = None
) -> tuple[TransparencyLog, Identity]:
    """The log in the database at ``url``, named by the identity it records.

    ``writable`` loads the signer key from ``log_key`` (else ``$BPL_LOG_KEY_FILE``),
    which must be the recorded verifier key's other half. Never creates a database or a
    schema; a writable open applies pending migrations.
    """
    key_file = _signer_key_file(log_key) if writable else None
    engine = store.create_engine(url, create=False)
    try:
        found = _recorded_identity(engine, writable=writable)
        signer = None if key_file is None else _signer_key(key_file, found)
    except BaseException:
        engine.dispose()
        raise
    return TransparencyLog(engine, found.origin, signer), found


def _recorded_identity(engine: Engine, *, writable: bool) -> Identity:
    where = _shown(engine)
    revision = store.current_revision(engine)
    if revision is None:
        raise LedgerError(f"{where} holds no bpl ledger (no ledger schema): {_HOW_TO_IDENTIFY}")
    if not store.is_ledger_revision(revision):
        raise LedgerError(
            f"{where} has schema revision {revision!r}, unknown to this bpl: not a bpl "
            "ledger, or one from a newer version"
        )
    if revision != store.head_revision():
        if not writable:
            raise LedgerError(
                f"{where} is at schema revision {revision}, this bpl expects "
                f"{store.head_revision()}: open it once through its data directory (or "
                "writable), which upgrades it"
            )
        store.upgrade_schema(engine)
    found = read(engine)
    if found is None:
        raise LedgerError(
            f"{where} holds a bpl ledger without its log identity: {_HOW_TO_IDENTIFY}"
        )
    return found


def _signer_key_file(log_key: Path | None) -> Path:
    if log_key is not None:
        return Path(log_key)
    from_env = os.environ.get(SIGNER_KEY_FILE_ENV)
    if from_env:
        return Path(from_env)
    raise LedgerError(
        "appending to a ledger opened by database URL needs the log's signer key: pass "
        f"log_key=<file> or set ${SIGNER_KEY_FILE_ENV} to its file (the data directory's "
        "log.key, mode 0600); open with writable=False to read and audit"
    )


def _signer_key(path: Path, identity: Identity) -> str:
    """The signer key in ``path``, checked to be the log's. Messages name the file, never
    its content."""
    try:
        signer = secret_files.read_text(path).strip()
    except SigningError as exc:
        raise LedgerError(f"log signer key: {exc}") from None
    try:
        name = note.verifier_key_for(signer).split("+", 1)[0]
    except note.NoteError as exc:
        raise LedgerError(f"{path} does not hold a log signer key ({exc})") from None
    if name != identity.origin:
        raise LedgerError(
            f"{path} holds the signer key of log {name!r}, but the database holds log "
            f"{identity.origin!r}"
        )
    try:
        matches = note.key_pair_matches(signer, identity.verifier_key)
    except note.NoteError as exc:
        raise LedgerError(f"the database's recorded verifier key is unusable ({exc})") from None
    if not matches:
        raise LedgerError(
            f"{path} is not the signer key of log {identity.origin!r}: its public key is not "
            "the verifier key the database records (another log's key with the same name)"
        )
    return signer


def _check_checkpoints(connection: sa.Connection, identity: Identity, engine: Engine) -> None:
    latest = _latest_checkpoint(connection)
    if latest is None:
        return
    try:
        checkpoint.verify(latest, identity.verifier_key, identity.origin)
    except CheckpointError as exc:
        raise LedgerError(
            f"the database at {_shown(engine)} holds another log's checkpoints, not those of "
            f"log {identity.origin!r} ({exc}): refusing to open it (check $DATABASE_URL)"
        ) from None


def _latest_checkpoint(connection: sa.Connection) -> str | None:
    return identity_rows.latest_checkpoint(connection)


def _mismatch(found: Identity, expected: Identity, engine: Engine) -> str:
    where = _shown(engine)
    if found.origin != expected.origin:
        return (
            f"the database at {where} holds log {found.origin!r}, not log "
            f"{expected.origin!r} of this data directory: refusing to open it "
            "(check $DATABASE_URL)"
        )
    return (
        f"the database at {where} holds another log named {found.origin!r} (its verifier "
        "key differs from this data directory's log.pub): refusing to open it "
        "(check $DATABASE_URL)"
    )


def _shown(engine: Engine) -> str:
    """The engine's URL with its password masked."""
    return engine.url.render_as_string(hide_password=True)

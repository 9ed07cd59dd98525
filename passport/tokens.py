"""Bearer tokens the operator issues to readers: who a request reads as (ADR 0017).

A token is ``bpl_`` followed by 32 random bytes in base64url: a secret shown once, when it
is issued, and never stored. The token file (``tokens.json`` in the data directory, mode
0600, written whole to a new file and renamed) maps the SHA-256 of each token to:

- ``did``: the registered actor the token speaks for. The reader's roles are that actor's
  roles *as the ledger holds them when the request comes* (``Reader.of_actor``), so a
  token never gives more than the actor's registration, and changes on the ledger apply
  at once;
- ``roles`` (optional): a subset that narrows them further (a browser session of the
  operator that reads as the public plus market surveillance, say);
- ``expires`` (UTC, ISO 8601): refused after it; ``created`` and a free ``label``.

Revoking a token removes its line. The service reads the file again when it changes (its
modification time and size), so issuing and revoking need no restart and reach every
worker. A file that group or others may read or write is refused, like a key file.
Lookups hash the presented token and look the digest up: no comparison of secrets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger.core.access import READER_ROLES

FILE_NAME = "tokens.json"
"""The token file's name in a data directory."""
PREFIX = "bpl_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
_TOKEN = re.compile(r"bpl_[A-Za-z0-9_-]{43}")
_FORMAT = 1


class TokenError(Exception):
    """The token file cannot be used, or a token cannot be issued as asked."""


@dataclass(frozen=True)
class TokenEntry:
    """What one token stands for (never the token itself)."""

    token_id: str
    """The first 12 hex digits of the token's SHA-256: what the operator revokes it by."""
    did: str
    roles: frozenset[str] | None
    created: datetime
    expires: datetime
    label: str

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "roles": None if self.roles is None else sorted(self.roles),
            "created": _iso(self.created),
            "expires": _iso(self.expires),
            "label": self.label,
        }


def digest(token: str) -> str:
    """The SHA-256 of a token, in hex: what the file keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether ``token`` has the form of a bpl token (says nothing of whether it is known)."""
    return _TOKEN.fullmatch(token) is not None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise TokenError(f"token file: {what} is not a time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TokenError(f"token file: {what} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise TokenError(f"token file: {what} has no time zone")
    return moment


def _entry(key: str, value: object) -> TokenEntry:
    if not re.fullmatch(r"[0-9a-f]{64}", key) or not isinstance(value, dict):
        raise TokenError("token file: every entry is a SHA-256 in hex and an object")
    did = value.get("did")
    roles = value.get("roles")
    label = value.get("label", "")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise TokenError(f"token file: entry {key[:12]} names no actor DID")
    if roles is not None and (
        not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)
    ):
        raise TokenError(f"token file: entry {key[:12]} has roles that are not a list of names")
    if roles is not None and not set(roles) <= set(READER_ROLES):
        raise TokenError(f"token file: entry {key[:12]} names an unknown reader role")
    if not isinstance(label, str):
        raise TokenError(f"token file: entry {key[:12]} has a label that is not text")
    return TokenEntry(
        key[:12],
        did,
        None if roles is None else frozenset(roles),
        _parse_time(value.get("created"), f"entry {key[:12]}'s created"),
        _parse_time(value.get("expires"), f"entry {key[:12]}'s expires"),
        label,
    )


class TokenStore:
    """The token file of one data directory (or any path), read again when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: dict[str, TokenEntry] = {}

    @classmethod
    def in_directory(cls, directory: Path) -> TokenStore:
        return cls(Path(directory) / FILE_NAME)

    # -- reading ---------------------------------------------------------------------

    def _current(self) -> dict[str, TokenEntry]:
        """The entries by token digest, reading the file again if it changed."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            with self._lock:
                self._stamp, self._entries = None, {}
            return {}
        stamp = (info.st_mtime_ns, info.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._entries = self._read(info)
                self._stamp = stamp
            return self._entries

    def _read(self, info: os.stat_result) -> dict[str, TokenEntry]:
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise TokenError(
                f"{self.path} may be read or written by others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): run chmod 600 {self.path}"
            )
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TokenError(f"{self.path} is not a readable token file: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise TokenError(f"{self.path} is not a token file of format {_FORMAT}")
        tokens = document.get("tokens")
        if not isinstance(tokens, dict):
            raise TokenError(f"{self.path} holds no token table")
        return {key: _entry(key, value) for key, value in tokens.items()}

    def lookup(self, token: str, now: datetime | None = None) -> TokenEntry | None:
        """The entry of a presented token; None if it is malformed, unknown or expired."""
        if not is_well_formed(token):
            return None
        entry = self._current().get(digest(token))
        if entry is None or entry.expired(now):
            return None
        return entry

    def entries(self) -> list[TokenEntry]:
        return sorted(self._current().values(), key=lambda e: (e.did, e.created))

    # -- writing (the operator's) ----------------------------------------------------

    def issue(
        self,
        did: str,
        *,
        roles: Iterable[str] | None = None,
        days: int = DEFAULT_DAYS,
        label: str = "",
        now: datetime | None = None,
    ) -> tuple[str, TokenEntry]:
        """A new token for actor ``did`` (optionally narrowed to ``roles``), valid for
        ``days``: the secret (shown once) and its entry."""
        if not did.startswith("did:"):
            raise TokenError(f"a token speaks for an actor's DID, not {did!r}")
        wanted = None if roles is None else frozenset(roles)
        if wanted is not None and not wanted <= set(READER_ROLES):
            unknown = sorted(wanted - set(READER_ROLES))
            raise TokenError(f"unknown reader roles {unknown} (known: {', '.join(READER_ROLES)})")
        if not 1 <= days <= MAX_DAYS:
            raise TokenError(f"a token lives 1 to {MAX_DAYS} days, not {days}")
        created = (now or datetime.now(UTC)).replace(microsecond=0)
        token = PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        key = digest(token)
        entry = TokenEntry(key[:12], did, wanted, created, created + timedelta(days=days), label)
        with self._lock:
            table = self._raw()
            table[key] = entry.to_dict()
            self._write(table)
        return token, entry

    def revoke(self, token_id: str) -> int:
        """Remove the tokens whose id (digest prefix, at least 8 hex digits) is given; how
        many were removed."""
        if not re.fullmatch(r"[0-9a-f]{8,64}", token_id):
            raise TokenError("a token id is 8 to 64 lowercase hex digits")
        with self._lock:
            table = self._raw()
            gone = [key for key in table if key.startswith(token_id)]
            for key in gone:
                del table[key]
            if gone:
                self._write(table)
        return len(gone)

    def _raw(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        info = self.path.stat()
        self._read(info)  # refuses a file others may read, or a malformed one
        document = json.loads(self.path.read_text(encoding="utf-8"))
        tokens: dict[str, Any] = document["tokens"]
        return tokens

    def _write(self, table: Mapping[str, Any]) -> None:
        text = json.dumps({"format": _FORMAT, "tokens": dict(table)}, indent=2, sort_keys=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._stamp = None  # read again on the next lookup

"""Every read of restricted data is recorded: who read which groups of which records, when.

Restricted data reaches a response only through the facade's reads of disclosures
(``Ledger.disclosures(hash, reader)``, ``Ledger.chain_page_as``; ADR 0016), which call the
ledger's ``disclosure_readers``: :func:`install` adds one, once, and each request gets a
collector (:class:`Reads`) that it fills with the groups actually returned to the
request's own reader. When the response
starts (every restricted value computed, none sent yet), the collector becomes one line
of the data directory's ``access-log.jsonl``; if that line cannot be written the reader
gets a 503 instead of the data: no restricted read leaves unrecorded. Anonymous readers
are not tracked (they read only what the public log shows anyway), nor are reads that
returned no restricted group.

A line (ADR 0021)::

    {"time": "2026-12-07T23:41:03.123Z", "reader": "did:key:z6Mk...", "roles": [...],
     "credential": "signature did:key:z6Mk...#z6Mk..." | "token 5c24756aab8e",
     "method": "GET", "path": "/passports/urn:bpl:passport:...", "status": 200,
     "records": [{"recordHash": "sha256:...", "groups": ["business", ...]}, ...]}

Never a secret: a token appears as its id (the first 12 hex digits of its SHA-256, what
``bpl token list`` shows), a signature as its key id. The file is mode 0600 and opened
with ``O_APPEND`` for each line, written by one ``write``: several uvicorn workers share
it without interleaving (Linux serializes appends to a regular file), and renaming it
away (log rotation) makes the next line start a new file.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import stat
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ledger.core import access
from ledger.core.access import Reader
from ledger.facade import Ledger
from passport.problems import Problem

FILE_NAME = "access-log.jsonl"
"""The access log's name in a data directory."""

logger = logging.getLogger("passport.access")


class AccessLogError(Exception):
    """The access log cannot be written or read."""


@dataclass
class Reads:
    """One request's restricted reads: its reader (once authenticated) and the groups of
    each record returned to that reader."""

    reader: Reader | None = None
    credential: str | None = None
    records: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, record_hash: str, groups: list[str]) -> None:
        with self._lock:
            self.records.setdefault(record_hash, set()).update(groups)

    def take(self) -> dict[str, set[str]]:
        """The reads noted since the last take (a streamed response may read on)."""
        with self._lock:
            taken, self.records = self.records, {}
        return taken


_current: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("bpl_reads", default=None)


def attribute(reader: Reader, credential: str) -> None:
    """Name the current request's reader (the ``Readers`` dependency calls this once the
    credential is checked); ``credential`` says how, never with a secret."""
    reads = _current.get()
    if reads is not None:
        reads.reader = reader
        reads.credential = credential


class AccessLog:
    """The access log file: appended one JSON line per request, read by ``bpl access-log``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_directory(cls, directory: Path) -> AccessLog:
        return cls(Path(directory) / FILE_NAME)

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one line, with one ``write`` on a descriptor opened for
        appending (created 0600; refused if group or others may read it)."""
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
        data = line.encode("utf-8")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            descriptor = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise AccessLogError(f"cannot open {self.path}: {exc.strerror}") from None
        try:
            self._check_mode(os.fstat(descriptor))
            written = os.write(descriptor, data)
            if written != len(data):
                raise AccessLogError(f"{self.path}: wrote {written} of {len(data)} bytes")
        except OSError as exc:
            raise AccessLogError(f"cannot write {self.path}: {exc.strerror}") from None
        finally:
            os.close(descriptor)

    def entries(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The lines, oldest first (those at or after ``since``); a line that is not a
        JSON object raises AccessLogError naming it."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AccessLogError(f"cannot read {self.path}: {exc.strerror}") from None
        with handle:
            self._check_mode(os.fstat(handle.fileno()))
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    moment = _parse_time(entry["time"])
                except (ValueError, KeyError, TypeError):
                    raise AccessLogError(f"{self.path} line {number} is no access entry") from None
                if since is None or moment >= since:
                    yield entry

    def _check_mode(self, info: os.stat_result) -> None:
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise AccessLogError(
                f"{self.path} may be read or written by others (mode {mode:04o}): "
                f"run chmod 600 {self.path}"
            )


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry(
    reads: Reads, taken: dict[str, set[str]], scope: MutableMapping[str, Any], status: int
) -> dict[str, Any]:
    """The line of a request's reads."""
    reader = reads.reader or access.PUBLIC
    return {
        "time": _now(),
        "reader": reader.did,
        "roles": sorted(reader.roles),
        "credential": reads.credential,
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "records": [
            {"recordHash": record_hash, "groups": sorted(groups)}
            for record_hash, groups in sorted(taken.items())
        ],
    }


def watch(ledger: Ledger) -> None:
    """Note every disclosure ``ledger`` returns to the current request's reader (once per
    ledger object: the app's routes, and every module they install, hold this ledger)."""
    if _note in ledger.disclosure_readers:
        return
    # The facade calls its disclosure readers from every read that returns disclosures,
    # whichever route asks.
    ledger.disclosure_readers.append(_note)


def _note(record_hash: str, reader: Reader, groups: list[str]) -> None:
    reads = _current.get()
    if reads is not None and reads.reader is not None and reader == reads.reader:
        reads.note(record_hash, groups)


class Recorder:
    """ASGI middleware: a :class:`Reads` per request, written to the log when the
    response starts (and after it, for what a streamed body read on)."""

    def __init__(self, app: Callable[..., Awaitable[None]], log: AccessLog) -> None:
        self.app = app
        self.log = log

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reads = Reads()
        token = _current.set(reads)
        refused = False
        status = 500

        async def recorded(message: MutableMapping[str, Any]) -> None:
            nonlocal refused, status
            if refused:
                return  # the data's response was replaced: drop its body
            if message["type"] == "http.response.start":
                status = int(message["status"])
            if message["type"] == "http.response.start" and not self._write(reads, scope, status):
                refused = True
                problem = Problem(503, "unavailable", "the read cannot be recorded now")
                await problem.response(scope.get("path"))(scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            _current.reset(token)
            if not refused:
                self._write(reads, scope, status)

    def _write(self, reads: Reads, scope: MutableMapping[str, Any], status: int) -> bool:
        """Write what was read since the last write; False if it could not be."""
        if reads.reader is None or reads.reader == access.PUBLIC:
            return True
        taken = reads.take()
        if not taken:
            return True
        try:
            self.log.append(entry(reads, taken, scope, status))
        except AccessLogError as exc:
            logger.error("access log: %s", exc)
            return False
        return True


def install(app: FastAPI, ledger: Ledger, log: AccessLog | None) -> None:
    """Record the restricted reads of ``app``'s requests in ``log`` (None: not recorded,
    for an application embedded in tests or tools that keep no log)."""
    if log is None:
        return
    watch(ledger)
    app.add_middleware(Recorder, log=log)

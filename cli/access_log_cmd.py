"""``bpl access-log``: who read which restricted data, and when (passport.access_log).

The service appends a line to the data directory's ``access-log.jsonl`` for every request
that was shown restricted data; this prints them, oldest first, as they are (``--json``)
or one line each for a person to read.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from cli.errors import JsonOption, fail, json_output
from cli.location import DataDirOption, data_directory
from passport.access_log import AccessLog, AccessLogError


def access_log(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIME",
            help="Only reads at or after TIME (ISO 8601: 2026-12-01 or 2026-12-01T08:00Z).",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the recorded reads of restricted data: time, reader (DID and roles), how it
    authenticated (a key id or a token id: never a secret), method and path, and each
    record's hash with the groups shown. --json: the log's lines as they are."""
    json_output(as_json)
    moment = _since(since) if since is not None else None
    log = AccessLog.in_directory(data_directory(data_dir).path)
    try:
        for entry in log.entries(moment):
            typer.echo(json.dumps(entry, ensure_ascii=False) if as_json else _line(entry))
    except AccessLogError as exc:
        fail(str(exc))


def _since(text: str) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since takes an ISO 8601 date or time, not {text!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _line(entry: dict[str, Any]) -> str:
    records = entry.get("records") or []
    groups = sorted({g for r in records for g in r.get("groups", [])})
    roles = ", ".join(entry.get("roles") or []) or "no role"
    return (
        f"{entry.get('time')}  {entry.get('reader')} ({roles}) by {entry.get('credential')}: "
        f"{entry.get('method')} {entry.get('path')} -> {entry.get('status')}; "
        f"{len(records)} record(s): {', '.join(groups)}"
    )

"""Exit codes and the one-line error report every verb uses; with ``--json``, a refusal is
also a JSON object on stdout (the shape a script reads)."""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer

from ledger.errors import RecordRejected, StaleRecord

OK = 0
FAILED = 1  # verification or domain failure
UNUSABLE = 2  # usage error or unusable input

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print JSON, refusals too: the shape scripts read."),
]

_json = {"on": False}


def json_output(on: bool) -> None:
    """Whether this invocation's refusals are also printed as JSON on stdout (``--json``);
    the root command resets it to False for every invocation."""
    _json["on"] = on


def report(message: str) -> None:
    """A line for the user on stderr (stdout carries results only)."""
    typer.echo(f"bpl: {message}", err=True)


def fail(
    message: str,
    code: int = UNUSABLE,
    *,
    rule: str | None = None,
    head: dict[str, Any] | None = None,
) -> NoReturn:
    """Stop the command: one line on stderr, then exit with ``code``. With ``--json``,
    first ``{"ok": false, "error": {"exitCode", "rule", "message", "head"}}`` on stdout."""
    if _json["on"]:
        error = {"exitCode": code, "rule": rule, "message": message, "head": head}
        typer.echo(json.dumps({"ok": False, "error": error}, indent=2, ensure_ascii=False))
    report(message)
    raise typer.Exit(code)


def refuse(
    exc: RecordRejected,
    unusable: tuple[str, ...] = ("parse", "size"),
    *,
    source: tuple[str, int] | None = None,
) -> NoReturn:
    """Exit 1 for a record the ledger refused: ``refused: RULE: reason``; in JSON its rule,
    its reason and, for a stale record, the chain's current head (what to build on). A
    refusal by one of the ``unusable`` rules exits 2: the input was no record at all (not
    JSON, too large) or, for a record the command built, the values given. ``source``:
    where the record came from among many (``bpl submit`` of a file of records) and its
    index among them: the line says where, and the JSON is one line (its ``source``)."""
    code = UNUSABLE if exc.rule in unusable else FAILED
    head = None
    if isinstance(exc, StaleRecord) and exc.head_sequence is not None:
        head = {"sequence": exc.head_sequence, "recordHash": exc.head_hash}
    if _json["on"]:
        error = {
            "exitCode": code,
            "rule": exc.rule,
            "message": exc.detail,
            "index": exc.index if source is None else source[1],
            "head": head,
        }
        if source is not None:
            error["source"] = source[0]
        indent = 2 if source is None else None
        typer.echo(json.dumps({"ok": False, "error": error}, indent=indent, ensure_ascii=False))
    where = "" if source is None else f"{source[0]}: "
    report(f"refused: {exc}" if source is None else f"refused: {where}{exc.rule}: {exc.detail}")
    raise typer.Exit(code)

"""``bpl export`` and the bundle branch of ``bpl verify``: offline evidence bundles.

The operator exports a passport's bundle from the local ledger (:mod:`ledger.bundle`,
docs/bundles.md) as a reader: the public by default, or an authority with ``--for-role``;
a regulator checks it with ``bpl verify bundle.json --log-key KEY`` and no network nor
database. Exit codes as every verb: 0 verified, 1 not verified (each reason on stderr), 2
unusable input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import FAILED, JsonOption, fail, json_output, report
from cli.location import DataDirOption, data_directory, ledger_service
from cli.log_cmd import read_verifier_key
from cli.output import emit, progress
from ledger import bundle
from ledger.core.access import PUBLIC, READER_ROLES, Reader
from ledger.errors import LedgerError
from ledger.log import checkpoint
from ledger.log.checkpoint import CheckpointError
from signing.errors import SigningError

SHOWN_FAILURES = 20
"""Failures printed on stderr (``--json`` lists up to bundle.MAX_FAILURES)."""


def export(
    passport: Annotated[str, typer.Argument(metavar="PASSPORT", help="The passport's id.")],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Write the bundle to FILE (whole, or not at all)."
        ),
    ],
    data_dir: DataDirOption = None,
    since: Annotated[
        Path | None,
        typer.Option(
            "--since",
            metavar="CHECKPOINT_FILE",
            help="A signed checkpoint of this log the holder kept: the bundle proves the log "
            "only grew since.",
        ),
    ] = None,
    for_role: Annotated[
        str | None,
        typer.Option(
            "--for-role",
            metavar="ROLE",
            help=f"Export the disclosures a reader of ROLE may read ({', '.join(READER_ROLES)});"
            " default: the public's (none restricted).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write PASSPORT's offline evidence bundle: its records and those of its predecessors
    and successors, the models, policies and actors they depend on, inclusion proofs in
    one signed checkpoint, and the disclosures the reader may read (the public's unless
    --for-role). A failed export writes nothing."""
    json_output(as_json)
    reader = PUBLIC
    if for_role is not None:
        if for_role not in READER_ROLES:
            fail(f"--for-role takes one of {', '.join(READER_ROLES)}, not {for_role!r}")
        reader = Reader(frozenset({for_role}))
    kept = _kept(since) if since is not None else None
    directory = data_directory(data_dir)
    try:
        ledger = ledger_service().open(directory.path, writable=False)
    except (LedgerError, SigningError) as exc:
        fail(str(exc))
    try:
        held = None
        if kept is not None:
            try:
                held = checkpoint.verify(kept, ledger.verifier_key, ledger.log.origin)
            except CheckpointError as exc:
                fail(f"{since} is no checkpoint of this log: {exc}")
        with progress(f"exporting the bundle of {passport}"):
            built = bundle.build(
                ledger, passport, reader, since=None if held is None else held.size
            )
    except bundle.PassportNotFoundError as exc:
        fail(str(exc), FAILED)
    except LedgerError as exc:
        fail(str(exc))
    finally:
        ledger.close()
    if held is not None and built["consistency"]["oldRoot"] != held.root.hex():
        fail(
            f"the log's tree of size {held.size} has another root than {since}: the log "
            "forked since that checkpoint",
            FAILED,
        )
    emit(json.dumps(built, ensure_ascii=False, separators=(",", ":")), out)
    summary = {
        "ok": True,
        "out": out,
        "passport": passport,
        "records": len(built["records"]),
        "treeSize": checkpoint.parse(built["checkpoint"].split("\n\n")[0] + "\n").size,
        "since": built.get("consistency", {}).get("oldSize"),
        "readerRoles": sorted(reader.roles),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        report(f"wrote {out}: {summary['records']} records at tree size {summary['treeSize']}")


def _kept(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the checkpoint {path}: {exc}")


def verify_bundle(
    document: dict[str, Any], source: str, log_key: str, since: Path | None, as_json: bool
) -> None:
    """``bpl verify BUNDLE --log-key KEY [--since CHECKPOINT_FILE]``: every check of
    :func:`ledger.bundle.verify`, offline. Exit 0 verified, 1 not (the reasons on
    stderr), 2 unusable input."""
    key = read_verifier_key(log_key)
    kept = _kept(since) if since is not None else None
    try:
        verdict = bundle.verify(document, key, since=kept)
    except bundle.BundleError as exc:
        fail(f"{source}: {exc}")
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), indent=2, ensure_ascii=False))
    if not verdict.verified:
        for failure in verdict.failures[:SHOWN_FAILURES]:
            report(str(failure))
        hidden = len(verdict.failures) - SHOWN_FAILURES + verdict.more_failures
        if hidden > 0:
            report(f"... and {hidden} more")
        raise typer.Exit(FAILED)
    if not as_json:
        grown = "" if verdict.since is None else f"; the log grew from size {verdict.since}"
        report(
            f"bundle verified: {verdict.records} records, passport {verdict.passport} and "
            f"{len(verdict.passports) - 1} linked, {verdict.disclosures} disclosures shown and "
            f"{verdict.withheld} withheld, in {verdict.origin} at size {verdict.tree_size}{grown}"
        )

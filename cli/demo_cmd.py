"""``bpl demo``: a new ledger filled with realistic actors and battery lives (ledger.demo)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from cli.errors import FAILED, JsonOption, fail, json_output, report
from cli.ledger_cmd import OPERATOR_KEY, create_ledger
from cli.location import DataDirOption, creating, data_directory
from cli.output import PROGRESS_SECONDS, progress
from ledger.errors import LedgerError

DEMO_ORIGIN = "demo.bpl.localhost/log"
"""The demo log's origin: never the default, so a demo checkpoint is not mistaken for a
real log's."""


def demo(
    data_dir: DataDirOption = None,
    batteries: Annotated[
        int, typer.Option("--batteries", min=0, metavar="N", help="How many batteries get a life.")
    ] = 300,
    seed: Annotated[
        int,
        typer.Option("--seed", metavar="N", help="Same seed, same actors, batteries and lives."),
    ] = 2027,
    as_json: JsonOption = False,
) -> None:
    """Create a NEW demo ledger in the data directory: actors of a battery value chain and
    the lives of --batteries batteries (issue, custody, diagnostic test, then reuse,
    repurposing, remanufacturing or recycling). Prints a JSON summary with the audit
    (with or without --json: the summary is data, its data directory, operator and log
    key); progress and a line of summary on stderr."""
    json_output(as_json)
    directory = data_directory(data_dir)
    if directory.signer_key_file.exists() or (directory.path / OPERATOR_KEY).exists():
        fail(f"{directory.path} already holds a ledger; give a new --data-dir")
    from ledger import demo as demo_ledger  # noqa: PLC0415 (the storage code, on demand)

    with creating(directory):  # a failed demo leaves nothing it created
        operator, ledger = create_ledger(directory, DEMO_ORIGIN, "Demo operator")
        # Progress on stderr: the demo appends its records in batches through this method.
        setattr(ledger, "append_many", _Progress(ledger.append_many))  # noqa: B010
        try:
            summary = demo_ledger.run_demo(ledger, operator, batteries=batteries, seed=seed)
            with progress(f"demo: auditing its {summary.records:,} records"):
                audit = ledger.audit()
        except LedgerError as exc:  # a refused record (RecordRejected) among them
            fail(f"demo: {exc}", FAILED)
        finally:
            ledger.engine.dispose()
    result = {
        "dataDir": str(directory.path),
        "origin": DEMO_ORIGIN,
        "operator": operator.did,
        "logKey": ledger.verifier_key,
        "batteries": batteries,
        "seed": seed,
        **summary.to_dict(),
        "audit": audit.to_dict(),
    }
    typer.echo(json.dumps(result, indent=2))
    report(
        f"demo ledger in {directory.path}: {summary.records} records, {summary.passports} "
        f"passports, {summary.actors} actors in {summary.seconds:.1f} s; "
        + ("audit ok" if audit.ok else f"audit FAILED at record {audit.records}: {audit.reason}")
    )
    if not audit.ok:
        raise typer.Exit(FAILED)


class _Progress:
    """``Ledger.append_many`` that says on stderr how many records it appended, every
    :data:`PROGRESS_SECONDS` at most."""

    def __init__(self, append_many: Callable[[Sequence[Any]], list[Any]]) -> None:
        self.append_many = append_many
        self.appended = 0
        self.said = time.monotonic()

    def __call__(self, submissions: Sequence[Any]) -> list[Any]:
        receipts = self.append_many(submissions)
        self.appended += len(submissions)
        if time.monotonic() - self.said >= PROGRESS_SECONDS:
            report(f"demo: {self.appended:,} records appended...")
            self.said = time.monotonic()
        return receipts

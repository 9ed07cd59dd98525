"""``bpl demo``: a new ledger filled with realistic actors and battery lives (ledger.demo)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.errors import FAILED, fail, report
from cli.ledger_cmd import OPERATOR_KEY, create_ledger
from cli.location import DataDirOption, creating, data_directory
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
) -> None:
    """Create a NEW demo ledger in the data directory: actors of a battery value chain and
    the lives of --batteries batteries (issue, custody, diagnostic test, then reuse,
    repurposing, remanufacturing or recycling). Prints a JSON summary with the audit."""
    directory = data_directory(data_dir)
    if directory.signer_key_file.exists() or (directory.path / OPERATOR_KEY).exists():
        fail(f"{directory.path} already holds a ledger; give a new --data-dir")
    from ledger import demo as demo_ledger  # noqa: PLC0415 (the storage code, on demand)

    with creating(directory):  # a failed demo leaves nothing it created
        operator, ledger = create_ledger(directory, DEMO_ORIGIN, "Demo operator")
        try:
            summary = demo_ledger.run_demo(ledger, operator, batteries=batteries, seed=seed)
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

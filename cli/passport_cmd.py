"""``bpl passport find``: passports by battery, GTIN, manufacturer or custodian (read-only).

A battery id finds the battery's live passport and its history (every passport issued
for it, and through predecessors those of the batteries it was made from); a GTIN finds
the model and a page of its passports. Human lines by default; ``--json`` gives one
stable object per query (docs/ledger.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.errors import FAILED, JsonOption, fail, json_output
from cli.help import Command
from cli.location import DatabaseUrlOption, DataDirOption, ledger_service, read_location
from ledger.core.battery_id import gtin_check_digit, is_valid_gtin
from ledger.errors import LedgerError
from signing.errors import SigningError

if TYPE_CHECKING:
    from ledger.facade import Ledger, Passport

app = typer.Typer(
    help="Find battery passports (read-only).", no_args_is_help=True, rich_markup_mode=None
)


@app.command("find", cls=Command, short_help="Find passports by battery, GTIN or actor.")
def find(
    battery: Annotated[
        str | None,
        typer.Option(
            "--battery",
            metavar="ID",
            help="A battery id (a GS1 Digital Link URI: any resolver host, GTIN-13 or -14).",
        ),
    ] = None,
    gtin: Annotated[
        str | None, typer.Option("--gtin", metavar="GTIN", help="A GTIN (8 to 14 digits).")
    ] = None,
    manufacturer: Annotated[
        str | None,
        typer.Option("--manufacturer", metavar="DID", help="Passports this actor issued."),
    ] = None,
    custodian: Annotated[
        str | None,
        typer.Option("--custodian", metavar="DID", help="Passports this actor holds now."),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option("--after", metavar="ID", help="Page on: the last passport id seen."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="Passports per page (1 to 1000).")
    ] = 100,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find passports by exactly one of --battery, --gtin, --manufacturer, --custodian.
    Exit 1 when nothing is found."""
    json_output(as_json)
    given = {
        "--battery": battery,
        "--gtin": gtin,
        "--manufacturer": manufacturer,
        "--custodian": custodian,
    }
    chosen = [name for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        fail("give exactly one of --battery, --gtin, --manufacturer, --custodian")
    ledger = _reader(data_dir, database_url)
    try:
        if battery is not None:
            _battery(ledger, battery, as_json)
        elif gtin is not None:
            _gtin(ledger, gtin, after, limit, as_json)
        else:
            did = manufacturer or custodian or ""
            found = (
                ledger.passports_by_manufacturer(did, after=after, limit=limit)
                if manufacturer
                else ledger.passports_by_custodian(did, after=after, limit=limit)
            )
            _page(found, as_json, f"no passports for {chosen[0]} {did}")
    except LedgerError as exc:
        fail(str(exc))


def _reader(path: Any, database_url: str | None) -> Ledger:
    location = read_location(path, database_url)
    try:
        return ledger_service().open(
            location if isinstance(location, str) else location.path, writable=False
        )
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


def _battery(ledger: Ledger, battery_id: str, as_json: bool) -> None:
    history = ledger.battery_history(battery_id)
    if as_json:
        typer.echo(json.dumps(history.to_dict(), indent=2))
    if not history.passports:
        if not as_json:
            fail(f"no passport for battery {battery_id}", FAILED)
        raise typer.Exit(FAILED)
    if as_json:
        return
    current = history.current.subject_id if history.current else "none (every one is closed)"
    typer.echo(f"battery {battery_id}")
    typer.echo(f"  live passport: {current}")
    for passport in history.passports:
        typer.echo(f"  passport {_line(passport)}")
    for passport in history.ancestors:
        typer.echo(f"  made from {_line(passport)}")


def _gtin(ledger: Ledger, gtin: str, after: str | None, limit: int, as_json: bool) -> None:
    padded = gtin.zfill(14) if gtin.isascii() and gtin.isdigit() and len(gtin) <= 14 else None
    if padded is None:
        fail(f"--gtin takes 8 to 14 digits, not {gtin!r}")
    if not is_valid_gtin(padded):
        fail(f"--gtin {gtin}: wrong check digit (a GTIN ending {gtin_check_digit(padded[:-1])})")
    models = ledger.models_by_gtin(padded)
    passports = ledger.passports_by_gtin(padded, after=after, limit=limit)
    if as_json:
        shown = {
            "gtin": padded,
            "models": [m.to_dict() for m in models],
            "passports": [p.to_dict() for p in passports],
        }
        typer.echo(json.dumps(shown, indent=2))
        if not models and not passports:
            raise typer.Exit(FAILED)
        return
    if not models and not passports:
        fail(f"no battery model or passport with GTIN {padded}", FAILED)
    for model in models:
        typer.echo(
            f"model {model.model_id} by {model.publisher}: revision {model.head.sequence}, "
            f"record {model.head.record_hash}"
        )
    for passport in passports:
        typer.echo(f"passport {_line(passport)}")


def _page(found: list[Passport], as_json: bool, none: str) -> None:
    if as_json:
        typer.echo(json.dumps({"passports": [p.to_dict() for p in found]}, indent=2))
        if not found:
            raise typer.Exit(FAILED)
        return
    if not found:
        fail(none, FAILED)
    for passport in found:
        typer.echo(f"passport {_line(passport)}")


def _line(passport: Passport) -> str:
    state = "closed" if passport.head.closed else (passport.head.status or "open")
    return (
        f"{passport.subject_id} ({state}; battery {passport.battery_id}; "
        f"custodian {passport.head.custodian})"
    )

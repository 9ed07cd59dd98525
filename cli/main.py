"""Entry point of the ``bpl`` command: wires the verbs and maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
from typer import _click
from typer.core import TyperGroup

from cli.errors import UNUSABLE, json_output, report
from cli.help import Command

VERBS: dict[str, tuple[str, str, str]] = {
    "keys": ("cli.keys_cmd", "app", "Create, import and inspect key files."),
    "log": ("cli.log_cmd", "app", "The transparency log and its proofs."),
    "actor": ("cli.ledger_cmd", "actor_app", "Register actors, manage keys."),
    "policy": ("cli.ledger_cmd", "policy_app", "Grading policies."),
    "record": ("cli.record_cmd", "app", "Build and sign records."),
    "init": ("cli.ledger_cmd", "init", "Create a ledger in the data directory."),
    "submit": ("cli.submit_cmd", "submit", "Append signed records; print their receipts."),
    "chain": ("cli.ledger_cmd", "chain", "Print or verify a passport's records."),
    "passport": ("cli.passport_cmd", "app", "Find passports by battery, GTIN or actor."),
    "audit": ("cli.ledger_cmd", "audit", "Re-verify the whole ledger."),
    "sign": ("cli.documents", "sign", "Add a proof to a document."),
    "verify": ("cli.documents", "verify", "Verify a document's proofs, or a receipt."),
    "export": ("cli.bundle_cmd", "export", "Write a passport's offline evidence bundle."),
    "label": ("cli.label_cmd", "label", "Print crate labels (PDF) of passports."),
    "demo": ("cli.demo_cmd", "demo", "Create a demo ledger of battery lives."),
    "serve": ("cli.serve_cmd", "serve", "Run the verification service (HTTP)."),
    "token": ("cli.token_cmd", "app", "Bearer tokens for browser sessions."),
    "access-log": ("cli.access_log_cmd", "access_log", "Who read restricted data, and when."),
}
"""Every verb: the module and name of its Typer app or function, and its short help. A
verb's module is imported when that verb runs (or its help is shown): ``bpl --help`` and
the offline verbs do not load the others (pyld, the storage code)."""


class _Verbs(TyperGroup):
    """The root command: lists :data:`VERBS` from the table, loads each on first use."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in VERBS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, _, short) in VERBS.items()])


def _load(name: str) -> _click.Command:
    """The click command of verb ``name``, its module imported now."""
    module, attribute, short_help = VERBS[name]
    target = getattr(import_module(module), attribute)
    if isinstance(target, typer.Typer):  # a group of verbs, even of one (bpl record new)
        command: _click.Command = typer.main.get_group(target)
    else:  # a verb of its own
        single = typer.Typer(rich_markup_mode=None)
        single.command(name, cls=Command, short_help=short_help)(target)
        command = typer.main.get_command(single)
    command.name = name
    command.short_help = short_help
    return command


app = typer.Typer(
    name="bpl",
    cls=_Verbs,
    help="Battery-passport ledger: keys, signed records and their verification.",
    no_args_is_help=True,
    # Plain help: rich markup read "did:key:" as an emoji code and boxed every line.
    rich_markup_mode=None,
    # Pretty tracebacks would print local variables, key material among them.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"bpl {version('bpl')}")
        except PackageNotFoundError:
            typer.echo("bpl (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Battery-passport ledger: keys, signed records and their verification."""
    json_output(False)  # until a verb's --json says otherwise


def main() -> None:
    """Run the command; one line on stderr and exit 1/2 instead of a traceback."""
    try:
        app()
    except Exception as exc:  # last line of defence: never a traceback for the user
        if os.environ.get("BPL_DEBUG"):
            raise
        report(f"internal error ({type(exc).__name__}); rerun with BPL_DEBUG=1 for details")
        sys.exit(UNUSABLE)


if __name__ == "__main__":
    main()

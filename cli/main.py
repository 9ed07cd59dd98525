"""Entry point of the ``bpl`` command: wires the verbs and maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from cli import demo_cmd, documents, keys_cmd, ledger_cmd, log_cmd, record_cmd
from cli.errors import UNUSABLE, json_output, report
from cli.help import Command

app = typer.Typer(
    name="bpl",
    help="Battery-passport ledger: keys, signed records and their verification.",
    no_args_is_help=True,
    # Plain help: rich markup read "did:key:" as an emoji code and boxed every line.
    rich_markup_mode=None,
    # Pretty tracebacks would print local variables, key material among them.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(keys_cmd.app, name="keys", short_help="Create, import and inspect key files.")
app.add_typer(log_cmd.app, name="log", short_help="The transparency log and its proofs.")
app.add_typer(ledger_cmd.actor_app, name="actor", short_help="Register actors, manage keys.")
app.add_typer(ledger_cmd.policy_app, name="policy", short_help="Grading policies.")
app.add_typer(record_cmd.app, name="record", short_help="Build and sign records.")
app.command("init", cls=Command, short_help="Create a ledger in the data directory.")(
    ledger_cmd.init
)
app.command("submit", cls=Command, short_help="Append a signed record; print its receipt.")(
    ledger_cmd.submit
)
app.command("chain", cls=Command, short_help="Print or verify a passport's records.")(
    ledger_cmd.chain
)
app.command("audit", cls=Command, short_help="Re-verify the whole ledger.")(ledger_cmd.audit)
app.command("sign", cls=Command, short_help="Add a proof to a document.")(documents.sign)
app.command("verify", cls=Command, short_help="Verify a document's proofs, or a receipt.")(
    documents.verify
)
app.command("demo", cls=Command, short_help="Create a demo ledger of battery lives.")(demo_cmd.demo)


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

"""``bpl keys``: create and inspect Ed25519 key files."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.errors import fail
from cli.inputs import load_key, passphrase_for
from signing import keys
from signing.errors import SigningError

app = typer.Typer(help="Create and inspect Ed25519 key files (did:key).", no_args_is_help=True)


@app.command("new")
def new(
    out: Annotated[str, typer.Option("--out", "-o", help="Key file to write (mode 0600).")],
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt",
            help="Protect the secret with a passphrase (asked, or from $BPL_KEY_PASSPHRASE).",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the public part as JSON.")] = False,
) -> None:
    """Generate a new Ed25519 key and write it to a key file; print its did:key."""
    passphrase = passphrase_for(out, confirm=True) if encrypt else None
    key = keys.generate()
    try:
        keys.save(key, out, passphrase, overwrite=force)
    except SigningError as exc:
        fail(str(exc))
    _print_public(key, as_json)


@app.command("show")
def show(
    file: Annotated[str, typer.Argument(help="Key file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print a key file's did:key and public key (never its secret)."""
    _print_public(load_key(file), as_json)


def _print_public(key: keys.KeyPair, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": key.did,
                    "verificationMethod": key.verification_method,
                    "publicKeyMultibase": key.public_multibase,
                },
                indent=2,
            )
        )
    else:
        typer.echo(f"id: {key.did}")
        typer.echo(f"verificationMethod: {key.verification_method}")
        typer.echo(f"publicKeyMultibase: {key.public_multibase}")

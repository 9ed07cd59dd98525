"""``bpl keys``: create, import and inspect Ed25519 key files."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from cli.errors import fail, json_output
from cli.help import Command
from cli.inputs import passphrase_for, read_bytes
from signing import did_key, key_import, keys
from signing.errors import PassphraseRequiredError, SigningError

app = typer.Typer(
    help="Create, import and inspect Ed25519 key files (did:key).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
OutOption = Annotated[
    str, typer.Option("--out", "-o", metavar="FILE", help="Key file to write (mode 0600).")
]


EncryptOption = Annotated[
    bool,
    typer.Option(
        "--encrypt",
        help="Protect the secret with a passphrase (asked, or from $BPL_KEY_PASSPHRASE).",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing file.")]
PublicJsonOption = Annotated[bool, typer.Option("--json", help="Print the public part as JSON.")]


@app.command("new", cls=Command, short_help="Generate a key file; print its did:key.")
def new(
    out: OutOption,
    encrypt: EncryptOption = False,
    force: ForceOption = False,
    as_json: PublicJsonOption = False,
) -> None:
    """Generate a new Ed25519 key and write it to a key file; print its did:key."""
    json_output(as_json)
    passphrase = passphrase_for(out, confirm=True) if encrypt else None
    key = keys.generate()
    try:
        keys.save(key, out, passphrase, overwrite=force)
    except SigningError as exc:
        fail(str(exc))
    _print_public(key.public_key, as_json)


IMPORT_PASSPHRASE_ENV = "BPL_IMPORT_PASSPHRASE"  # noqa: S105 (a variable's name)
"""The passphrase of an encrypted key being imported (not of the key file written)."""


@app.command("import", cls=Command, short_help="Import an existing Ed25519 private key.")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="The existing key: PEM (PKCS#8), DER, OpenSSH or JWK; - for stdin.",
        ),
    ],
    out: OutOption,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="|".join(key_import.FORMATS),
            help="The source's format (auto: found from its content).",
        ),
    ] = "auto",
    encrypt: EncryptOption = False,
    force: ForceOption = False,
    as_json: PublicJsonOption = False,
) -> None:
    """Import an existing Ed25519 private key into a key file; print its did:key.

    An encrypted source asks for its passphrase ($BPL_IMPORT_PASSPHRASE, or the terminal).
    """
    json_output(as_json)
    data = read_bytes(source)
    try:
        try:
            key = key_import.import_key(data, fmt=fmt)
        except PassphraseRequiredError:
            secret = os.environ.get(IMPORT_PASSPHRASE_ENV)
            if secret is None:
                secret = passphrase_for(source)
            key = key_import.import_key(data, fmt=fmt, passphrase=secret)
    except SigningError as exc:
        fail(f"{source}: {exc}")
    passphrase = passphrase_for(out, confirm=True) if encrypt else None
    try:
        keys.save(key, out, passphrase, overwrite=force)
    except SigningError as exc:
        fail(str(exc))
    _print_public(key.public_key, as_json)


@app.command("show", cls=Command, short_help="Print a key file's did:key and public key.")
def show(
    file: Annotated[str, typer.Argument(metavar="FILE", help="Key file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Print a key file's did:key and public key (never its secret; no passphrase needed)."""
    json_output(as_json)
    try:
        public_key = keys.public_key_of(file)
    except SigningError as exc:
        fail(str(exc))
    _print_public(public_key, as_json)


def _print_public(public_key: bytes, as_json: bool) -> None:
    info = {
        "id": did_key.did_from_public(public_key),
        "verificationMethod": did_key.verification_method_id(public_key),
        "publicKeyMultibase": did_key.public_multibase(public_key),
    }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        for name, value in info.items():
            typer.echo(f"{name}: {value}")

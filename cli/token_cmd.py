"""``bpl token issue|list|revoke``: the bearer tokens browser sessions read with.

Actors' own programs sign their requests with their keys (ADR 0021) and need no token;
a token is for a browser, where no key file is at hand. The data directory's
``tokens.json`` (mode 0600) keeps each token's SHA-256, never the token: ``issue`` prints
it once. See :mod:`passport.tokens` and docs/service.md.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.errors import FAILED, JsonOption, fail, json_output
from cli.help import Command
from cli.location import DataDirOption, data_directory
from passport.tokens import DEFAULT_DAYS, MAX_DAYS, TokenError, TokenStore

app = typer.Typer(
    help="Bearer tokens for browser sessions (actors' programs sign their requests).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _store(data_dir: DataDirOption) -> TokenStore:
    return TokenStore.in_directory(data_directory(data_dir).path)


@app.command("issue", cls=Command, short_help="Issue a token for a registered actor.")
def issue(
    did: Annotated[str, typer.Argument(metavar="DID", help="The actor the token reads as.")],
    roles: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            metavar="ROLE",
            help="Narrow the actor's roles to these (repeatable; never more than it has).",
        ),
    ] = None,
    days: Annotated[
        int,
        typer.Option("--days", metavar="N", help=f"Days it lives (1 to {MAX_DAYS})."),
    ] = DEFAULT_DAYS,
    label: Annotated[str, typer.Option("--label", metavar="TEXT", help="A note.")] = "",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a token for actor DID and print it, once (JSON: token, id, did, roles,
    created, expires, label). Requests send it as Authorization: Bearer TOKEN."""
    json_output(as_json)
    try:
        secret, entry = _store(data_dir).issue(did, roles=roles, days=days, label=label)
    except (TokenError, OSError) as exc:
        fail(str(exc))
    typer.echo(json.dumps({"token": secret, "id": entry.token_id, **entry.to_dict()}))


@app.command("list", cls=Command, short_help="The tokens issued (never the secrets).")
def list_tokens(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """One JSON line per token: id, did, roles, created, expires, label."""
    json_output(as_json)
    try:
        entries = _store(data_dir).entries()
    except TokenError as exc:
        fail(str(exc))
    for entry in entries:
        typer.echo(json.dumps({"id": entry.token_id, **entry.to_dict()}))


@app.command("revoke", cls=Command, short_help="Revoke tokens by id.")
def revoke(
    token_id: Annotated[
        str, typer.Argument(metavar="ID", help="A token's id (8 to 64 hex digits).")
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke the tokens whose id starts with ID; every worker of the service refuses
    them from its next request. Exit 1 if none matched."""
    json_output(as_json)
    try:
        removed = _store(data_dir).revoke(token_id)
    except (TokenError, OSError) as exc:
        fail(str(exc))
    typer.echo(json.dumps({"revoked": removed}))
    if not removed:
        fail(f"no token with id {token_id}", FAILED)

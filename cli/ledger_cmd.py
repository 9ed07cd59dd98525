"""``bpl init``, ``bpl actor``, ``bpl policy``, ``bpl submit``, ``bpl chain``, ``bpl audit``:
the ledger from the command line (what an operator, a dismantler and an auditor type)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli import server_client
from cli.errors import FAILED, JsonOption, fail, json_output, refuse, report
from cli.help import Command
from cli.location import (
    DatabaseUrlOption,
    DataDirOption,
    creating,
    data_directory,
    ledger_service,
    read_location,
)
from cli.output import progress
from cli.server_client import ServerKeyOption, ServerOption
from ledger.core.grading import GradingError
from ledger.defaults import DEFAULT_ORIGIN
from ledger.errors import LedgerError, PolicyConflictError, RecordRejected
from signing import keys
from signing.errors import SigningError

if TYPE_CHECKING:
    from ledger.audit import Report
    from ledger.datadir import DataDir
    from ledger.facade import Ledger, Receipt

OPERATOR_KEY = "operator.json"
"""The operator's key file in the data directory (0600): it signs actor records."""

actor_app = typer.Typer(
    help="Register actors and manage their keys (operator).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
policy_app = typer.Typer(
    help="Grading policies DiagnosticTest records may name (operator).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
DidOption = Annotated[str, typer.Option("--did", metavar="DID", help="The actor's DID.")]
OriginOption = Annotated[
    str,
    typer.Option("--origin", metavar="NAME", help="The log's name: first line of its checkpoints."),
]


BUILT_HERE = ("parse", "size", "schema")
"""The rules whose refusal of a record this command built means the values given were
unusable (exit 2): the schema refuses a role, a DID or a key the operator typed."""


def _ledger(path: Path | None, *, writable: bool = True) -> Ledger:
    try:
        return ledger_service().open(data_directory(path).path, writable=writable)
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


def _reader(path: Path | None, database_url: str | None) -> Ledger:
    """A read-only ledger: from the data directory, or from a database URL alone (an
    auditor's case: the database records the log's identity)."""
    location = read_location(path, database_url)
    try:
        return ledger_service().open(
            location if isinstance(location, str) else location.path, writable=False
        )
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


def _operator(path: Path | None) -> keys.KeyPair:
    try:
        return keys.load(data_directory(path).path / OPERATOR_KEY)
    except SigningError as exc:
        fail(f"operator key: {exc}")


def init(
    data_dir: DataDirOption = None,
    origin: OriginOption = DEFAULT_ORIGIN,
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="The operator's name.")
    ] = "Ledger operator",
    as_json: JsonOption = False,
) -> None:
    """Create a ledger: its log key, its operator key (both 0600 in the data directory),
    its database (SQLite, or $DATABASE_URL) and the operator's registration. Prints the
    operator's DID and the log's verifier key. A failed init leaves nothing it created
    behind: run it again once the cause is fixed."""
    json_output(as_json)
    directory = data_directory(data_dir)
    with creating(directory):
        operator, ledger = create_ledger(directory, origin, name)
        ledger.close()
    report(f"ledger {origin!r} created in {directory.path}")
    made = {
        "dataDir": str(directory.path),
        "origin": origin,
        "operator": operator.did,
        "logKey": ledger.verifier_key,
    }
    if as_json:
        typer.echo(json.dumps(made, indent=2))
    else:
        typer.echo(f"operator: {operator.did}\nlog key:  {ledger.verifier_key}")


def create_ledger(directory: DataDir, origin: str, name: str) -> tuple[keys.KeyPair, Ledger]:
    """A new ledger in ``directory`` (inside :func:`cli.location.creating`): its operator
    key file, its log and the operator's registration. Exit 2 if it cannot be made."""
    for held in (directory.signer_key_file, directory.path / OPERATOR_KEY):
        if held.exists():
            fail(f"{directory.path} already holds a ledger ({held.name} exists)")
    operator = keys.generate()
    try:
        keys.save(operator, directory.path / OPERATOR_KEY)
        return operator, ledger_service().init(directory.path, operator, origin=origin, name=name)
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


@actor_app.command("add", cls=Command, short_help="Register an actor.")
def actor_add(
    did: Annotated[
        str, typer.Option("--did", metavar="DID", help="The actor's DID (did:key:...).")
    ],
    role: Annotated[list[str], typer.Option("--role", metavar="ROLE", help="A role (repeatable).")],
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="The organisation's or person's name.")
    ],
    address: Annotated[
        str | None, typer.Option("--address", metavar="TEXT", help="Postal address.")
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option(
            "--contact",
            metavar="TEXT",
            help="An e-mail address, a web address (https://...) or a phone number "
            "(+ and digits); repeatable, one of each.",
        ),
    ] = None,
    person: Annotated[
        bool,
        typer.Option(
            "--person",
            help="A private person: name, address and contact are read only by the person "
            "and the authorities; the public log shows the DID alone. (An organisation's "
            "are public.)",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an actor (signed by the operator); says where its record is on the log
    (--json: the receipt)."""
    json_output(as_json)
    reach = contacts(contact or [])
    ledger = _ledger(data_dir)
    try:
        receipt = ledger.register_actor(
            _operator(data_dir),
            did,
            role,
            name=name,
            address=address,
            contact=reach,
            person=person,
        )
    except RecordRejected as exc:
        refuse(exc, BUILT_HERE)
    _done(receipt, as_json, f"registered {did} ({', '.join(role)})")


@actor_app.command("add-key", cls=Command, short_help="Add a signing key to an actor.")
def actor_add_key(
    did: DidOption,
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="DID_KEY",
            help="The new key: its did:key (bpl keys show), or its verification method "
            "(did:key:z...#z...).",
        ),
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a signing key to an actor (signed by the operator; --json: the receipt).
    Records signed with it name the actor as their issuer: bpl record new --issuer DID."""
    json_output(as_json)
    ledger = _ledger(data_dir)
    try:
        receipt = ledger.add_key(_operator(data_dir), did, key_method(key))
    except RecordRejected as exc:
        refuse(exc, BUILT_HERE)
    _done(receipt, as_json, f"added key {key_method(key)} to {did}")


def contacts(given: list[str]) -> dict[str, str] | None:
    """``--contact`` values as ActorRegistered's ``contact`` (``email``, ``phone``,
    ``url``): a value with ``://`` is a web address, one with ``@`` an e-mail address,
    ``+`` and digits (spaces allowed) a phone number. Exit 2 for anything else, or for
    two of one kind."""
    found: dict[str, str] = {}
    for text in given:
        value, number = text, text.replace(" ", "")
        if "://" in text:
            field = "url"
        elif "@" in text:
            field = "email"
        elif number.startswith("+") and number[1:].isascii() and number[1:].isdigit():
            field, value = "phone", number
        else:
            fail(
                f"--contact {text!r}: give an e-mail address, a web address (https://...) "
                "or a phone number (+ and digits)"
            )
        if field in found:
            fail(f"--contact: two {field} values ({found[field]!r}, {value!r}); one of each")
        found[field] = value
    return found or None


def _done(receipt: Receipt, as_json: bool, what: str) -> None:
    """An operator record appended: its receipt as JSON, or a line saying where it is."""
    if as_json:
        typer.echo(json.dumps(receipt.to_dict(), indent=2))
    else:
        typer.echo(f"{what}: record {receipt.record_hash}, leaf {receipt.leaf_index} of the log")


def key_method(key: str) -> str:
    """A did:key as the verification method the ledger registers (``did:key:z..#z..``);
    a method URL, or anything else, as given (the schema judges it)."""
    if key.startswith("did:key:") and "#" not in key:
        return f"{key}#{key.removeprefix('did:key:')}"
    return key


class RevocationReason(StrEnum):
    """Why a key is revoked: the values KeyRevoked's schema allows."""

    compromised = "compromised"
    superseded = "superseded"
    retired = "retired"
    unspecified = "unspecified"


@actor_app.command("revoke-key", cls=Command, short_help="Revoke one of an actor's keys.")
def actor_revoke_key(
    did: DidOption,
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="DID_KEY",
            help="The key to revoke: its did:key, or its verification method "
            "(did:key:z...#z..., as the actor's records list it).",
        ),
    ],
    reason: Annotated[
        RevocationReason,
        typer.Option("--reason", metavar="|".join(RevocationReason), help="Why (kept in the log)."),
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an actor's key: nothing signed with it is accepted after this record
    (--json: the receipt)."""
    json_output(as_json)
    ledger = _ledger(data_dir)
    try:
        receipt = ledger.revoke_key(_operator(data_dir), did, key_method(key), reason.value)
    except RecordRejected as exc:
        refuse(exc, BUILT_HERE)
    _done(receipt, as_json, f"revoked key {key_method(key)} of {did} ({reason.value})")


@policy_app.command("add", cls=Command, short_help="Register a grading policy.")
def policy_add(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A grading policy file (docs/grading.md).")
    ],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a grading policy with the ledger (a record on the log, signed by the
    operator); prints its id, version and digest. The same content again changes nothing;
    other content under a registered id and version is refused (exit 1): a released version
    never changes."""
    json_output(as_json)
    ledger = _ledger(data_dir)
    try:
        policy = ledger.add_grading_policy(_operator(data_dir), file)
    except GradingError as exc:
        fail(str(exc))
    except RecordRejected as exc:
        refuse(exc)
    except PolicyConflictError as exc:
        fail(f"refused: {exc}", FAILED, rule="policy")
    except LedgerError as exc:
        fail(str(exc))
    finally:
        ledger.engine.dispose()
    shown = {"id": policy.id, "version": policy.version, "digest": policy.digest}
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
    else:
        typer.echo(f"grading policy {policy.id} version {policy.version}: {policy.digest}")


@policy_app.command("list", cls=Command, short_help="List the policies records may name.")
def policy_list(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The grading policies records may name: bundled with bpl, and registered (a line
    each: id, version, digest, and bundled or when registered)."""
    json_output(as_json)
    ledger = _reader(data_dir, database_url)
    try:
        known = [entry.to_dict() for entry in ledger.grading_policies()]
    finally:
        ledger.engine.dispose()
    if as_json:
        typer.echo(json.dumps(known, indent=2))
        return
    for entry in known:
        origin = "bundled" if entry["bundled"] else f"registered {entry['registeredAt']}"
        typer.echo(f"{entry['id']} {entry['version']} {entry['digest']} {origin}")


@policy_app.command("show", cls=Command, short_help="Print a grading policy's document.")
def policy_show(
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="The policy's id.")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Its version.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a grading policy's document (bundled or registered): the file a test lab
    grades under, offline too (bpl record new --policy FILE). Its digest is that of the
    JCS form, whatever the layout. Exit 1 if the ledger knows no such policy."""
    json_output(as_json)
    ledger = _reader(data_dir, database_url)
    try:
        document = ledger.grading_policy_document(policy_id, version)
    finally:
        ledger.engine.dispose()
    if document is None:
        fail(f"no grading policy {policy_id} version {version} here (bpl policy list)", FAILED)
    typer.echo(json.dumps(json.loads(document), indent=2, ensure_ascii=False))


def chain(
    subject: Annotated[
        str, typer.Argument(metavar="ID", help="A passport id (or an actor's DID).")
    ],
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Re-check hashes, signatures, links, disclosures, inclusion."
        ),
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    server_url: ServerOption = None,
    key: ServerKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a chain's records (public parts, JSON), or with --verify whether it verifies
    (--json: the report). Exit 1 if the chain has no records (no such passport), or does
    not verify. With --server URL: a passport's records as the service there serves them
    (requests signed with --key, if given); --verify reads a local ledger only."""
    json_output(as_json)
    unknown = f"no such passport or chain: {subject} has no records here"
    if server_url is not None:
        _chain_from_server(server_url, key, subject, verify, data_dir, database_url, unknown)
        return
    if key is not None:
        fail("--key signs the requests to a service: give --server too")
    ledger = _reader(data_dir, database_url)
    if verify:
        result = ledger.verify_chain(subject)
        if not result.ok and result.records == 0 and result.record_hash is None:
            fail(unknown, FAILED)
        _verdict(
            result,
            as_json,
            f"chain {subject}: {result.records} records verified (hashes, signatures, links, "
            "disclosures, inclusion in the latest signed checkpoint)",
            f"chain {subject}: record {result.records}: {result.reason}",
        )
        return
    found = ledger.chain(subject)
    if not found:
        fail(unknown, FAILED)
    typer.echo(json.dumps(found, indent=2))


def _chain_from_server(
    url: str,
    key_file: str | None,
    subject: str,
    verify: bool,
    data_dir: Path | None,
    database_url: str | None,
    unknown: str,
) -> None:
    """``bpl chain --server``: the passport's records, page by page, from the service."""
    if data_dir is not None or database_url is not None:
        fail("give --server or a local ledger (--data-dir, --database-url), not both")
    if verify:
        fail(
            "--verify checks a local ledger; for a service's passport, bpl export a bundle "
            "there and bpl verify it offline (or read GET /passports/ID/verify)"
        )
    from cli.inputs import load_key  # noqa: PLC0415 (as the verbs that sign)

    signer = load_key(key_file) if key_file is not None else None
    with server_client.server(url, signer) as service:
        found = list(service.records(subject))
    if not found:
        fail(unknown, FAILED)
    typer.echo(json.dumps(found, indent=2))


def _verdict(result: Report, as_json: bool, verified: str, failed: str) -> None:
    """A verification's outcome: its report as JSON, or a line; exit 1 if it failed."""
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        typer.echo(verified)
    if not result.ok:
        report(failed)
        raise typer.Exit(FAILED)


def audit(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-verify everything against the latest signed checkpoint (--json: the report);
    exit 1 naming the first bad record. A long audit says so on stderr."""
    json_output(as_json)
    ledger = _reader(data_dir, database_url)
    with progress(f"auditing {ledger.log.size():,} log entries and every stored row"):
        result = ledger.audit()
    _verdict(
        result,
        as_json,
        f"audit ok: {result.records} records; the log, its checkpoints and every stored row match",
        f"audit failed at record {result.records}: {result.reason}",
    )

"""``bpl record new``: build, sign and print a record, ready for ``bpl submit``.

What a dismantler types in the yard, often offline: the fields go in from a JSON file or
``--set``, each lands in clear or in its access group's disclosure as the kind's schema
says, the chain position comes from the local ledger (or ``--sequence``/``--previous``),
a DiagnosticTest without a grade is graded under its policy (docs/grading.md), and the
output is a submission: ``{"record": <signed>, "disclosures": [...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

import schemas
from cli import server_client
from cli.errors import JsonOption, fail, json_output, report
from cli.help import Command
from cli.inputs import load_key, read_document
from cli.location import DataDirOption, data_directory, ledger_service
from cli.server_client import ServerOption
from ledger.core import contexts, grading, records
from ledger.core.admission import bundled_policies
from ledger.core.grading import GradingError
from ledger.errors import LedgerError
from signing import json_input, proofs
from signing.errors import DocumentError, MalformedJSONError, SigningError

app = typer.Typer(
    help="Build and sign records (offline-friendly).", no_args_is_help=True, rich_markup_mode=None
)

_BOOKKEEPING = {"id", "sequence", "previous", "disclosures"}


@app.command("new", cls=Command, short_help="Build and sign a record; print the submission.")
def new(
    kind: Annotated[
        str,
        typer.Argument(
            metavar="KIND", help=f"Record kind: {', '.join(schemas.kinds(records.VERSION))}."
        ),
    ],
    subject: Annotated[
        str,
        typer.Option("--passport", "--subject", metavar="ID", help="Passport id (or actor DID)."),
    ],
    key: Annotated[str, typer.Option("--key", "-k", metavar="FILE", help="The signer's key file.")],
    data: Annotated[
        str | None,
        typer.Option("--data", metavar="FILE", help="JSON file of the record's fields."),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="A field: VALUE as JSON (parsed strictly), else as text.",
        ),
    ] = None,
    sequence: Annotated[
        int | None,
        typer.Option("--sequence", metavar="N", help="Chain position, for offline signing."),
    ] = None,
    previous: Annotated[
        str | None,
        typer.Option("--previous", metavar="HASH", help="Hash of the record before (offline)."),
    ] = None,
    disclose_as: Annotated[
        str | None,
        typer.Option(
            "--disclose-as",
            metavar="|".join(("public", *records.RESTRICTED_GROUPS)),
            help="Put every restricted field in this group (public: a DocumentAttached "
            "whose document type may be public, e.g. declaration-of-conformity).",
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            help="DiagnosticTest: the grading policy file to grade under (bpl policy show).",
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            metavar="DID",
            help="The actor the record is from, when the key is not the actor's first one "
            "(a key added with bpl actor add-key). Default: the key's own did:key.",
        ),
    ] = None,
    data_dir: DataDirOption = None,
    server_url: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a record of KIND for a passport, sign it, print the submission (JSON; with
    --json, a refusal too). The chain position comes from --sequence/--previous, else from
    the service at --server URL (asked with a request signed by the key), else from the
    local ledger.

    The record's issuer is the actor who makes the statement (--issuer, by default the
    key's did:key); its proof names the key that signed it (its verification method)."""
    json_output(as_json)
    known_kinds = schemas.kinds(records.VERSION)
    if kind not in known_kinds:
        fail(f"unknown kind {kind!r} (known: {', '.join(known_kinds)})")
    fields = _fields(data, sets or [])
    if kind == "DiagnosticTest":
        _complete_grading(fields, _policy_from(policy_file) if policy_file else None, data_dir)
    elif policy_file is not None:
        fail("--policy is for DiagnosticTest records")
    public, restricted = _split(kind, fields, disclose_as)
    signer = load_key(key)
    if server_url is not None and sequence is not None:
        fail("give --server or --sequence/--previous, not both")
    if server_url is not None:
        with server_client.server(server_url, signer) as service:
            position = service.head(subject)
    else:
        position = _position(subject, sequence, previous, data_dir)
    if issuer is not None and not issuer.startswith("did:"):
        fail(f"--issuer takes the actor's DID (did:...), got {issuer!r}")
    record, disclosures = records.build(
        kind, subject, position[0], position[1], issuer or signer.did, public, restricted
    )
    _validate(kind, record, disclosures)
    try:
        signed = proofs.sign(record, signer, loader=contexts.loader())
    except SigningError as exc:
        fail(str(exc))
    typer.echo(json.dumps({"record": signed, "disclosures": disclosures}, indent=2))


def _validate(kind: str, record: dict[str, Any], disclosures: list[dict[str, Any]]) -> None:
    """The record and its disclosures against the kind's schema, as the ledger's admission
    checks them, before anything is signed: exit 2 naming the field and the rule."""
    for disclosure in disclosures:
        try:
            schemas.validate_disclosure(kind, disclosure, records.VERSION)
        except schemas.SchemaError as exc:
            _refuse(kind, exc, "$.")
    try:
        schemas.validate_record(record)
    except schemas.SchemaError as exc:
        if not disclosures and exc.path == "$.credentialSubject.disclosures":
            # "'disclosures' is required": name the restricted field that is missing.
            for group in schemas.disclosure_groups(kind, records.VERSION):
                try:
                    empty = {"salt": records.new_salt(), "group": group}
                    schemas.validate_disclosure(kind, empty, records.VERSION)
                except schemas.SchemaError as missing:
                    _refuse(kind, missing, "$.")
        _refuse(kind, exc, "$.credentialSubject.")


def _refuse(kind: str, error: schemas.SchemaError, prefix: str) -> NoReturn:
    """Exit 2 naming the field a schema error is about, as --set names it (``testedOn``,
    ``gradingPolicy.digest``; the JSON path when it is outside the fields), and the rule."""
    path = error.path
    field = path.removeprefix(prefix) if path.startswith(prefix) else path
    if error.message.endswith(" is required"):
        fail(f"{kind}: {field!r} is required")
    fail(f"{kind}: {field}: {error.message}")


def _fields(data: str | None, sets: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = read_document(data) if data else {}
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"--set expects FIELD=VALUE, got {item!r}")
        fields[name] = _value(name, value)
    return fields


def _value(name: str, text: str) -> Any:
    """The VALUE of ``--set NAME=VALUE``: JSON, parsed as strictly as any document
    (:mod:`signing.json_input`), else, when it is not JSON at all (``sale``,
    ``2031-05-02``), the text itself. JSON the parser refuses (a duplicate key, nesting
    deeper than 100 levels, an integer beyond 2^53, a lone surrogate escape...) stops the
    command, naming the field."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 in argv (surrogate escapes)
        fail(f"--set {name!r}: the value is not UTF-8 text")
    try:
        return json_input.parse(data)
    except MalformedJSONError:
        return text
    except DocumentError as exc:
        fail(f"--set {name!r}: {exc}")


def _complete_grading(
    fields: dict[str, Any], given: grading.GradingPolicy | None, data_dir: Path | None
) -> None:
    """A DiagnosticTest's grade and its policy's digest, where the fields leave them out.

    The policy is ``given`` (``--policy FILE``), else the one ``gradingPolicy`` names by id
    and version (none named: bpl-default version 1), among the policies bundled with bpl,
    else those registered with the local ledger. The record must carry its digest (ADR
    0012), and without a ``grade`` it gets the one the policy gives for its measures, with
    the reasons on stderr. What is given is kept as given: the ledger judges it."""
    reference = fields.get("gradingPolicy")
    if reference is None:
        named = given or grading.load_policy()
        reference = {"id": named.id, "version": named.version}
    if not isinstance(reference, dict):
        return  # the schema names what is wrong
    key = (str(reference.get("id")), str(reference.get("version")))
    if given is not None and key != (given.id, given.version):
        fail(
            f"gradingPolicy names {key[0]} version {key[1]}, but --policy is "
            f"{given.id} version {given.version}"
        )
    if given is None and "digest" in reference and "grade" in fields:
        return  # nothing to complete
    policy = given or _known_policy(key, data_dir)
    if reference.setdefault("digest", policy.digest) != policy.digest:
        fail(
            f"gradingPolicy {policy.id} version {policy.version}: the digest given is not "
            f"that of the policy known here ({policy.digest}), which cannot grade for it"
        )
    fields["gradingPolicy"] = reference
    if "grade" not in fields:
        try:
            result = grading.grade(fields, policy)
        except GradingError as exc:
            fail(f"grading under {policy.id} version {policy.version}: {exc}")
        fields["grade"] = result.grade
        report(
            f"graded {result.grade} under {policy.id} version {policy.version}: "
            + "; ".join(result.reasons)
        )


def _policy_from(path: Path) -> grading.GradingPolicy:
    try:
        return grading.load_policy(path)
    except GradingError as exc:
        fail(str(exc))


def _known_policy(key: tuple[str, str], data_dir: Path | None) -> grading.GradingPolicy:
    """The grading policy (id, version) ``key``: bundled with bpl, or registered with the
    local ledger (if there is one); else the command fails."""
    known = bundled_policies()
    if key not in known:
        try:
            ledger = ledger_service().open(data_directory(data_dir).path, writable=False)
        except (LedgerError, SigningError):
            ledger = None  # no local ledger: the bundled ones only
        if ledger is not None:
            try:
                known = {
                    (k.policy.id, k.policy.version): k.policy for k in ledger.grading_policies()
                }
            finally:
                ledger.engine.dispose()
    if key not in known:
        fail(
            f"gradingPolicy {key[0]} version {key[1]} is neither bundled with bpl nor "
            "registered with the local ledger: give its digest and the grade (bpl policy "
            "list, on the ledger that registered it, prints the digest)"
        )
    return known[key]


def _split(
    kind: str, fields: dict[str, Any], disclose_as: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Public fields, and restricted fields by access group, as the kind's schema says."""
    groups = {
        name: group
        for name, group in schemas.access_groups(kind, records.VERSION).items()
        if "." not in name and "[" not in name and name not in _BOOKKEEPING
    }
    allowed = ("public", *records.RESTRICTED_GROUPS)
    if disclose_as is not None and disclose_as not in allowed:
        fail(f"--disclose-as: one of {', '.join(allowed)}")
    public: dict[str, Any] = {}
    restricted: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        if name not in groups:
            fail(f"{kind} has no field {name!r} (fields: {', '.join(sorted(groups))})")
        group = groups[name]
        if group == "public" or disclose_as == "public":
            public[name] = value
        else:
            restricted.setdefault(disclose_as or group, {})[name] = value
    return public, restricted


def _position(
    subject: str, sequence: int | None, previous: str | None, data_dir: Path | None
) -> tuple[int, str | None]:
    if sequence is not None:
        if sequence > 0 and previous is None:
            fail("--sequence above 0 needs --previous (the hash of the record before)")
        return sequence, previous
    directory = data_directory(data_dir)
    try:
        ledger = ledger_service().open(directory.path, writable=False)  # reads the head only
    except (LedgerError, SigningError) as exc:
        fail(
            f"no local ledger to take the chain position from ({exc}); "
            "give --sequence and --previous to sign offline"
        )
    try:
        return ledger.next_position(subject)
    finally:
        ledger.engine.dispose()

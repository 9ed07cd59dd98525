"""``bpl sign`` and ``bpl verify``: Data Integrity proofs on JSON(-LD) documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import FAILED, JsonOption, fail, json_output, report
from cli.inputs import load_key, loader_with, read_bytes, read_document
from cli.output import emit
from cli.receipts import is_receipt, verify_receipt
from ledger.core import records
from ledger.errors import RecordRejected
from signing import did_key, json_input, proofs, suites
from signing.errors import DocumentError, NoProofError, SigningError

ContextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--context",
        metavar="URL=FILE",
        help="Add a JSON-LD context to the offline loader (repeatable).",
    ),
]
BUNDLE_TYPE = "BplEvidenceBundle"
"""An evidence bundle's ``type`` (``ledger.bundle.TYPE``): named here so that ``bpl verify``
starts without the bundle's checks (schemas, grading, rules: 0.2 s of imports)."""
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
"""The largest evidence bundle ``bpl verify`` reads (other documents: 1 MiB)."""
InputArgument = Annotated[str, typer.Argument(metavar="INPUT|-", help="JSON file, or - for stdin.")]


def sign(
    document: InputArgument,
    key: Annotated[str, typer.Option("--key", "-k", metavar="FILE", help="Key file.")],
    suite: Annotated[
        str,
        typer.Option(metavar="|".join(suites.SUITES), help="The cryptosuite."),
    ] = suites.JCS,
    created: Annotated[
        str | None,
        typer.Option(
            metavar="TIME", help="Proof creation time, ISO 8601 with zone (default: now)."
        ),
    ] = None,
    verification_method: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Verification method URL (default: the key's did:key URL)."
        ),
    ] = None,
    context: ContextOption = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Write the signed document to FILE (whole, or not at all) instead of "
            "stdout; FILE may be INPUT itself.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a Data Integrity proof to INPUT and print the signed document.

    A document that already has proofs gets one more (a proof set); the others are kept
    as they are. For a ledger submission ({"record", "disclosures"}) the record is signed.
    --json: a refusal as JSON too (the signed document is JSON already).
    """
    json_output(as_json)
    if suite not in suites.SUITES:
        fail(f"unknown --suite {suite!r} (known: {', '.join(suites.SUITES)})")
    loader = loader_with(context)
    doc = read_document(document)
    signer = load_key(key)
    # A ledger submission ({"record": ..., "disclosures": [...]}): sign its record, so a
    # receiving party can countersign a custody transfer as it travels.
    target = doc["record"] if _is_submission(doc) else doc
    method = verification_method or did_key.verification_method_id(signer.public_key)
    if any(_same_key(given, method) for given in _signers(target)):
        fail(
            f"{'stdin' if document == '-' else document} already carries a proof by this key "
            f"({method}): a proof set takes each signer once"
        )
    try:
        signed = proofs.sign(target, signer, suite, created, verification_method, loader=loader)
    except SigningError as exc:
        fail(str(exc))
    output = {**doc, "record": signed} if target is not doc else signed
    emit(json.dumps(output, indent=2, ensure_ascii=False), out)


def _signers(document: dict[str, Any]) -> list[str]:
    """The verification methods of the proofs a document carries."""
    found = document.get("proof")
    items = found if isinstance(found, list) else [found]
    return [
        item["verificationMethod"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("verificationMethod"), str)
    ]


def _same_key(one: str, other: str) -> bool:
    """Whether two verification methods are one key: equal, or one did:key (the DID names
    the key, whatever the fragment)."""
    if one.startswith("did:key:") and other.startswith("did:key:"):
        return one.split("#", 1)[0] == other.split("#", 1)[0]
    return one == other


def _is_submission(doc: dict[str, Any]) -> bool:
    return set(doc) <= {"record", "disclosures"} and isinstance(doc.get("record"), dict)


def verify(
    document: InputArgument,
    context: ContextOption = None,
    log_key: Annotated[
        str | None,
        typer.Option(
            "--log-key",
            metavar="KEY|FILE",
            help="INPUT is a receipt of bpl submit: check its checkpoint with this log "
            "verifier key (or the file holding it, log.pub) and its inclusion proof "
            "against the checkpoint's root.",
        ),
    ] = None,
    record: Annotated[
        str | None,
        typer.Option(
            "--record",
            metavar="FILE",
            help="With --log-key: the record (or submission) the receipt is for; its hash "
            "must be the receipt's and its leaf hash the proof's.",
        ),
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option(
            "--since",
            metavar="CHECKPOINT_FILE",
            help="With an evidence bundle: a signed checkpoint of the log kept earlier; "
            "the bundle must prove the log only grew since.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify every proof on INPUT: exit 0 if all verify, 1 if any does not. For a ledger
    submission ({"record", "disclosures"}), also every disclosure against its digest in
    the record (and every digest needs its disclosure). For a receipt of bpl submit, with
    --log-key: its signed checkpoint and inclusion proof, offline. For an evidence bundle
    of bpl export, with --log-key: everything it holds (docs/bundles.md), offline."""
    json_output(as_json)
    doc = _read_document_or_bundle(document)
    if doc.get("type") == BUNDLE_TYPE:
        from cli.bundle_cmd import verify_bundle  # noqa: PLC0415 (its checks, on demand)

        if log_key is None:
            fail(f"{document} is an evidence bundle: verify it with the log's key, --log-key")
        if record is not None:
            fail("--record goes with a receipt, not an evidence bundle")
        verify_bundle(doc, document, log_key, since, as_json)
        return
    if since is not None:
        fail("--since goes with an evidence bundle (bpl export)")
    if log_key is not None or is_receipt(doc):
        if log_key is None:
            fail(f"{document} is a receipt: verify it with the log's key, --log-key KEY|FILE")
        if not is_receipt(doc):
            fail(f"--log-key verifies a receipt of bpl submit, and {document} is none")
        verify_receipt(doc, document, log_key, record, as_json)
        return
    if record is not None:
        fail("--record goes with --log-key, to verify a receipt")
    loader = loader_with(context)
    problem = None
    disclosures = None
    if _is_submission(doc):
        disclosures = doc.get("disclosures", [])
        if not isinstance(disclosures, list):
            fail(f"{document}: disclosures must be a list")
        problem = _disclosure_problem(doc["record"], disclosures)
        doc = doc["record"]
    try:
        results = proofs.verify_each(doc, loader=loader)
    except (NoProofError, DocumentError) as exc:
        # A parsed document we cannot verify (no proof, unknown @context) fails, exit 1.
        _finish([], str(exc) if problem is None else f"{problem}; {exc}", as_json, disclosures)
        return
    _finish(results, problem, as_json, disclosures)


def _read_document_or_bundle(source: str) -> dict[str, Any]:
    """:func:`read_document`'s JSON object, up to its limit; larger only for an evidence
    bundle (a passport's whole story: megabytes), up to :data:`MAX_BUNDLE_BYTES`."""
    data = read_bytes(source, MAX_BUNDLE_BYTES)
    limit = json_input.MAX_DOCUMENT_BYTES
    name = "stdin" if source == "-" else source
    if len(data) <= limit:
        try:
            return json_input.parse_object(data)
        except DocumentError as exc:
            fail(f"{name}: {exc}")
    try:
        found = json_input.parse(data, max_bytes=MAX_BUNDLE_BYTES)
    except DocumentError:
        found = None
    if not isinstance(found, dict) or found.get("type") != BUNDLE_TYPE:
        # Too large for anything but a bundle, and no bundle: the size is the reason.
        fail(f"{name} is {len(data)} bytes; the limit is {limit}")
    return found


def _disclosure_problem(record: dict[str, Any], disclosures: list[Any]) -> str | None:
    """Why a submission's disclosures are not those its record's digests name, or None."""
    try:
        records.match_disclosures(record, disclosures)
    except RecordRejected as exc:
        return f"disclosures: {exc.detail}"
    return None


def _finish(
    results: list[proofs.ProofResult],
    problem: str | None,
    as_json: bool,
    disclosures: list[Any] | None = None,
) -> None:
    verified = problem is None and all(r.ok for r in results)
    if as_json:
        typer.echo(json.dumps(_report(results, problem, verified), indent=2))
    for result in results:
        if result.error is not None:
            report(str(result.error))
    if problem is not None:
        report(problem)
    if not verified:
        raise typer.Exit(FAILED)
    if not as_json:
        shown = _count(len(results), "proof")
        if disclosures is not None:
            shown += f" and {_count(len(disclosures), 'disclosure')}"
        report(f"verified {shown}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _report(
    results: list[proofs.ProofResult], problem: str | None, verified: bool
) -> dict[str, Any]:
    return {
        "verified": verified,
        "error": problem,
        "proofs": [
            {
                "index": r.index,
                "cryptosuite": r.cryptosuite,
                "verificationMethod": r.verification_method,
                "created": r.created,
                "verified": r.ok,
                "error": None
                if r.error is None
                else {"reason": r.error.reason, "detail": r.error.detail},
            }
            for r in results
        ],
    }

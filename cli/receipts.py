"""``bpl verify RECEIPT --log-key KEY``: a receipt of ``bpl submit`` checked offline, with
nothing but the log's public key (and, to tie it to a record, the record itself)."""

from __future__ import annotations

import json
from typing import Any

import typer

from cli.errors import FAILED, UNUSABLE, fail, report
from cli.inputs import read_document
from cli.log_cmd import checkpoint_exit, read_verifier_key
from ledger.core import records
from ledger.log import checkpoint, merkle
from ledger.log.checkpoint import CheckpointError
from signing.errors import SigningError

RECEIPT_FIELDS = ("recordHash", "leafIndex", "treeSize", "checkpoint", "inclusionProof")


def is_receipt(document: dict[str, Any]) -> bool:
    """Whether a document is a receipt of ``bpl submit`` (it carries a signed checkpoint and
    an inclusion proof)."""
    return "checkpoint" in document and "inclusionProof" in document


def verify_receipt(
    receipt: dict[str, Any], source: str, log_key: str, record_file: str | None, as_json: bool
) -> None:
    """Check the receipt's checkpoint with ``log_key``, its inclusion proof against the
    checkpoint's root, and, given ``record_file``, that the record's hash is the receipt's
    and its leaf hash the proof's. Exit 0, 1 (with the reason) or 2 (unusable input)."""
    fields = _fields(receipt, source, with_record=record_file is not None)
    record = _record(record_file) if record_file is not None else None
    key = read_verifier_key(log_key)
    outcome: dict[str, Any] = {
        "verified": False,
        "error": None,
        "recordHash": fields["recordHash"],
        "leafIndex": fields["leafIndex"],
        "treeSize": fields["treeSize"],
        "origin": None,
        "recordChecked": record is not None,
    }
    problem = _problem(fields, key, record, outcome)
    outcome["verified"] = problem is None
    outcome["error"] = problem
    if as_json:
        typer.echo(json.dumps(outcome, indent=2))
    if problem is not None:
        report(problem)
        raise typer.Exit(FAILED)
    if not as_json:
        tied = (
            f"record {fields['recordHash']}"
            if record is not None
            else "its leaf (the record's hash is checked with --record)"
        )
        report(
            f"receipt verified: {tied} is leaf {fields['leafIndex']} of {outcome['origin']} "
            f"at size {fields['treeSize']}"
        )


def _problem(
    fields: dict[str, Any], key: str, record: bytes | None, outcome: dict[str, Any]
) -> str | None:
    """Why the receipt does not verify, or None."""
    try:
        signed = checkpoint.verify(fields["checkpoint"], key)
    except CheckpointError as exc:
        if checkpoint_exit(exc) == UNUSABLE:
            fail(f"the receipt's checkpoint is no signed note: {exc}")
        return f"the receipt's checkpoint does not verify with the log key: {exc}"
    outcome["origin"] = signed.origin
    if signed.size != fields["treeSize"]:
        return (
            f"the receipt's proof is for tree size {fields['treeSize']}, its checkpoint is of "
            f"size {signed.size}"
        )
    if record is not None and (mismatch := _record_problem(fields, record)) is not None:
        return mismatch
    leaf_hash = merkle.leaf_hash(record) if record is not None else fields["leafHash"]
    try:
        merkle.verify_inclusion(
            leaf_hash, fields["leafIndex"], signed.size, fields["inclusionProof"], signed.root
        )
    except merkle.ProofError as exc:
        return f"the receipt's inclusion proof does not verify against its checkpoint: {exc}"
    return None


def _record_problem(fields: dict[str, Any], record: bytes) -> str | None:
    """Why ``record`` (its canonical bytes) is not the receipt's record, or None."""
    if records.digest(record) != fields["recordHash"]:
        return (
            f"the record is not the receipt's: its hash is {records.digest(record)}, the "
            f"receipt's {fields['recordHash']}"
        )
    if "leafHash" in fields and merkle.leaf_hash(record) != fields["leafHash"]:
        return "the record's leaf hash is not the one the receipt's proof is about"
    return None


def _fields(receipt: dict[str, Any], source: str, *, with_record: bool) -> dict[str, Any]:
    """The receipt's fields, parsed; exit 2 naming the first that is missing or malformed."""
    missing = [name for name in RECEIPT_FIELDS if name not in receipt]
    if missing:
        fail(f"{source}: not a receipt: no {missing[0]}")
    fields = dict(receipt)
    record_hash = receipt["recordHash"]
    if not isinstance(record_hash, str) or not record_hash.startswith("sha256:"):
        fail(f"{source}: recordHash must be a sha256: digest")
    for name, least in (("leafIndex", 0), ("treeSize", 1)):
        value = receipt[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            fail(f"{source}: {name} must be an integer of at least {least}")
    if receipt["leafIndex"] >= receipt["treeSize"]:
        fail(
            f"{source}: leafIndex {receipt['leafIndex']} is beyond tree size {receipt['treeSize']}"
        )
    if not isinstance(receipt["checkpoint"], str):
        fail(f"{source}: checkpoint must be the signed checkpoint's text")
    hashes = receipt["inclusionProof"]
    if not isinstance(hashes, list):
        fail(f"{source}: inclusionProof must be a list of hashes")
    fields["inclusionProof"] = [
        _hash(item, f"inclusionProof[{n}]", source) for n, item in enumerate(hashes)
    ]
    if "leafHash" in receipt:
        fields["leafHash"] = _hash(receipt["leafHash"], "leafHash", source)
    elif not with_record:
        fail(f"{source}: the receipt carries no leafHash (an older bpl's): give --record FILE")
    return fields


def _hash(value: Any, name: str, source: str) -> bytes:
    try:
        digest = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        digest = b""
    if len(digest) != 32:
        fail(f"{source}: {name} must be 64 hex characters")
    return digest


def _record(source: str) -> bytes:
    """The canonical bytes of the record in ``source`` (a signed record or a submission):
    its log leaf."""
    document = read_document(source)
    if set(document) <= {"record", "disclosures"} and isinstance(document.get("record"), dict):
        document = document["record"]
    try:
        return records.canonical(document)
    except SigningError as exc:
        fail(f"{source}: {exc}")

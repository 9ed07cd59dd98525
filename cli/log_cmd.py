"""``bpl log``: create the transparency log, read its checkpoints and proofs, and let
auditors verify inclusion and consistency offline, from files they hold.

The verbs that only read (``checkpoint``, ``prove-*``, ``audit``) open the log through its
data directory or, with ``--database-url``, through the database alone: then the log's
name and verifier key are the ones the database records (ADR 0007).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.errors import FAILED, UNUSABLE, JsonOption, fail, json_output, report
from cli.help import Command
from cli.inputs import read_bytes
from cli.location import DatabaseUrlOption, DataDirOption, data_directory, read_location
from ledger.defaults import DEFAULT_ORIGIN
from ledger.errors import LedgerError
from ledger.log import checkpoint, merkle
from ledger.log.checkpoint import CheckpointError
from ledger.log.proofs import ConsistencyProof, InclusionProof
from signing import json_input, note
from signing.errors import DocumentError, SigningError

if TYPE_CHECKING:
    from ledger.log import TransparencyLog

app = typer.Typer(
    help="The transparency log: checkpoints, inclusion and consistency proofs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

LogKeyOption = Annotated[
    str,
    typer.Option(
        "--log-key",
        metavar="KEY|FILE",
        help="The log's verifier key (NAME+KEYID+KEY), or a file holding it (log.pub).",
    ),
]


@contextmanager
def _reading(
    data_dir: Path | None, database_url: str | None
) -> Iterator[tuple[TransparencyLog, str]]:
    """The log, read-only, and the verifier key its checkpoints are checked with: the data
    directory's ``log.pub``, or for a database URL the key the database records. Exit 2
    if it cannot be opened."""
    location = read_location(data_dir, database_url)
    try:
        if isinstance(location, str):
            from ledger import identity  # noqa: PLC0415 (the storage code, on demand)

            log, recorded = identity.open_url(location, writable=False)
            verifier_key = recorded.verifier_key
        else:
            log, verifier_key = location.open_log(), location.verifier_key()
    except (LedgerError, SigningError) as exc:
        fail(str(exc))
    try:
        yield log, verifier_key
    finally:
        log.engine.dispose()


@app.command("init", cls=Command, short_help="Create a bare transparency log.")
def init(
    data_dir: DataDirOption = None,
    origin: Annotated[
        str,
        typer.Option(
            "--origin", metavar="NAME", help="The log's name: first line of its checkpoints."
        ),
    ] = DEFAULT_ORIGIN,
    as_json: JsonOption = False,
) -> None:
    """Create a log: its key pair (the secret stays in the data directory, 0600), its
    database and the first checkpoint. Prints the verifier key to give to auditors."""
    json_output(as_json)
    directory = data_directory(data_dir)
    try:
        verifier = directory.init(origin)
    except (LedgerError, SigningError) as exc:
        fail(str(exc))
    report(f"log {origin!r} created in {directory.path}")
    made = {"dataDir": str(directory.path), "origin": origin, "logKey": verifier}
    typer.echo(json.dumps(made, indent=2) if as_json else verifier)


@app.command("checkpoint", cls=Command, short_help="Print a signed checkpoint.")
def show_checkpoint(
    data_dir: DataDirOption = None,
    size: Annotated[
        int | None,
        typer.Option("--size", metavar="N", help="The checkpoint of this size (default: latest)."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Print the latest signed checkpoint (C2SP tlog-checkpoint, as a signed note), once
    checked against the log's verifier key (exit 1 if it does not verify)."""
    with _reading(data_dir, database_url) as (log, verifier_key):
        try:
            if size is None:
                size, signed = log.latest()
            else:
                signed = log.checkpoint_at(size)
        except LedgerError as exc:
            fail(str(exc))
        _check_checkpoint(signed, size, verifier_key, log.origin)
    typer.echo(signed, nl=False)


@app.command("prove-inclusion", cls=Command, short_help="Print an inclusion proof.")
def prove_inclusion(
    data_dir: DataDirOption = None,
    index: Annotated[
        int | None, typer.Option("--index", metavar="N", help="The leaf's index.")
    ] = None,
    leaf_hash: Annotated[
        str | None,
        typer.Option("--leaf-hash", metavar="HEX", help="The leaf's RFC 9162 hash, in hex."),
    ] = None,
    leaf: Annotated[
        str | None, typer.Option("--leaf", metavar="FILE", help="A file holding the leaf's bytes.")
    ] = None,
    size: Annotated[
        int | None,
        typer.Option("--size", metavar="N", help="Tree size (default: the latest checkpoint's)."),
    ] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Print, as JSON, the proof that a leaf is in the tree of a given size."""
    if sum(x is not None for x in (index, leaf_hash, leaf)) != 1:
        fail("give exactly one of --index, --leaf-hash, --leaf")
    with _reading(data_dir, database_url) as (log, _):
        try:
            if index is not None:
                proof = log.inclusion_proof(index, size)
            else:
                digest = _leaf_hash_of(leaf_hash, leaf)
                proof = log.inclusion_proof_by_hash(digest, size)
        except LedgerError as exc:
            fail(str(exc))
    _print_json(proof.to_dict())


@app.command("prove-consistency", cls=Command, short_help="Print a consistency proof.")
def prove_consistency(
    old: Annotated[int, typer.Option("--old", metavar="N", help="The older tree size.")],
    new: Annotated[
        int | None,
        typer.Option("--new", metavar="N", help="The newer tree size (default: latest)."),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Print, as JSON, the proof that the newer tree extends the older one."""
    with _reading(data_dir, database_url) as (log, _):
        try:
            proof = log.consistency_proof(old, new)
        except LedgerError as exc:
            fail(str(exc))
    _print_json(proof.to_dict())


@app.command("verify-inclusion", cls=Command, short_help="Check an inclusion proof offline.")
def verify_inclusion(
    proof_file: Annotated[
        str, typer.Argument(metavar="PROOF|-", help="Inclusion proof JSON (or - for stdin).")
    ],
    checkpoint_file: Annotated[
        str,
        typer.Option(
            "--checkpoint", metavar="FILE", help="The signed checkpoint of the proof's size."
        ),
    ],
    log_key: LogKeyOption,
    leaf: Annotated[
        str | None,
        typer.Option(
            "--leaf",
            metavar="FILE",
            help="The leaf's bytes: checked against the proof's leaf hash.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Exit 0 if the leaf is in the tree the signed checkpoint commits to, 1 if not."""
    json_output(as_json)
    proof = InclusionProof.from_dict(_read_proof(proof_file, InclusionProof))
    signed = _verified_checkpoint(checkpoint_file, log_key)
    if leaf is not None and merkle.leaf_hash(read_leaf(leaf)) != proof.leaf_hash:
        fail(f"{leaf} is not the leaf the proof is about (its hash differs)", FAILED)
    if signed.size != proof.size:
        fail(f"the proof is for tree size {proof.size}, the checkpoint for {signed.size}", FAILED)
    try:
        proof.verify(signed.root)
    except merkle.ProofError as exc:
        fail(f"inclusion proof does not verify: {exc}", FAILED)
    _verified(
        as_json,
        f"leaf {proof.index} is in {signed.origin} at size {signed.size}",
        origin=signed.origin,
        leafIndex=proof.index,
        treeSize=signed.size,
    )


def _verified(as_json: bool, line: str, **shown: Any) -> None:
    """A check that held: a line, or ``{"ok": true, ...shown}``."""
    typer.echo(json.dumps({"ok": True, **shown}, indent=2) if as_json else line)


@app.command("verify-consistency", cls=Command, short_help="Check a consistency proof offline.")
def verify_consistency(
    proof_file: Annotated[
        str, typer.Argument(metavar="PROOF|-", help="Consistency proof JSON (or - for stdin).")
    ],
    old_checkpoint: Annotated[
        str,
        typer.Option(
            "--old-checkpoint", metavar="FILE", help="The signed checkpoint of the older size."
        ),
    ],
    new_checkpoint: Annotated[
        str,
        typer.Option(
            "--new-checkpoint", metavar="FILE", help="The signed checkpoint of the newer size."
        ),
    ],
    log_key: LogKeyOption,
    as_json: JsonOption = False,
) -> None:
    """Exit 0 if the newer checkpoint's tree extends the older one's (no fork), 1 if not."""
    json_output(as_json)
    proof = ConsistencyProof.from_dict(_read_proof(proof_file, ConsistencyProof))
    old = _verified_checkpoint(old_checkpoint, log_key)
    new = _verified_checkpoint(new_checkpoint, log_key, old.origin)
    if (old.size, new.size) != (proof.old_size, proof.new_size):
        fail(
            f"the proof is for sizes {proof.old_size} -> {proof.new_size}, "
            f"the checkpoints for {old.size} -> {new.size}",
            FAILED,
        )
    try:
        proof.verify(old.root, new.root)
    except merkle.ProofError as exc:
        fail(f"consistency proof does not verify: {exc}", FAILED)
    _verified(
        as_json,
        f"{new.origin}: size {new.size} extends size {old.size}",
        origin=new.origin,
        oldSize=old.size,
        newSize=new.size,
    )


@app.command("audit", cls=Command, short_help="Recompute the log from its leaves.")
def audit(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every leaf hash, stored node and the root; check the latest checkpoint
    with the log's verifier key. Exit 1 naming the first thing that does not match."""
    json_output(as_json)
    with _reading(data_dir, database_url) as (log, verifier_key):
        try:
            size = log.audit(verifier_key)
        except LedgerError as exc:
            fail(f"audit failed: {exc}", FAILED)
    _verified(
        as_json,
        f"log intact: {size} leaves, root matches the latest signed checkpoint",
        origin=log.origin,
        size=size,
    )


def _check_checkpoint(signed: str, size: int, verifier_key: str, origin: str) -> None:
    """Exit 1 unless ``signed`` is the log's checkpoint of ``size``, signed with its key."""
    try:
        found = checkpoint.verify(signed, verifier_key, origin)
    except CheckpointError as exc:
        fail(f"the log's checkpoint for size {size} does not verify: {exc}", FAILED)
    if found.size != size:
        fail(f"the log's checkpoint for size {size} is one of size {found.size}", FAILED)


def _leaf_hash_of(leaf_hash: str | None, leaf: str | None) -> bytes:
    if leaf is not None:
        return merkle.leaf_hash(read_leaf(leaf))
    try:
        digest = bytes.fromhex(leaf_hash or "")
    except ValueError:
        digest = b""
    if len(digest) != 32:
        fail("--leaf-hash must be 64 hex characters")
    return digest


LEAF_LIMIT = 4 * 1024 * 1024
"""The largest leaf the log takes (``ledger.log.MAX_LEAF_BYTES``, which imports the
storage code): a larger file is no leaf of it."""


def read_leaf(source: str) -> bytes:
    """A leaf's bytes, from a file (``-``: stdin): up to a leaf's largest size, whole."""
    return read_bytes(source, LEAF_LIMIT)


def _read_proof(source: str, kind: type[InclusionProof | ConsistencyProof]) -> object:
    try:
        data = json_input.parse(read_bytes(source))
        kind.from_dict(data)  # raise early, with the field that is wrong
    except (DocumentError, LedgerError) as exc:
        fail(f"{source}: {exc}")
    return data


def _verified_checkpoint(
    source: str, log_key: str, origin: str | None = None
) -> checkpoint.Checkpoint:
    try:
        text = read_bytes(source).decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{source}: a checkpoint is UTF-8 text")
    key = read_verifier_key(log_key)
    try:
        return checkpoint.verify(text, key, origin)
    except (CheckpointError, SigningError) as exc:
        fail(f"{source}: {exc}", checkpoint_exit(exc))


def checkpoint_exit(exc: Exception) -> int:
    """The exit code of a checkpoint that does not verify: 2 when it is no signed note at
    all (unusable input), 1 when it is one the log's key does not check."""
    cause = exc if isinstance(exc, note.NoteError) else exc.__cause__
    unusable = isinstance(cause, note.NoteError) and cause.reason == "malformed note"
    return UNUSABLE if unusable else FAILED


def read_verifier_key(value: str) -> str:
    """``--log-key``: the verifier key itself, or the file (log.pub) that holds it. Exit 2
    if it is neither (a key a checkpoint could not be checked with is unusable input)."""
    path = Path(value)
    if path.is_file():
        try:
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the log key from {value}: {exc}")
    else:
        key = value.strip()
    try:
        note.verify("", [key])  # the keys are parsed first: a well-formed one gets further
    except note.NoteError as exc:
        if exc.reason == "malformed verifier key":
            where = f"the file {value}" if path.is_file() else "--log-key"
            fail(f"{where} holds no log verifier key (NAME+KEYID+KEY): {exc.detail}")
    return key


def _print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))

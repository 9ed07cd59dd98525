"""``bpl submit``: append signed records to the ledger, one, or many at once (a JSON-lines
file, or a directory of submissions), through ``Ledger.append_many`` a batch at a time."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from cli import output
from cli.errors import JsonOption, fail, json_output, refuse, report
from cli.inputs import read_bytes
from cli.location import DataDirOption, data_directory, ledger_service
from ledger.errors import LedgerError, RecordRejected
from signing import json_input
from signing.errors import SigningError

if TYPE_CHECKING:
    from ledger.facade import Ledger

BATCH = 500
"""Records a transaction holds, by default (the demo's and the benchmarks' batch)."""
LINES_SUFFIXES = (".jsonl", ".ndjson")
"""A file with one of these suffixes holds JSON lines: a submission per line."""


def submit(
    source: Annotated[
        str,
        typer.Argument(
            metavar="PATH|-",
            help="A submission (a signed record, or {record, disclosures}); for many, a "
            "JSON-lines file (.jsonl, or --lines: one per line) or a directory of .json "
            "files (in name order). - reads standard input.",
        ),
    ],
    lines: Annotated[
        bool,
        typer.Option("--lines", help="Read PATH (or standard input) as JSON lines."),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            metavar="N",
            min=1,
            help="Records per transaction when submitting many (default 500).",
        ),
    ] = BATCH,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Append signed records to the ledger and print their receipts (record hash, leaf
    index, signed checkpoint, inclusion proof: JSON, for bpl verify). One submission: its
    receipt. Many (a JSON-lines file or a directory): one receipt per line, in input
    order, as each batch commits; how far it got on stderr. A batch (--batch-size
    records) is all-or-nothing: one transaction, one signed checkpoint, and a refused
    record refuses its whole batch; the batches before it stay appended (their receipts
    printed), nothing after it is tried. Run it again once fixed: records already
    appended give their receipts again and are not stored twice. Exit 1 with the rule
    that refused a record and where it is (--json: one JSON line with the rule, the
    reason, its index, its source and, for a stale record, the chain's head); 2 for
    input that is no record at all."""
    json_output(as_json)
    path = None if source == "-" else Path(source)
    if path is not None and path.is_dir():
        many: Iterator[tuple[str, bytes]] | None = _directory(path)
    elif lines or (path is not None and path.suffix in LINES_SUFFIXES):
        many = _json_lines(source)
    else:
        many = None
    if many is None:
        data = read_bytes(source)  # unusable input stops the verb before the ledger opens
        ledger = _ledger(data_dir)
        try:
            receipt = ledger.append(data)
        except RecordRejected as exc:
            refuse(exc)
        finally:
            ledger.close()
        typer.echo(json.dumps(receipt.to_dict(), indent=2))
        return
    first = next(many, None)  # unusable input stops the verb before the ledger opens
    if first is None:
        fail(f"{'stdin' if path is None else source} holds no submission")
    ledger = _ledger(data_dir)
    try:
        with output.progress(f"submitting the records of {'stdin' if path is None else source}"):
            _submit_many(ledger, _chained(first, many), batch_size)
    finally:
        ledger.close()


def _ledger(path: Path | None) -> Ledger:
    try:
        return ledger_service().open(data_directory(path).path, writable=True)
    except (LedgerError, SigningError) as exc:
        fail(str(exc))


def _chained(
    first: tuple[str, bytes], rest: Iterator[tuple[str, bytes]]
) -> Iterator[tuple[str, bytes]]:
    yield first
    yield from rest


def _submit_many(ledger: Ledger, items: Iterator[tuple[str, bytes]], size: int) -> None:
    """Append ``items`` (where each comes from, its bytes) ``size`` at a time, printing each
    batch's receipts as it commits; stop at the first refused record."""
    appended = 0
    said = time.monotonic()
    for batch in _batches(items, size):
        try:
            receipts = ledger.append_many([data for _, data in batch])
        except RecordRejected as exc:
            index = exc.index or 0
            refuse(exc, source=(batch[index][0], appended + index))
        for receipt in receipts:
            typer.echo(json.dumps(receipt.to_dict(), separators=(",", ":")))
        sys.stdout.flush()
        appended += len(batch)
        if time.monotonic() - said >= output.PROGRESS_SECONDS:
            report(f"{appended:,} records appended...")
            said = time.monotonic()
    report(f"{appended:,} records appended")


def _batches(items: Iterator[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _directory(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every ``.json`` file in ``path``, in name order: a submission each."""
    try:
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    for file in files:
        yield str(file), read_bytes(str(file))


def _json_lines(source: str) -> Iterator[tuple[str, bytes]]:
    """The submissions of a JSON-lines file (or standard input, ``-``): one per line, blank
    lines skipped; a line over the size limit exits 2."""
    try:
        if source == "-":
            yield from _lines(sys.stdin.buffer, "stdin")
            return
        with Path(source).open("rb") as stream:
            yield from _lines(stream, source)
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")


def _lines(stream: BinaryIO, name: str) -> Iterator[tuple[str, bytes]]:
    limit = json_input.MAX_DOCUMENT_BYTES
    for number, line in enumerate(stream, 1):
        if len(line) > limit and len(line.rstrip(b"\r\n")) > limit:
            fail(f"{name} line {number} is {len(line)} bytes; the limit is {limit}")
        if line.strip():
            yield f"{name} line {number}", line

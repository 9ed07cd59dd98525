"""``bpl submit``: append signed records to the ledger, one, or many at once (a JSON-lines
file, or a directory of submissions), through ``Ledger.append_many`` a batch at a time."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from cli import output, server_client
from cli.errors import JsonOption, fail, json_output, refuse, report
from cli.inputs import load_key, read_bytes
from cli.location import DataDirOption, data_directory, ledger_service
from cli.server_client import ServerKeyOption, ServerOption
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
    server_url: ServerOption = None,
    key: ServerKeyOption = None,
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
    input that is no record at all. With --server URL: the same, appended by the service
    there (POST /records, batches by POST /records/batch), its refusals shown alike."""
    json_output(as_json)
    if server_url is None and key is not None:
        fail("--key signs the requests to a service: give --server too")
    path = None if source == "-" else Path(source)
    if path is not None and path.is_dir():
        many: Iterator[tuple[str, bytes]] | None = _directory(path)
    elif lines or (path is not None and path.suffix in LINES_SUFFIXES):
        many = _json_lines(source)
    else:
        many = None
    if server_url is not None:
        if data_dir is not None:
            fail("give --data-dir or --server, not both")
        _submit_to_server(server_url, key, source, many, batch_size)
        return
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


def _submit_to_server(
    url: str,
    key_file: str | None,
    source: str,
    many: Iterator[tuple[str, bytes]] | None,
    size: int,
) -> None:
    """Submit to the service at ``url``: one submission, or many in batches of ``size``
    (at most the service's 1,000), each all or nothing as a local batch is."""
    signer = load_key(key_file) if key_file is not None else None
    if many is None:
        data = read_bytes(source)
        with server_client.server(url, signer) as service:
            response = service.request("POST", "/records", body=data)
            if response.status_code >= 400:
                server_client.problem(url, response)
            receipt = service.json(response)
        typer.echo(json.dumps(_receipt(receipt), indent=2))
        return
    first = next(many, None)
    if first is None:
        fail(f"{'stdin' if source == '-' else source} holds no submission")
    appended = 0
    with (
        server_client.server(url, signer) as service,
        output.progress(f"submitting the records of {source} to {url}"),
    ):
        for batch in _batches(_chained(first, many), min(size, server_client.MAX_BATCH)):
            for index, (where, data) in enumerate(batch):
                try:  # the local verb's refusal of a line that is no JSON, before sending
                    json_input.parse_object(data)
                except SigningError as exc:
                    refuse(RecordRejected("parse", str(exc)), source=(where, appended + index))
            body = b"[" + b",".join(data for _, data in batch) + b"]"
            response = service.request("POST", "/records/batch", body=body)
            if response.status_code >= 400:
                problem = server_client.problem_index(response)
                where = (
                    batch[problem][0] if problem is not None and problem < len(batch) else source
                )
                server_client.problem(url, response, source=(where, appended + (problem or 0)))
            for receipt in service.json(response)["receipts"]:
                typer.echo(json.dumps(_receipt(receipt), separators=(",", ":")))
            sys.stdout.flush()
            appended += len(batch)
    report(f"{appended:,} records appended")


def _receipt(body: dict[str, Any]) -> dict[str, Any]:
    """A receipt as the local verb prints it (the service adds the record's URL)."""
    return {name: value for name, value in body.items() if name != "href"}


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

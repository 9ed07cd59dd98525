"""Reading documents, key files and extra JSON-LD contexts named on the command line."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

from cli.errors import fail
from ledger.core import contexts as project_contexts
from signing import json_input, keys
from signing.contexts import DocumentLoader
from signing.errors import DocumentError, PassphraseRequiredError, SigningError

_COUNTED_BYTES = 64 * 1024 * 1024
"""How far standard input is read, past the limit, to say how large it is."""


def read_bytes(source: str, limit: int = json_input.MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of file ``source``, or of standard input for ``-``; exit 2 if there are
    more than ``limit``, saying how many (never a prefix, parsed as if it were all)."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
            if len(data) > limit:
                size = len(data) + _count(sys.stdin.buffer)
                shown = f"{size}" if size < _COUNTED_BYTES else f"more than {_COUNTED_BYTES}"
                fail(f"stdin is {shown} bytes; the limit is {limit}")
            return data
        with Path(source).open("rb") as handle:
            data = handle.read(limit + 1)
            if len(data) > limit:
                size = os.fstat(handle.fileno()).st_size
                fail(f"{source} is {max(size, len(data))} bytes; the limit is {limit}")
            return data
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")


def _count(stream: BinaryIO) -> int:
    """The bytes left in ``stream``, read and dropped (at most :data:`_COUNTED_BYTES`)."""
    counted = 0
    while counted < _COUNTED_BYTES and (chunk := stream.read(1024 * 1024)):
        counted += len(chunk)
    return counted


def read_document(source: str) -> dict[str, Any]:
    """A JSON object from ``source``, parsed strictly; exit 2 with the reason if unusable."""
    try:
        return json_input.parse_object(read_bytes(source))
    except DocumentError as exc:
        fail(f"{'stdin' if source == '-' else source}: {exc}")


def loader_with(contexts: list[str] | None) -> DocumentLoader:
    """The offline loader with the project's contexts (the ledger's: signing knows only
    the W3C ones), plus every ``URL=FILE`` given with ``--context``."""
    loader = project_contexts.loader()
    if not contexts:
        return loader
    extra: dict[str, Any] = {}
    for item in contexts:
        url, sep, file = item.partition("=")
        if not sep or not url or not file:
            fail(f"--context expects URL=FILE, got {item!r}")
        try:
            extra[url] = json_input.parse(read_bytes(file))
        except DocumentError as exc:
            fail(f"context file {file}: {exc}")
    try:
        return loader.with_contexts(extra)
    except DocumentError as exc:
        fail(str(exc))


def passphrase_for(path: str, *, confirm: bool = False) -> str | None:
    """The key file passphrase: from $BPL_KEY_PASSPHRASE, else asked on the terminal."""
    from_env = os.environ.get(keys.PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    try:
        with open("/dev/tty", "rb"):  # getpass would otherwise read stdin, maybe the document
            pass
        first = getpass.getpass(f"Passphrase for {path}: ")
        if confirm and getpass.getpass("Repeat passphrase: ") != first:
            fail("passphrases do not match")
    except (EOFError, OSError):
        fail(f"{path}: a passphrase is needed; set {keys.PASSPHRASE_ENV} or run on a terminal")
    if not first:
        fail("empty passphrase")
    return first


def load_key(path: str) -> keys.KeyPair:
    """Load the key file at ``path``, asking for its passphrase if it is encrypted."""
    try:
        try:
            return keys.load(path)
        except PassphraseRequiredError:
            return keys.load(path, passphrase_for(path))
    except SigningError as exc:
        fail(str(exc))

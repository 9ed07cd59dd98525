"""Strict parsing of untrusted JSON documents.

Python's ``json`` accepts things a signature must not: duplicate keys (two readers may
pick different values), ``NaN``/``Infinity``, integers that other JSON implementations
round, numbers that overflow to infinity, and nesting deep enough to exhaust the stack.
Each is refused here with a message that says what and where, before any signing or
verification logic sees the document.
"""

from __future__ import annotations

import json
import math
from typing import Any

from signing.errors import DocumentError

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 100
MAX_SAFE_INTEGER = 2**53 - 1
_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise DocumentError(f"duplicate key {key!r} in a JSON object")
        obj[key] = value
    return obj


def _constant(name: str) -> Any:
    raise DocumentError(f"{name} is not a JSON number")


def _integer(text: str) -> int | float:
    """An int; beyond 2^53, the IEEE 754 double it names, if that double is exact.

    JSON numbers are doubles to JCS and to JavaScript, which writes 1e20 as
    ``100000000000000000000``: that value is exact and stays accepted, as the double it
    is. ``9007199254740993`` is not a double at all, so it is refused, never rounded.
    """
    try:
        value = int(text)
    except ValueError:  # beyond Python's int-parsing limit (4,300 digits)
        value = None
    if value is not None and abs(value) <= MAX_SAFE_INTEGER:
        return value
    try:
        as_double = float(value) if value is not None else math.inf
    except OverflowError:
        as_double = math.inf
    if math.isfinite(as_double) and int(as_double) == value:
        return as_double
    raise DocumentError(
        f"integer {text[:40]} is beyond 2^53 and would lose precision in JSON "
        "(write it as a string)"
    )


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise DocumentError(f"number {text[:40]} is too large for a JSON number (IEEE 754)")
    return value


def _check_depth(value: Any, limit: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise DocumentError(f"JSON nested deeper than {limit} levels")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


def parse(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON bytes strictly; raises DocumentError naming the problem."""
    if len(data) > max_bytes:
        raise DocumentError(f"document is {len(data)} bytes; the limit is {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"document is not UTF-8 (bad byte at offset {exc.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DocumentError(f"JSON nested deeper than {max_depth} levels") from None
    _check_depth(value, max_depth)
    return value


def parse_object(data: bytes, **limits: int) -> dict[str, Any]:
    """Like :func:`parse`, but the document must be a JSON object."""
    value = parse(data, **limits)
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "value")
        raise DocumentError(f"expected a JSON object, got a JSON {kind}")
    return value

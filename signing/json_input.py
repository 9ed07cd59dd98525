"""Strict parsing of untrusted JSON documents.

Python's ``json`` accepts things a signature must not: duplicate keys (two readers may
pick different values), ``NaN``/``Infinity``, integers that other JSON implementations
round, numbers that overflow to infinity, nesting deep enough to exhaust the stack, and
lone surrogate escapes (``"\\ud800"`` gives a ``str`` that is not Unicode text: no UTF-8
writer, neither JCS nor a printer, can encode it). Each is refused here with a message
that says what and where, before any signing or verification logic sees the document.

Fast path
    ``json.loads`` with those hooks costs about 15 us on a 1.3 KB record, a tenth of that
    for ``orjson.loads``. orjson's value is returned only when it is provably the one the
    strict parser (:func:`_parse_strict`, the only code that raises) would return;
    otherwise the strict parser runs, so every result and every message stays its own:

    * orjson refuses invalid UTF-8, a BOM, NaN and Infinity, numbers that overflow to
      infinity, lone surrogate escapes, controls in strings, and all malformed JSON:
      the strict parser then words the error.
    * Duplicate keys: orjson keeps one of the values. For valid JSON the ``:`` outside
      strings (members in the text) equal the keys in the parsed value exactly when no
      object repeats a key (a dropped member lowers the parsed count, and whatever nests
      inside its value only adds to the text's).
    * Integers: up to 15 digits both give the same int; longer integer literals (2^53 has
      16 digits, and orjson turns those beyond 2^64 into floats) take the strict parser.
      Floats: both parsers round correctly, ``-0`` is the int 0 for both.
    * Depth: nesting below ``max_depth`` (capped at :data:`_FAST_MAX_DEPTH`, well below
      where ``json.loads`` could hit Python's recursion limit) cannot fail the depth check.

    ``signing._jcs_speedups`` (the C extension of :mod:`signing.jcs`; :data:`ACCELERATED`
    says whether it was built) counts the members in one pass over the bytes
    (``json_scan``) and the keys in one walk over the value (``json_keys``). Without it,
    byte-string operations and a walk level by level do the same in Python (9 us in all
    instead of 15).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final, NoReturn

import orjson

from signing.errors import DocumentError, MalformedJSONError

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DEPTH = 100
MAX_SAFE_INTEGER = 2**53 - 1
_FAST_MAX_DEPTH: Final = 128
"""Deeper documents take the strict parser whatever ``max_depth`` says."""
_LONG_DIGITS: Final = re.compile(rb"[0-9]{16}")
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
"""The start of a ``\\u`` escape of a surrogate (U+D800 to U+DFFF), or of text like one."""
_ESCAPE: Final = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)

try:
    import signing._jcs_speedups as _speedups  # type: ignore[import-not-found]
except ImportError:  # built without a C compiler: the Python checks below do it
    _speedups = None
_scan: Callable[[bytes], tuple[int, int, bool] | None] | None = getattr(
    _speedups, "json_scan", None
)
_count_keys: Callable[[Any, int], int] | None = getattr(_speedups, "json_keys", None)

ACCELERATED: Final = _scan is not None and _count_keys is not None
"""Whether the C checks of the fast path (``signing._jcs_speedups``) were built and loaded."""

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


def _check_surrogates(text: str) -> None:
    """Refuse a lone surrogate escape in ``text``, JSON that ``json.loads`` accepted.

    ``json`` joins a high surrogate escape and the low one right after it into one
    character, as JSON means; it keeps any other surrogate escape as a lone surrogate.
    In valid JSON every backslash starts an escape inside a string, so the escapes are
    found left to right, an escaped backslash (``"\\\\ud800"``) being one of them.
    """
    if _SURROGATE_ESCAPE.search(text) is None:
        return
    high: re.Match[str] | None = None  # a high surrogate escape, waiting for its low half
    for escape in _ESCAPE.finditer(text):
        code = int(escape[1], 16) if escape[1] is not None else -1
        if high is not None:
            if escape.start() == high.end() and 0xDC00 <= code <= 0xDFFF:
                high = None
                continue
            _lone_surrogate(text, high)
        if 0xD800 <= code <= 0xDBFF:
            high = escape
        elif 0xDC00 <= code <= 0xDFFF:
            _lone_surrogate(text, escape)
    if high is not None:
        _lone_surrogate(text, high)


def _lone_surrogate(text: str, escape: re.Match[str]) -> NoReturn:
    start = escape.start()
    line = text.count("\n", 0, start) + 1
    column = start - text.rfind("\n", 0, start)  # from 1, as json counts
    raise DocumentError(
        f"lone surrogate escape {escape[0]} at line {line} column {column}: not a Unicode "
        "character (UTF-8 cannot encode it)"
    )


def _keys_within(value: Any, limit: int) -> int:
    """Keys of all objects in ``value``, or -1 if a node is deeper than ``_check_depth``'s
    ``limit`` (scalars count as a level): the Python twin of ``json_keys``."""
    level = [value]
    keys = 0
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return -1
        below: list[Any] = []
        for node in level:
            kind = type(node)
            if kind is dict:
                keys += len(node)
                below.extend(node.values())
            elif kind is list:
                below.extend(node)
        level = below
    return keys


def _proven(data: bytes, value: Any, limit: int) -> bool:
    """Whether the strict parser returns ``value`` for ``data``, which orjson parsed to it
    (the module docstring says why these checks suffice)."""
    if _scan is not None and _count_keys is not None:
        scanned = _scan(data)
        if scanned is None:
            return False
        members, depth, long_integer = scanned
        # Nodes nest at most one level below the innermost bracket: depth + 1 <= limit.
        return not long_integer and depth < limit and _count_keys(value, limit) == members
    # Without escaped backslashes, then escaped quotes, every other piece between quotes
    # lies outside strings.
    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    if _LONG_DIGITS.search(outside):  # also fractions of 16 digits: safe, and rare
        return False
    return _keys_within(value, limit) == outside.count(b":")


def parse(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON bytes strictly; raises DocumentError naming the problem
    (MalformedJSONError if ``data`` is not JSON at all).

    orjson's value when it is proven to be the strict parser's (see "Fast path" above),
    else the strict parser's result or error.
    """
    if type(data) is bytes and len(data) <= max_bytes:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the strict parser words the error
        else:
            if _proven(data, value, min(max_depth, _FAST_MAX_DEPTH)):
                return value
    return _parse_strict(data, max_bytes=max_bytes, max_depth=max_depth)


def _parse_strict(
    data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Parse UTF-8 JSON bytes strictly with ``json.loads`` and hooks: the reference."""
    if len(data) > max_bytes:
        raise DocumentError(f"document is {len(data)} bytes; the limit is {max_bytes}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJSONError(
            f"document is not UTF-8 (bad byte at offset {exc.start})"
        ) from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise MalformedJSONError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DocumentError(f"JSON nested deeper than {max_depth} levels") from None
    _check_depth(value, max_depth)
    _check_surrogates(text)
    return value


def parse_object(data: bytes, **limits: int) -> dict[str, Any]:
    """Like :func:`parse`, but the document must be a JSON object."""
    value = parse(data, **limits)
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "value")
        raise DocumentError(f"expected a JSON object, got a JSON {kind}")
    return value

"""RFC 8785 JSON Canonicalization Scheme (JCS), fast enough for the signing hot path.

Every record is canonicalized twice per round trip (sign, verify) under eddsa-jcs-2022, so
this must cost a fraction of an Ed25519 signature. ``rfc8785.dumps`` is the reference: the
output here is byte-identical to it on every value it accepts, and every value it refuses
raises :class:`~signing.errors.CanonicalizationError` (exceptions: see "Types" below).

Fast path
    ``orjson.dumps(value, option=OPT_SORT_KEYS | OPT_STRICT_INTEGER | OPT_PASSTHROUGH_*)``
    does the expensive part in C, then byte scans prove it equals JCS or patch it (done in
    one pass by a C accelerator when it is built, see "Accelerator" below):

    * Strings: orjson escapes exactly as JCS does (``\\b \\t \\n \\f \\r \\" \\\\``, other
      controls as lowercase ``\\u00xx``, everything else raw UTF-8) and refuses lone
      surrogates.
    * Integers: ``OPT_STRICT_INTEGER`` refuses exactly ``|n| >= 2**53``, rfc8785's domain.
    * Key order: orjson sorts by code point, JCS by UTF-16 code unit. The two orders differ
      only between a supplementary-plane character (UTF-8 lead byte F0-F4) and one in
      U+E000..U+FFFF (lead byte EE/EF); if the output holds both kinds of byte anywhere, the
      slow path sorts instead.
    * NaN and Infinity: orjson writes them as ``null``. Depth: orjson stops only at 255
      levels. So when ``null`` occurs in the output, or more than 128 brackets, a walk over
      the value decides (rare: JSON-LD documents seldom hold ``null``).
    * Floats: orjson (zmij) and Python's ``repr`` (which rfc8785 formats from) both print
      the shortest digit string that round-trips and, among those, the one closest to the
      value; when two such strings are equally close (RFC 8785's 1424953923781206.2) both
      take the even one, as ECMA-262 also demands. Hence the digits agree and only the
      layout can differ. orjson writes plain notation for ``1e-5 <= |x| < 1e16`` (with
      ``.0`` on integers) and ``d.ddde±x`` otherwise; ECMAScript writes plain notation for
      ``1e-6 <= |x| < 1e21`` (no ``.0``) and the same ``d.ddde±x`` otherwise. So exactly
      three token shapes differ: ``-?\\d+\\.0`` (``-0.0`` becomes ``0``), ``e+16`` ..
      ``e+20``, and ``e-6``. Byte scans find them; those outside strings (an even count of
      delimiting quotes before them, escaped quotes masked first) are rewritten.

Accelerator
    ``signing._jcs_speedups.finish`` (``signing/_jcs_speedups.c``, built by ``pip install``
    where a C compiler is found; :data:`ACCELERATED` says whether it was) makes all the
    checks above in a single pass over orjson's output, tracking strings and their escapes,
    depth and number tokens, instead of the several Python scans that each cost about as
    much as the whole pass. It returns the output itself when it is already JCS, a copy
    without the ``.0`` of integral floats (``-0.0`` becoming ``0``), or None when the
    Python code below must decide: ``null`` outside strings, nesting deeper than
    :data:`MAX_DEPTH`, both kinds of lead byte, ``e+16`` .. ``e+20`` or ``e-6``, anything
    orjson does not write. Those cases are rare, so the Python code stays exactly as it is
    without the accelerator, and the property tests run both ways.

Slow path
    A plain recursive serializer with rfc8785's semantics, used whenever a check above
    fails or orjson raises (subclasses of str/int/float/list/tuple/dict, NaN, huge ints,
    non-str keys, surrogates, deep nesting, awkward key mixes). It builds error messages
    that name the JSON path, e.g. ``... at $.credentialSubject.soce``.

Types
    rfc8785 accepts None, bool, int, float, str, list, tuple and dict, and their
    subclasses (tuples and list subclasses become arrays, str/int/float subclasses their
    base value); so do we. orjson also serializes three types natively, with no hook that
    would let the fast path see them, and only a Python walk over every value (about as
    costly as all the rest together) could refuse them. Both paths therefore accept them,
    consistently, where rfc8785 refuses: ``uuid.UUID`` (its hyphenated string), members of
    a plain ``enum.Enum`` (their value; IntEnum and StrEnum members are ints and strs and
    agree with rfc8785) and ``orjson.Fragment`` (verbatim; its bytes are trusted to be
    canonical). Nesting is capped at 128 levels, where rfc8785 only stops at Python's
    recursion limit. Everything else raises.
"""

from __future__ import annotations

import enum
import math
import re
import uuid
import warnings
from collections.abc import Callable
from itertools import repeat
from typing import Final

import orjson

from signing.errors import CanonicalizationError
from signing.json_path import json_path

__all__ = ["ACCELERATED", "MAX_DEPTH", "canonicalize"]

MAX_DEPTH: Final = 128
"""Deepest nesting of arrays/objects accepted (the root container is level 1)."""

_SAFE_INT: Final = 2**53 - 1
_OPTIONS: Final = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_dumps: Final = orjson.dumps
_EncodeError: Final = orjson.JSONEncodeError
_Fragment: Final = orjson.Fragment
_UUID: Final = uuid.UUID
_EnumType: Final = enum.EnumMeta

_split_integral: Final = re.compile(rb"\.0(?=[,\]}])").split
_search_small_exponent: Final = re.compile(rb"e-6[,\]}]").search
_EXPONENT: Final = re.compile(rb"e(?:\+\d+|-6)(?=[,\]}])")
_odd: Final = (1).__and__
_count: Final = bytes.count
_endswith: Final = bytes.endswith
_QUOTES: Final = repeat(b'"')  # endless and stateless, so map() calls can share them
_MINUS_ZERO: Final = repeat(b"-0")
_LONGEST_NUMBER: Final = 32  # "-1.2345678901234567e-308" is 24 bytes
_PATH_NAME: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPABLE: Final = re.compile(r'[\x00-\x1f"\\]')
_ESCAPES: Final = {chr(c): f"\\u{c:04x}" for c in range(0x20)} | {
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}

try:
    from signing._jcs_speedups import finish as _built  # type: ignore[import-not-found]
except ImportError:  # built without a C compiler: the byte scans below do it all
    _built = None
_finish: Callable[[bytes], bytes | None] | None = _built

ACCELERATED: Final = _finish is not None
"""Whether the C accelerator (``signing._jcs_speedups``) was built and loaded."""

# Containers that take the fast path; emptied at import if this orjson's output does not
# match what the fast path expects (see _fast_path_agrees).
_fast_types = frozenset({dict, list})


def canonicalize(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises :class:`CanonicalizationError` for anything without a JCS form: NaN, infinities,
    integers with ``|n| >= 2**53``, strings with lone surrogates, non-string object keys,
    unsupported types, and nesting deeper than :data:`MAX_DEPTH`.
    """
    if type(value) not in _fast_types:
        return _slow(value)  # a bare scalar or a subclass: cheap either way
    try:
        out = _dumps(value, option=_OPTIONS)
    except _EncodeError:
        return _slow(value)
    if _finish is not None and (finished := _finish(out)) is not None:
        return finished
    if (b"null" in out or out.count(b"[") + out.count(b"{") > MAX_DEPTH) and _needs_slow_path(
        value  # type: ignore[arg-type]
    ):
        return _slow(value)
    if not out.isascii() and _utf16_order_may_differ(out):
        return _slow(value)
    pieces = _split_integral(out)
    if len(pieces) > 1:
        before = pieces[:-1]
        if (
            b"\\" in out
            or any(map(_odd, map(_count, before, _QUOTES)))
            or any(map(_endswith, before, _MINUS_ZERO))
        ):
            out = _drop_integral_fractions(out, pieces)
        else:  # the usual case: every ".0" lies outside strings and none is "-0.0"
            out = b"".join(pieces)
    if b"+" in out or _search_small_exponent(out):
        out = _fix_exponents(out)
    return out


def _needs_slow_path(value: dict[object, object] | list[object]) -> bool:
    """Say whether ``value`` holds NaN or infinity, nests too deep, or holds a non-JSON type.

    Runs only when the output contains ``null`` (orjson's spelling of NaN and infinities)
    or more than :data:`MAX_DEPTH` brackets. Non-JSON types (Enum members may hide a NaN in
    their value) go to the slow path, which treats them exactly as orjson does.
    """
    stack: list[tuple[dict[object, object] | list[object] | tuple[object, ...], int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is float:
                if item - item != 0.0:  # type: ignore[operator]
                    return True
            elif kind is dict or kind is list or kind is tuple:
                stack.append((item, depth + 1))  # type: ignore[arg-type]
            elif kind is not str and kind is not int and kind is not bool and item is not None:
                return True
    return False


def _utf16_order_may_differ(out: bytes) -> bool:
    """Say whether ``out`` holds both supplementary-plane and U+E000..U+FFFF characters."""
    return (b"\xee" in out or b"\xef" in out) and (
        b"\xf0" in out or b"\xf1" in out or b"\xf2" in out or b"\xf3" in out or b"\xf4" in out
    )


def _delimiting_quotes(out: bytes) -> bytes:
    """Return ``out`` with escaped quotes masked, offsets kept: every ``"`` left delimits.

    Escaped backslashes are masked first, pairing them left to right exactly as a JSON
    parser reads escapes; a quote still preceded by a backslash is then an escaped one.
    """
    if b"\\" not in out:
        return out
    return out.replace(b"\\\\", b"__").replace(b'\\"', b"__")


def _drop_integral_fractions(out: bytes, pieces: list[bytes]) -> bytes:
    """Join ``pieces`` (``out`` split at each ``.0`` ending a number) without the ``.0``.

    A split point lies outside strings when the pieces before it hold an even number of
    delimiting quotes; elsewhere the ``.0`` is put back. ``-0.0`` becomes ``0``.
    """
    # Masking keeps every ".0" in place, so the masked copy splits at the same points.
    counted = _split_integral(_delimiting_quotes(out))
    odd = 0
    for index in range(len(pieces) - 1):
        piece = pieces[index]
        odd ^= counted[index].count(b'"') & 1
        if odd:
            pieces[index] = piece + b".0"
        elif piece[-2:] == b"-0":
            # Outside strings "-0" ending a piece is a whole token: a minus sign inside a
            # number follows an "e".
            pieces[index] = piece[:-2] + b"0"
    return b"".join(pieces)


def _fix_exponents(out: bytes) -> bytes:
    """Re-format the number tokens with exponent ``+16`` .. ``+20`` or ``-6``.

    Rare (|x| in [1e16, 1e21) or [1e-6, 1e-5)), so each candidate outside strings goes
    through ``float`` and :func:`_number_text`; tokens already in ECMAScript form (other
    exponents) come back unchanged and are left alone.
    """
    count = _delimiting_quotes(out).count
    pieces: list[bytes] = []
    done = 0
    for match in _EXPONENT.finditer(out):
        at = match.start()
        if count(b'"', 0, at) & 1:
            continue
        low = max(0, at - _LONGEST_NUMBER)
        begin = (
            max(out.rfind(b":", low, at), out.rfind(b",", low, at), out.rfind(b"[", low, at)) + 1
        )
        end = match.end()
        text = _number_text(float(out[begin:end])).encode()
        pieces += (out[done:begin], text)
        done = end
    pieces.append(out[done:])
    return b"".join(pieces)


def _number_text(x: float) -> str:
    """Format a finite float as ECMAScript ``Number.prototype.toString`` (RFC 8785 3.2.2.3).

    Python's ``repr`` gives the same shortest round-trip digits; only the layout rules of
    ECMA-262 Number::toString are applied here.
    """
    if x == 0.0:
        return "0"  # also -0.0
    text = float.__repr__(x)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)  # value = 0.digits * 10**point
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mark = "e+" if e >= 0 else "e-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{head}{mark}{abs(e)}"


class _RefusalError(Exception):
    """A JCS domain error on its way up the tree; collects the path while unwinding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = []


def _slow(value: object) -> bytes:
    """Serialize with a plain recursive walk; exact, and names the path of any error."""
    parts: list[bytes] = []
    try:
        _emit(value, parts, 0)
    except _RefusalError as refusal:
        raise CanonicalizationError(
            f"{refusal.message} at {json_path(reversed(refusal.path))}"
        ) from None
    return b"".join(parts)


def _string(text: str) -> bytes:
    """Return ``text`` as a JSON string escaped per RFC 8785 3.2.2.2.

    Deliberately independent of orjson, so that the import-time probe can hold the fast
    path's escaping against it.
    """
    try:
        return ('"' + _ESCAPABLE.sub(_escape, text) + '"').encode()
    except UnicodeEncodeError:
        raise _RefusalError("string contains a lone surrogate (not valid UTF-8)") from None


def _escape(match: re.Match[str]) -> str:
    """Return the JCS escape of one character."""
    return _ESCAPES[match[0]]


def _emit(value: object, parts: list[bytes], depth: int) -> None:
    """Append the JCS bytes of ``value`` to ``parts``; ``depth`` counts enclosing containers."""
    kind = type(value)
    if kind is str:
        parts.append(_string(value))  # type: ignore[arg-type]
    elif value is None:
        parts.append(b"null")
    elif kind is bool:
        parts.append(b"true" if value else b"false")
    elif kind is int:
        _emit_int(value, parts)  # type: ignore[arg-type]
    elif kind is float:
        _emit_float(value, parts)  # type: ignore[arg-type]
    elif kind is dict:
        _emit_object(value, parts, depth)  # type: ignore[arg-type]
    elif kind is list or kind is tuple:
        _emit_array(value, parts, depth)  # type: ignore[arg-type]
    else:
        _emit_other(value, parts, depth)


def _emit_other(value: object, parts: list[bytes], depth: int) -> None:
    """Append a value that is not of an exact JSON type.

    orjson's own types first, as orjson treats them (so both paths agree), then
    rfc8785's ``isinstance`` rules for subclasses.
    """
    kind = type(value)
    if kind is _UUID or kind is _Fragment:
        parts.append(_dumps(value))  # the quoted UUID string, or the fragment verbatim
    elif type(kind) is _EnumType:
        _emit(value.value, parts, depth)  # type: ignore[attr-defined]
    elif isinstance(value, int):
        _emit_int(int(value), parts)
    elif isinstance(value, str):
        parts.append(_string(str.__str__(value)))
    elif isinstance(value, float):
        _emit_float(float(value), parts)
    elif isinstance(value, list | tuple):
        _emit_array(list(value), parts, depth)
    elif isinstance(value, dict):
        _emit_object(dict(value), parts, depth)
    else:
        raise _RefusalError(f"unsupported type {kind.__module__}.{kind.__qualname__}")


def _emit_int(value: int, parts: list[bytes]) -> None:
    """Append an integer, refusing those a double cannot hold exactly (rfc8785's domain)."""
    if -_SAFE_INT <= value <= _SAFE_INT:
        parts.append(b"%d" % value)
    else:
        raise _RefusalError("integer beyond 2^53 would lose precision in JSON")


def _emit_float(value: float, parts: list[bytes]) -> None:
    """Append a float in ECMAScript form, refusing NaN and infinities."""
    if value - value != 0.0:
        raise _RefusalError("NaN and Infinity are not JSON numbers")
    parts.append(_number_text(value).encode())


def _emit_array(items: list[object] | tuple[object, ...], parts: list[bytes], depth: int) -> None:
    """Append a JSON array."""
    if depth >= MAX_DEPTH:
        raise _RefusalError(f"nesting deeper than {MAX_DEPTH} levels")
    parts.append(b"[")
    for index, item in enumerate(items):
        if index:
            parts.append(b",")
        try:
            _emit(item, parts, depth + 1)
        except _RefusalError as refusal:
            refusal.path.append(index)
            raise
    parts.append(b"]")


def _emit_object(members: dict[object, object], parts: list[bytes], depth: int) -> None:
    """Append a JSON object with members sorted by the UTF-16 code units of their keys."""
    if depth >= MAX_DEPTH:
        raise _RefusalError(f"nesting deeper than {MAX_DEPTH} levels")
    keyed: list[tuple[bytes, str, object]] = []
    for key, item in members.items():
        if not isinstance(key, str):
            raise _RefusalError(
                f"object keys must be strings, got {type(key).__qualname__} {key!r}"
            )
        name = str.__str__(key)
        try:
            keyed.append((name.encode("utf-16-be"), name, item))
        except UnicodeEncodeError:
            refusal = _RefusalError("object key contains a lone surrogate (not valid UTF-8)")
            refusal.path.append(name)
            raise refusal from None
    keyed.sort(key=_sort_key)
    parts.append(b"{")
    for index, (_, name, item) in enumerate(keyed):
        if index:
            parts.append(b",")
        parts.append(_string(name))
        parts.append(b":")
        try:
            _emit(item, parts, depth + 1)
        except _RefusalError as refusal:
            refusal.path.append(name)
            raise
    parts.append(b"}")


def _sort_key(entry: tuple[bytes, str, object]) -> bytes:
    """Sort members by the UTF-16 encoding of their key (RFC 8785 3.2.3)."""
    return entry[0]


def _fast_path_agrees() -> bool:
    """Check, once at import, that this orjson writes what the fast path expects.

    orjson's float layout has changed between releases (before 3.11.7 it wrote ``1e16``
    and ``1e21`` without ``+``), so the fast path proves itself against the slow one on
    every layout class, string escapes (the slow path escapes on its own), key order and
    the refusals it relies on.
    """
    numbers = [1.0, 12000.0, 1e15, 2.0**53, 1e16, 1.5e17, 1e20, 1e21, 1.5e22, 1e308]
    numbers += [0.1, 1e-5, 1e-6, 1.5e-6, 1e-7, 5e-324, 1424953923781206.25, 0.0, 87.5]
    probe = {
        "numbers": numbers + [-x for x in numbers],
        "text": "".join(map(chr, range(0x20))) + '\x7f\u2028\u2029"\\/\u00e9\U0001f600',
        "order": dict.fromkeys(["b", "a", "B", "\u00e9", "\u20ac", "aa", ""], 2**53 - 1),
    }
    try:
        if canonicalize(probe) != _slow(probe):
            return False
    except Exception:  # whatever breaks, the fast path cannot be trusted
        return False
    for refused in (math.nan, math.inf, 2**53, -(2**53)):
        try:
            canonicalize([refused])
        except CanonicalizationError:
            continue
        return False
    return True


if not _fast_path_agrees():
    _fast_types = frozenset()
    warnings.warn(
        f"orjson {orjson.__version__} does not write JSON the way signing.jcs expects; "
        "canonicalization falls back to its slow path (install orjson >= 3.11.7)",
        RuntimeWarning,
        stacklevel=1,
    )

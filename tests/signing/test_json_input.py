"""signing.json_input: the orjson fast path returns exactly what the strict parser returns.

The strict parser (``json_input._parse_strict``: ``json.loads`` with hooks) is the reference.
The property tests draw JSON text built to hit every reason the fast path must leave
orjson's value alone (duplicate keys at any depth, also spelled with escapes, nesting
around the limit, integers around 2^53 and 2^64, floats of every shape and overflow, lone
surrogates, invalid UTF-8, a BOM, stray whitespace, truncation) and check that
``parse`` and ``parse_object`` give the same value with the same types all the way down,
or raise the same DocumentError with the same message.

Every test runs twice: with the C checks (``json_scan`` and ``json_keys`` of
``signing._jcs_speedups``) and with the pure-Python checks used when the extension is not
built; a property test checks each example it draws on both (``on_both_paths``). The C
functions are also tested directly at the end.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing import json_input
from signing.errors import DocumentError, MalformedJSONError
from tests.hypothesis_profiles import examples

HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


PATHS = ["accelerated", "python"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test runs with the C checks and with the Python checks, except those of the
    C functions themselves and the property tests, which check each example on both."""
    name = metafunc.function.__name__
    if not name.startswith("test_accelerator") and not _on_both(metafunc.function):
        metafunc.parametrize("path", PATHS, indirect=True)


@contextmanager
def _checks(path: str) -> Iterator[None]:
    """The C checks (as built), or the pure-Python ones used without the extension."""
    with pytest.MonkeyPatch.context() as patch:
        if path == "python":
            patch.setattr(json_input, "_scan", None)
            patch.setattr(json_input, "_count_keys", None)
        yield


@pytest.fixture(autouse=True)
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the C checks, or with the pure-Python ones."""
    if _on_both(request.function):
        yield "both"
        return
    param = str(getattr(request, "param", "accelerated"))
    if param == "accelerated" and not json_input.ACCELERATED:
        pytest.skip("signing._jcs_speedups is not built (see test_accelerator_is_built)")
    with _checks(param):
        yield param


def on_both_paths(test: Callable[..., None]) -> Callable[..., None]:
    """A property test (under ``@given``) that checks every example it draws with the C
    checks, then with the Python checks: one draw for both paths, where a test per path
    drew its own (generating the examples is most of the time). The same checks: under the
    ci profile the two tests drew the very same examples (derandomized by the test
    function's source, which this wrapper leaves as it was), each path as many as before.
    Without the accelerator, the Python checks alone (test_accelerator_is_built fails)."""

    @functools.wraps(test)
    def both(*args: Any, **kwargs: Any) -> None:
        for path in PATHS if json_input.ACCELERATED else PATHS[1:]:
            with _checks(path):
                try:
                    test(*args, **kwargs)
                except Exception as exc:
                    exc.add_note(f"with the {path} checks")
                    raise

    both.on_both_paths = True  # type: ignore[attr-defined]
    return both


def _on_both(function: Any) -> bool:
    return getattr(inspect.unwrap(function), "on_both_paths", False) or getattr(
        function, "on_both_paths", False
    )


# --- comparing with the strict parser ------------------------------------------------------


def _outcome(parse: Callable[..., Any], data: Any, **limits: int) -> tuple[str, Any]:
    try:
        return "value", parse(data, **limits)
    except DocumentError as exc:
        return "error", str(exc)


def _strict_object(data: Any, **limits: int) -> Any:
    """parse_object as it was: the strict parser, then the object check."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_input, "parse", json_input._parse_strict)
        return json_input.parse_object(data, **limits)


def _assert_identical(got: Any, expected: Any) -> None:
    """Equal with the same types recursively (int is not float, -0.0 is not 0.0), dict
    keys in the same order."""
    assert type(got) is type(expected), (got, expected)
    if type(expected) is dict:
        assert list(got) == list(expected)
        for key in expected:
            _assert_identical(got[key], expected[key])
    elif type(expected) is list:
        assert len(got) == len(expected)
        for item, expected_item in zip(got, expected, strict=True):
            _assert_identical(item, expected_item)
    elif type(expected) is float:
        assert got.hex() == expected.hex()
    else:
        assert got == expected


def _assert_agrees(data: Any, **limits: int) -> tuple[str, Any]:
    """parse and parse_object give what the strict parser gives; returns that outcome."""
    kind, expected = _outcome(json_input._parse_strict, data, **limits)
    got_kind, got = _outcome(json_input.parse, data, **limits)
    assert (got_kind, type(got)) == (kind, type(expected)), (data, got, expected)
    _assert_identical(got, expected)
    object_kind, object_expected = _outcome(_strict_object, data, **limits)
    got_kind, got = _outcome(json_input.parse_object, data, **limits)
    assert got_kind == object_kind, (data, got, object_expected)
    _assert_identical(got, object_expected)
    return kind, expected


@contextmanager
def _strict_parser_calls() -> Iterator[list[bytes]]:
    """Record the calls that reach the strict parser (the fast path did not decide)."""
    calls: list[bytes] = []
    strict = json_input._parse_strict

    def spy(data: bytes, **limits: int) -> Any:
        calls.append(data)
        return strict(data, **limits)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_input, "_parse_strict", spy)
        yield calls


# --- strategies: JSON text ------------------------------------------------------------------

SPACES = st.sampled_from(["", "", "", "", " ", "\n", "\t", "\r\n  ", " \t "])

# Characters that need escapes, surrogates (lone, paired, reversed), look like tokens, or
# are multi-byte in UTF-8.
ALPHABET = [chr(c) for c in range(0x20)] + list('"\\/:,[]{}0123456789.eE+-aAbntu ')
ALPHABET += ["\x7f", "\u00e9", "\u2028", "\ufeff", "\uffff", "\U0001f600", "\U0010ffff"]
ALPHABET += ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\ude00\ud83d"]


@st.composite
def string_texts(draw: st.DrawFn) -> str:
    """A JSON string literal: json.dumps of text (escaped or raw), or a hand-made one."""
    text = draw(st.lists(st.sampled_from(ALPHABET), max_size=8).map("".join))
    return draw(
        st.one_of(
            st.just(json.dumps(text, ensure_ascii=True)),
            st.just(json.dumps(text, ensure_ascii=False)),  # raw controls are refused
            st.sampled_from(
                [
                    r'"\u0061"',  # the same key as "a"
                    r'"\u0000"',
                    r'"\/"',
                    r'"\ud83d\ude00"',  # a surrogate pair: one character
                    '"\U0001f600"',  # the same character, raw
                    r'"\ud800"',  # lone surrogates: the strict parser refuses them
                    r'"\udc00\ud800"',
                    r'"\ud800\u0041"',
                    r'"\x41"',  # invalid escapes
                    r'"\U0041"',
                    r'"a\"b:[{"',
                    r'"\\"',
                    r'"\\\""',
                    '"a\tb"',
                ]
            ),
        )
    )


KEYS = st.one_of(
    st.sampled_from(['"a"', '"b"', r'"\u0061"', r'"\u0062"', '""', '"a "', r'"a\u0000"']),
    string_texts(),
)

INTEGER_TEXTS = st.one_of(
    st.integers(-(10**17), 10**17).map(str),
    st.integers(-10, 10).map(lambda k: str(2**53 + k)),
    st.integers(-10, 10).map(lambda k: str(-(2**53) + k)),
    st.integers(-3, 3).map(lambda k: str(2**63 + k)),
    st.integers(-3, 3).map(lambda k: str(2**64 + k)),
    st.integers(-3, 3).map(lambda k: str(-(2**64) + k)),
    st.integers(0, 400).map(lambda e: str(10**e)),  # 1e20 is an exact double: accepted
    st.integers(0, 400).map(lambda e: str(10**e + 1)),
    st.sampled_from(["0", "-0", "999999999999999", "1000000000000000", "-999999999999999"]),
    st.sampled_from(["1" * 4301, "9007199254740993", "18446744073709551616", "2" * 330]),
)


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """-?D+(.D+)?([eE][+-]?D+)? with long fractions and exponents up to overflow."""
    sign = draw(st.sampled_from(["", "-"]))
    whole = str(draw(st.one_of(st.integers(0, 9), st.integers(0, 10**25))))
    fraction = draw(st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=25)))
    exponent = draw(
        st.one_of(
            st.just(""),
            st.tuples(
                st.sampled_from(["e", "E"]),
                st.sampled_from(["", "+", "-"]),
                st.one_of(st.integers(0, 30), st.integers(290, 420)).map(str),
                st.sampled_from(["", "0", "00"]),  # leading zeros in an exponent are valid
            ).map(lambda part: part[0] + part[1] + part[3] + part[2]),
        )
    )
    return sign + whole + ("." + fraction if fraction else "") + exponent


FLOAT_TEXTS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),  # shortest, "1e-05", "-0.0"
    number_texts(),
    st.sampled_from(["1.0", "-0.0", "0.0", "1E2", "1e+2", "1e-400", "-1e-400", "5e-324"]),
    st.sampled_from(["2.4703282292062327e-324", "2.4703282292062328e-324", "1e308"]),
    st.sampled_from(["1.7976931348623157e308", "1.7976931348623159e308", "1e400", "-1e309"]),
    st.sampled_from(["0." + "0" * 400 + "1", "1" * 400 + ".5", "9007199254740993.0"]),
)

# Tokens the strict parser refuses (or, for NaN and Infinity, hands to a hook that refuses).
INVALID_TOKENS = ["01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x1", "NaN", "Infinity"]
INVALID_TOKENS += ["-Infinity", "nul", "nan", "True", "tru", "undefined", "'a'", "1_000"]

SCALARS = st.one_of(
    INTEGER_TEXTS,
    FLOAT_TEXTS,
    string_texts(),
    st.sampled_from(["true", "false", "null"]),
)


def _containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    items = st.tuples(SPACES, children, SPACES).map("".join)
    arrays = st.tuples(SPACES, st.lists(items, max_size=4)).map(
        lambda parts: "[" + (",".join(parts[1]) or parts[0]) + "]"
    )
    members = st.tuples(SPACES, KEYS, SPACES, SPACES, children, SPACES).map(
        lambda part: part[0] + part[1] + part[2] + ":" + part[3] + part[4] + part[5]
    )
    objects = st.tuples(SPACES, st.lists(members, max_size=5)).map(
        lambda parts: "{" + (",".join(parts[1]) or parts[0]) + "}"
    )
    return st.one_of(arrays, objects)


VALUES = st.recursive(SCALARS, _containers, max_leaves=16)


@st.composite
def deep_texts(draw: st.DrawFn) -> str:
    """Arrays and objects nested around the depth limit, around a scalar or an empty one."""
    depth = draw(st.one_of(st.integers(95, 105), st.integers(0, 140)))
    opens = draw(st.lists(st.booleans(), min_size=depth, max_size=depth))
    inner = draw(st.sampled_from(["", "1", "[]", "{}", '"x"', '{"a":1,"a":2}']))
    head = "".join('{"k":' if is_object else "[" for is_object in opens)
    tail = "".join("}" if is_object else "]" for is_object in reversed(opens))
    if not inner and opens and opens[-1]:
        inner = "0"  # an object member needs a value
    return head + inner + tail


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A JSON text (sometimes damaged), as UTF-8 bytes (surrogates written as they are)."""
    text = draw(st.tuples(SPACES, st.one_of(VALUES, deep_texts()), SPACES).map("".join))
    damage = draw(st.sampled_from(["none"] * 12 + ["token", "bom", "space", "cut", "byte"]))
    if damage == "token":
        text = text.replace("1", draw(st.sampled_from(INVALID_TOKENS)), 1)
    elif damage == "bom":
        text = "\ufeff" + text
    elif damage == "space":
        text = draw(st.sampled_from(["\x0c", "\xa0", "\u2028", "\x00", "\x0b"])) + text
    data = text.encode("utf-8", "surrogatepass")
    if damage == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "byte":
        where = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from([b"\xff", b"\x80", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90"]))
        data = data[:where] + bad + data[where:]
    return data


# --- the fast path agrees with the strict parser ---------------------------------------------


@settings(max_examples=examples(2000), deadline=None, suppress_health_check=HEALTH)
@given(documents())
@on_both_paths
def test_any_text_parses_as_the_strict_parser_parses_it(data: bytes) -> None:
    _assert_agrees(data)


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(st.lists(st.tuples(KEYS, st.one_of(SCALARS, VALUES)), min_size=1, max_size=8))
@on_both_paths
def test_objects_with_repeated_keys_parse_as_the_strict_parser_parses_them(
    members: list[tuple[str, str]],
) -> None:
    # Keys come from a small set (some spelled with escapes): duplicates are frequent, at
    # the top, in nested objects, and inside values a duplicate drops.
    body = ",".join(f"{key}:{value}" for key, value in members)
    _assert_agrees(("{" + body + "}").encode("utf-8", "surrogatepass"))
    _assert_agrees(
        ('[{"x":{' + body + '}},{"y":[{' + body + "}]}]").encode("utf-8", "surrogatepass")
    )


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(st.lists(st.one_of(INTEGER_TEXTS, FLOAT_TEXTS), min_size=1, max_size=6), SPACES)
@on_both_paths
def test_numbers_parse_as_the_strict_parser_parses_them(numbers: list[str], space: str) -> None:
    for number in numbers:
        _assert_agrees(number.encode())
        _assert_agrees(f"{space}{number}{space}".encode())
    _assert_agrees(("[" + f",{space}".join(numbers) + "]").encode())
    _assert_agrees(("{" + ",".join(f'"{n}":{n}' for n in numbers) + "}").encode())


@settings(max_examples=examples(500), deadline=None, suppress_health_check=HEALTH)
@given(deep_texts(), st.one_of(st.integers(0, 140), st.just(json_input.MAX_DEPTH)))
@on_both_paths
def test_nesting_around_any_limit_parses_as_the_strict_parser_parses_it(
    text: str, max_depth: int
) -> None:
    _assert_agrees(text.encode(), max_depth=max_depth)
    _assert_agrees(text.encode())


@settings(max_examples=examples(300), deadline=None, suppress_health_check=HEALTH)
@given(VALUES, st.integers(0, 200))
@on_both_paths
def test_the_size_limit_is_the_strict_parsers(text: str, max_bytes: int) -> None:
    data = text.encode("utf-8", "surrogatepass")
    _assert_agrees(data, max_bytes=max_bytes)
    _assert_agrees(data, max_bytes=len(data))


def _holds_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return _holds_surrogate(list(value.items()))
    if isinstance(value, list | tuple):
        return any(_holds_surrogate(item) for item in value)
    return False


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(documents())
@on_both_paths
def test_lone_surrogates_are_refused_exactly_where_json_would_keep_them(data: bytes) -> None:
    """A plain ``json.loads`` (every member kept, any number) gives a lone surrogate, in a
    key or a value, exactly where the strict parser refuses (maybe for an earlier reason);
    it never names a lone surrogate where there is none."""
    kind, got = _outcome(json_input.parse, data)
    try:
        text = data.decode("utf-8")
        plain = json.loads(text, object_pairs_hook=list, parse_int=str, parse_float=str)
    except ValueError:  # not JSON (or not UTF-8)
        assert kind == "value" or not got.startswith(LONE), got
        return
    if _holds_surrogate(plain):
        assert kind == "error", got
    else:
        assert kind == "value" or not got.startswith(LONE), got
    assert kind == "error" or not _holds_surrogate(got)


# --- named cases ----------------------------------------------------------------------------

# A submission as the ledger receives it (record, proof, disclosures), about 1.3 KB.
RECORD: dict[str, Any] = {
    "record": {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/bpl/v1"],
        "id": "urn:uuid:5ade35b6-8ac3-4b80-8cd5-e03aba804f15",
        "type": ["VerifiableCredential", "DiagnosticTest"],
        "issuer": "did:key:z6Mkp4dskm91hANM87shfFd9XDhoEcfVk1EqUXMy6tvkswp2",
        "validFrom": "2026-11-29T17:31:54Z",
        "credentialSubject": {
            "id": "urn:bpl:passport:00000000-0000-0000-0000-000000000001",
            "sequence": 1,
            "previous": "sha256:" + "ab" * 32,
            "testedOn": "2031-05-02",
            "site": "Göteborg-Torslanda \u2014 \U0001f50b",
            "disclosures": {"legitimate-interest": "sha256:" + "cd" * 32},
        },
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": "2026-11-29T17:31:54Z",
            "verificationMethod": "did:key:z6Mkp4dskm91hANM87shfFd9XDhoEcfVk1EqUXMy6tvkswp2"
            "#z6Mkp4dskm91hANM87shfFd9XDhoEcfVk1EqUXMy6tvkswp2",
            "proofPurpose": "assertionMethod",
            "proofValue": "z4XcKd3PKTKorS5VGNPFr3VM9eN1u4iYpS4fVqjjtenQJyGPJV4ej6wCLKRuV9CKC",
        },
    },
    "disclosures": [
        {
            "salt": "tQJSc2J-VC8UO1e2ebmtJA",
            "group": "legitimate-interest",
            "method": "bms-readout",
            "soce": 81.5,
            "soh": -0.0,
            "capacity": 1e-7,
            "energy": 12000.0,
            "damaged": False,
            "note": None,
            "accidents": 0,
            "serial": 999999999999999,
            "escaped": 'quote " backslash \\ colon : bracket [ brace {',
            "gradingPolicy": {"id": "bpl-default", "version": "1"},
        }
    ],
}
RECORD_BYTES = orjson.dumps(RECORD)


@pytest.mark.parametrize(
    "data",
    [
        RECORD_BYTES,
        json.dumps(RECORD, indent=2, ensure_ascii=True).encode(),
        b"{}",
        b' \r\n\t{"a" : [ 1 , 2.5 , "x" ] }\n',
        b"[]",
        b"0",
        b"-0",
        b'"text"',
        b"null",
        b'{"a":{"b":{"c":[{"a":1},{"a":2}]}},"b":[{"a":1,"b":2}]}',
        b'{"k":"\\ud83d\\ude00","\\u00e9":"\xc3\xa9"}',
        b"[" * 99 + b"1" + b"]" * 99,  # 100 levels: the deepest accepted
    ],
)
def test_plain_documents_take_the_fast_path(data: bytes) -> None:
    with _strict_parser_calls() as calls:
        value = json_input.parse(data)
    assert calls == []
    _assert_identical(value, json_input._parse_strict(data))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"-0", 0),  # an int, as json reads it (not -0.0)
        (b"-0.0", -0.0),
        (b"1.0", 1.0),
        (b"1E2", 100.0),
        (b"1e+2", 100.0),
        (b"1e-400", 0.0),
        (b"5e-324", 5e-324),
        (b"1.7976931348623157e308", 1.7976931348623157e308),
        (b"999999999999999", 999999999999999),
        (b"9007199254740991", 2**53 - 1),  # 16 digits: the strict parser decides
        (b"-9007199254740991", -(2**53) + 1),
        (b"9007199254740992", 2.0**53),  # beyond 2^53 but an exact double: that double
        (b"100000000000000000000", 1e20),
        (b"18446744073709551616", 2.0**64),
        (b'"\\ud83d\\ude00"', "\U0001f600"),  # a surrogate pair, escaped: one character
        (b'"\\uDBFF\\uDFFF"', "\U0010ffff"),
        (b'"\\\\ud800"', "\\ud800"),  # an escaped backslash, then text
        (b'"\\ud800\\udc00"', "\U00010000"),
        (b' {"a":-0,"b":1E2}\n', {"a": 0, "b": 100.0}),
        (b'{"a":[{"b":-0.0}]}', {"a": [{"b": -0.0}]}),
    ],
)
def test_values_keep_the_strict_parsers_types(data: bytes, expected: Any) -> None:
    _assert_agrees(data)
    _assert_identical(json_input.parse(data), expected)


DUPLICATE = "duplicate key 'a' in a JSON object"
LONE = "lone surrogate escape "
NOT_TEXT = ": not a Unicode character (UTF-8 cannot encode it)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', DUPLICATE),
        (b'{"a":1,"a":1}', DUPLICATE),
        (b'{"a":1,"\\u0061":2}', DUPLICATE),  # the same key, spelled differently
        (b'{"x":[{"y":{"a":1,"a":{"z":1}}}]}', DUPLICATE),
        (b'[{"b":0},{"c":{"a":{},"a":{"d":1,"e":2,"f":3}}}]', DUPLICATE),  # more ':' after
        (b'{"a":{"p":1,"q":2},"a":0}', DUPLICATE),  # the dropped value holds members
        (b"NaN", "NaN is not a JSON number"),
        (b"[Infinity]", "Infinity is not a JSON number"),
        (b'{"a":-Infinity}', "-Infinity is not a JSON number"),
        (
            b"9007199254740993",
            "integer 9007199254740993 is beyond 2^53 and would lose precision in JSON "
            "(write it as a string)",
        ),
        (b"[1e400]", "number 1e400 is too large for a JSON number (IEEE 754)"),
        (b"-1e309", "number -1e309 is too large for a JSON number (IEEE 754)"),
        (b"[" * 101 + b"]" * 101, "JSON nested deeper than 100 levels"),
        (b"[" * 100 + b"1" + b"]" * 100, "JSON nested deeper than 100 levels"),
        (b'{"k":' * 100 + b"1" + b"}" * 100, "JSON nested deeper than 100 levels"),
        (b'"\xff"', "document is not UTF-8 (bad byte at offset 1)"),
        (b'"\xed\xa0\x80"', "document is not UTF-8 (bad byte at offset 1)"),
        (
            b"\xef\xbb\xbf{}",
            "malformed JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1",
        ),
        (b"\x0c{}", "malformed JSON: Expecting value at line 1 column 1"),
        (b"", "malformed JSON: Expecting value at line 1 column 1"),
        (b'{"a":1,}', "malformed JSON: "),  # json's wording changes between versions
        (b"[01]", "malformed JSON: Expecting ',' delimiter at line 1 column 3"),
        (b'"a\tb"', "malformed JSON: Invalid control character at at line 1 column 3"),
        (b"{} {}", "malformed JSON: Extra data at line 1 column 4"),
        (b'"\\ud800"', LONE + r"\ud800 at line 1 column 2" + NOT_TEXT),
        (b'"\\uDC00"', LONE + r"\uDC00 at line 1 column 2" + NOT_TEXT),  # a low one alone
        (b'"\\udc00\\ud800"', LONE + r"\udc00 at line 1 column 2" + NOT_TEXT),  # reversed
        (b'"ab\\ud800\\u0041"', LONE + r"\ud800 at line 1 column 4" + NOT_TEXT),
        (b'"\\ud800\\ud800\\udc00"', LONE + r"\ud800 at line 1 column 2" + NOT_TEXT),
        (b'"\\ud800 \\udc00"', LONE + r"\ud800 at line 1 column 2" + NOT_TEXT),  # not adjacent
        (b'["\\ud800","\\udc00"]', LONE + r"\ud800 at line 1 column 3" + NOT_TEXT),
        (b'"\\ud800\\\\"', LONE + r"\ud800 at line 1 column 2" + NOT_TEXT),
        (b'{"\\\\":"\\\\\\udbff"}', LONE + r"\udbff at line 1 column 10" + NOT_TEXT),
        (b'{"\\ud800":1}', LONE + r"\ud800 at line 1 column 3" + NOT_TEXT),  # in a key
        (
            b'{\n  "disclosures": [\n    {"reason": "\\ud83d\\ude00 \\udfff"}]}',
            LONE + r"\udfff at line 3 column 30" + NOT_TEXT,
        ),
        (
            b"x" * (json_input.MAX_DOCUMENT_BYTES + 1),
            "document is 1048577 bytes; the limit is 1048576",
        ),
    ],
)
def test_refusals_are_the_strict_parsers(data: bytes, message: str) -> None:
    with _strict_parser_calls() as calls:
        kind, got = _assert_agrees(data)
    assert calls  # the fast path left it to the strict parser
    assert kind == "error"
    assert got == message or (message.endswith(": ") and got.startswith(message))


@pytest.mark.parametrize(
    ("data", "malformed"),
    [
        (b'{"id": ', True),
        (b"", True),
        (b"sale", True),
        (b"2031-05-02", True),
        (b"\xef\xbb\xbf{}", True),
        (b'"\xff"', True),
        (b'{"a":1,"a":2}', False),
        (b"NaN", False),  # not JSON, but what json reads as a number: refused as one
        (b"9007199254740993", False),
        (b"[1e400]", False),
        (b"[" * 101 + b"]" * 101, False),
        (b"[" * 50_000, False),  # deeper than json can tell where it ends
        (b'"\\ud800"', False),
        (b"x" * (json_input.MAX_DOCUMENT_BYTES + 1), False),
    ],
)
def test_not_json_at_all_is_a_malformed_json_error(data: bytes, malformed: bool) -> None:
    """What is not JSON at all (MalformedJSONError) apart from JSON the rules refuse:
    ``bpl record new --set`` takes the one as text and stops on the other."""
    with pytest.raises(DocumentError) as refused:
        json_input.parse(data)
    assert isinstance(refused.value, MalformedJSONError) is malformed, str(refused.value)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"[]", "array"),
        (b'"x"', "string"),
        (b"1", "number"),
        (b"1.5", "number"),
        (b"true", "boolean"),
        (b"null", "null"),
    ],
)
def test_parse_object_refuses_other_values(data: bytes, kind: str) -> None:
    _assert_agrees(data)
    with pytest.raises(DocumentError, match=f"^expected a JSON object, got a JSON {kind}$"):
        json_input.parse_object(data)


def test_limits_are_the_callers() -> None:
    data = b'{"a":[[1]]}'
    for max_depth in range(6):
        _assert_agrees(data, max_depth=max_depth)
    for max_bytes in (0, len(data) - 1, len(data)):
        _assert_agrees(data, max_bytes=max_bytes)
    deep = b"[" * 200 + b"]" * 200  # beyond _FAST_MAX_DEPTH: the strict parser decides
    expected = json_input._parse_strict(deep, max_depth=300)
    with _strict_parser_calls() as calls:
        assert json_input.parse(deep, max_depth=300) == expected
    assert calls == [deep]


@pytest.mark.parametrize("data", [bytearray(b'{"a":1}'), memoryview(b'{"a":1}'), '{"a":1}'])
def test_other_input_types_behave_as_before(data: Any) -> None:
    with _strict_parser_calls() as calls:
        try:
            expected: Any = json_input._parse_strict(data)
        except Exception as exc:  # a str or memoryview has no .decode
            with pytest.raises(type(exc), match="decode"):
                json_input.parse(data)
        else:
            _assert_identical(json_input.parse(data), expected)
    assert len(calls) >= 1


def test_every_truncation_of_a_record_parses_as_the_strict_parser_parses_it() -> None:
    data = json.dumps(RECORD, indent=1, ensure_ascii=False).encode()
    for end in range(len(data) + 1):
        _assert_agrees(data[:end])


def test_the_fast_path_result_is_a_fresh_value() -> None:
    first = json_input.parse(RECORD_BYTES)
    first["record"]["id"] = "changed"
    assert json_input.parse(RECORD_BYTES)["record"]["id"] == RECORD["record"]["id"]


# --- the C checks -----------------------------------------------------------------------------


def test_accelerator_is_built() -> None:  # runs (and fails) even without the accelerator
    # Like signing.jcs's: CI has a compiler, so a missing extension is a silent build skip.
    assert json_input.ACCELERATED, "signing._jcs_speedups was not built: run `pip install -e .`"


def _speedups() -> Any:
    if not json_input.ACCELERATED:
        pytest.skip("signing._jcs_speedups is not built")
    return importlib.import_module("signing._jcs_speedups")


def test_accelerator_missing_leaves_the_python_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setitem(sys.modules, "signing._jcs_speedups", None)  # import fails
        importlib.reload(json_input)
        assert not json_input.ACCELERATED
        assert json_input._scan is None
        assert json_input.parse(RECORD_BYTES) == RECORD
        with pytest.raises(DocumentError, match="duplicate key"):
            json_input.parse(b'{"a":1,"a":2}')
    finally:
        monkeypatch.undo()
        importlib.reload(json_input)
    assert json_input.ACCELERATED


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{}", (0, 1, False)),
        (b"1", (0, 0, False)),
        (b' [ {"a" : 1} , {"b":[]} ]\n', (2, 3, False)),
        (b'{"a:":"b:","c\\":":"\\\\","d":"[{"}', (3, 1, False)),  # ':' '[' '"' in strings
        (b'{"\\\\\\"":1}', (1, 1, False)),
        (b'"\xc3\xa9:\xf0\x9f\x98\x80{"', (0, 0, False)),
        (b"[999999999999999,-999999999999999]", (0, 1, False)),  # 15 digits
        (b"[1000000000000000]", (0, 1, True)),  # 16 digits: maybe beyond 2^53
        (b"-9007199254740993", (0, 0, True)),
        (b"[1234567890123456.5,1234567890123456e0,1234567890123456E0]", (0, 1, False)),
        (b"[true,false,null]", (0, 1, False)),
        (b"[" * 300 + b"]" * 300, (0, 300, False)),
    ],
)
def test_accelerator_scan_counts(data: bytes, expected: tuple[int, int, bool]) -> None:
    assert _speedups().json_scan(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf{}",  # a BOM
        b"\x0c{}",  # whitespace json does not know
        b"{}\xa0",
        b'"abc',  # unterminated
        b'"abc\\',  # a backslash at the end
        b'"abc\\"',
        b"]",
        b"[[]",
        b"{}}",
        b"-",
        b"-x",
        b"NaN",
        b"nul",
        b"tru",
        b"fals",
        b"'a'",
        b"/*c*/1",
    ],
)
def test_accelerator_scan_gives_up_on_what_it_does_not_know(data: bytes) -> None:
    assert _speedups().json_scan(data) is None


def test_accelerator_scan_wants_bytes() -> None:
    with pytest.raises(TypeError, match="must be bytes, not bytearray"):
        _speedups().json_scan(bytearray(b"{}"))


def test_accelerator_keys_count_and_limit() -> None:
    json_keys = _speedups().json_keys
    value = orjson.loads(RECORD_BYTES)
    assert json_keys(value, 100) == _keys(value) == _speedups().json_scan(RECORD_BYTES)[0]
    assert json_keys({"a": {"b": [{"c": 1, "d": [1.5]}]}}, 5) == 4
    assert json_keys({"a": {"b": [{"c": 1, "d": [1.5]}]}}, 4) == -1  # five levels
    assert json_keys([[[]]], 3) == 0
    assert json_keys([[[]]], 2) == -1
    assert json_keys({}, 0) == -1
    assert json_keys(1, 0) == 0  # scalars are not levels of brackets
    assert json_keys([1.0, [math.inf]], 5) == -1
    assert json_keys({"a": math.nan}, 5) == -1
    cycle: list[Any] = []
    cycle.append(cycle)
    assert json_keys(cycle, 10**9) == -1  # capped at 255 levels
    assert json_keys(cycle, -1) == -1
    with pytest.raises(TypeError):
        json_keys({})
    with pytest.raises(TypeError):
        json_keys({}, "1")


def _keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_keys(item) for item in value.values())
    if isinstance(value, list):
        return sum(_keys(item) for item in value)
    return 0


def test_accelerator_keeps_reference_counts() -> None:
    speedups = _speedups()
    data = bytes(RECORD_BYTES)
    value = orjson.loads(data)
    before = sys.getrefcount(data), sys.getrefcount(value), sys.getrefcount(True)
    for _ in range(100):
        speedups.json_scan(data)
        speedups.json_keys(value, 100)
    after = sys.getrefcount(data), sys.getrefcount(value), sys.getrefcount(True)
    assert after == before


@settings(max_examples=examples(2000), deadline=None, suppress_health_check=HEALTH)
@given(st.one_of(st.binary(max_size=64), st.lists(st.sampled_from(list(b'[]{}",:\\.0-1e+ntf')))))
def test_accelerator_survives_arbitrary_bytes(data: bytes | list[int]) -> None:
    result = _speedups().json_scan(bytes(data))
    assert result is None or (type(result) is tuple and len(result) == 3)


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(VALUES)
def test_accelerator_scan_matches_the_parsed_value(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    members, depth, _ = _speedups().json_scan(data)
    assert _speedups().json_keys(value, 255) == _keys(value)
    if _has_duplicate_keys(data):
        assert members > _keys(value)
    else:
        assert (members, depth) == (_keys(value), _depth(value))


def _has_duplicate_keys(data: bytes) -> bool:
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _ in items}) < len(items)
        return dict(items)

    json.loads(data, object_pairs_hook=pairs)
    return found


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0

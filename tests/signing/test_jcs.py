"""signing.jcs against the reference: byte-identical to ``rfc8785.dumps``, refusing what it refuses.

The property tests are the exactness proof of the fast path (orjson plus byte-level fix-ups):
they draw values that hit every fix-up (integral floats, ``e+16``..``e+20``, ``e-6``, ``-0.0``),
every reason to leave the fast path (NaN next to ``null``, key orders where UTF-16 and code
points disagree, deep nesting), and strings built to fool the byte scans (``.0,`` and quotes
and backslashes inside strings). Both paths are checked against rfc8785 separately.

Every test runs twice: with the C accelerator (``signing._jcs_speedups``) doing the byte
checks, and with it switched off so that the pure-Python checks do (as on a machine that
built bpl without a C compiler); a property test checks each value it draws on both
(``on_both_paths``). The accelerator is also tested directly on crafted orjson outputs at
the end.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import functools
import importlib
import inspect
import json
import math
import struct
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing import jcs
from signing.errors import CanonicalizationError
from signing.jcs import canonicalize
from tests.hypothesis_profiles import examples

VECTORS = Path(__file__).parent.parent / "vectors" / "vc-di-eddsa"
SAFE = 2**53 - 1

# Function-scoped fixtures (the path fixture below) are fine here: they do not change
# between examples.
HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


PATHS = ["accelerated", "python"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test runs on both paths, except those of the accelerator itself and the
    property tests, which check each value on both."""
    name = metafunc.function.__name__
    if not name.startswith("test_accelerator") and not _on_both(metafunc.function):
        metafunc.parametrize("path", PATHS, indirect=True)


@contextmanager
def _checks(path: str) -> Iterator[None]:
    """The C accelerator (as built), or the pure-Python byte checks."""
    with pytest.MonkeyPatch.context() as patch:
        if path == "python":
            patch.setattr(jcs, "_finish", None)
        yield


@pytest.fixture(autouse=True)
def path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the C accelerator, or with the pure-Python byte checks."""
    if _on_both(request.function):
        yield "both"
        return
    param = str(getattr(request, "param", "accelerated"))
    if param == "accelerated" and not jcs.ACCELERATED:
        pytest.skip("signing._jcs_speedups is not built (see test_accelerator_is_built)")
    with _checks(param):
        yield param


def on_both_paths(test: Callable[..., None]) -> Callable[..., None]:
    """A property test (under ``@given``) that checks every value it draws with the C
    accelerator, then with the Python checks: one draw for both paths, where a test per
    path drew its own (generating the values is most of the time). The same checks: under
    the ci profile the two tests drew the very same values (derandomized by the test
    function's source, which this wrapper leaves as it was), each path as many as before.
    Without the accelerator, the Python checks alone (test_accelerator_is_built fails)."""

    @functools.wraps(test)
    def both(*args: Any, **kwargs: Any) -> None:
        for path in PATHS if jcs.ACCELERATED else PATHS[1:]:
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


# --- strategies ---------------------------------------------------------------------------

# Characters where JCS, orjson and naive implementations part ways: every control
# character, DEL, the JavaScript line separators, quote, backslash, slash, BMP characters
# from U+E000 up (they sort after surrogate pairs in UTF-16 but before them by code point)
# and supplementary-plane characters.
AWKWARD_CHARS = (
    [chr(c) for c in range(0x20)]
    + ["\x7f", "\u2028", "\u2029", '"', "\\", "/", "\u0080", "\u00f6", "\u20ac"]
    + ["\ud7ff", "\ue000", "\uf8ff", "\ufb33", "\ufeff", "\ufffd", "\uffff"]
    + ["\U00010000", "\U0001f600", "\U0002a6d6", "\U000e0001", "\U0010ffff"]
)
# Text that looks like the tokens the fast path rewrites or checks, to catch a scan that
# strays into a string.
LOOKALIKES = [".0,", ".0]", ".0}", "-0.0,", ":1.0,", "[2.0]", "null", ":null,", "e-6,", "1e-6]"]
LOOKALIKES += ["e+17,", "1e+20}", '\\"', '":3.0,"', "\\\\", '\\":4.0}', "+", "[[{"]

# Cheap to draw: short strings over an alphabet that makes the lookalikes above by chance too.
ALPHABET = AWKWARD_CHARS + list("abcxyz0169.:,-+e[]{}nul@ é")
texts = st.one_of(
    st.text(st.sampled_from(ALPHABET), max_size=8),
    st.sampled_from(LOOKALIKES),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=6),
)

integers = st.one_of(
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from([0, 1, -1, SAFE, -SAFE, SAFE - 1, 2**31, -(2**31), 10**15, -(10**15)]),
)

# Every power of ten and its two neighbours: where both formats switch layouts.
DECADES = [
    bound
    for exponent in range(-323, 309)
    for bound in (
        10.0**exponent,
        math.nextafter(10.0**exponent, 0.0),
        math.nextafter(10.0**exponent, math.inf),
    )
]

floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # includes subnormals and -0.0
    st.integers(min_value=-(2**62), max_value=2**62).map(float),  # integral floats
    st.sampled_from(DECADES),
    # Two shortest candidates tie around these (X.2 and X.3 around X.25): round to even.
    st.tuples(st.integers(2**49, 2**51 - 1), st.sampled_from([0.25, 0.75])).map(sum),
    st.floats(min_value=1e-6, max_value=1e-5),  # orjson "e-6", ECMAScript "0.00000d"
    st.floats(min_value=1e16, max_value=1e21),  # orjson "e+16".."e+20", ECMAScript plain
    st.floats(min_value=-1e21, max_value=-1e16),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308, 87.5, 0.0312, 1e-7]),
    st.sampled_from([12000.0, 2.0**53, 2.0**53 + 2, 2.0**63, 1e21, 1e-6, 1e-5]),
)

scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(texts, children, max_size=5),
    )


json_values = st.recursive(scalars, _containers, max_leaves=12)
documents = st.dictionaries(texts, json_values, min_size=1, max_size=5)


def _assert_matches_reference(value: Any) -> None:
    expected = rfc8785.dumps(value)
    assert canonicalize(value) == expected
    assert jcs._slow(value) == expected


# --- equality with rfc8785 ---------------------------------------------------------------


@settings(max_examples=examples(2000), deadline=None, suppress_health_check=HEALTH)
@given(json_values)
@on_both_paths
def test_any_json_value_matches_rfc8785(value: Any) -> None:
    _assert_matches_reference(value)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=HEALTH)
@given(documents)
@on_both_paths
def test_any_document_matches_rfc8785(value: dict[str, Any]) -> None:
    # A dict at the top takes the fast path; json_values also covers bare scalars.
    _assert_matches_reference(value)


@settings(max_examples=examples(500), deadline=None, suppress_health_check=HEALTH)
@given(st.lists(floats, min_size=1, max_size=40), texts)
@on_both_paths
def test_floats_next_to_lookalike_strings_match_rfc8785(numbers: list[float], text: str) -> None:
    value = {"a": numbers, "b": text, "c": {"n": numbers[0], "s": [text, numbers[-1]]}}
    _assert_matches_reference(value)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=HEALTH)
@given(st.dictionaries(texts, st.integers(0, 9), min_size=2, max_size=10))
@on_both_paths
def test_key_order_is_utf16_code_units(members: dict[str, int]) -> None:
    _assert_matches_reference(members)
    keys = list(json.loads(canonicalize(members)))
    assert keys == sorted(members, key=lambda k: k.encode("utf-16-be"))


# --- RFC 8785 examples ---------------------------------------------------------------------

# RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def _double(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@pytest.mark.parametrize(("bits", "text"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits: str, text: str) -> None:
    value = _double(bits)
    expected = text.encode()
    assert canonicalize(value) == expected
    assert canonicalize([value]) == b"[" + expected + b"]"
    assert canonicalize({"n": value, "s": "x"}) == b'{"n":' + expected + b',"s":"x"}'
    assert rfc8785.dumps(value) == expected


@pytest.mark.parametrize("bits", ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])
def test_rfc8785_appendix_b_nan_and_infinity_are_refused(bits: str) -> None:
    with pytest.raises(CanonicalizationError, match="NaN and Infinity are not JSON numbers"):
        canonicalize({"n": [_double(bits)]})


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (333333333.33333329, "333333333.3333333"),
        (1e30, "1e+30"),
        (4.50, "4.5"),
        (2e-3, "0.002"),
        (0.000000000000000000000000001, "1e-27"),
        (-0.0, "0"),
        (0.0, "0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (12000.0, "12000"),
        (87.5, "87.5"),
        (0.0312, "0.0312"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-5, "0.00001"),
        (1e16, "10000000000000000"),
        (1.5e17, "150000000000000000"),
        (1e20, "100000000000000000000"),
        (-1e20, "-100000000000000000000"),
        (1.2345678901234568e20, "123456789012345680000"),
        (1e21, "1e+21"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (2.0**53, "9007199254740992"),
        (SAFE, "9007199254740991"),
        (-SAFE, "-9007199254740991"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
    ],
)
def test_named_numbers(value: Any, text: str) -> None:
    expected = text.encode()
    assert canonicalize(value) == expected
    assert canonicalize([value, {"v": value}]) == b"[" + expected + b',{"v":' + expected + b"}]"
    assert rfc8785.dumps(value) == expected


def test_rfc8785_section_3_2_4_sample() -> None:
    value: Any = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(value) == expected
    assert rfc8785.dumps(value) == expected


def test_rfc8785_section_3_2_3_utf16_sort_order() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonicalize(value) == expected
    assert rfc8785.dumps(value) == expected
    # Code point order (what orjson does) would put the emoji last.
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) != expected


def test_string_escapes_match_rfc8785() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '\x7f\u2028\u2029"\\/\u00e9\U0001f600'
    expected = rfc8785.dumps(text)
    assert canonicalize(text) == expected
    assert canonicalize({"k" + text: [text]}) == b'{"k' + expected[1:] + b":[" + expected + b"]}"
    assert b"\\u001f" in expected  # lowercase hex, as RFC 8785 3.2.2.2 demands


# --- W3C vc-di-eddsa vectors -------------------------------------------------------------


def test_w3c_unsigned_credential_vector() -> None:
    document = json.loads((VECTORS / "unsigned.json").read_text(encoding="utf-8"))
    expected = (VECTORS / "eddsa-jcs-2022" / "canonDocJCS.txt").read_bytes()
    assert canonicalize(document) == expected


def test_w3c_proof_configuration_vector() -> None:
    config = json.loads((VECTORS / "eddsa-jcs-2022" / "proofConfigJCS.json").read_text("utf-8"))
    expected = (VECTORS / "eddsa-jcs-2022" / "proofCanonJCS.txt").read_bytes()
    assert canonicalize(config) == expected


# --- the fast path's fix-ups and exits ------------------------------------------------------


def _plain_record() -> dict[str, Any]:
    """The record without the two exponents ECMAScript writes differently (rare)."""
    record = _record()
    del record["credentialSubject"]["throughput"], record["credentialSubject"]["leak"]
    return record


def _record() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "credentialSubject": {
            "batteryId": "DE-BAT-2024-000418",
            "site": "Göteborg ± 2 °C",
            "soce": 87.5,
            "capacityAh": 210.0,
            "energyWh": -82000.0,
            "zero": -0.0,
            "selfDischarge": 1e-7,
            "leak": 2.5e-6,
            "throughput": 1.5e17,
            "cells": [3.7, 3.0, -0.0, 4.0],
            "note": 'v2.0, "rev 3.0", path C:\\temp\\1.0]',
        },
    }


def test_plain_records_never_take_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert jcs._fast_types, f"orjson {orjson.__version__} failed the probe: fast path is off"

    def _no_slow_path(value: object) -> bytes:
        raise AssertionError("slow path taken")

    expected = rfc8785.dumps(_record())
    monkeypatch.setattr(jcs, "_slow", _no_slow_path)
    assert canonicalize(_record()) == expected
    with_null = [_record(), None, [1.0, 2.5]]  # "null" sends it through the NaN walk only
    assert canonicalize(with_null) == rfc8785.dumps(with_null)


@pytest.mark.parametrize(
    "value",
    [
        {"s": ":1.0,", "n": 1.0},
        {"s": 'a"b:1.0,', "z": [3.0]},
        {"q": "a\\", "z": [3.0, '\\":1.0]']},
        {"q": '\\"', "z": {"x": 5.0}, "r": '\\\\"1.0}'},
        {"s": "e+17,", "n": 1e17, "t": "x e-6]"},
        {"s": "1e-6,", "n": [1e-6, 2.5e-6], "m": -9.5e-6},
        {"s": "null", "n": None, "f": 1.0},
        {"e": "\U0001f600", "p": "\ue000", "n": 2.0},
        {"\U0001f600": 1, "\ue000": 2, "\uffff": 3, "\U00010000": 4, "a": 5.0},
        [[1.0], [[-0.0]], {"a": [1e20, -1e16]}],
    ],
)
def test_fast_path_fix_ups(value: Any) -> None:
    _assert_matches_reference(value)


def _orjson_variant(rewrite: Any, real: Any = orjson.dumps) -> Any:
    def dumps(*args: Any, **kwargs: Any) -> bytes:
        return bytes(rewrite(real(*args, **kwargs)))

    return dumps


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda out: out.replace(b"e+", b"e"),  # orjson < 3.11.7: 1e16, 1e21
        lambda out: out.replace(b"/", b"\\/"),  # escaping the slash
        lambda out: out.replace(b"\\u001f", b"\\u001F"),  # uppercase hex escapes
        lambda out: out.replace(b"null", b"NaN"),  # NaN written out
        lambda out: out.replace(b'"B":', b'"~":'),  # any other difference
        lambda out: out.replace(b"1e+20", b"1..e+20"),  # garbage that breaks the fix-ups
    ],
)
def test_import_probe_catches_an_orjson_that_writes_differently(
    monkeypatch: pytest.MonkeyPatch, rewrite: Any
) -> None:
    assert jcs._fast_path_agrees()
    monkeypatch.setattr(jcs, "_dumps", _orjson_variant(rewrite))
    assert not jcs._fast_path_agrees()


def test_an_orjson_that_writes_differently_turns_the_fast_path_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = _record()
    expected = rfc8785.dumps(record)
    try:
        monkeypatch.setattr(orjson, "dumps", _orjson_variant(lambda out: out.replace(b"e+", b"e")))
        with pytest.warns(RuntimeWarning, match="falls back to its slow path"):
            importlib.reload(jcs)
        assert jcs._fast_types == frozenset()
        assert jcs.canonicalize(record) == expected
    finally:
        monkeypatch.undo()
        importlib.reload(jcs)
    assert jcs._fast_types == {dict, list}


# --- nesting depth ------------------------------------------------------------------------


def _nested(depth: int, kind: str) -> Any:
    value: Any = 1.0
    for level in range(depth):
        value = [value] if kind == "list" or (kind == "mixed" and level % 2) else {"k": value}
    return value


@pytest.mark.parametrize("kind", ["list", "dict", "mixed"])
def test_nesting_up_to_128_levels_is_accepted(kind: str) -> None:
    value = _nested(jcs.MAX_DEPTH, kind)
    assert canonicalize(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("kind", ["list", "dict", "mixed"])
@pytest.mark.parametrize("depth", [jcs.MAX_DEPTH + 1, 200, 254, 255, 1000, 5000])
def test_deeper_nesting_is_refused(kind: str, depth: int) -> None:
    with pytest.raises(CanonicalizationError, match="nesting deeper than 128 levels"):
        canonicalize(_nested(depth, kind))


def test_wide_but_shallow_documents_are_accepted() -> None:
    value: Any = {"cells": [{"v": float(i), "t": [i]} for i in range(300)]}
    assert canonicalize(value) == rfc8785.dumps(value)


def test_empty_containers_count_as_a_level() -> None:
    value: Any = []
    for _ in range(jcs.MAX_DEPTH - 1):
        value = [value]
    assert canonicalize(value) == rfc8785.dumps(value)
    with pytest.raises(CanonicalizationError):
        canonicalize([value])


# --- refusals -------------------------------------------------------------------------------

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
bad_leaves = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -math.nan]),
    st.integers(min_value=2**53, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**53)),
    st.tuples(texts, surrogates, texts).map("".join),
    st.tuples(texts, surrogates).map(lambda parts: {parts[0] + parts[1]: 1}),
    st.sampled_from([{1: "a"}, {None: 1}, {(1, 2): 1}, {b"k": 1}, {1.5: 2}]),
)


@st.composite
def refused_values(draw: st.DrawFn) -> Any:
    value = draw(bad_leaves)
    for _ in range(draw(st.integers(0, 4))):
        siblings = draw(st.lists(scalars, max_size=3))
        if draw(st.booleans()):
            siblings.insert(draw(st.integers(0, len(siblings))), value)
            value = siblings
        else:
            members = dict(draw(st.dictionaries(texts, scalars, max_size=3)))
            members[draw(texts)] = value
            value = members
    return value


@settings(max_examples=examples(500), deadline=None, suppress_health_check=HEALTH)
@given(refused_values())
@on_both_paths
def test_values_rfc8785_refuses_are_refused(value: Any) -> None:
    with pytest.raises((ValueError, AttributeError)):
        rfc8785.dumps(value)  # the reference refuses it too
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"credentialSubject": {"soce": math.nan}},
            r"NaN and Infinity are not JSON numbers at \$\.credentialSubject\.soce$",
        ),
        ({"a": [None, 1.0, -math.inf]}, r"NaN and Infinity .* at \$\.a\[2\]$"),
        ({"n": 2**53}, r"integer beyond 2\^53 would lose precision in JSON at \$\.n$"),
        ({"n": -(2**53)}, r"integer beyond 2\^53 .* at \$\.n$"),
        ({"n": [2**64]}, r"integer beyond 2\^53 .* at \$\.n\[0\]$"),
        ({"@context": ["x", "\udc00"]}, r"lone surrogate .* at \$\[\"@context\"\]\[1\]$"),
        ({"a": {"\ud800": 1}}, r"object key contains a lone surrogate .* at \$\.a\[\"\\ud800\"\]$"),
        ({"a": {1: 1}}, r"object keys must be strings, got int 1 at \$\.a$"),
        ({"a": b"x"}, r"unsupported type builtins\.bytes at \$\.a$"),
        (math.nan, r"NaN and Infinity are not JSON numbers at \$$"),
    ],
)
def test_refusals_name_the_problem_and_path(value: Any, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonicalize(value)


def test_integer_domain_edges() -> None:
    for n in (SAFE, -SAFE):
        assert canonicalize({"n": n}) == rfc8785.dumps({"n": n})
    for n in (SAFE + 1, -SAFE - 1, 2**63, -(2**63), 2**64, 10**30):
        with pytest.raises(ValueError):
            rfc8785.dumps({"n": n})
        with pytest.raises(CanonicalizationError, match="integer beyond 2"):
            canonicalize({"n": n})
        with pytest.raises(CanonicalizationError, match="integer beyond 2"):
            canonicalize(n)


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        b"bytes",
        bytearray(b"x"),
        {1, 2},
        frozenset(),
        1j,
        decimal.Decimal("1.5"),
        datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        datetime.date(2025, 1, 1),
        _Point(1),
        object(),
        range(3),
    ],
)
def test_unsupported_types_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="unsupported type"):
        rfc8785.dumps({"v": value})
    with pytest.raises(CanonicalizationError, match="unsupported type"):
        canonicalize({"v": value})
    with pytest.raises(CanonicalizationError, match="unsupported type"):
        canonicalize(value)


# --- types beyond the plain JSON ones ------------------------------------------------------


class _Str(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _List(list):  # type: ignore[type-arg]
    pass


class _Color(enum.IntEnum):
    RED = 1


class _Mode(enum.StrEnum):
    FAST = "fast"


_Pair = collections.namedtuple("_Pair", "a b")


@pytest.mark.parametrize(
    "value",
    [
        (1, 2.0, "x"),
        _Pair(1.0, [2]),
        _Str("text"),
        {_Str("key"): _Str("value")},
        _Int(7),
        _Float(2.0),
        _Float(0.1),
        _Dict(b=1, a=2.0),
        _List([1.0, _Dict(z=None)]),
        collections.OrderedDict([("b", 1), ("a", 2)]),
        _Color.RED,
        _Mode.FAST,
        {"c": _Color.RED, "m": [_Mode.FAST], "n": None},
        True,
        [False, 0, 0.0],
    ],
)
def test_subclasses_and_tuples_match_rfc8785(value: Any) -> None:
    _assert_matches_reference(value)


class _Plain(enum.Enum):
    A = (1.0, "x")
    B = math.nan


ID = uuid.UUID("58172aac-d8ba-11ed-83dd-0b3aef56cc33")


@pytest.mark.parametrize("extra", [{}, {"z": None}])
def test_orjson_native_types_are_accepted_on_both_paths(extra: dict[str, Any]) -> None:
    # Documented deviation: rfc8785 refuses these, orjson (hence the fast path) does not,
    # and the slow path (taken when ``null`` appears) agrees with it.
    refused: Any = {"id": ID}
    with pytest.raises(ValueError):
        rfc8785.dumps(refused)
    assert canonicalize({"id": ID, **extra}) == rfc8785.dumps({"id": str(ID), **extra})
    assert canonicalize({"e": _Plain.A, **extra}) == rfc8785.dumps({"e": [1, "x"], **extra})
    fragment = orjson.Fragment(b'{"a":1}')
    assert canonicalize({"f": fragment, **extra}) == rfc8785.dumps({"f": {"a": 1}, **extra})
    with pytest.raises(CanonicalizationError, match="NaN"):
        canonicalize({"e": _Plain.B, **extra})


# --- the C accelerator ----------------------------------------------------------------------


def test_accelerator_is_built() -> None:  # runs (and fails) even without the accelerator
    # CI machines have a C compiler and the Python headers: a missing accelerator there
    # means the build silently skipped it (setuptools builds it with optional = true).
    assert jcs.ACCELERATED, "signing._jcs_speedups was not built: run `pip install -e .`"


def _finish() -> Any:
    if not jcs.ACCELERATED:
        pytest.skip("signing._jcs_speedups is not built")
    return importlib.import_module("signing._jcs_speedups").finish


def test_accelerator_missing_leaves_the_python_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record()
    try:
        monkeypatch.setitem(sys.modules, "signing._jcs_speedups", None)  # import fails
        importlib.reload(jcs)
        assert not jcs.ACCELERATED
        assert jcs._finish is None
        assert jcs.canonicalize(record) == rfc8785.dumps(record)
    finally:
        monkeypatch.undo()
        importlib.reload(jcs)
    assert jcs.ACCELERATED


def test_accelerator_alone_handles_plain_records(monkeypatch: pytest.MonkeyPatch) -> None:
    def _not_needed(*args: object) -> Any:
        raise AssertionError("a Python byte scan ran")

    record = _plain_record()
    expected = rfc8785.dumps(record)
    for name in ("_needs_slow_path", "_utf16_order_may_differ", "_split_integral", "_slow"):
        monkeypatch.setattr(jcs, name, _not_needed)
    assert canonicalize(record) == expected


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        # integral floats lose ".0"; -0.0 becomes 0; other numbers stay
        (b"[1.0]", b"[1]"),
        (b'{"a":-0.0}', b'{"a":0}'),
        (b"[-0.0,-10.0,0.0,-1.0,100.0]", b"[0,-10,0,-1,100]"),
        (b'{"a":[2.0],"b":{"c":-3.0}}', b'{"a":[2],"b":{"c":-3}}'),
        (b"[0.05,-0.0312,1.05,10.5,-0,0]", None),  # unchanged: see below
        # ".0" inside strings stays, whatever escapes come before it
        (b'["a.0,",1.0]', b'["a.0,",1]'),
        (b'["\\"1.0,",1.0]', b'["\\"1.0,",1]'),
        (b'["\\\\",1.0,"\\\\\\":2.0]"]', b'["\\\\",1,"\\\\\\":2.0]"]'),
        (b'["-0.0,",-0.0,":-0.0}"]', b'["-0.0,",0,":-0.0}"]'),
        (b'{"x.0":3.0,"\\u0000.0]":4.0}', b'{"x.0":3,"\\u0000.0]":4}'),
        # exponents already in ECMAScript's layout stay
        (b"[1e+21,-1.5e+300,5e-324,1e-7,1.7976931348623157e+308]", None),
        # null inside strings is just text; true and false are literals
        (b'["null",{"null":true},false]', None),
        (b'["e+17,","e-6]",1.0]', b'["e+17,","e-6]",1]'),
        # one kind of lead byte alone is fine (and so are other non-ASCII bytes)
        ('["\ue000\uffff",1.0]'.encode(), '["\ue000\uffff",1]'.encode()),
        ('["\U0001f600\U0010ffff","\u00e9\u20ac"]'.encode(), None),
        (b"[]", None),
        (b"{}", None),
        (b"", None),
    ],
)
def test_accelerator_fix_ups(out: bytes, expected: bytes | None) -> None:
    finish = _finish()
    result = finish(out)
    if expected is None:  # nothing to rewrite: the very same object comes back
        assert result is out
    else:
        assert result == expected
        assert type(result) is bytes


@pytest.mark.parametrize(
    "out",
    [
        # null outside strings: None, or NaN or an infinity
        b"[null]",
        b'{"a":null}',
        b'["x",1.0,null]',
        # nesting deeper than MAX_DEPTH, or unbalanced
        b"[" * 129 + b"]" * 129,
        b'{"a":' * 129 + b"1" + b"}" * 129,
        b"[1]]",
        b"[[1]",
        b"}",
        # both kinds of UTF-8 lead byte: UTF-16 order may differ from orjson's
        '["\U0001f600\ue000"]'.encode(),
        '{"\uffff":1,"b":"\U00010000"}'.encode(),
        b'["\xef","\xf4"]',
        # exponents ECMAScript writes differently
        *[f"[1e+{e}]".encode() for e in range(16, 21)],
        b"[-1.5e+17]",
        b"[1e-6]",
        b"[-9.5e-6,1.0]",
        # number shapes orjson does not write
        b"[1e16]",
        b"[1e+5]",
        b"[1e-5]",
        b"[1E+21]",
        b"[1e+021]",
        b"[1e+1000]",
        b"[1.0e+21]",
        b"[12e+21]",
        b"[0e+21]",
        b"[1e+]",
        b"[1e]",
        b"[1.]",
        b"[.5]",
        b"[-]",
        b"[--1]",
        b"[1.0",
        b"[1",
        b"1.0",
        # not orjson's compact output: whitespace, bad escapes, bad literals, truncation
        b"[1, 2]",
        b"[ ]",
        b'["\\x"]',
        b'["\\',
        b'["abc',
        b'["\\"]',
        b"[tru]",
        b"[fals]",
        b"[nul]",
        b"[NaN]",
        b"[Infinity]",
        b"[True]",
    ],
)
def test_accelerator_gives_up(out: bytes) -> None:
    assert _finish()(out) is None


def test_accelerator_depth_limit_is_max_depth() -> None:
    finish = _finish()
    deepest = b"[" * jcs.MAX_DEPTH + b"1.0" + b"]" * jcs.MAX_DEPTH
    assert finish(deepest) == deepest.replace(b".0", b"")
    wide = b"[" + b",".join([b"[[1.0]]"] * 500) + b"]"
    assert finish(wide) == wide.replace(b".0", b"")
    assert finish(b"[" + deepest + b"]") is None
    mixed = b'{"a":[' * 64 + b"{}" + b"]}" * 64  # 129 levels
    assert finish(mixed) is None
    assert finish(mixed[5:-1]) == mixed[5:-1]  # 128 levels


@pytest.mark.parametrize("value", [b"[1]", "[1]", bytearray(b"[1]"), memoryview(b"[1]"), None])
def test_accelerator_takes_bytes_only(value: Any) -> None:
    finish = _finish()
    if type(value) is bytes:
        assert finish(value) is value
    else:
        with pytest.raises(TypeError, match="must be bytes"):
            finish(value)


def test_accelerator_keeps_reference_counts() -> None:
    finish = _finish()
    unchanged = orjson.dumps({"a": [1, "x"], "b": "\u00e9"})
    rewritten = orjson.dumps({"a": [1.0, -0.0], "b": 2.0})
    refused = orjson.dumps({"a": [1.0, None]})
    for out in (unchanged, rewritten, refused):
        before = sys.getrefcount(out)
        for _ in range(1000):
            finish(out)
        assert sys.getrefcount(out) == before
    result = finish(rewritten)
    assert sys.getrefcount(result) == 2  # a fresh object: ours and getrefcount's argument


def test_accelerator_gives_up_on_every_truncation() -> None:
    finish = _finish()
    out = orjson.dumps(_plain_record(), option=jcs._OPTIONS)
    assert finish(out) == rfc8785.dumps(_plain_record())
    for end in range(1, len(out)):
        assert finish(out[:end]) is None, out[:end]


# Values the accelerator must finish on its own: no None, floats outside the two exponent
# ranges ECMAScript writes differently, no supplementary-plane characters, shallow.
_plain_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda x: not (1e16 <= abs(x) < 1e21 or 1e-6 <= abs(x) < 1e-5)
)
_plain_texts = st.one_of(
    st.text(st.sampled_from([c for c in ALPHABET if c < "\U00010000"]), max_size=8),
    st.sampled_from(LOOKALIKES),
)
_plain_values = st.recursive(
    st.one_of(st.booleans(), integers, _plain_floats, _plain_texts),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(_plain_texts, children, max_size=5)
    ),
    max_leaves=12,
)


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(st.lists(_plain_values, max_size=4))
def test_accelerator_finishes_plain_values_exactly(value: list[Any]) -> None:
    finish = _finish()
    out = orjson.dumps(value, option=jcs._OPTIONS)
    result = finish(out)
    assert result == rfc8785.dumps(value)
    assert (result is out) == (result == out)


@settings(max_examples=examples(1000), deadline=None, suppress_health_check=HEALTH)
@given(json_values)
def test_accelerator_never_disagrees_with_rfc8785(value: Any) -> None:
    finish = _finish()
    try:
        out = orjson.dumps(value, option=jcs._OPTIONS)
    except orjson.JSONEncodeError:
        return
    result = finish(out)
    if result is not None and type(value) in (dict, list):
        assert result == rfc8785.dumps(value)


@settings(max_examples=examples(2000), deadline=None, suppress_health_check=HEALTH)
@given(st.one_of(st.binary(max_size=64), st.lists(st.sampled_from(list(b'[]{}",:\\.0-1e+nt')))))
def test_accelerator_survives_arbitrary_bytes(data: bytes | list[int]) -> None:
    out = bytes(data)
    result = _finish()(out)
    assert result is None or result is out or (type(result) is bytes and len(result) < len(out))

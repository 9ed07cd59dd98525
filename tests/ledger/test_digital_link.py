"""GS1 Digital Link URIs: GS1's own cases (tests/vectors/gs1-digital-link), every rule's
refusal with its reason, canonical forms, and a round-trip property."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.digital_link import (
    AIS,
    GS1_RESOLVER,
    SET_82,
    DigitalLink,
    DigitalLinkError,
    check_digit,
    parse_digital_link,
)
from tests.hypothesis_profiles import examples

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "gs1-digital-link" / "cases.json").read_text("utf-8")
)
GTIN = "09520123456788"  # the standard's example GTIN


def refused(uri: str, reason: str) -> DigitalLinkError:
    with pytest.raises(DigitalLinkError) as caught:
        parse_digital_link(uri)
    assert caught.value.reason == reason, str(caught.value)
    return caught.value


# --- GS1's cases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{i:03d}:{c['uri'][:60]}") for i, c in enumerate(VECTORS["parse"])],
)
def test_vector(case: dict[str, Any]) -> None:
    if case["valid"]:
        link = parse_digital_link(case["uri"])
        assert [list(e) for e in link.elements] == case["elements"]
    else:
        refused(case["uri"], case["reason"])


def test_vectors_cover_what_the_readme_says() -> None:
    cases = VECTORS["parse"]
    assert len(cases) == 120
    assert sum(c["source"].startswith("gs1-syntax-engine") for c in cases) == 107
    assert sum(c["source"].startswith("digital-link.js") for c in cases) == 13
    assert len(VECTORS["key_qualifier_sequences"]["valid"]) == 37


def _with_check(digits: str) -> str:
    return digits + check_digit(digits)


SAMPLES = {
    "00": _with_check("00614141123456789"),
    "01": GTIN,
    "253": _with_check("123123123123") + "X1",
    "255": _with_check("952001234567") + "12",
    "401": "CONSIGNMENT/1",
    "402": _with_check("9520123456789012"),
    "414": _with_check("952012345678"),
    "417": _with_check("952012345678"),
    "8003": "0" + _with_check("952012345678") + "RA-1",
    "8004": "ASSET-42",
    "8006": GTIN + "0102",
    "8010": "CPID-1",
    "8013": "1987654Ad4X4bL5ttr2310c2K",  # GenSpecs' GMN example, check pair "2K"
    "8017": _with_check("12345678901234567"),
    "8018": _with_check("12345678901234567"),
    "22": "CPV-1",
    "10": "LOT-1",
    "21": "SER-1",
    "235": "TPX-1",
    "254": "EXT-1",
    "7040": "1ABC",
    "8011": "42",
    "8019": "42",
}
# Allowed as a path sequence, refused by a pairing rule: (22) requires (01).
PAIRING_REFUSED = {("8006", "22")}


@pytest.mark.parametrize(
    "sequence",
    [pytest.param(s, id="/".join(s)) for s in VECTORS["key_qualifier_sequences"]["valid"]],
)
def test_every_allowed_key_qualifier_sequence(sequence: list[str]) -> None:
    uri = "https://example.com" + "".join(f"/{ai}/{quote(SAMPLES[ai], safe='')}" for ai in sequence)
    if (sequence[0], "22") in PAIRING_REFUSED and "22" in sequence:
        assert refused(uri, "ai_pairing").ai == "22"
        return
    link = parse_digital_link(uri)
    assert [ai for ai, _ in link.elements] == sequence


def test_the_sequences_are_every_primary_key() -> None:
    keys = {s[0] for s in VECTORS["key_qualifier_sequences"]["valid"]}
    table_keys = {code for code, ai in AIS.items() if ai.qualifiers is not None}
    assert keys == table_keys - {"415"}  # (415) with (8020) is newer than GS1's test list
    link = parse_digital_link(f"https://a/415/{SAMPLES['414']}/8020/REF-1")
    assert link.qualifiers == (("8020", "REF-1"),)


@pytest.mark.parametrize(
    "order", [p for n in (2, 3) for p in itertools.permutations(("22", "10", "21"), n)]
)
def test_gtin_qualifiers_only_in_order_22_10_21(order: tuple[str, ...]) -> None:
    uri = f"https://a/01/{GTIN}" + "".join(f"/{ai}/{SAMPLES[ai]}" for ai in order)
    if list(order) == sorted(order, key=("22", "10", "21").index):
        assert [ai for ai, _ in parse_digital_link(uri).qualifiers] == list(order)
    else:
        refused(uri, "qualifier_order")


# --- Each rule ---------------------------------------------------------------------------


def test_check_digits() -> None:
    error = refused(f"https://a/01/{GTIN[:-1]}9", "check_digit")
    assert error.ai == "01"
    assert "expected 8" in str(error)
    refused("https://a/00/006141411234567891", "check_digit")  # SSCC
    refused("https://a/414/9520123456787", "check_digit")  # GLN
    refused("https://a/8018/123456789012345670", "check_digit")  # GSRN
    refused("https://a/01/9520123456787", "check_digit")  # a GTIN-13
    refused(f"https://a/01/{GTIN}?02=09520123456781", "check_digit")  # in the query
    refused("https://a/8013/1987654Ad4X4bL5ttr2310c2L", "check_digit")  # GMN check pair


def test_check_digit_function() -> None:
    assert check_digit("0950600013435") == "2"
    assert check_digit("950600013435") == "2"  # leading zeros change nothing
    assert check_digit("0234567") == "3"
    with pytest.raises(ValueError, match="digits"):
        check_digit("12a")


@pytest.mark.parametrize(
    ("written", "gtin"),
    [
        ("02345673", "00000002345673"),  # GTIN-8
        ("416000336108", "00416000336108"),  # GTIN-12
        ("9520123456788", "09520123456788"),  # GTIN-13
        ("09520123456788", "09520123456788"),  # GTIN-14
    ],
)
def test_short_gtins_are_padded_to_14(written: str, gtin: str) -> None:
    link = parse_digital_link(f"https://a/01/{written}/21/X")
    assert link.gtin == gtin
    assert link.canonical() == f"https://id.gs1.org/01/{gtin}/21/X"


@pytest.mark.parametrize(
    "digits", ["1234567", "123456789", "1234567890", "12345678901", "123456789012345"]
)
def test_other_gtin_lengths_are_refused(digits: str) -> None:
    assert "8, 12, 13" in str(refused(f"https://a/01/{digits}", "length"))


def test_serial_length() -> None:
    assert parse_digital_link(f"https://a/01/{GTIN}/21/{'S' * 20}").serial == "S" * 20
    error = refused(f"https://a/01/{GTIN}/21/{'S' * 21}", "length")
    assert error.ai == "21"
    assert "21 characters" in str(error)
    # The decoded value counts: 20 percent-encoded slashes are 20 characters.
    assert parse_digital_link(f"https://a/01/{GTIN}/21/{'%2F' * 20}").serial == "/" * 20


@pytest.mark.parametrize(
    ("serial", "reason", "shown"),
    [
        ("A B", "uri_charset", "' '"),  # a raw space is not a URI character
        ("A%20B", "charset", "' '"),  # an encoded one is not in set 82
        ("A%23B", "charset", "'#'"),  # '#', encoded, is not in set 82
        ("A~B", "charset", "'~'"),  # a URI character outside set 82
        ("A%7EB", "charset", "'~'"),
        ("A%C3%A9", "charset", "byte 0xC3"),  # UTF-8 'é', encoded
        ("Aé", "uri_charset", "'é'"),  # raw non-ASCII
        ("A%2", "percent_encoding", "'%2'"),
        ("A%G1", "percent_encoding", "'%G1'"),
        ("A%00", "percent_encoding", "'%00'"),
    ],
)
def test_serial_character_set(serial: str, reason: str, shown: str) -> None:
    error = refused(f"https://a/01/{GTIN}/21/{serial}", reason)
    assert shown in str(error)


def test_every_set_82_character_is_a_serial_when_encoded() -> None:
    for char in sorted(SET_82):
        link = parse_digital_link(f"https://a/01/{GTIN}/21/{quote(char, safe='')}")
        assert link.serial == char


def test_a_raw_hash_starts_the_fragment() -> None:
    # RFC 3986: "#" ends the path; the fragment never identifies. Encode it (it is still
    # refused: "#" is not in set 82).
    assert parse_digital_link(f"https://a/01/{GTIN}/21/AB#C").serial == "AB"


def test_plus_is_a_plus_in_the_path_and_a_space_in_the_query() -> None:
    assert parse_digital_link(f"https://a/01/{GTIN}/21/A+B").serial == "A+B"
    refused(f"https://a/01/{GTIN}?99=A+B", "charset")
    assert parse_digital_link(f"https://a/01/{GTIN}?99=A%2BB").value("99") == "A+B"


def test_qualifier_order() -> None:
    refused(f"https://a/01/{GTIN}/21/S/10/L", "qualifier_order")
    refused(f"https://a/8006/{GTIN}0102/21/S/10/L", "qualifier_order")


@pytest.mark.parametrize(
    "path",
    [
        f"/01/{GTIN}/17/201225",  # a data attribute in the path
        f"/01/{GTIN}/254/X",  # another key's qualifier
        f"/01/{GTIN}/22/C/235/T",  # two alternatives mixed
        f"/00/{SAMPLES['00']}/21/S",  # SSCC takes no qualifier
        "/8004/ASSET/21/S",
    ],
)
def test_qualifiers_not_allowed(path: str) -> None:
    refused("https://a" + path, "qualifier_not_allowed")


@pytest.mark.parametrize(
    "uri",
    [
        f"https://a/01/{GTIN}/10/L/10/M",  # in the path
        f"https://a/01/{GTIN}/10/L?10=L",  # path and query
        f"https://a/01/{GTIN}?01={GTIN}",  # the primary key again, in the query
        f"https://a/01/{GTIN}?17=201225&17=201226",  # in the query
    ],
)
def test_duplicate_ais(uri: str) -> None:
    refused(uri, "duplicate_ai")


def test_unknown_ais() -> None:
    assert refused(f"https://a/01/{GTIN}/89/X", "unknown_ai").ai == "89"
    assert refused(f"https://a/01/{GTIN}?89=X", "unknown_ai").ai == "89"
    assert refused(f"https://a/01/{GTIN}?0123=X", "unknown_ai").ai == "0123"


@pytest.mark.parametrize(
    ("uri", "ai"),
    [
        (f"https://a/01/{GTIN}?21=S", "21"),
        (f"https://a/01/{GTIN}/10/L?21=S", "21"),
        (f"https://a/01/{GTIN}/21/S?10=L", "10"),
        (f"https://a/01/{GTIN}?22=C", "22"),
        (f"https://a/01/{GTIN}?235=T", "235"),
        (f"https://a/414/{SAMPLES['414']}?254=X", "254"),
        ("https://a/8010/CPID?8011=42", "8011"),
    ],
)
def test_key_qualifiers_in_the_query(uri: str, ai: str) -> None:
    assert refused(uri, "qualifier_in_query").ai == ai


def test_ais_that_are_no_data_attribute() -> None:
    # (21) cannot join (01)+(235) in the path, and is not a data attribute either.
    refused(f"https://a/01/{GTIN}/235/T?21=S", "not_data_attribute")
    refused(f"https://a/01/{GTIN}?8200=X", "not_data_attribute")
    refused("https://a/8004/ASSET?7040=1ABC", "qualifier_in_query")


def test_a_primary_key_in_the_query() -> None:
    # Only in the path: a URI whose sole key is in the query has none.
    refused(f"https://a/?01={GTIN}", "no_primary_key")
    refused(f"https://a/products?01={GTIN}&21=S", "no_primary_key")
    # Another key may be a data attribute (the standard's example), padded like the path's.
    link = parse_digital_link("https://a/8004/9520614141234567?01=9520123456788")
    assert link.primary == ("8004", "9520614141234567")
    assert link.attributes == (("01", GTIN),)
    assert link.gtin is None


def test_path_prefix() -> None:
    link = parse_digital_link(f"https://brand.example/some/where/01/{GTIN}/21/S?linkType=gs1:pip")
    assert link.prefix == "/some/where"
    assert link.host == "brand.example"
    assert link.canonical() == f"https://id.gs1.org/01/{GTIN}/21/S"
    assert parse_digital_link(f"https://a/01/{GTIN}").prefix == ""


def test_convenience_alphas_are_refused() -> None:
    refused(f"https://a/gtin/{GTIN}/ser/S", "convenience_alpha")
    refused(f"https://a/01/{GTIN}/ser/S", "convenience_alpha")
    refused(f"https://a/GTIN/{GTIN}", "convenience_alpha")


def test_empty_values_and_segments() -> None:
    refused(f"https://a/01/{GTIN}/21/", "empty_value")
    refused("https://a/01//21/S", "empty_value")
    refused(f"https://a/01/{GTIN}/21/S/", "empty_segment")
    refused(f"https://a/01/{GTIN}?17=", "empty_value")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("17=201301", "value"),  # month 13
        ("17=230229", "value"),  # no 29 February in 2023
        ("17=240431", "value"),  # no 31 April
        ("4321=1", "ai_pairing"),  # (4321) needs an SSCC
        ("4321=2", "value"),  # yes (1) or no (0)
        ("02=09520123456788", "ai_pairing"),  # (02) excludes (01)
        ("3922=0299", "ai_pairing"),  # a price needs a quantity (30, 31nn...)
        ("3103=00019", "length"),
        ("17=2012AB", "charset"),
    ],
)
def test_data_attribute_values(query: str, reason: str) -> None:
    refused(f"https://a/01/{GTIN}?{query}", reason)


@pytest.mark.parametrize("query", ["17=240229", "17=201200", "15=991231", "3103=000195&3922=0299"])
def test_good_data_attribute_values(query: str) -> None:
    assert parse_digital_link(f"https://a/01/{GTIN}?{query}").attributes


def test_content_checks_of_keys() -> None:
    refused(f"https://a/8006/{GTIN}0302", "value")  # piece 3 of 2
    refused(f"https://a/8003/1{SAMPLES['8003'][1:]}", "value")  # a GRAI starts with 0
    refused("https://a/8010/cpid", "charset")  # CPID: set 39, upper case only
    refused("https://a/8017/12345678901234567X", "charset")


def test_uri_syntax() -> None:
    refused(f"ftp://a/01/{GTIN}", "scheme")
    refused(f"Https://a/01/{GTIN}", "scheme")  # lower or upper case, as GS1's parser
    refused(f"https://user@a/01/{GTIN}", "host")
    refused(f"https:///01/{GTIN}", "host")
    assert parse_digital_link(f"HTTPS://a/01/{GTIN}").scheme == "https"
    assert parse_digital_link(f"http://a:8080/01/{GTIN}").host == "a:8080"
    with pytest.raises(DigitalLinkError) as caught:
        parse_digital_link(b"https://a/01/09520123456788")  # type: ignore[arg-type]
    assert caught.value.reason == "not_text"


def test_other_parameters() -> None:
    link = parse_digital_link(f"https://a/01/{GTIN}?linkType=gs1%3Apip&17=201225&lang=en+GB&x")
    assert link.other_params == (("linkType", "gs1:pip"), ("lang", "en GB"), ("x", None))
    assert link.attributes == (("17", "201225"),)
    assert link.canonical() == f"https://id.gs1.org/01/{GTIN}"


def test_errors_say_which_rule_and_where() -> None:
    error = refused(f"https://a/01/{GTIN}/21/A%20B", "charset")
    assert isinstance(error, ValueError)
    assert error.ai == "21"
    assert str(error) == (
        "character set: AI 21 (SERIAL) in the path: character ' ' at position 2 of the decoded "
        "value is not in GS1 AI encodable character set 82"
    )
    error = refused(f"https://a/01/{GTIN}/21/S/10/L", "qualifier_order")
    assert "22, 10, 21 in that order" in str(error)


# --- The result --------------------------------------------------------------------------


def test_helpers() -> None:
    link = parse_digital_link(f"https://a/01/{GTIN}/22/C/10/L/21/S?17=201225")
    assert (link.gtin, link.lot, link.serial) == (GTIN, "L", "S")
    assert link.value("17") == "201225"
    assert link.value("22") == "C"
    assert link.value("01") == GTIN
    assert link.value("99") is None
    other = parse_digital_link(f"https://a/00/{SAMPLES['00']}")
    assert (other.gtin, other.serial, other.lot) == (None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        link.primary = ("01", GTIN)  # type: ignore[misc]


def test_canonical() -> None:
    link = parse_digital_link("http://b.example/x/01/9520123456788/10/L%3A1/21/A%2Fb+c?17=201225")
    assert link.canonical() == f"{GS1_RESOLVER}/01/{GTIN}/10/L%3A1/21/A%2Fb%2Bc"
    assert (
        link.canonical("https://bpl.example/")
        == f"https://bpl.example/01/{GTIN}/10/L%3A1/21/A%2Fb%2Bc"
    )
    assert (
        link.canonical("https://bpl.example/id")
        == f"https://bpl.example/id/01/{GTIN}/10/L%3A1/21/A%2Fb%2Bc"
    )
    with pytest.raises(ValueError, match="stem"):
        link.canonical("bpl.example")
    with pytest.raises(ValueError, match="stem"):
        link.canonical("https://bpl.example/?x=1")


def test_same_identifier_written_differently_has_one_canonical_form() -> None:
    forms = [
        f"https://a.example/01/{GTIN}/21/X1",
        "https://b.example/01/9520123456788/21/X1",
        f"HTTP://c.example/shop/01/{GTIN}/21/%58%31?linkType=all#top",
    ]
    assert len({parse_digital_link(u).canonical() for u in forms}) == 1


# --- Round trip ----------------------------------------------------------------------------

SERIALS = st.text(alphabet=sorted(SET_82), min_size=1, max_size=20)
# Characters RFC 3986 allows raw in a path segment besides the unreserved ones.
PATH_SAFE = "!$&'()*+,;=:@"


@st.composite
def gtins(draw: st.DrawFn) -> tuple[str, str]:
    """A valid GTIN as written (8, 12, 13 or 14 digits) and its 14-digit form."""
    length = draw(st.sampled_from((8, 12, 13, 14)))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    written = body + check_digit(body)
    return written, written.zfill(14)


@settings(max_examples=examples(300))
@given(
    gtin=gtins(),
    serial=SERIALS,
    lot=st.none() | SERIALS,
    safe=st.sampled_from(("", PATH_SAFE)),
    host=st.sampled_from(("id.gs1.org", "brand.example", "b.example:8443", "[2001:db8::1]")),
)
def test_round_trip(
    gtin: tuple[str, str], serial: str, lot: str | None, safe: str, host: str
) -> None:
    written, gtin14 = gtin
    path = f"/01/{written}" + (f"/10/{quote(lot, safe=safe)}" if lot else "")
    uri = f"https://{host}{path}/21/{quote(serial, safe=safe)}"
    link = parse_digital_link(uri)
    assert (link.gtin, link.lot, link.serial) == (gtin14, lot, serial)
    again = parse_digital_link(link.canonical())
    assert again.elements == link.elements
    assert again.canonical() == link.canonical()
    assert isinstance(again, DigitalLink)

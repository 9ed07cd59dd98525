"""Battery ids: the three accepted forms, what is refused and why, one key per battery."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.battery_id import (
    BatteryId,
    BatteryIdError,
    gtin_check_digit,
    is_valid_gtin,
    parse_battery_id,
)
from ledger.core.digital_link import SET_82, DigitalLinkError
from tests.hypothesis_profiles import examples

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "gs1-digital-link" / "cases.json").read_text("utf-8")
)
GTIN = "09506000134352"
KEY = f"https://id.gs1.org/01/{GTIN}/21/X1"


def refused(text: str, reason: str) -> BatteryIdError:
    with pytest.raises(BatteryIdError) as caught:
        parse_battery_id(text)
    assert caught.value.reason == reason, str(caught.value)
    return caught.value


# --- The same battery --------------------------------------------------------------------


def test_the_same_battery_written_five_ways_has_one_key() -> None:
    forms = [
        f"https://a.example/01/{GTIN}/21/X1",
        "https://b.example/01/9506000134352/21/X1",  # another host, the GTIN-13 form
        f"HTTP://c.example/products/01/{GTIN}/10/LOT7/21/X1?17=261231&linkType=gs1:pip#x",
        f"https://id.gs1.org/01/{GTIN}/21/%58%31",  # encoded where it need not be
        "urn:epc:id:sgtin:9506000.013435.X1",  # the EPC pure-identity form
    ]
    ids = [parse_battery_id(text) for text in forms]
    assert {i.key for i in ids} == {KEY}
    assert {(i.gtin, i.serial) for i in ids} == {(GTIN, "X1")}
    assert all(ids[0].same_battery(i) for i in ids)
    assert [i.text for i in ids] == forms  # the text is kept as given
    assert ids[0] != ids[1]  # == compares the text too: use same_battery


@pytest.mark.parametrize(
    "other",
    [
        f"https://a.example/01/{GTIN}/21/x1",  # serials are case-sensitive
        f"https://a.example/01/{GTIN}/21/X10",  # another serial
        "https://a.example/01/09506000134369/21/X1",  # another GTIN
    ],
)
def test_other_batteries_have_other_keys(other: str) -> None:
    assert not parse_battery_id(KEY).same_battery(parse_battery_id(other))


def test_the_key_is_a_valid_digital_link_of_the_same_battery() -> None:
    battery = parse_battery_id("urn:epc:id:sgtin:0614141.812345.A%2FB%25")
    assert battery.key == "https://id.gs1.org/01/80614141123458/21/A%2FB%25"
    assert parse_battery_id(battery.key).same_battery(battery)


# --- GS1 Digital Link --------------------------------------------------------------------


def test_digital_link() -> None:
    battery = parse_battery_id(f"https://id.gs1.org/01/{GTIN}/21/X1")
    assert battery == BatteryId(
        text=f"https://id.gs1.org/01/{GTIN}/21/X1",
        scheme="gs1-digital-link",
        gtin=GTIN,
        serial="X1",
        key=KEY,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        battery.key = "x"  # type: ignore[misc]


def test_a_gtin_without_serial_is_a_model_not_a_battery() -> None:
    assert "model" in str(refused(f"https://id.gs1.org/01/{GTIN}", "no_serial"))
    refused(f"https://id.gs1.org/01/{GTIN}/10/LOT7", "no_serial")
    assert "(235)" in str(refused(f"https://id.gs1.org/01/{GTIN}/235/TPX1", "no_serial"))


@pytest.mark.parametrize(
    ("uri", "said"),
    [
        ("https://id.gs1.org/8004/9506000ASSET1", "GIAI"),
        ("https://id.gs1.org/00/006141411234567890", "SSCC"),
        (f"https://id.gs1.org/8006/{GTIN}0102/21/X1", "ITIP"),
        ("https://id.gs1.org/414/9520123456788", "AI 414"),
    ],
)
def test_other_gs1_keys_are_refused(uri: str, said: str) -> None:
    assert said in str(refused(uri, "unsupported_key"))


@pytest.mark.parametrize(
    ("uri", "detail"),
    [
        (f"https://id.gs1.org/01/{GTIN[:-1]}3/21/X1", "check_digit"),
        (f"https://id.gs1.org/01/{GTIN}/21/A%20B", "charset"),
        (f"https://id.gs1.org/01/{GTIN}/21/A%23B", "charset"),
        (f"https://id.gs1.org/01/{GTIN}/21/{'S' * 21}", "length"),
        (f"https://id.gs1.org/01/{GTIN}/21/X1/10/LOT", "qualifier_order"),
        (f"https://id.gs1.org/01/{GTIN}?21=X1", "qualifier_in_query"),
        (f"https://id.gs1.org/01/{GTIN}/21/X1?21=X2", "duplicate_ai"),
        (f"https://id.gs1.org/01/{GTIN}/21/X1?89=Y", "unknown_ai"),
        (f"https://id.gs1.org/gtin/{GTIN}/ser/X1", "convenience_alpha"),
    ],
)
def test_malformed_digital_links(uri: str, detail: str) -> None:
    error = refused(uri, "invalid_digital_link")
    assert error.detail == detail
    assert isinstance(error.__cause__, DigitalLinkError)
    assert error.__cause__.reason == detail


def test_serials_at_the_limit() -> None:
    assert parse_battery_id(f"https://a/01/{GTIN}/21/{'9' * 20}").serial == "9" * 20


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c["uri"][:60])
        for c in VECTORS["parse"]
        if c["valid"] and [ai for ai, _ in c["elements"]][:1] == ["01"]
    ],
)
def test_gs1_cases_with_a_gtin(case: dict[str, Any]) -> None:
    """Every valid GTIN case of the vectors: accepted with a serial, refused without."""
    elements = dict(case["elements"])
    path_serial = "21" in elements and "/21/" in case["uri"].split("?")[0]
    if path_serial:
        battery = parse_battery_id(case["uri"])
        assert (battery.gtin, battery.serial) == (elements["01"], elements["21"])
    else:
        refused(case["uri"], "no_serial")


# --- EPC pure identity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "gtin", "serial"),
    [
        ("urn:epc:id:sgtin:0614141.812345.6789", "80614141123458", "6789"),
        ("urn:epc:id:sgtin:0614141.012345.12345", "00614141123452", "12345"),
        ("urn:epc:id:sgtin:950600.0013435.X1", GTIN, "X1"),  # a 6-digit company prefix
        ("urn:epc:id:sgtin:950600013435.0.X1", GTIN, "X1"),  # a 12-digit one
        ("URN:EPC:ID:SGTIN:9506000.013435.X1", GTIN, "X1"),  # "urn" and the NID: any case
        ("urn:epc:id:sgtin:9506000.013435.a.b-c", GTIN, "a.b-c"),  # dots in the serial
        ("urn:epc:id:sgtin:9506000.013435.%22%25%26%2F%3C%3E%3F", GTIN, '"%&/<>?'),
        ("urn:epc:id:sgtin:9506000.013435.!'()*+,-.:;=_", GTIN, "!'()*+,-.:;=_"),
    ],
)
def test_epc_sgtin(uri: str, gtin: str, serial: str) -> None:
    battery = parse_battery_id(uri)
    assert (battery.scheme, battery.gtin, battery.serial) == ("epc-sgtin", gtin, serial)
    assert battery.key == f"https://id.gs1.org/01/{gtin}/21/{quote(serial, safe='')}"


@pytest.mark.parametrize(
    "uri",
    [
        "urn:epc:id:sgtin:9506000.013435",  # no serial part
        "urn:epc:id:sgtin:9506000.013435.",  # an empty serial
        "urn:epc:id:sgtin:9506000.01343.X1",  # 12 digits
        "urn:epc:id:sgtin:9506000.0134351.X1",  # 14 digits
        "urn:epc:id:sgtin:95060.00134352.X1",  # a 5-digit company prefix
        "urn:epc:id:sgtin:9506000.01343A.X1",
        "urn:epc:id:sgtin:9506000.013435.A/B",  # "/" must be escaped
        "urn:epc:id:sgtin:9506000.013435.A?B",
        "urn:epc:id:sgtin:9506000.013435.A%2",  # a broken escape
        "urn:epc:id:sgtin:9506000.013435.A%20B",  # a space is not in set 82
        "urn:epc:id:sgtin:9506000.013435.A%C3%A9",
        "urn:epc:id:sgtin:9506000.013435.A B",
        "urn:epc:id:sgtin:9506000.013435.A~B",
        "urn:epc:id:sgtin:9506000.013435." + "S" * 21,
    ],
)
def test_bad_epc_sgtin(uri: str) -> None:
    refused(uri, "invalid_epc_uri")


def test_other_epc_uris_are_refused() -> None:
    refused("urn:epc:id:giai:0614141.12345400", "unsupported_key")
    refused("urn:epc:id:sscc:0614141.1234567890", "unsupported_key")


# --- ISO/IEC 15459 -----------------------------------------------------------------------


def test_iso15459() -> None:
    battery = parse_battery_id("25SUN043325711MH8031200000000001")
    assert battery == BatteryId(
        text="25SUN043325711MH8031200000000001",
        scheme="iso15459",
        gtin=None,
        serial=None,
        key="25SUN043325711MH8031200000000001",
    )
    assert parse_battery_id("25SLHABC1").key == "25SLHABC1"
    assert len(parse_battery_id("25S" + "A" * 50).key) == 53


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("25SUN0433-25711", "'-'"),
        ("25Sun043325711MH1", "'u'"),
        ("25SUN", "3 to 50"),
        ("25S" + "A" * 51, "3 to 50"),
        ("25S0614141X1", "GS1"),  # issuing agency codes 0-9 are GS1's
    ],
)
def test_bad_iso15459(text: str, said: str) -> None:
    assert said in str(refused(text, "invalid_iso15459"))


# --- Anything else -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        (f" https://id.gs1.org/01/{GTIN}/21/X1", "whitespace"),
        (f"https://id.gs1.org/01/{GTIN}/21/X1\n", "whitespace"),
        ("SN-0001", "unsupported_scheme"),
        ("urn:battery:SN-0001", "unsupported_scheme"),
        (f"(01){GTIN}(21)X1", "unsupported_scheme"),
        (f"ftp://id.gs1.org/01/{GTIN}/21/X1", "unsupported_scheme"),
        ("25sUN043325711MH1", "unsupported_scheme"),
    ],
)
def test_refused(text: str, reason: str) -> None:
    refused(text, reason)


def test_not_text() -> None:
    with pytest.raises(BatteryIdError) as caught:
        parse_battery_id(42)  # type: ignore[arg-type]
    assert caught.value.reason == "not_text"
    assert isinstance(caught.value, ValueError)


# --- GTIN helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "check"),
    [("0950600013435", "2"), ("950600013435", "2"), ("12345678901", "2"), ("9638507", "4")],
)
def test_gtin_check_digit(digits: str, check: str) -> None:
    assert gtin_check_digit(digits) == check
    assert is_valid_gtin(digits + check)
    assert not is_valid_gtin(digits + str((int(check) + 1) % 10))


@pytest.mark.parametrize(
    "digits", ["", "123456", "12345678", "1234567890", "12345678901234", "12a4567"]
)
def test_gtin_check_digit_refuses_other_lengths(digits: str) -> None:
    with pytest.raises(ValueError, match="7, 11, 12 or 13"):
        gtin_check_digit(digits)


@pytest.mark.parametrize(
    "text",
    ["", "9506000134352 ", "950600013435", "095060001343521", "0950600013435X", "٠٩٥٠٦٠٠٠١٣٤٣٥٢"],
)
def test_not_gtins(text: str) -> None:
    assert not is_valid_gtin(text)


# --- Round trip ----------------------------------------------------------------------------


@st.composite
def sgtins(draw: st.DrawFn) -> tuple[str, str, str]:
    """A GTIN as written (8, 12, 13 or 14 digits), its 14-digit form and a serial."""
    length = draw(st.sampled_from((8, 12, 13, 14)))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    written = body + gtin_check_digit(body)
    serial = draw(st.text(alphabet=sorted(SET_82), min_size=1, max_size=20))
    return written, written.zfill(14), serial


@settings(max_examples=examples(300))
@given(sgtin=sgtins(), host=st.sampled_from(("id.gs1.org", "a.example", "b.example/p")))
def test_round_trip(sgtin: tuple[str, str, str], host: str) -> None:
    """GTIN + serial -> Digital Link URI and EPC URI -> parse: the same values, one key."""
    written, gtin, serial = sgtin
    link = parse_battery_id(f"https://{host}/01/{written}/21/{quote(serial, safe='')}")
    assert (link.gtin, link.serial) == (gtin, serial)
    for prefix_length in (6, 9, 12):
        company, item = gtin[1 : 1 + prefix_length], gtin[0] + gtin[1 + prefix_length : 13]
        epc = parse_battery_id(f"urn:epc:id:sgtin:{company}.{item}.{quote(serial, safe='')}")
        assert (epc.gtin, epc.serial) == (gtin, serial)
        assert epc.same_battery(link)
    assert parse_battery_id(link.key).same_battery(link)

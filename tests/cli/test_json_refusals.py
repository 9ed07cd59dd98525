"""Issue 14, "every refusal is typed": JSON that enters ``bpl`` goes through the strict
parser (``signing.json_input``), so what it refuses exits 2 with one line naming the rule
and where, never "internal error": lone surrogate escapes in documents (8), and the
values of ``bpl record new --set`` (9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.core import records

runner = CliRunner()
PASSPORT = "urn:bpl:passport:7c9e6679-7425-40de-944b-e07fc1f90ae7"
NOT_TEXT = ": not a Unicode character (UTF-8 cannot encode it)"


def bpl(*args: str | Path, input: str | None = None) -> Any:
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    assert bpl("keys", "new", "--out", path).exit_code == 0
    return path


def assert_refused(result: Any, message: str) -> None:
    """Exit 2, nothing on stdout, ``message`` as the one line on stderr."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"bpl: {message}\n"


def record_new(key_file: Path, *args: str | Path, kind: str = "StatusChange") -> Any:
    """``bpl record new KIND`` signed offline (sequence 1), with ``args``."""
    return bpl(
        "record",
        "new",
        kind,
        "--passport",
        PASSPORT,
        "--key",
        key_file,
        "--sequence",
        "1",
        "--previous",
        "sha256:" + "a" * 64,
        *args,
    )


# --- 8: lone surrogates, in any document ---------------------------------------------------


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ('{"name": "\\ud800"}', "\\ud800 at line 1 column 11"),
        (
            '{"record": {"id": "urn:x:1"}, "disclosures": [{"reason": "\\ud800"}]}',
            "\\ud800 at line 1 column 59",
        ),
        ('{"id": "urn:x:1",\n "\\uDC00": 1}', "\\uDC00 at line 2 column 3"),  # in a key
    ],
)
@pytest.mark.parametrize("verb", ["sign", "verify"])
def test_a_lone_surrogate_escape_is_refused_naming_where(
    tmp_path: Path, key_file: Path, verb: str, document: str, where: str
) -> None:
    path = tmp_path / "doc.json"
    path.write_text(document)
    args = ["sign", "--key", key_file, path] if verb == "sign" else ["verify", path]
    assert_refused(bpl(*args), f"{path}: lone surrogate escape {where}{NOT_TEXT}")


def test_a_submission_whose_disclosure_holds_a_lone_surrogate(key_file: Path) -> None:
    """The report: sign printed "internal error (UnicodeEncodeError)" (it signs the record,
    then could not print the disclosure), and verify passed it (disclosures are not
    signed). A surrogate pair, one character, is still accepted."""
    disclosure = {"group": "legitimate-interest", "r": "\U0001f600"}
    digest = records.digest(records.canonical(disclosure))
    record = {"id": "urn:x:1", "credentialSubject": {"disclosures": {disclosure["group"]: digest}}}
    made = bpl("sign", "--key", key_file, "-", input=json.dumps(record))
    assert made.exit_code == 0, made.stderr
    sent = [{"group": disclosure["group"], "r": "x"}]
    text = json.dumps({"record": json.loads(made.stdout), "disclosures": sent}, indent=1)
    broken = text.replace('"x"', '"\\udfff \\ud83d\\ude00"')  # a lone low half, then a pair
    for args in (("sign", "--key", key_file, "-"), ("verify", "-")):
        assert_refused(
            bpl(*args, input=broken),
            f"stdin: lone surrogate escape \\udfff at line 21 column 10{NOT_TEXT}",
        )
    paired = text.replace('"x"', '"\\ud83d\\ude00"')
    assert bpl("verify", "-", input=paired).exit_code == 0
    other = key_file.with_name("other.json")  # a proof set takes each signer once
    assert bpl("keys", "new", "--out", other).exit_code == 0
    countersigned = bpl("sign", "--key", other, "-", input=paired)
    assert countersigned.exit_code == 0, countersigned.stderr
    assert json.loads(countersigned.stdout)["disclosures"] == [disclosure]


def test_record_new_refuses_a_lone_surrogate_in_its_data_file(
    tmp_path: Path, key_file: Path
) -> None:
    data = tmp_path / "fields.json"
    data.write_text('{"status": "waste", "reason": "\\ud800"}')
    assert_refused(
        record_new(key_file, "--data", data),
        f"{data}: lone surrogate escape \\ud800 at line 1 column 32{NOT_TEXT}",
    )


@pytest.mark.parametrize("verb", [("keys", "show"), ("sign", "--key")])
def test_a_key_file_is_parsed_strictly(tmp_path: Path, verb: tuple[str, str]) -> None:
    """A key file nested 50,000 deep was "internal error (RecursionError)"."""
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 50_000)
    path.chmod(0o600)
    doc = tmp_path / "doc.json"
    doc.write_text("{}")
    result = bpl(*verb, path, *([doc] if verb[0] == "sign" else []))
    assert_refused(result, f"key file {path}: JSON nested deeper than 100 levels")


# --- 9: the values of record new --set ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[" * 50_000 + "]" * 50_000, "JSON nested deeper than 100 levels"),
        ("[" * 50_000, "JSON nested deeper than 100 levels"),
        ('{"a": 1, "a": 2}', "duplicate key 'a' in a JSON object"),
        ('{"a": [{"b": 1, "b": 1}]}', "duplicate key 'b' in a JSON object"),
        ('"\\ud800"', "lone surrogate escape \\ud800 at line 1 column 2" + NOT_TEXT),
        (
            "9007199254740993",
            "integer 9007199254740993 is beyond 2^53 and would lose "
            "precision in JSON (write it as a string)",
        ),
        ("1e400", "number 1e400 is too large for a JSON number (IEEE 754)"),
        ("NaN", "NaN is not a JSON number"),
        ("\udcff", "the value is not UTF-8 text"),  # a byte that is not UTF-8, in argv
    ],
)
def test_record_new_refuses_set_values_the_strict_parser_refuses(
    key_file: Path, value: str, message: str
) -> None:
    assert_refused(record_new(key_file, "--set", f"status={value}"), f"--set 'status': {message}")


def test_record_new_takes_set_values_as_json_or_else_as_text(key_file: Path) -> None:
    parties = (
        "--set",
        "from=did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "--set",
        'to="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"',
        "--set",
        "reason=sale",
    )
    made = record_new(key_file, *parties, kind="CustodyTransfer")
    assert made.exit_code == 0, made.output
    subject = json.loads(made.stdout)["record"]["credentialSubject"]
    assert subject["from"] == subject["to"]  # text, and the same as a JSON string
    # JSON: an object, which the schema then refuses for a place (issue 15, item 7).
    place = 'place={"why": ["sale", 2, 2.5, true, null, "\\ud83d\\ude00"]}'
    refused = record_new(key_file, *parties, "--set", place, kind="CustodyTransfer")
    assert_refused(
        refused,
        'CustodyTransfer: place: {"why":["sale",2,2.5,true,null,"\U0001f600"]} is not of type '
        '"string"',
    )
    for text in ("Lyon, FR", "2031-05-02", "[draft", '{"a": 1,'):  # not JSON: the text
        made = record_new(key_file, *parties, "--set", f"place={text}", kind="CustodyTransfer")
        assert made.exit_code == 0, made.output
        assert json.loads(made.stdout)["disclosures"][0]["place"] == text

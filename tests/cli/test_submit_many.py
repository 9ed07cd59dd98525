"""``bpl submit`` of many records at once (issue 15): a JSON-lines file, standard input as
JSON lines, or a directory of submissions, appended with ``Ledger.append_many`` a batch at
a time; receipts alone on stdout, one per line; progress on stderr; a batch all or
nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import output
from cli.main import app
from ledger.facade import Ledger
from signing import keys
from tests.ledger.world import MANUFACTURED, World

runner = CliRunner()


def bpl(*args: str | Path, input: str | None = None) -> Any:
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def passport(number: int) -> str:
    return f"urn:bpl:passport:00000000-0000-4000-8000-{number:012d}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = tmp_path / "home"
    assert bpl("init", "--data-dir", data).exit_code == 0
    return data


@pytest.fixture
def world(home: Path) -> Any:
    """The ledger in ``home`` with a registered manufacturer, to build submissions with."""
    ledger = Ledger.open(home)
    made = World(ledger, keys.load(home / "operator.json"))
    made.add("maker", "manufacturer")
    yield made
    ledger.close()


def issued(world: World, count: int) -> list[dict[str, Any]]:
    """``count`` PassportIssued submissions of new passports, signed, not appended."""
    return [world.issued_record(passport(n)) for n in range(1, count + 1)]


def stranger_issued(world: World, number: int) -> dict[str, Any]:
    """A PassportIssued signed by a key the ledger does not know (rule ``signer``)."""
    stranger = keys.generate()
    public = dict(MANUFACTURED, manufacturer=stranger.did)
    restricted = {"legitimate-interest": {"status": "original"}}
    return world.record("PassportIssued", passport(number), stranger, public, restricted)


def json_lines(path: Path, submissions: list[Any]) -> Path:
    path.write_text(
        "".join(json.dumps(s) + "\n" + ("\n" if n == 2 else "") for n, s in enumerate(submissions))
    )  # a blank line after the third: skipped
    return path


def receipts(stdout: str) -> list[dict[str, Any]]:
    lines = stdout.splitlines()
    return [json.loads(line) for line in lines]


def chain_length(home: Path, number: int) -> int:
    shown = bpl("chain", passport(number), "--data-dir", home)
    return len(json.loads(shown.stdout)) if shown.exit_code == 0 else 0


def test_a_json_lines_file_in_batches(world: World, home: Path, tmp_path: Path) -> None:
    submissions = issued(world, 7)
    source = json_lines(tmp_path / "records.jsonl", submissions)
    done = bpl("submit", source, "--batch-size", "3", "--data-dir", home)
    assert done.exit_code == 0, done.output
    got = receipts(done.stdout)  # stdout: the receipts, one a line, and nothing else
    assert [r["subject"] for r in got] == [passport(n) for n in range(1, 8)]
    assert [r["leafIndex"] for r in got] == list(
        range(got[0]["leafIndex"], got[0]["leafIndex"] + 7)
    )
    assert [r["treeSize"] for r in got] == [got[2]["treeSize"]] * 3 + [got[5]["treeSize"]] * 3 + [
        got[6]["treeSize"]
    ]  # a checkpoint per batch of three
    assert done.stderr.splitlines()[-1] == "bpl: 7 records appended"
    assert json.loads(bpl("audit", "--data-dir", home, "--json").stdout)["ok"] is True


def test_standard_input_as_json_lines(world: World, home: Path) -> None:
    text = "".join(json.dumps(s) + "\n" for s in issued(world, 3))
    done = bpl("submit", "-", "--lines", "--data-dir", home, input=text)
    assert done.exit_code == 0, done.output
    assert [r["subject"] for r in receipts(done.stdout)] == [passport(n) for n in (1, 2, 3)]


def test_a_directory_of_submissions_in_name_order(world: World, home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    for n, submission in enumerate(issued(world, 4), 1):
        (folder / f"{5 - n:02d}.json").write_text(json.dumps(submission, indent=2))
    (folder / "notes.txt").write_text("not a submission")
    done = bpl("submit", folder, "--data-dir", home)
    assert done.exit_code == 0, done.output
    assert [r["subject"] for r in receipts(done.stdout)] == [passport(n) for n in (4, 3, 2, 1)]


def test_a_refused_record_refuses_its_batch_and_a_retry_finishes(
    world: World, home: Path, tmp_path: Path
) -> None:
    """Batches of three, the fifth record refused: the first batch stays (its receipts on
    stdout), nothing of the second or third is stored; fixed, the same command appends the
    rest and gives the first batch's receipts again, storing nothing twice."""
    good = issued(world, 7)
    source = json_lines(
        tmp_path / "records.jsonl", [*good[:4], stranger_issued(world, 5), *good[5:]]
    )
    refused = bpl("submit", source, "--batch-size", "3", "--data-dir", home)
    assert refused.exit_code == 1
    first = receipts(refused.stdout)
    assert [r["subject"] for r in first] == [passport(n) for n in (1, 2, 3)]
    assert f"bpl: refused: {source} line 6: signer: " in refused.stderr  # line 4 is blank
    assert [chain_length(home, n) for n in range(1, 8)] == [1, 1, 1, 0, 0, 0, 0]

    json_lines(source, good)
    done = bpl("submit", source, "--batch-size", "3", "--data-dir", home)
    assert done.exit_code == 0, done.output
    again = receipts(done.stdout)
    assert [(r["recordHash"], r["leafIndex"]) for r in again[:3]] == [
        (r["recordHash"], r["leafIndex"]) for r in first
    ]
    assert [chain_length(home, n) for n in range(1, 8)] == [1] * 7


def test_a_refusal_in_json_is_one_line_naming_its_source(
    world: World, home: Path, tmp_path: Path
) -> None:
    source = json_lines(tmp_path / "records.ndjson", [*issued(world, 1), stranger_issued(world, 2)])
    refused = bpl("submit", source, "--json", "--data-dir", home)
    assert refused.exit_code == 1
    last = refused.stdout.splitlines()[-1]
    error = json.loads(last)["error"]
    assert error["rule"] == "signer" and error["index"] == 1
    assert error["source"] == f"{source} line 2"
    assert refused.stdout.splitlines()[:-1] == []  # the batch of two: nothing appended


def test_a_line_that_is_no_record_exits_2(world: World, home: Path, tmp_path: Path) -> None:
    source = tmp_path / "records.jsonl"
    source.write_text(json.dumps(issued(world, 1)[0]) + "\n{not json\n")
    refused = bpl("submit", source, "--data-dir", home)
    assert refused.exit_code == 2
    assert f"refused: {source} line 2: parse: " in refused.stderr
    assert chain_length(home, 1) == 0


def test_nothing_to_submit_exits_2(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert bpl("submit", empty, "--data-dir", home).exit_code == 2
    folder = tmp_path / "none"
    folder.mkdir()
    nothing = bpl("submit", folder, "--data-dir", home)
    assert nothing.exit_code == 2
    assert "holds no submission" in nothing.stderr


def test_progress_on_stderr(
    world: World, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "PROGRESS_SECONDS", 0.0)
    source = json_lines(tmp_path / "records.jsonl", issued(world, 5))
    done = bpl("submit", source, "--batch-size", "2", "--data-dir", home)
    assert done.exit_code == 0, done.output
    said = done.stderr.splitlines()
    for count in ("2", "4", "5"):
        assert f"bpl: {count} records appended..." in said
    assert len(receipts(done.stdout)) == 5


def test_one_submission_prints_its_receipt_as_before(
    world: World, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(issued(world, 1)[0]))
    done = bpl("submit", path, "--data-dir", home)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["subject"] == passport(1)
    assert done.stdout.startswith("{\n")  # the receipt as a document, as before


def test_the_help_says_a_batch_is_all_or_nothing() -> None:
    shown = bpl("submit", "--help")
    text = " ".join(shown.stdout.split())
    assert "A batch (--batch-size records) is all-or-nothing" in text
    assert "the batches before it stay appended" in text

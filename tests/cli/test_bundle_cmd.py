"""``bpl export`` and ``bpl verify BUNDLE --log-key``: the operator exports a passport's
evidence bundle (as the public, or for a role), a regulator verifies it offline; --since
proves the log grew from a checkpoint kept; exit 0 verified, 1 not (with the reason), 2
unusable input; a failed export writes no file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.documents import BUNDLE_TYPE
from cli.main import app
from ledger import bundle
from ledger.demo import run_demo
from ledger.facade import Ledger
from signing import keys, note

runner = CliRunner()


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@dataclass(frozen=True)
class Home:
    data: Path
    passport: str
    log_pub: Path
    operator: keys.KeyPair


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A demo ledger in a data directory (SQLite), closed: the verbs open it."""
    data = tmp_path_factory.mktemp("bundle-cli") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        operator = keys.generate()
        ledger = Ledger.init(data, operator)
        try:
            run_demo(ledger, operator, batteries=3, seed=17)
            passport = next(
                p.subject_id
                for actor in ledger.actors()
                for p in ledger.passports_by_manufacturer(actor.did, limit=1000)
                if any(r["type"][1] == "PassportSucceeded" for r in ledger.chain(p.subject_id))
            )
        finally:
            ledger.close()
        yield Home(data, passport, data / "log.pub", operator)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_export_then_verify(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    exported = bpl("export", home.passport, "--out", out, "--data-dir", home.data, "--json")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["readerRoles"] == []
    document = json.loads(out.read_text())
    assert document["type"] == BUNDLE_TYPE == bundle.TYPE
    assert not any(entry.get("disclosures") for entry in document["records"])  # the public's
    verified = bpl("verify", out, "--log-key", home.log_pub)
    assert verified.exit_code == 0, verified.output
    assert "bundle verified" in verified.stderr
    as_json = bpl("verify", out, "--log-key", home.log_pub, "--json")
    report = json.loads(as_json.stdout)
    assert report["verified"] is True and report["error"] is None
    assert report["passport"] == home.passport and report["withheld"] > 0


def test_an_authority_gets_its_groups(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    args = ("export", home.passport, "-o", out, "--data-dir", home.data)
    assert bpl(*args, "--for-role", "market-surveillance").exit_code == 0
    groups = {
        d["group"]
        for entry in json.loads(out.read_text())["records"]
        for d in entry.get("disclosures", [])
    }
    assert "business" in groups and "performance" not in groups
    assert bpl("verify", out, "--log-key", home.log_pub).exit_code == 0


def test_a_tampered_bundle_fails_with_the_reason(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    assert bpl("export", home.passport, "-o", out, "--data-dir", home.data).exit_code == 0
    document = json.loads(out.read_text())
    entry = next(e for e in document["records"] if e["record"]["type"][1] == "CustodyTransfer")
    entry["record"]["validFrom"] = "2020-01-01T00:00:00Z"
    out.write_text(json.dumps(document))
    failed = bpl("verify", out, "--log-key", home.log_pub, "--json")
    assert failed.exit_code == 1
    report = json.loads(failed.stdout)
    assert report["verified"] is False
    assert {"inclusion", "proof"} <= {f["rule"] for f in report["failures"]}
    assert f"record at leaf {entry['leafIndex']}: " in failed.stderr


def test_since_proves_the_log_grew_from_a_checkpoint_kept(home: Home, tmp_path: Path) -> None:
    ledger = Ledger.open(home.data)
    try:
        kept = tmp_path / "checkpoint.txt"
        kept.write_text(ledger.log.checkpoint())
        ledger.register_actor(home.operator, keys.generate().did, ["test-lab"], name="Lab")
    finally:
        ledger.close()
    out = tmp_path / "bundle.json"
    args = ("export", home.passport, "-o", out, "--data-dir", home.data, "--since", kept)
    assert bpl(*args).exit_code == 0
    assert "consistency" in json.loads(out.read_text())
    verified = bpl("verify", out, "--log-key", home.log_pub, "--since", kept)
    assert verified.exit_code == 0, verified.output
    assert "the log grew from size" in verified.stderr
    signer, _ = note.generate("another.example/log")
    other = tmp_path / "other.txt"
    other.write_text(note.sign(kept.read_text().split("\n\n")[0] + "\n", [signer]))
    assert bpl("verify", out, "--log-key", home.log_pub, "--since", other).exit_code == 1
    assert bpl(*args[:-1], other).exit_code == 2  # not a checkpoint of this log


def test_unusable_input_and_failed_exports_write_nothing(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    unknown = bpl("export", "urn:bpl:passport:nobody", "-o", out, "--data-dir", home.data)
    assert unknown.exit_code == 1
    role = bpl("export", home.passport, "-o", out, "--data-dir", home.data, "--for-role", "x")
    assert role.exit_code == 2
    assert not out.exists() and not list(tmp_path.iterdir())
    assert bpl("export", home.passport, "-o", out, "--data-dir", home.data).exit_code == 0
    assert bpl("verify", out).exit_code == 2  # a bundle needs --log-key
    document = json.loads(out.read_text())
    document["records"] = "none"
    out.write_text(json.dumps(document))
    assert bpl("verify", out, "--log-key", home.log_pub).exit_code == 2

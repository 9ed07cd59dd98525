"""``bpl log``: init, checkpoints, proofs, offline verification, audit, and bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from ledger.datadir import DataDir
from ledger.errors import LedgerError
from ledger.log import merkle
from ledger.storage import database as store

runner = CliRunner()
ORIGIN = "cli.bpl.example/log"


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def new_log(tmp_path: Path) -> Path:
    """An initialized log in tmp_path/data with 5 leaves in batches of 2 and 3; its
    verifier key in tmp_path/log.pub."""
    path = tmp_path / "data"
    result = bpl("log", "init", "--data-dir", path, "--origin", ORIGIN)
    assert result.exit_code == 0, result.output
    (tmp_path / "log.pub").write_text(result.stdout)
    log = DataDir(path).open_log(writable=True)
    log.append([b"leaf 0", b"leaf 1"])
    log.append([b"leaf 2", b"leaf 3", b"leaf 4"])
    log.engine.dispose()
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The log of :func:`new_log`, in its data directory's SQLite database."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return new_log(tmp_path)


def save(tmp_path: Path, name: str, result: Any) -> Path:
    assert result.exit_code == 0, result.output
    path = tmp_path / name
    path.write_text(result.stdout)
    return path


def test_help_on_every_log_verb() -> None:
    verbs = [
        "init",
        "checkpoint",
        "prove-inclusion",
        "prove-consistency",
        "verify-inclusion",
        "verify-consistency",
        "audit",
    ]
    for verb in verbs:
        result = bpl("log", verb, "--help")
        assert result.exit_code == 0
        assert "Usage" in result.stdout


def test_init_keeps_the_secret_private_and_prints_the_verifier_key(
    data_dir: Path, tmp_path: Path
) -> None:
    assert (data_dir / "log.key").stat().st_mode & 0o777 == 0o600
    verifier = (tmp_path / "log.pub").read_text().strip()
    assert verifier.startswith(ORIGIN + "+")
    assert verifier == (data_dir / "log.pub").read_text().strip()
    again = bpl("log", "init", "--data-dir", data_dir)
    assert again.exit_code == 2
    assert "already holds a log" in again.stderr


def test_inclusion_round_trip_and_tampering(data_dir: Path, tmp_path: Path) -> None:
    checkpoint = save(tmp_path, "cp.txt", bpl("log", "checkpoint", "--data-dir", data_dir))
    assert checkpoint.read_text().startswith(f"{ORIGIN}\n5\n")
    leaf = tmp_path / "leaf.bin"
    leaf.write_bytes(b"leaf 3")
    proof = save(
        tmp_path, "p.json", bpl("log", "prove-inclusion", "--data-dir", data_dir, "--leaf", leaf)
    )
    pub = tmp_path / "log.pub"
    ok = bpl(
        "log",
        "verify-inclusion",
        proof,
        "--checkpoint",
        checkpoint,
        "--log-key",
        pub,
        "--leaf",
        leaf,
    )
    assert ok.exit_code == 0, ok.output
    assert "leaf 3 is in" in ok.stdout

    data = json.loads(proof.read_text())
    data["hashes"][0] = "00" * 32
    proof.write_text(json.dumps(data))
    bad = bpl("log", "verify-inclusion", proof, "--checkpoint", checkpoint, "--log-key", pub)
    assert bad.exit_code == 1
    assert "inclusion proof does not verify" in bad.stderr

    other = tmp_path / "other.bin"
    other.write_bytes(b"leaf 2")
    wrong_leaf = bpl(
        "log",
        "verify-inclusion",
        proof,
        "--checkpoint",
        checkpoint,
        "--log-key",
        pub,
        "--leaf",
        other,
    )
    assert wrong_leaf.exit_code == 1
    assert "is not the leaf the proof is about" in wrong_leaf.stderr


def test_a_proof_for_another_size_or_key_is_refused(data_dir: Path, tmp_path: Path) -> None:
    old = save(tmp_path, "old.txt", bpl("log", "checkpoint", "--data-dir", data_dir, "--size", "2"))
    proof = save(
        tmp_path, "p.json", bpl("log", "prove-inclusion", "--data-dir", data_dir, "--index", "1")
    )
    pub = tmp_path / "log.pub"
    mismatch = bpl("log", "verify-inclusion", proof, "--checkpoint", old, "--log-key", pub)
    assert mismatch.exit_code == 1
    assert "the proof is for tree size 5, the checkpoint for 2" in mismatch.stderr

    stranger = bpl("log", "init", "--data-dir", tmp_path / "other", "--origin", ORIGIN)
    wrong_key = bpl(
        "log", "verify-inclusion", proof, "--checkpoint", old, "--log-key", stranger.stdout.strip()
    )
    assert wrong_key.exit_code == 1
    assert "no signature by a known key" in wrong_key.stderr


def test_consistency_round_trip_and_a_forked_checkpoint(data_dir: Path, tmp_path: Path) -> None:
    old = save(tmp_path, "old.txt", bpl("log", "checkpoint", "--data-dir", data_dir, "--size", "2"))
    new = save(tmp_path, "new.txt", bpl("log", "checkpoint", "--data-dir", data_dir))
    proof = save(
        tmp_path, "c.json", bpl("log", "prove-consistency", "--data-dir", data_dir, "--old", "2")
    )
    pub = tmp_path / "log.pub"
    args = ["--old-checkpoint", old, "--new-checkpoint", new, "--log-key", pub]
    ok = bpl("log", "verify-consistency", proof, *args)
    assert ok.exit_code == 0, ok.output
    assert f"{ORIGIN}: size 5 extends size 2" in ok.stdout

    # The same log key signing a different history (a fork) is caught.
    forked_dir = tmp_path / "fork"
    forked_dir.mkdir()
    for name in ("log.key", "log.pub", "log.json"):
        (forked_dir / name).write_bytes((data_dir / name).read_bytes())
    os.chmod(forked_dir / "log.key", 0o600)
    fork = DataDir(forked_dir).open_log(writable=True)
    fork.append([])
    fork.append([b"leaf 0", b"leaf 1"])
    fork.append([b"leaf 2", b"rewritten", b"leaf 4"])
    fork.engine.dispose()
    forked = save(tmp_path, "forked.txt", bpl("log", "checkpoint", "--data-dir", forked_dir))
    bad = bpl(
        "log",
        "verify-consistency",
        proof,
        "--old-checkpoint",
        old,
        "--new-checkpoint",
        forked,
        "--log-key",
        pub,
    )
    assert bad.exit_code == 1
    assert "consistency proof does not verify" in bad.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "p.json: "),
        (
            '{"type": "consistency", "oldSize": 1, "newSize": 2, "hashes": []}',
            "not a inclusion proof",
        ),
        (
            '{"type": "inclusion", "leafIndex": -1, "treeSize": 5, "leafHash": "", "hashes": []}',
            "leafIndex must be a non-negative integer",
        ),
    ],
)
def test_malformed_proof_files_exit_2(
    data_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    checkpoint = save(tmp_path, "cp.txt", bpl("log", "checkpoint", "--data-dir", data_dir))
    proof = tmp_path / "p.json"
    proof.write_text(content)
    result = bpl(
        "log",
        "verify-inclusion",
        proof,
        "--checkpoint",
        checkpoint,
        "--log-key",
        tmp_path / "log.pub",
    )
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["prove-inclusion", "--index", "5"], "leaf index 5 is not in a tree of size 5"),
        (["prove-inclusion"], "give exactly one of --index, --leaf-hash, --leaf"),
        (["prove-inclusion", "--leaf-hash", "abc"], "--leaf-hash must be 64 hex characters"),
        (["prove-consistency", "--old", "6"], "old size 6 is not between 0 and 5"),
        (["checkpoint", "--size", "3"], "the log issued no checkpoint for size 3"),
    ],
)
def test_questions_the_log_cannot_answer_exit_2(
    data_dir: Path, args: list[str], message: str
) -> None:
    result = bpl("log", *args, "--data-dir", data_dir)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.parametrize("verb", ["checkpoint", "audit"])
def test_commands_on_a_missing_log_say_to_init(tmp_path: Path, verb: str) -> None:
    result = bpl("log", verb, "--data-dir", tmp_path / "nothing")
    assert result.exit_code == 2  # nothing to check: not a failed check
    assert "`bpl init` creates one (`bpl log init`: a bare transparency log)" in result.stderr


def test_audit_passes_then_fails_on_tampering(data_dir: Path) -> None:
    ok = bpl("log", "audit", "--data-dir", data_dir)
    assert ok.exit_code == 0, ok.output
    assert "log intact: 5 leaves" in ok.stdout
    log = DataDir(data_dir).open_log()
    with log.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE log_leaves SET data = x'00' WHERE idx = 2")
    log.engine.dispose()
    bad = bpl("log", "audit", "--data-dir", data_dir)
    assert bad.exit_code == 1
    assert "leaf 2 does not match its stored hash" in bad.stderr


def test_a_readable_log_key_is_refused_for_appending(data_dir: Path) -> None:
    os.chmod(data_dir / "log.key", 0o644)
    with pytest.raises(LedgerError, match="accessible by group or others"):
        DataDir(data_dir).open_log(writable=True)


@pytest.fixture
def stored(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The log of :func:`new_log`, its database at ``database_url`` (SQLite, PostgreSQL):
    the data directory reaches it through $DATABASE_URL, which is unset afterwards."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = new_log(tmp_path)
    monkeypatch.delenv("DATABASE_URL")
    return path


def by_directory(path: Path, url: str, *args: str | Path) -> Any:
    """``bpl log ARGS`` through the data directory, its database named by $DATABASE_URL."""
    return runner.invoke(
        app,
        ["log", *(str(a) for a in args), "--data-dir", str(path)],
        env={"DATABASE_URL": url},
        catch_exceptions=False,
    )


def tamper(url: str, sql: str, **params: Any) -> None:
    engine = store.create_engine(url, create=False)
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)
    engine.dispose()


def test_read_verbs_by_database_url_print_what_the_data_directory_prints(
    stored: Path, database_url: str, tmp_path: Path
) -> None:
    leaf = tmp_path / "leaf.bin"
    leaf.write_bytes(b"leaf 3")
    questions: list[list[str | Path]] = [
        ["checkpoint"],
        ["checkpoint", "--size", "2"],
        ["checkpoint", "--size", "0"],
        ["prove-inclusion", "--index", "1"],
        ["prove-inclusion", "--index", "1", "--size", "2"],
        ["prove-inclusion", "--leaf", leaf],
        ["prove-inclusion", "--leaf-hash", merkle.leaf_hash(b"leaf 4").hex()],
        ["prove-consistency", "--old", "2"],
        ["prove-consistency", "--old", "0", "--new", "2"],
        ["audit"],
    ]
    for args in questions:
        expected = by_directory(stored, database_url, *args)
        assert expected.exit_code == 0, (args, expected.output)
        alone = bpl("log", *args, "--database-url", database_url)
        assert alone.exit_code == 0, (args, alone.output)
        assert alone.stdout == expected.stdout, args
    unanswerable = ["prove-inclusion", "--index", "5"]
    expected = by_directory(stored, database_url, *unanswerable)
    alone = bpl("log", *unanswerable, "--database-url", database_url)
    assert (alone.exit_code, alone.stderr) == (expected.exit_code, expected.stderr)
    assert alone.exit_code == 2 and "not in a tree of size 5" in alone.stderr

    # What the URL gave verifies offline with the log's published key.
    checkpoint = save(tmp_path, "cp.txt", bpl("log", "checkpoint", "--database-url", database_url))
    assert checkpoint.read_text().startswith(f"{ORIGIN}\n5\n")
    proof = save(
        tmp_path,
        "p.json",
        bpl("log", "prove-inclusion", "--leaf", leaf, "--database-url", database_url),
    )
    pub = tmp_path / "log.pub"
    args = ["--checkpoint", checkpoint, "--log-key", pub, "--leaf", leaf]
    ok = bpl("log", "verify-inclusion", proof, *args)
    assert ok.exit_code == 0, ok.output
    assert f"leaf 3 is in {ORIGIN} at size 5" in ok.stdout


def test_log_audit_by_database_url_fails_on_a_tampered_leaf(
    stored: Path, database_url: str
) -> None:
    ok = bpl("log", "audit", "--database-url", database_url)
    assert ok.exit_code == 0, ok.output
    assert "log intact: 5 leaves" in ok.stdout
    tamper(database_url, "UPDATE log_leaves SET data = :d WHERE idx = 2", d=b"!")
    bad = bpl("log", "audit", "--database-url", database_url)
    assert bad.exit_code == 1
    assert "audit failed: leaf 2 does not match its stored hash" in bad.stderr
    assert by_directory(stored, database_url, "audit").stderr == bad.stderr


def test_checkpoints_by_database_url_are_checked_with_the_recorded_key(
    stored: Path, database_url: str, tmp_path: Path
) -> None:
    # The latest checkpoint swapped for an older one, validly signed: not the one of size 5.
    older = bpl("log", "checkpoint", "--size", "2", "--database-url", database_url).stdout
    tamper(database_url, "UPDATE log_checkpoints SET note = :n WHERE size = 5", n=older)
    swapped = bpl("log", "checkpoint", "--database-url", database_url)
    assert swapped.exit_code == 1
    assert "the log's checkpoint for size 5 is one of size 2" in swapped.stderr
    assert swapped.stdout == ""
    audit = bpl("log", "audit", "--database-url", database_url)
    assert audit.exit_code == 1
    assert "audit failed: the log's checkpoint for size 5 is one of size 2" in audit.stderr

    # The database now records another key under the log's name: its own checkpoints fail.
    stranger = bpl("log", "init", "--data-dir", tmp_path / "other", "--origin", ORIGIN)
    tamper(database_url, "UPDATE log_identity SET verifier_key = :k", k=stranger.stdout.strip())
    for args in (["checkpoint", "--size", "2"], ["audit"]):
        result = bpl("log", *args, "--database-url", database_url)
        assert result.exit_code == 1, args
        assert "no signature by a known key" in result.stderr
    refused = by_directory(stored, database_url, "checkpoint")  # log.pub is not that key
    assert refused.exit_code == 2
    assert "its verifier key differs from this data directory's log.pub" in refused.stderr


@pytest.mark.parametrize(
    "verb",
    [
        ["checkpoint"],
        ["prove-inclusion", "--index", "0"],
        ["prove-consistency", "--old", "1"],
        ["audit"],
    ],
)
def test_database_url_refusals(data_dir: Path, tmp_path: Path, verb: list[str]) -> None:
    url = f"sqlite:///{data_dir / 'ledger.db'}"
    both = bpl("log", *verb, "--database-url", url, "--data-dir", data_dir)
    assert both.exit_code == 2
    assert "bpl: give --data-dir or --database-url, not both" in both.stderr
    path_only = bpl("log", *verb, "--database-url", data_dir / "ledger.db")
    assert path_only.exit_code == 2
    assert (
        "bpl: --database-url takes a URL: postgresql://... or sqlite:////path/ledger.db"
        in path_only.stderr
    )
    missing = bpl("log", *verb, "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.exit_code == 2
    assert "no database file" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    secret = "postgresql://postgres:s3cret@127.0.0.1:5432/bpl_no_such_database"
    unreachable = bpl("log", *verb, "--database-url", secret)
    assert unreachable.exit_code == 2
    assert unreachable.stderr.startswith("bpl: ") and "s3cret" not in unreachable.output


def test_log_init_takes_no_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = bpl("log", "init", "--data-dir", tmp_path / "data", "--database-url", url)
    assert result.exit_code == 2
    assert "No such option: --database-url" in result.stderr
    assert not (tmp_path / "data").exists()

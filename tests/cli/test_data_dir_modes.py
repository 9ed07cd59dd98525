"""Every verb that creates a data directory's database (``bpl init``, ``bpl log init``,
``bpl demo``) or opens it leaves the directory 0700 and its files 0600, whatever existed
before and whatever the umask, and says on stderr what it tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
CREATORS = [["init"], ["log", "init"], ["demo", "--batteries", "1"]]


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("verb", CREATORS, ids=" ".join)
def test_creating_in_an_existing_directory_tightens_it_and_writes_private_files(
    tmp_path: Path, verb: list[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    result = bpl(*verb, "--data-dir", data)
    assert result.exit_code == 0, result.stderr
    assert f"bpl: tightened {data} from 0755 to 0700\n" in result.stderr
    assert mode(data) == 0o700
    files = {entry.name: mode(entry) for entry in data.iterdir()}
    assert {"ledger.db", "log.key", "log.json", "log.pub"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


@pytest.mark.parametrize("verb", CREATORS, ids=" ".join)
def test_creating_a_new_directory_says_nothing_of_modes(tmp_path: Path, verb: list[str]) -> None:
    data = tmp_path / "new" / "data"
    result = bpl(*verb, "--data-dir", data)
    assert result.exit_code == 0, result.stderr
    assert "tightened" not in result.stderr
    assert mode(data) == 0o700
    assert {mode(entry) for entry in data.iterdir()} == {0o600}


def test_opening_tightens_a_database_others_could_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert bpl("init", "--data-dir", data).exit_code == 0
    data.chmod(0o755)
    (data / "ledger.db").chmod(0o644)  # as an older bpl left it
    result = bpl("audit", "--data-dir", data)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"bpl: tightened {data} from 0755 to 0700",
        f"bpl: tightened {data / 'ledger.db'} from 0644 to 0600",
    ]
    assert (mode(data), mode(data / "ledger.db")) == (0o700, 0o600)
    assert bpl("audit", "--data-dir", data).stderr == ""  # nothing left to say

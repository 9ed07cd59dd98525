"""The README's examples run as written (the shell ones through the installed ``bpl``)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.facade import Ledger

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def run_shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    # The venv is already active in the test run; `make` would only rebuild it.
    lines = [line for line in script.splitlines() if not line.startswith((". .venv", "make "))]
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_readme_has_the_examples_we_test():
    # make run/test, sign and verify, the W3C vector, a dismantler's session, the
    # service, the log
    assert len(SHELL_BLOCKS) == 6
    assert len(PYTHON_BLOCKS) == 1


def test_sign_and_verify_walkthrough(tmp_path: Path):
    result = run_shell(SHELL_BLOCKS[1], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "all proofs verify" in result.stdout
    assert '"verified": true' in result.stdout


def test_w3c_vector_example_prints_the_signed_vector(tmp_path: Path):
    script = SHELL_BLOCKS[2].replace("/tmp/w3c-key.json", str(tmp_path / "w3c-key.json"))
    result = run_shell(script, ROOT)
    assert result.returncode == 0, result.stderr
    signed = ROOT / "tests/vectors/vc-di-eddsa/eddsa-jcs-2022/signedJCS.json"
    assert result.stdout == signed.read_text(encoding="utf-8") + "\n"


def test_python_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON_BLOCKS[0], "README.md", "exec"), {})
    assert (tmp_path / "key.json").exists()


def test_dismantler_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = run_shell(SHELL_BLOCKS[3], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"ok": true') == 2  # chain --verify and audit
    receipt = json.loads((tmp_path / "receipt.json").read_text())
    assert receipt["sequence"] == 0 and receipt["inclusionProof"] is not None
    assert (tmp_path / "ledger-home" / "operator.json").stat().st_mode & 0o777 == 0o600
    ledger = Ledger.open(tmp_path / "ledger-home")
    leaves = b"".join(ledger.log.leaves(0, ledger.log.size()))
    ledger.engine.dispose()
    assert b'"reason"' not in leaves and b'"status"' not in leaves  # digests only
    assert b'"soce"' not in leaves and b'"grade"' not in leaves
    assert "graded reuse under bpl-default version 1" in result.stderr
    # A private person's name and address are in a disclosure; an organisation's public.
    assert b"Jan Kowalski" not in leaves and b"ul. Polna" not in leaves
    assert b"Yard Recovery" in leaves
    # v2: the model's restricted points in digests only, the battery found by any form of its id.
    assert b'"composition"' not in leaves and b'"complianceReports"' not in leaves
    assert b'"capacityFade"' not in leaves and b'"modelName"' in leaves
    assert "battery https://id.gs1.org/01/9506000134352/21/SN-0001\n" in result.stdout
    assert "  live passport: urn:bpl:passport:5b0e6a1c-" in result.stdout
    assert "model https://id.example.com/01/09506000134352 by did:key:" in result.stdout


def test_transparency_log_walkthrough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = run_shell(SHELL_BLOCKS[5], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "leaf 1 is in bpl.example/log at size 3" in result.stdout
    assert "bpl.example/log: size 3 extends size 2" in result.stdout
    assert "log intact: 3 leaves" in result.stdout
    assert (tmp_path / "ledger-data" / "log.key").stat().st_mode & 0o777 == 0o600
    assert "PRIVATE+KEY" not in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_service_a_page_a_label_and_a_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service as a newcomer meets it: a real server process (bpl serve), the page, a
    crate label whose QR code a real decoder reads and the resolver redirects, and a
    bundle verified offline."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    script = SHELL_BLOCKS[4].replace("8765", str(free_port()))
    result = run_shell(script, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "demo.json").read_text())
    page = (tmp_path / "page.html").read_text()
    assert summary["showcase"] in page and 'lang="de"' in page
    assert (tmp_path / "label.pdf").read_bytes().startswith(b"%PDF-")
    code, target = result.stdout.split()
    [crate] = summary["inTransit"][:1]
    assert code == "307" and target.endswith(f"/passports/{crate}")
    assert "verified" in result.stderr and "not verified" not in result.stderr

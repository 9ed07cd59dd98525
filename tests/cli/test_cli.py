"""The ``bpl`` command: keys, sign, verify, exit codes and bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from signing import keys
from tests.conftest import DI_VECTORS, EXAMPLES_CONTEXT_FILE, EXAMPLES_CONTEXT_URL

runner = CliRunner()
EXAMPLES = f"{EXAMPLES_CONTEXT_URL}={EXAMPLES_CONTEXT_FILE}"


def bpl(*args: str, input: str | bytes | None = None) -> Any:
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    assert bpl("keys", "new", "--out", str(path)).exit_code == 0
    return path


@pytest.fixture
def vector_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "vector-key.json"
    path.write_text((DI_VECTORS / "keyPair.json").read_text())
    path.chmod(0o600)
    return path


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_help_on_every_verb():
    for verb in ([], ["keys"], ["keys", "new"], ["keys", "show"], ["sign"], ["verify"]):
        result = bpl(*verb, "--help")
        assert result.exit_code == 0, verb
        assert "Usage" in result.output


def test_version():
    result = bpl("--version")
    assert result.exit_code == 0
    assert result.output.startswith("bpl ")


def test_keys_new_and_show(key_file: Path):
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = json.loads(key_file.read_text())["secretKeyMultibase"]
    shown = bpl("keys", "show", str(key_file))
    assert shown.exit_code == 0
    assert "did:key:z6Mk" in shown.output
    assert secret not in shown.output
    as_json = json.loads(bpl("keys", "show", "--json", str(key_file)).output)
    assert as_json["id"].startswith("did:key:z6Mk")
    assert secret not in json.dumps(as_json)


def test_keys_new_refuses_to_overwrite(key_file: Path):
    before = key_file.read_bytes()
    result = bpl("keys", "new", "--out", str(key_file))
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.stderr
    assert key_file.read_bytes() == before


def test_keys_new_force_replaces_a_file_with_a_private_one(key_file: Path):
    key_file.chmod(0o644)
    replaced = bpl("keys", "new", "--force", "--out", str(key_file))
    assert replaced.exit_code == 0, replaced.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert bpl("keys", "show", str(key_file)).stdout == replaced.stdout
    assert [entry.name for entry in key_file.parent.iterdir()] == [key_file.name]


@pytest.mark.parametrize("verb", [["keys", "show"], ["sign", "--key"]])
def test_a_file_too_large_for_a_key_is_refused_unread(tmp_path: Path, verb: list[str]):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024)
    path.chmod(0o600)
    doc = write(tmp_path, "doc.json", json.dumps({"id": "urn:x:1"}))
    result = bpl(*verb, str(path), *([str(doc)] if verb[0] == "sign" else []))
    assert result.exit_code == 2
    assert result.stderr == (
        f"bpl: key file {path} is 33554432 bytes: not a key file (a key file holds at most "
        "65536 bytes)\n"
    )


def test_encrypted_key_with_passphrase_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "s3cret passphrase")
    path = tmp_path / "enc.json"
    created = bpl("keys", "new", "--encrypt", "--out", str(path))
    assert created.exit_code == 0
    assert "secretKeyMultibase" not in path.read_text()
    monkeypatch.delenv(keys.PASSPHRASE_ENV)
    shown = bpl("keys", "show", str(path))  # the public part needs no passphrase
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == created.stdout
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "s3cret passphrase")
    doc = write(tmp_path, "doc.json", json.dumps({"id": "urn:x:1"}))
    signed = bpl("sign", "--key", str(path), str(doc))
    assert signed.exit_code == 0, signed.stderr
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "wrong")
    refused = bpl("sign", "--key", str(path), str(doc))
    assert refused.exit_code == 2
    assert "wrong passphrase" in refused.stderr
    assert "s3cret" not in refused.stderr + refused.stdout


@pytest.mark.parametrize(
    ("suite", "vector"),
    [
        ("eddsa-jcs-2022", "eddsa-jcs-2022/signedJCS.json"),
        ("eddsa-rdfc-2022", "eddsa-rdfc-2022/signedDataInt.json"),
    ],
)
def test_sign_reproduces_the_w3c_vectors(vector_key_file: Path, suite: str, vector: str):
    result = bpl(
        "sign",
        "--key",
        str(vector_key_file),
        "--suite",
        suite,
        "--created",
        "2023-02-24T23:36:38Z",
        "--context",
        EXAMPLES,
        str(DI_VECTORS / "unsigned.json"),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (DI_VECTORS / vector).read_text() + "\n"


@pytest.mark.parametrize(
    "vector", ["eddsa-jcs-2022/signedJCS.json", "eddsa-rdfc-2022/signedDataInt.json"]
)
def test_verify_w3c_vectors(vector: str):
    ok = bpl("verify", "--context", EXAMPLES, str(DI_VECTORS / vector))
    assert ok.exit_code == 0, ok.stderr
    report = json.loads(
        bpl("verify", "--json", "--context", EXAMPLES, str(DI_VECTORS / vector)).stdout
    )
    assert report["verified"] is True
    assert report["proofs"][0]["verified"] is True


def test_verify_without_the_examples_context_names_it():
    result = bpl("verify", str(DI_VECTORS / "eddsa-jcs-2022" / "signedJCS.json"))
    assert result.exit_code == 1
    assert EXAMPLES_CONTEXT_URL in result.stderr


def test_sign_from_stdin_and_proof_sets(tmp_path: Path, key_file: Path):
    other = tmp_path / "other.json"
    assert bpl("keys", "new", "--out", str(other)).exit_code == 0
    once = bpl("sign", "--key", str(key_file), "-", input=json.dumps({"id": "urn:x:1"}))
    assert once.exit_code == 0, once.stderr
    twice = bpl("sign", "--key", str(other), "--suite", "eddsa-rdfc-2022", "-", input=once.stdout)
    assert twice.exit_code == 2  # no @context: rdfc would sign nothing of it
    assert "not defined by the document's @context" in twice.stderr
    twice = bpl("sign", "--key", str(other), "-", input=once.stdout)
    assert twice.exit_code == 0, twice.stderr
    signed = json.loads(twice.stdout)
    assert len(signed["proof"]) == 2
    assert signed["proof"][0] == json.loads(once.stdout)["proof"]
    report = json.loads(bpl("verify", "--json", "-", input=twice.stdout).stdout)
    assert [p["verified"] for p in report["proofs"]] == [True, True]


def signed_text(tmp_path: Path, key_file: Path, suite: str) -> str:
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/bpl/v1"],
        "id": "urn:uuid:9a1c3d42-8b0e-4e6f-9a51-2b8f3c1e7a10",
        "type": ["VerifiableCredential", "StatusChange"],
        "issuer": "did:example:dismantler",
        "validFrom": "2026-11-29T10:00:00Z",
        "credentialSubject": {
            "id": "urn:battery:1",
            "sequence": 7,
            "status": "waste",
            "soce": 61.5,
        },
    }
    result = bpl("sign", "--key", str(key_file), "--suite", suite, "-", input=json.dumps(doc))
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


@pytest.mark.parametrize(("suite", "stride"), [("eddsa-jcs-2022", 1), ("eddsa-rdfc-2022", 5)])
def test_tampering_with_any_character_makes_verify_exit_1(
    tmp_path: Path, key_file: Path, suite: str, stride: int
):
    text = signed_text(tmp_path, key_file, suite)
    assert bpl("verify", "-", input=text).exit_code == 0
    checked = 0
    for position in range(0, len(text), stride):
        char = text[position]
        if not char.isalnum():
            continue
        replacement = (
            "1" if char == "0" else "0" if char.isdigit() else ("b" if char != "b" else "c")
        )
        broken = text[:position] + replacement + text[position + 1 :]
        try:
            json.loads(broken)
        except json.JSONDecodeError:
            continue  # e.g. inside a literal such as true: not a signed document any more
        result = bpl("verify", "-", input=broken)
        assert result.exit_code == 1, (position, text[max(0, position - 20) : position + 20])
        checked += 1
    assert checked > 200 // stride


BAD_INPUTS: dict[str, bytes] = {
    "malformed JSON": b'{"id": ',
    "not an object": b"[1, 2, 3]",
    "duplicated key": b'{"id": "urn:x:1", "id": "urn:x:2"}',
    "NaN": b'{"value": NaN}',
    "Infinity": b'{"value": -Infinity}',
    "integer beyond 2^53": b'{"value": 9007199254740993}',
    "integer beyond any double": b'{"value": 1' + b"0" * 350 + b"}",
    "integer beyond Python's parser": b'{"value": 1' + b"0" * 5000 + b"}",
    "overflowing float": b'{"value": 1e400}',
    "non-UTF-8": b'{"name": "\xff\xfe"}',
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "10 MB document": b'{"blob": "' + b"a" * (10 * 1024 * 1024) + b'"}',
    "empty": b"",
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
@pytest.mark.parametrize("verb", ["sign", "verify"])
def test_bad_input_exits_2_with_one_clear_line(
    name: str, verb: str, key_file: Path, tmp_path: Path
):
    path = write(tmp_path, "bad.json", BAD_INPUTS[name])
    args = ["sign", "--key", str(key_file), str(path)] if verb == "sign" else ["verify", str(path)]
    result = bpl(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("bpl: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_duplicated_proof_field_is_refused(tmp_path: Path, key_file: Path):
    text = signed_text(tmp_path, key_file, "eddsa-jcs-2022")
    doubled = text.replace('"proofValue": ', '"proofValue": "z1", "proofValue": ', 1)
    result = bpl("verify", "-", input=doubled)
    assert result.exit_code == 2
    assert "duplicate key 'proofValue'" in result.stderr


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.pop("proofValue"), "missing proofValue"),
        (lambda p: p.update(proofValue=p["proofValue"][:30]), "malformed proof"),
        (lambda p: p.update(cryptosuite="eddsa-2022"), "unknown suite"),
        (lambda p: p.update(created="2999-01-01T00:00:00Z"), "in the future"),
    ],
)
def test_verify_failures_exit_1_with_the_reason(
    tmp_path: Path, key_file: Path, change: Any, reason: str
):
    signed = json.loads(signed_text(tmp_path, key_file, "eddsa-jcs-2022"))
    change(signed["proof"])
    result = bpl("verify", "--json", "-", input=json.dumps(signed))
    assert result.exit_code == 1
    assert reason in result.stderr
    report = json.loads(result.stdout)
    assert report["verified"] is False
    assert report["proofs"][0]["verified"] is False


def test_unsigned_document_fails_verification(tmp_path: Path):
    result = bpl("verify", "-", input='{"id": "urn:x:1"}')
    assert result.exit_code == 1
    assert "no proof" in result.stderr


def test_non_ed25519_key_file_is_refused(tmp_path: Path):
    path = write(
        tmp_path,
        "k.json",
        json.dumps({"secretKeyMultibase": "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"}),
    )
    path.chmod(0o600)
    doc = write(tmp_path, "doc.json", "{}")
    result = bpl("sign", "--key", str(path), str(doc))
    assert result.exit_code == 2
    assert "not an Ed25519 key" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["sign", "--key", "KEY", "--suite", "rsa-2048", "DOC"],
        ["sign", "--key", "KEY", "--context", "no-equals-sign", "DOC"],
        ["sign", "--key", "KEY", "--created", "tomorrow", "DOC"],
        ["sign", "--key", "/nonexistent/key.json", "DOC"],
        ["verify", "/nonexistent/doc.json"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args: list[str], key_file: Path, tmp_path: Path):
    doc = write(tmp_path, "doc.json", "{}")
    real = [str(key_file) if a == "KEY" else str(doc) if a == "DOC" else a for a in args]
    result = bpl(*real)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_installed_console_script_runs_end_to_end(tmp_path: Path):
    """The real entry point: separate stdout/stderr, exit codes, no traceback."""
    exe = Path(sys.executable).with_name("bpl")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "cli.main"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    key = tmp_path / "k.json"
    subprocess.run(
        [*command, "keys", "new", "--out", str(key)], check=True, capture_output=True, env=env
    )
    signed = subprocess.run(
        [*command, "sign", "--key", str(key), "-"],
        input=b'{"id": "urn:x:1"}',
        capture_output=True,
        env=env,
    )
    assert signed.returncode == 0, signed.stderr
    verified = subprocess.run(
        [*command, "verify", "-"], input=signed.stdout, capture_output=True, env=env
    )
    assert verified.returncode == 0
    assert verified.stdout == b""
    assert b"verified 1 proof" in verified.stderr
    broken = subprocess.run([*command, "verify", "-"], input=b"\xff", capture_output=True, env=env)
    assert broken.returncode == 2
    assert b"Traceback" not in broken.stderr


def test_exact_doubles_beyond_2_53_are_read_as_doubles(tmp_path: Path, key_file: Path):
    """JavaScript writes 1e20 as 100000000000000000000: exact, so it stays usable."""
    signed = bpl("sign", "--key", str(key_file), "-", input='{"energyJ": 100000000000000000000}')
    assert signed.exit_code == 0, signed.stderr
    assert json.loads(signed.stdout)["energyJ"] == 1e20
    assert bpl("verify", "-", input=signed.stdout).exit_code == 0

"""``signing.key_import`` and ``bpl keys import``: an existing Ed25519 key, written by
OpenSSL, ssh-keygen or a JOSE library, becomes a bpl key file with the same did:key; every
other key or blob is refused with what it is, never echoing the secret."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from typer.testing import CliRunner

from cli.main import app
from signing import key_import, keys
from signing.errors import KeyFormatError, PassphraseRequiredError

SEED = bytes(range(32))
EXPECTED = keys.from_seed(SEED)
PRIVATE = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def encoded(
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
    password: bytes | None = None,
) -> bytes:
    algorithm = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password)
    )
    return PRIVATE.private_bytes(encoding, fmt, algorithm)


SOURCES = {
    "pem": encoded(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
    "der": encoded(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
    "openssh": encoded(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH),
    "jwk": json.dumps(
        {"kty": "OKP", "crv": "Ed25519", "d": b64url(SEED), "x": b64url(EXPECTED.public_key)}
    ).encode(),
}


@pytest.mark.parametrize("fmt", list(SOURCES))
def test_every_format_gives_the_same_key(fmt: str) -> None:
    for given in ("auto", fmt):
        key = key_import.import_key(SOURCES[fmt], fmt=given)
        assert key.public_key == EXPECTED.public_key and key.did == EXPECTED.did


@pytest.mark.parametrize("fmt", ["pem", "openssh"])
def test_an_encrypted_key_needs_its_passphrase(fmt: str) -> None:
    private_format = (
        serialization.PrivateFormat.PKCS8 if fmt == "pem" else serialization.PrivateFormat.OpenSSH
    )
    data = encoded(serialization.Encoding.PEM, private_format, b"correct horse")
    with pytest.raises(PassphraseRequiredError):
        key_import.import_key(data)
    with pytest.raises(KeyFormatError, match="wrong passphrase"):
        key_import.import_key(data, passphrase="wrong")
    assert key_import.import_key(data, passphrase="correct horse").did == EXPECTED.did


def test_other_keys_and_blobs_are_refused_with_what_they_are() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFormatError, match=r"an EC \(secp256r1\) key, not Ed25519"):
        key_import.import_key(p256)
    public = PRIVATE.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="not a PEM private key"):
        key_import.import_key(public)
    with pytest.raises(KeyFormatError, match="not a DER private key"):
        key_import.import_key(b"\x30\x03garbage")
    jwk = json.loads(SOURCES["jwk"])
    cases = {
        "not OKP Ed25519": {**jwk, "crv": "X25519"},
        'no "d"': {k: v for k, v in jwk.items() if k != "d"},
        'its "d"': {**jwk, "x": b64url(bytes(32))},
        "unpadded base64url": {**jwk, "d": b64url(SEED) + "="},
        "not a JWK": None,
    }
    for reason, value in cases.items():
        data = b'{"kty": "OKP", "kty": "OKP"}' if value is None else json.dumps(value).encode()
        with pytest.raises(KeyFormatError, match=reason) as raised:
            key_import.import_key(data)
        assert b64url(SEED) not in str(raised.value)
    with pytest.raises(KeyFormatError, match="bytes is not a key"):
        key_import.import_key(b"-" * (key_import.MAX_SOURCE_BYTES + 1))
    with pytest.raises(KeyFormatError, match="unknown key format"):
        key_import.import_key(SOURCES["pem"], fmt="pkcs12")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")
def test_a_key_ssh_keygen_wrote_signs_under_its_did_key(tmp_path: Path) -> None:
    """A real tool's output, not only cryptography's own: the did:key bpl derives is the
    public key ssh-keygen prints."""
    source = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(source)], check=True)
    key = key_import.import_key(source.read_bytes())
    public_line = (tmp_path / "id_ed25519.pub").read_text().split()[1]
    assert base64.b64decode(public_line)[-32:] == key.public_key


def test_bpl_keys_import_writes_a_0600_key_file(tmp_path: Path) -> None:
    source = tmp_path / "existing.pem"
    source.write_bytes(SOURCES["pem"])
    out = tmp_path / "imported.json"
    result = CliRunner().invoke(app, ["keys", "import", str(source), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == EXPECTED.did
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert keys.load(out).did == EXPECTED.did
    again = CliRunner().invoke(app, ["keys", "import", str(source), "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.stderr
    (tmp_path / "other.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n")
    bad = CliRunner().invoke(
        app, ["keys", "import", str(tmp_path / "other.pem"), "--out", str(tmp_path / "x.json")]
    )
    assert bad.exit_code == 2 and "not a PEM private key" in bad.stderr
    assert not (tmp_path / "x.json").exists()


def test_bpl_keys_import_of_an_encrypted_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "encrypted.pem"
    source.write_bytes(
        encoded(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, b"s3cret")
    )
    monkeypatch.setenv("BPL_IMPORT_PASSPHRASE", "s3cret")
    out = tmp_path / "imported.json"
    result = CliRunner().invoke(app, ["keys", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert keys.load(out).did == EXPECTED.did
    assert "s3cret" not in result.output

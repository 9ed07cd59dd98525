"""Keys, Multikey, did:key and key files."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import did_key, keys, multibase, secret_files
from signing.errors import KeyFileError, KeyFormatError, PassphraseRequiredError
from tests.conftest import DI_VECTORS, read_json

VECTOR = read_json(DI_VECTORS / "keyPair.json")
KEY_FILE_CAP = 64 * 1024  # a key file is a few hundred bytes


def naive_b58encode(data: bytes) -> str:
    """Textbook base58 (one digit per division), as an independent reference."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rem = divmod(number, 58)
        digits = multibase.ALPHABET[rem] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@given(st.binary(max_size=80))
def test_base58_matches_textbook_and_round_trips(data: bytes):
    encoded = multibase.b58encode(data)
    assert encoded == naive_b58encode(data)
    assert multibase.b58decode(encoded) == data


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "z+"])
def test_base58_rejects_characters_outside_the_alphabet(text: str):
    with pytest.raises(ValueError, match="invalid base58 character"):
        multibase.b58decode(text)


def test_base58_c_decoder_is_built() -> None:
    assert multibase._c_b58decode is not None, "signing._jcs_speedups was not built"


@given(st.binary(max_size=400))
def test_base58_c_decoder_equals_the_python_one(data: bytes) -> None:
    encoded = multibase.b58encode(data)
    assert multibase._c_b58decode(encoded) == multibase._b58decode(encoded) == data


@given(st.text(max_size=40))
def test_base58_c_decoder_leaves_any_bad_text_to_python(text: str) -> None:
    decoded = multibase._c_b58decode(text)
    try:
        expected = multibase._b58decode(text)
    except ValueError:
        assert decoded is None  # then b58decode raises the Python error
    else:
        assert decoded == expected


@given(st.text(alphabet=multibase.ALPHABET, max_size=512))
def test_base58_c_decoder_equals_the_python_one_on_any_base58_text(text: str) -> None:
    """Any length, so any remainder of the C decoder's five-digit chunks; leading 1s too."""
    assert multibase._c_b58decode(text) == multibase._b58decode(text)


def test_base58_c_decoder_limits() -> None:
    long_text = "2" * 513  # past the C decoder's limit: decoded by the Python code
    assert multibase._c_b58decode(long_text) is None
    assert multibase.b58decode(long_text) == multibase._b58decode(long_text)
    assert multibase._c_b58decode("z" * 512) == multibase._b58decode("z" * 512)
    assert multibase._c_b58decode("1" * 512) == bytes(512)
    assert multibase._c_b58decode("") == b""
    with pytest.raises(TypeError):
        multibase._c_b58decode(b"abc")


def test_vector_key_pair_encodings():
    key = keys.from_multibase(VECTOR["privateKeyMultibase"])
    assert key.public_multibase == VECTOR["publicKeyMultibase"]
    assert key.secret_multibase() == VECTOR["privateKeyMultibase"]
    assert key.did == "did:key:" + VECTOR["publicKeyMultibase"]
    mb = VECTOR["publicKeyMultibase"]
    assert key.verification_method == f"did:key:{mb}#{mb}"
    assert did_key.public_from_did(key.did) == key.public_key
    assert did_key.public_from_verification_method(key.verification_method) == key.public_key


def test_generated_keys_use_multikey_prefixes():
    key = keys.generate()
    assert key.public_multibase.startswith("z6Mk")
    assert key.secret_multibase().startswith("z3u2")


def test_repr_never_shows_the_secret():
    key = keys.from_multibase(VECTOR["privateKeyMultibase"])
    seed = bytes(key._signing_key)
    for text in (repr(key), str(key)):
        assert VECTOR["privateKeyMultibase"] not in text
        assert seed.hex() not in text
        assert repr(seed) not in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # secp256k1 public key (multicodec 0xe7): a real Multikey, but not Ed25519
        ("zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "not an Ed25519 key"),
        (multibase.encode_multikey(multibase.ED25519_PUB_HEADER, bytes(31)), "expected 32"),
        ("u6Mk", "not multibase base58btc"),
        ("z6Mk0OIl", "not multibase base58btc"),
    ],
)
def test_non_ed25519_or_malformed_public_keys_are_refused(value: str, message: str):
    with pytest.raises(KeyFormatError, match=message):
        did_key.public_from_did("did:key:" + value)


@pytest.mark.parametrize(
    "url",
    [
        "did:web:example.com#key-1",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#key-1",
    ],
)
def test_verification_method_must_be_did_keys_own_key(url: str):
    with pytest.raises(KeyFormatError):
        did_key.public_from_verification_method(url)


def test_save_writes_mode_0600_and_load_round_trips(tmp_path: Path):
    key = keys.generate()
    path = tmp_path / "k.json"
    old_umask = os.umask(0)  # the file must be 0600 whatever the umask
    try:
        keys.save(key, path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data) == {"id", "publicKeyMultibase", "secretKeyMultibase"}
    assert data["id"] == key.did
    assert keys.load(path).public_key == key.public_key


def test_save_refuses_to_overwrite_a_key(tmp_path: Path):
    path = tmp_path / "k.json"
    keys.save(keys.generate(), path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        keys.save(keys.generate(), path)
    assert path.read_bytes() == before


def test_a_key_file_appearing_while_one_is_written_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Another writer creates the file after any check save could make and before its
    key is in place (here: while its bytes are synced): the other key stays, save fails."""
    path = tmp_path / "k.json"
    theirs = b'{"the other writer": "its key"}\n'
    sync = os.fsync

    def racing_fsync(fd: int) -> None:
        sync(fd)
        if not path.exists():
            path.write_bytes(theirs)

    monkeypatch.setattr(os, "fsync", racing_fsync)
    with pytest.raises(KeyFileError, match=f"{path} exists; refusing to overwrite"):
        keys.save(keys.generate(), path)
    assert path.read_bytes() == theirs
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_never_writes_through_an_existing_name(tmp_path: Path):
    """A dangling symlink is a name that exists: not followed, not replaced."""
    target = tmp_path / "elsewhere.json"
    path = tmp_path / "k.json"
    path.symlink_to(target)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        keys.save(keys.generate(), path)
    assert not target.exists() and path.is_symlink()


def test_overwrite_replaces_atomically_with_mode_0600(tmp_path: Path):
    path = tmp_path / "k.json"
    path.write_text("old key\n")
    path.chmod(0o644)
    with path.open() as reader:  # opened before: still reads the old file, whole
        key = keys.generate()
        keys.save(key, path, overwrite=True)
        assert reader.read() == "old key\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load(path).public_key == key.public_key
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("link_error", [errno.EPERM, errno.EOPNOTSUPP])
def test_without_hard_links_the_key_file_is_still_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link_error: int
):
    def no_link(*_args: object, **_kwargs: object) -> None:
        raise OSError(link_error, os.strerror(link_error))

    monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "k.json"
    key = keys.generate()
    old_umask = os.umask(0)
    try:
        keys.save(key, path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.load(path).public_key == key.public_key
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        keys.save(keys.generate(), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_save_into_a_missing_directory_names_the_file(tmp_path: Path):
    path = tmp_path / "absent" / "k.json"
    with pytest.raises(KeyFileError, match=f"cannot write {path}: No such file"):
        keys.save(keys.generate(), path)


def oversized(path: Path, size: int) -> Path:
    """A sparse file of ``size`` bytes, mode 0600."""
    with path.open("wb") as handle:
        handle.truncate(size)
    path.chmod(0o600)
    return path


def test_a_key_file_is_read_up_to_64_kib(tmp_path: Path):
    key = keys.generate()
    path = tmp_path / "k.json"
    payload = json.dumps(keys.to_dict(key)).encode()
    path.write_bytes(payload + b" " * (KEY_FILE_CAP - len(payload)))
    path.chmod(0o600)
    assert keys.load(path).public_key == key.public_key


@pytest.mark.parametrize("size", [KEY_FILE_CAP + 1, 64 * 1024 * 1024])
def test_a_larger_file_is_refused_with_its_name_and_size(tmp_path: Path, size: int):
    path = oversized(tmp_path / "big.json", size)
    message = f"key file {path} is {size} bytes: not a key file"
    with pytest.raises(KeyFileError, match=message):
        keys.load(path)
    with pytest.raises(KeyFileError, match=message):  # its public part: the same cap
        keys.public_key_of(path)
    with pytest.raises(KeyFileError, match=message):
        secret_files.read_text(path)


def test_a_stream_is_read_no_further_than_a_key_file_can_be(tmp_path: Path):
    """A pipe has no size to check first: reading stops past 64 KiB."""
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo, 0o600)
    written: list[int] = []

    def writer() -> None:
        with fifo.open("wb", buffering=0) as pipe, contextlib.suppress(BrokenPipeError):
            for _ in range(64):  # 4 MiB, if anyone read it all
                pipe.write(b"x" * 65536)
                written.append(1)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with pytest.raises(KeyFileError, match=f"key file {fifo} is more than 65536 bytes"):
        keys.load(fifo)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(written) < 64


def test_load_refuses_a_key_file_others_can_read(tmp_path: Path):
    path = tmp_path / "k.json"
    keys.save(keys.generate(), path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        keys.load(path)


def test_load_accepts_private_key_multibase(tmp_path: Path):
    path = tmp_path / "vector.json"
    path.write_text(json.dumps(VECTOR))
    path.chmod(0o600)
    assert keys.load(path).public_multibase == VECTOR["publicKeyMultibase"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"publicKeyMultibase": keys.generate().public_multibase}, "does not belong"),
        ({"id": keys.generate().did}, "id is not the did:key"),
        ({"secretKeyMultibase": keys.generate().secret_multibase()}, "disagree"),
        ({"privateKeyMultibase": None}, "no secret key"),
        ({"privateKeyMultibase": VECTOR["publicKeyMultibase"]}, "not an Ed25519 key"),
    ],
)
def test_inconsistent_key_files_are_refused(change: dict[str, object], message: str):
    data = {**VECTOR, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(KeyFormatError, match=message):
        keys.from_dict(data)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_key_files_are_refused(tmp_path: Path, content: bytes):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFormatError):
        keys.load(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 50_000, "JSON nested deeper than 100 levels"),
        (b'{"secretKeyMultibase": "z1", "secretKeyMultibase": "z2"}', "duplicate key"),
        (b'{"id": "\\ud800"}', "lone surrogate escape \\ud800 at line 1 column 9"),
        (b'{"id": ', "malformed JSON: Expecting value at line 1 column 8"),
    ],
)
def test_key_files_are_parsed_strictly(tmp_path: Path, content: bytes, message: str):
    """Issue 14: a key file goes through signing.json_input like any document (a deep
    one was a RecursionError; of two secret keys, one was silently picked)."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    path.chmod(0o600)
    for read in (keys.load, keys.public_key_of):
        with pytest.raises(KeyFormatError, match=re.escape(f"key file {path}: {message}")):
            read(path)


def test_missing_key_file(tmp_path: Path):
    with pytest.raises(KeyFileError, match="cannot read key file"):
        keys.load(tmp_path / "absent.json")


def test_encrypted_key_file_round_trip_and_wrong_passphrase(tmp_path: Path):
    key = keys.generate()
    path = tmp_path / "enc.json"
    keys.save(key, path, passphrase="correct horse")
    text = path.read_text()
    assert key.secret_multibase() not in text
    assert "secretKeyMultibase" not in json.loads(text)
    assert keys.load(path, passphrase="correct horse").public_key == key.public_key
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        keys.load(path, passphrase="battery staple")
    with pytest.raises(PassphraseRequiredError, match="encrypted"):
        keys.load(path)


def test_tampered_encrypted_key_is_refused(tmp_path: Path):
    path = tmp_path / "enc.json"
    keys.save(keys.generate(), path, passphrase="pw")
    data = json.loads(path.read_text())
    data["publicKeyMultibase"] = keys.generate().public_multibase
    data.pop("id")
    with pytest.raises(KeyFormatError, match="does not belong"):
        keys.from_dict(data, passphrase="pw")

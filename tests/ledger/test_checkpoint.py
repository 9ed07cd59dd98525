"""C2SP tlog checkpoints: text format, strict parsing, signing and verifying."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.log import checkpoint
from ledger.log.checkpoint import Checkpoint, CheckpointError
from signing import note

ORIGIN = "bpl.example/log"
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
SKEY = note.signer_key(ORIGIN, bytes(range(32)))
VKEY = note.verifier_key(
    ORIGIN, bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
)
OTHER_SKEY = note.signer_key(ORIGIN, bytes(range(1, 33)))
WITNESS_SKEY = note.signer_key("witness.example/w1", bytes(range(2, 34)))

# The example note text in C2SP tlog-checkpoint.md (CC-BY-4.0).
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The same 32 bytes with a padding bit set: decodes, but is not the canonical spelling.
NONCANONICAL_ROOT = ROOT_B64[:-2] + _B64[_B64.index(ROOT_B64[-2]) ^ 1] + "="


def test_noncanonical_root_decodes_to_the_same_bytes():
    assert base64.b64decode(NONCANONICAL_ROOT) == ROOT


def test_vkey_matches_skey():
    # VKEY is spelled out from the public key so that a wrong derivation cannot hide.
    assert note.verify(note.sign("x\n", [SKEY]), [VKEY]) == "x\n"


def test_text_format():
    cp = Checkpoint(ORIGIN, 42, ROOT)
    assert cp.text() == f"{ORIGIN}\n42\n{ROOT_B64}\n"
    assert Checkpoint(ORIGIN, 0, ROOT, ("a", "b c")).text() == f"{ORIGIN}\n0\n{ROOT_B64}\na\nb c\n"


def test_spec_example_parses_and_formats_back():
    cp = checkpoint.parse(SPEC_TEXT)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.text() == SPEC_TEXT


@pytest.mark.parametrize(
    "cp",
    [
        Checkpoint(ORIGIN, 0, bytes(32)),
        Checkpoint(ORIGIN, 2**64 - 1, ROOT),
        Checkpoint("origin with spaces+plus", 7, ROOT, ("ext one", "— ext two")),
        Checkpoint("ünïcødé/log", 1, ROOT, ["list becomes tuple"]),  # type: ignore[arg-type]
    ],
)
def test_format_parse_round_trip(cp: Checkpoint):
    assert isinstance(cp.extensions, tuple)
    assert checkpoint.parse(cp.text()) == cp


LINE = st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1)


@given(LINE, st.integers(0, 2**64 - 1), st.binary(min_size=32, max_size=32), st.lists(LINE))
def test_round_trip_property(origin: str, size: int, root: bytes, extensions: list[str]):
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert checkpoint.parse(cp.text()) == cp


BAD_TEXTS = {
    "empty": ("", "must end with a newline"),
    "no final newline": (SPEC_TEXT[:-1], "must end with a newline"),
    "two lines": ("origin\n5\n", "at least 3 lines, not 2"),
    "empty origin": (f"\n5\n{ROOT_B64}\n", "origin \\(line 1\\) is empty"),
    "empty size": (f"o\n\n{ROOT_B64}\n", "line 2 is empty"),
    "leading zero": (f"o\n05\n{ROOT_B64}\n", "without leading zeros"),
    "double zero": (f"o\n00\n{ROOT_B64}\n", "without leading zeros"),
    "plus sign": (f"o\n+5\n{ROOT_B64}\n", "decimal digits"),
    "minus sign": (f"o\n-1\n{ROOT_B64}\n", "decimal digits"),
    "space in size": (f"o\n 5\n{ROOT_B64}\n", "decimal digits"),
    "underscore": (f"o\n1_000\n{ROOT_B64}\n", "decimal digits"),
    "non-ASCII digit": (f"o\n\u0665\n{ROOT_B64}\n", "decimal digits"),
    "hex size": (f"o\n0x10\n{ROOT_B64}\n", "decimal digits"),
    "size over uint64": (f"o\n{2**64}\n{ROOT_B64}\n", "exceeds 2\\*\\*64 - 1"),
    "root 31 bytes": (f"o\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "31 bytes, not 32"),
    "root 33 bytes": (f"o\n5\n{base64.b64encode(ROOT + b'x').decode()}\n", "33 bytes, not 32"),
    "root unpadded": (f"o\n5\n{ROOT_B64.rstrip('=')}\n", "not canonical"),
    "root url-safe": (
        "o\n5\n" + base64.urlsafe_b64encode(b"\xff" * 32).decode() + "\n",
        "not canonical",
    ),
    "root padding bits": (f"o\n5\n{NONCANONICAL_ROOT}\n", "not canonical"),
    "root hex": (f"o\n5\n{ROOT.hex()}\n", "48 bytes, not 32"),
    "empty root": ("o\n5\n\n", "line 3 is empty"),
    "empty extension line": (f"o\n5\n{ROOT_B64}\next\n\n", "line 5 is empty"),
    "empty extension then more": (f"o\n5\n{ROOT_B64}\n\next\n", "line 4 is empty"),
    "carriage return": (f"o\r\n5\n{ROOT_B64}\n", "control character U\\+000D"),
    "tab in extension": (f"o\n5\n{ROOT_B64}\na\tb\n", "line 4: control character U\\+0009"),
}


@pytest.mark.parametrize(("text", "message"), BAD_TEXTS.values(), ids=list(BAD_TEXTS))
def test_strict_parse_failures(text: str, message: str):
    assert message
    with pytest.raises(CheckpointError, match=message):
        checkpoint.parse(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"origin": ""}, "non-empty"),
        ({"origin": "a\nb"}, "control character"),
        ({"size": -1}, "between 0 and"),
        ({"size": 2**64}, "between 0 and"),
        ({"size": True}, "must be an int"),
        ({"size": "5"}, "must be an int"),
        ({"root": bytes(31)}, "32 bytes"),
        ({"root": ROOT_B64}, "32 bytes"),
        ({"extensions": ("",)}, "extension line 1 must be a non-empty"),
        ({"extensions": ("ok", "a\nb")}, "extension line 2: control character"),
        ({"extensions": "ext"}, "not one string"),
    ],
)
def test_constructor_refuses_what_cannot_be_formatted(kwargs: dict[str, object], message: str):
    args: dict[str, object] = {"origin": ORIGIN, "size": 1, "root": ROOT, **kwargs}
    with pytest.raises(CheckpointError, match=message):
        Checkpoint(**args)  # type: ignore[arg-type]


def test_sign_verify_round_trip():
    cp = Checkpoint(ORIGIN, 1234, ROOT, ("ext",))
    signed = checkpoint.sign(cp, SKEY)
    assert signed.startswith(cp.text() + "\n— bpl.example/log ")
    assert checkpoint.verify(signed, VKEY) == cp
    assert checkpoint.verify(signed.encode(), VKEY, origin=ORIGIN) == cp


def test_cosignatures_by_other_keys_are_ignored():
    cp = Checkpoint(ORIGIN, 5, ROOT)
    cosigned = note.sign(cp.text(), [SKEY, WITNESS_SKEY])
    assert checkpoint.verify(cosigned, VKEY, origin=ORIGIN) == cp


def test_wrong_origin():
    signed = checkpoint.sign(Checkpoint(ORIGIN, 5, ROOT), SKEY)
    with pytest.raises(CheckpointError, match=r"origin 'bpl\.example/log' is not the expected"):
        checkpoint.verify(signed, VKEY, origin="bpl.example/other")


def test_wrong_key():
    signed = checkpoint.sign(Checkpoint(ORIGIN, 5, ROOT), OTHER_SKEY)
    with pytest.raises(CheckpointError, match="no signature by a known key") as info:
        checkpoint.verify(signed, VKEY)
    assert isinstance(info.value.__cause__, note.NoteError)


def test_tampered_size_is_rejected():
    signed = checkpoint.sign(Checkpoint(ORIGIN, 5, ROOT), SKEY)
    with pytest.raises(CheckpointError, match="invalid signature"):
        checkpoint.verify(signed.replace("\n5\n", "\n6\n", 1), VKEY)


def test_signed_but_malformed_checkpoint_is_rejected():
    signed = note.sign(f"{ORIGIN}\n05\n{ROOT_B64}\n", [SKEY])
    with pytest.raises(CheckpointError, match="leading zeros"):
        checkpoint.verify(signed, VKEY)


def test_malformed_verifier_key_is_a_checkpoint_error():
    signed = checkpoint.sign(Checkpoint(ORIGIN, 5, ROOT), SKEY)
    with pytest.raises(CheckpointError, match="malformed verifier key"):
        checkpoint.verify(signed, VKEY[:-4] + "AAA=")


def test_malformed_signer_key_is_a_note_error_without_the_secret():
    bad = SKEY[:-2] + "=="
    with pytest.raises(note.NoteError) as info:
        checkpoint.sign(Checkpoint(ORIGIN, 5, ROOT), bad)
    assert SKEY.rsplit("+", 1)[1] not in str(info.value)

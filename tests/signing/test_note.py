"""C2SP signed notes: the spec's example, Go's format, round trips and every malformed input."""

from __future__ import annotations

import base64
import hashlib
import re

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import note
from signing.errors import SigningError
from tests.conftest import VECTORS, read_json

C2SP = read_json(VECTORS / "c2sp" / "signed-note-example.json")

# The worked example in the package documentation of golang.org/x/mod/sumdb/note
# (BSD-3-Clause). Ed25519 is deterministic, so our note must match Go's byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def vkey_of(skey: str) -> str:
    """The verifier key for a signer key, derived here independently of signing.note."""
    _, _, name, _, b64 = skey.split("+", 4)
    public = bytes(nacl.signing.SigningKey(base64.b64decode(b64)[1:]).verify_key)
    kid = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    return name + "+" + kid.hex() + "+" + base64.b64encode(b"\x01" + public).decode()


# Fixed keys so that failures reproduce.
SKEY_A = note.signer_key("example.com/a", bytes(range(32)))
SKEY_B = note.signer_key("example.com/b", bytes(range(32, 64)))
VKEY_A = vkey_of(SKEY_A)
VKEY_B = vkey_of(SKEY_B)
# Same name as A, another key: an unknown key to a verifier that trusts A.
SKEY_A2 = note.signer_key("example.com/a", bytes(range(64, 96)))
VKEY_A2 = vkey_of(SKEY_A2)

TEXT = "origin.example/log\n42\nline three\n"
SIGNED_A = note.sign(TEXT, [SKEY_A])
SIG_LINE_A = SIGNED_A[len(TEXT) + 1 :]


def sig_line(name: str, raw: bytes) -> str:
    return f"— {name} {base64.b64encode(raw).decode()}\n"


# --- the C2SP example and Go's example --------------------------------------------------


def test_c2sp_example_verifies():
    assert note.verify(C2SP["note"], [C2SP["vkey"]]) == C2SP["note_text"]
    opened = note.open_note(C2SP["note"].encode(), [C2SP["vkey"]])
    assert opened.text == C2SP["note_text"]
    assert [(s.name, s.key_id_hex) for s in opened.signatures] == [
        (C2SP["key_name"], C2SP["key_id_hex"])
    ]
    assert opened.unverified == ()


def test_c2sp_example_key_id_and_verifier_key():
    public = bytes.fromhex(C2SP["ed25519_public_key_hex"])
    expected = hashlib.sha256(C2SP["key_name"].encode() + b"\n\x01" + public).digest()[:4]
    assert expected.hex() == C2SP["key_id_hex"]
    assert note.key_id(C2SP["key_name"], public) == expected
    assert note.verifier_key(C2SP["key_name"], public) == C2SP["vkey"]


def test_c2sp_example_rejects_altered_text():
    altered = C2SP["note"].replace("example message", "example massage")
    with pytest.raises(note.NoteError, match="invalid signature"):
        note.verify(altered, [C2SP["vkey"]])


def test_go_example_signs_byte_for_byte():
    signed = note.sign(GO_TEXT, [GO_SKEY])
    assert signed == GO_TEXT + "\n" + GO_SIG
    assert note.verify(signed, [GO_VKEY]) == GO_TEXT
    assert vkey_of(GO_SKEY) == GO_VKEY


# --- round trips and several signatures ----------------------------------------------------


def test_sign_then_verify():
    assert SIGNED_A.startswith(TEXT + "\n— example.com/a ")
    assert note.verify(SIGNED_A, [VKEY_A]) == TEXT
    (sig,) = note.open_note(SIGNED_A, [VKEY_A]).signatures
    assert sig.name == "example.com/a"
    assert sig.key_id == bytes.fromhex(VKEY_A.split("+")[1])
    assert len(sig.signature) == 64


def test_two_signatures_verify_with_either_key():
    signed = note.sign(TEXT, [SKEY_A, SKEY_B])
    assert signed.count("\n— ") == 2
    for vkeys in ([VKEY_A], [VKEY_B], [VKEY_B, VKEY_A]):
        assert note.verify(signed, vkeys) == TEXT
    both = note.open_note(signed, [VKEY_A, VKEY_B])
    assert [s.name for s in both.signatures] == ["example.com/a", "example.com/b"]
    only_a = note.open_note(signed, [VKEY_A])
    assert [s.name for s in only_a.unverified] == ["example.com/b"]


def test_unknown_keys_are_ignored():
    # Unknown: another key entirely, the same name with another id, another name with A's id.
    stranger = note.sign(TEXT, [SKEY_B, SKEY_A2])[len(TEXT) + 1 :]
    renamed = SIG_LINE_A.replace("example.com/a", "example.com/other")
    signed = TEXT + "\n" + stranger + renamed + SIG_LINE_A
    opened = note.open_note(signed, [VKEY_A, note.generate("unused.example")[1]])
    assert opened.text == TEXT
    assert len(opened.signatures) == 1
    assert len(opened.unverified) == 3


def test_only_unknown_signatures_is_an_error():
    with pytest.raises(note.NoteError, match="unverified note: no signature by a known key"):
        note.verify(SIGNED_A, [VKEY_B, VKEY_A2])
    with pytest.raises(note.NoteError, match="unverified note"):
        note.verify(SIGNED_A, [])


def test_repeated_signature_counts_once():
    opened = note.open_note(SIGNED_A + SIG_LINE_A, [VKEY_A])
    assert len(opened.signatures) == 1


def test_every_signature_by_a_known_key_is_checked():
    # A valid signature does not excuse a later bad one by the same key.
    bad = note.sign("other text\n", [SKEY_A])[len("other text\n") + 1 :]
    with pytest.raises(note.NoteError, match="signature line 2 by known key"):
        note.verify(SIGNED_A + bad, [VKEY_A])


def test_sign_with_a_key_twice_signs_once():
    assert note.sign(TEXT, [SKEY_A, SKEY_A]) == SIGNED_A


def test_text_may_hold_blank_lines_and_em_dash_lines():
    text = "\n— not a signature\n\n\nlast\n"
    assert note.verify(note.sign(text, [SKEY_A]), [VKEY_A]) == text
    assert note.verify(note.sign("\n", [SKEY_A]), [VKEY_A]) == "\n"


def test_generate_outputs_parse_and_follow_the_key_id_rule():
    skey, vkey = note.generate("bpl.example/log")
    prefix, key, name, hex_id, b64 = skey.split("+", 4)
    assert (prefix, key, name) == ("PRIVATE", "KEY", "bpl.example/log")
    assert re.fullmatch(r"[0-9a-f]{8}", hex_id)
    raw = base64.b64decode(b64, validate=True)
    assert raw[0] == 1 and len(raw) == 33
    assert vkey == vkey_of(skey)
    v_name, v_hex, v_b64 = vkey.split("+", 2)
    public = base64.b64decode(v_b64)[1:]
    assert (v_name, v_hex) == (name, hex_id)
    assert note.key_id(name, public).hex() == hex_id
    assert note.verify(note.sign("hi\n", [skey]), [vkey]) == "hi\n"


def test_verifier_key_for_a_signer_key_and_key_pair_matches():
    skey, vkey = note.generate("bpl.example/log")
    other_skey, other_vkey = note.generate("bpl.example/log")
    assert note.verifier_key_for(skey) == vkey == vkey_of(skey)
    assert note.verifier_key_for(GO_SKEY) == GO_VKEY
    assert note.key_pair_matches(skey, vkey)
    name, hex_id, b64_key = vkey.split("+", 2)
    assert note.key_pair_matches(skey, f"{name}+{hex_id.upper()}+{b64_key}")
    assert not note.key_pair_matches(skey, other_vkey)
    assert not note.key_pair_matches(other_skey, vkey)
    renamed = note.signer_key("other.example/log", base64.b64decode(skey.split("+", 4)[4])[1:])
    assert not note.key_pair_matches(renamed, vkey)
    with pytest.raises(note.NoteError, match="malformed signer key"):
        note.verifier_key_for(vkey)
    with pytest.raises(note.NoteError, match="malformed verifier key"):
        note.key_pair_matches(skey, skey)


def test_generated_keys_differ():
    assert note.generate("a")[0] != note.generate("a")[0]


# --- malformed notes --------------------------------------------------------------------------

SHORT_SIG = sig_line("example.com/a", b"\x00\x01\x02\x03")
GOOD_B64 = SIG_LINE_A.split(" ")[2].rstrip("\n")

MALFORMED_NOTES = {
    "no blank line": (TEXT + SIG_LINE_A, "no blank line between text and signatures"),
    "missing final newline": (SIGNED_A[:-1], "does not end with a newline"),
    "nothing after blank line": (TEXT + "\n", "no signature lines"),
    "trailing blank line": (SIGNED_A + "\n", "no signature lines"),
    "control character in text": (
        "a\x01b\n\n" + SIG_LINE_A,
        "control character U\\+0001 at offset 1",
    ),
    "tab in text": ("a\tb\n\n" + SIG_LINE_A, "control character U\\+0009"),
    "carriage return": (SIGNED_A.replace("\n", "\r\n"), "control character U\\+000D"),
    "lone surrogate": ("a\ud800\n\n" + SIG_LINE_A, "not valid UTF-8"),
    "key name with a space": (
        TEXT + "\n" + SIG_LINE_A.replace("example.com/a", "example.com a"),
        "key names hold no spaces",
    ),
    "key name with a Unicode space": (
        TEXT + "\n" + SIG_LINE_A.replace("example.com/a", "example.com\u00a0a"),
        "key name contains a space character",
    ),
    "key name with a plus": (
        TEXT + "\n" + SIG_LINE_A.replace("example.com/a", "example.com+a"),
        "key name contains '\\+'",
    ),
    "empty key name": (TEXT + "\n— " + " " + GOOD_B64 + "\n", "key name is empty"),
    "text after the signatures": (SIGNED_A + "trailing text\n", "line 2 does not start"),
    "text after a blank line after the signatures": (
        SIGNED_A + "\nmore text\n",
        "line 1 does not start",
    ),
    "hyphen instead of em dash": (
        TEXT + "\n" + SIG_LINE_A.replace("—", "-"),
        "does not start with an em dash",
    ),
    "em dash without space": (
        TEXT + "\n" + SIG_LINE_A.replace("— ", "—"),
        "does not start with an em dash",
    ),
    "two spaces": (TEXT + "\n" + SIG_LINE_A.replace("a ", "a  "), "is not '— <name>"),
    "too many signatures": (
        TEXT + "\n" + SIG_LINE_A * 101,
        "more than 100 signature lines",
    ),
    "bad base64 character": (
        TEXT + "\n" + SIG_LINE_A.replace(GOOD_B64, "!" + GOOD_B64[1:]),
        "not canonical padded standard base64",
    ),
    "url-safe base64": (
        TEXT + "\n— example.com/a " + base64.urlsafe_b64encode(b"\xff" * 68).decode() + "\n",
        "not canonical",
    ),
    "missing base64 padding": (
        TEXT + "\n" + SIG_LINE_A.replace("=", ""),
        "not canonical",
    ),
    "non-zero base64 padding bits": (
        TEXT + "\n— example.com/a AAAAAAB=\n",
        "not canonical",
    ),
    "signature too short": (TEXT + "\n" + SHORT_SIG, "signature too short"),
    "empty signature": (TEXT + "\n— example.com/a \n", "signature too short"),
    "bad signature by known key": (
        TEXT + "\n" + SIG_LINE_A[:-6] + ("A" if SIG_LINE_A[-6] != "A" else "B") + SIG_LINE_A[-5:],
        "invalid signature: signature line 1 by known key example.com/a",
    ),
    "truncated signature by known key": (
        TEXT
        + "\n"
        + sig_line(
            "example.com/a", note.open_note(SIGNED_A, [VKEY_A]).signatures[0].key_id + b"\x00" * 32
        ),
        "invalid signature",
    ),
}


@pytest.mark.parametrize(("signed", "message"), MALFORMED_NOTES.values(), ids=list(MALFORMED_NOTES))
def test_malformed_notes_are_rejected(signed: str, message: str):
    with pytest.raises(note.NoteError, match=message) as info:
        note.verify(signed, [VKEY_A])
    assert isinstance(info.value, SigningError)


def test_invalid_utf8_bytes_are_rejected():
    with pytest.raises(note.NoteError, match="not valid UTF-8 at byte 1"):
        note.verify(b"a\xff\n\n" + SIG_LINE_A.encode(), [VKEY_A])


def test_a_hundred_signatures_are_accepted():
    assert note.verify(SIGNED_A + SIG_LINE_A * 99, [VKEY_A]) == TEXT


# --- malformed key strings -----------------------------------------------------------------

V_NAME, V_HEX, V_B64 = VKEY_A.split("+", 2)
_PUBLIC_A = base64.b64decode(V_B64)[1:]
_SEED_B64 = SKEY_A.split("+", 4)[4]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


MALFORMED_VKEYS = {
    "empty": ("", "expected <name>"),
    "two fields": (f"{V_NAME}+{V_HEX}", "expected <name>"),
    "empty name": (f"+{V_HEX}+{V_B64}", "key name is empty"),
    "name with space": (f"a b+{V_HEX}+{V_B64}", "space character"),
    "name with NBSP": (f"a\u00a0b+{V_HEX}+{V_B64}", "space character"),
    "short key id": (f"{V_NAME}+{V_HEX[:7]}+{V_B64}", "not 8 hex digits"),
    "key id with 0x": (f"{V_NAME}+0x{V_HEX[:6]}+{V_B64}", "not 8 hex digits"),
    "key id mismatch": (
        f"{V_NAME}+{(int(V_HEX, 16) ^ 1):08x}+{V_B64}",
        "does not match the key",
    ),
    "other name, same key": (f"example.com/z+{V_HEX}+{V_B64}", "does not match the key"),
    "algorithm 0x02": (
        f"{V_NAME}+{V_HEX}+" + b64(b"\x02" + _PUBLIC_A),
        "unknown algorithm byte 0x02",
    ),
    "extra padding": (f"{V_NAME}+{V_HEX}+{V_B64}==", "not canonical"),
    "base64 with a newline": (f"{V_NAME}+{V_HEX}+{V_B64[:20]}\n{V_B64[20:]}", "not canonical"),
    "bad base64": (f"{V_NAME}+{V_HEX}+{V_B64[:-2]}*=", "not canonical"),
    "empty key": (f"{V_NAME}+{V_HEX}+", "key is empty"),
    "short key": (
        f"{V_NAME}+{V_HEX}+" + b64(b"\x01" + _PUBLIC_A[:31]),
        "32 bytes",
    ),
    "signer key given": (SKEY_A, "not 8 hex digits"),
}


@pytest.mark.parametrize(("vkey", "message"), MALFORMED_VKEYS.values(), ids=list(MALFORMED_VKEYS))
def test_malformed_verifier_keys_are_rejected(vkey: str, message: str):
    with pytest.raises(note.NoteError, match=message) as info:
        note.verify(SIGNED_A, [vkey])
    assert info.value.reason == "malformed verifier key"
    assert _SEED_B64 not in str(info.value)


def test_upper_case_key_id_is_accepted_as_go_does():
    assert note.verify(SIGNED_A, [f"{V_NAME}+{V_HEX.upper()}+{V_B64}"]) == TEXT


def test_two_keys_with_one_name_and_id_are_ambiguous():
    forged = f"{V_NAME}+{V_HEX}+" + b64(b"\x01" + bytes(32))
    with pytest.raises(note.NoteError):  # the forged one already fails its key id check
        note.verify(SIGNED_A, [VKEY_A, forged])
    assert note.verify(SIGNED_A, [VKEY_A, VKEY_A]) == TEXT


S_PREFIX, S_NAME, S_HEX = "PRIVATE+KEY", *SKEY_A.split("+")[2:4]

MALFORMED_SKEYS = {
    "verifier key given": (VKEY_A, "does not start with PRIVATE\\+KEY\\+"),
    "lower-case prefix": ("private+key+" + SKEY_A[12:], "does not start with"),
    "key id mismatch": (
        f"{S_PREFIX}+{S_NAME}+{(int(S_HEX, 16) ^ 1):08x}+{_SEED_B64}",
        "key id does not match the key",
    ),
    "other name": (f"{S_PREFIX}+other+{S_HEX}+{_SEED_B64}", "key id does not match the key"),
    "name with space": (f"{S_PREFIX}+a b+{S_HEX}+{_SEED_B64}", "space character"),
    "extra padding": (f"{S_PREFIX}+{S_NAME}+{S_HEX}+{_SEED_B64}=", "not canonical"),
    "missing padding": (
        f"{S_PREFIX}+{S_NAME}+{S_HEX}+" + b64(base64.b64decode(_SEED_B64)[:-1]).rstrip("="),
        "not canonical",
    ),
    "algorithm 0x02": (
        f"{S_PREFIX}+{S_NAME}+{S_HEX}+"
        + base64.b64encode(b"\x02" + base64.b64decode(_SEED_B64)[1:]).decode(),
        "unknown algorithm byte 0x02",
    ),
    "short seed": (
        f"{S_PREFIX}+{S_NAME}+{S_HEX}+"
        + base64.b64encode(base64.b64decode(_SEED_B64)[:-1]).decode(),
        "32 bytes",
    ),
    "missing key": (f"{S_PREFIX}+{S_NAME}+{S_HEX}", "expected <name>"),
}


@pytest.mark.parametrize(("skey", "message"), MALFORMED_SKEYS.values(), ids=list(MALFORMED_SKEYS))
def test_malformed_signer_keys_are_rejected_without_leaking(skey: str, message: str):
    with pytest.raises(note.NoteError, match=message) as info:
        note.sign(TEXT, [skey])
    assert info.value.reason == "malformed signer key"
    secret_b64 = skey.rsplit("+", 1)[-1]
    for shown in (str(info.value), repr(info.value)):
        assert secret_b64 not in shown
        assert _SEED_B64 not in shown


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u2003b", "a\nb"])
def test_generate_refuses_bad_names(name: str):
    with pytest.raises(note.NoteError, match="invalid key name"):
        note.generate(name)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "text must end with a newline"),
        ("no newline", "text must end with a newline"),
        ("a\x00b\n", "control character U\\+0000"),
        ("a\rb\n", "control character U\\+000D"),
        ("a\ud800\n", "not valid UTF-8"),
    ],
)
def test_sign_refuses_invalid_text(text: str, message: str):
    with pytest.raises(note.NoteError, match="invalid text: " + message):
        note.sign(text, [SKEY_A])


def test_sign_needs_a_key_and_a_key_list():
    with pytest.raises(note.NoteError, match="at least one signature"):
        note.sign(TEXT, [])
    with pytest.raises(TypeError):
        note.sign(TEXT, SKEY_A)
    with pytest.raises(TypeError):
        note.verify(SIGNED_A, VKEY_A)


# --- properties ----------------------------------------------------------------------------

# Any character but surrogates and the ASCII controls, so lines may start with "— ".
LINE = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=["Cs"])
    | st.sampled_from(["—", " ", "+", "="]),
    max_size=12,
)
TEXTS = st.lists(LINE, min_size=1, max_size=5).map(lambda lines: "\n".join(lines) + "\n")


@given(TEXTS)
def test_round_trip_over_note_texts(text: str):
    signed = note.sign(text, [SKEY_A, SKEY_B])
    assert note.verify(signed, [VKEY_A]) == text
    assert note.verify(signed.encode(), [VKEY_B]) == text


@given(TEXTS, st.data())
def test_any_altered_byte_is_rejected(text: str, data: st.DataObject):
    signed = bytearray(note.sign(text, [SKEY_A]).encode())
    index = data.draw(st.integers(0, len(signed) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="delta")
    signed[index] = (signed[index] + delta) % 256
    with pytest.raises(note.NoteError):
        note.verify(bytes(signed), [VKEY_A])

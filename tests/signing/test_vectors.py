"""The W3C vc-di-eddsa test vectors, reproduced bit for bit, for both cryptosuites."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from signing import jcs, proofs, suites
from signing.contexts import DocumentLoader
from signing.keys import KeyPair
from signing.multibase import encode_z
from tests.conftest import DI_VECTORS, read_json

CREATED = "2023-02-24T23:36:38Z"

CASES = {
    suites.JCS: {
        "dir": DI_VECTORS / "eddsa-jcs-2022",
        "canon_doc": "canonDocJCS.txt",
        "proof_config": "proofConfigJCS.json",
        "canon_proof": "proofCanonJCS.txt",
        "doc_hash": "docHashJCS.txt",
        "proof_hash": "proofHashJCS.txt",
        "combined": "combinedHashJCS.txt",
        "sig_hex": "sigHexJCS.txt",
        "sig_b58": "sigBTC58JCS.txt",
        "signed": "signedJCS.json",
    },
    suites.RDFC: {
        "dir": DI_VECTORS / "eddsa-rdfc-2022",
        "canon_doc": "canonDocDataInt.txt",
        "proof_config": "proofConfigDataInt.json",
        "canon_proof": "proofCanonDataInt.txt",
        "doc_hash": "docHashDataInt.txt",
        "proof_hash": "proofHashDataInt.txt",
        "combined": "combinedHashDataInt.txt",
        "sig_hex": "sigHexDataInt.txt",
        "sig_b58": "sigBTC58DataInt.txt",
        "signed": "signedDataInt.json",
    },
}


def vector_text(suite: str, name: str) -> str:
    text: str = (CASES[suite]["dir"] / CASES[suite][name]).read_text(encoding="utf-8")
    return text


def vector_json(suite: str, name: str) -> Any:
    return read_json(CASES[suite]["dir"] / CASES[suite][name])


def hex_line(suite: str, name: str) -> str:
    return vector_text(suite, name).strip()


@pytest.mark.parametrize("suite", list(CASES))
def test_canonical_document(suite: str, unsigned: dict[str, Any], vector_loader: DocumentLoader):
    canonical = suites.SUITES[suite].canonicalize(unsigned, vector_loader)
    assert canonical == vector_text(suite, "canon_doc").encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == hex_line(suite, "doc_hash")


@pytest.mark.parametrize("suite", list(CASES))
def test_canonical_proof_configuration(suite: str, vector_loader: DocumentLoader):
    config = vector_json(suite, "proof_config")
    canonical = suites.SUITES[suite].canonicalize(config, vector_loader)
    assert canonical == vector_text(suite, "canon_proof").encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == hex_line(suite, "proof_hash")


@pytest.mark.parametrize("suite", list(CASES))
def test_hash_signature_and_proof_value(
    suite: str, unsigned: dict[str, Any], vector_key: KeyPair, vector_loader: DocumentLoader
):
    config = vector_json(suite, "proof_config")
    hash_data = suites.SUITES[suite].hash_data(unsigned, config, vector_loader)
    assert hash_data.hex() == hex_line(suite, "combined")
    signature = vector_key.sign(hash_data)
    assert signature.hex() == hex_line(suite, "sig_hex")
    assert encode_z(signature) == hex_line(suite, "sig_b58")


@pytest.mark.parametrize("suite", list(CASES))
def test_sign_reproduces_signed_vector(
    suite: str, unsigned: dict[str, Any], vector_key: KeyPair, vector_loader: DocumentLoader
):
    signed = proofs.sign(unsigned, vector_key, suite, created=CREATED, loader=vector_loader)
    expected = vector_json(suite, "signed")
    assert signed == expected
    # Same member order too, so the printed JSON matches the vector file.
    assert list(signed) == list(expected)
    assert list(signed["proof"]) == list(expected["proof"])


@pytest.mark.parametrize("suite", list(CASES))
def test_signed_vector_verifies(suite: str, vector_loader: DocumentLoader):
    proofs.verify(vector_json(suite, "signed"), loader=vector_loader)


@pytest.mark.parametrize("suite", list(CASES))
def test_signing_leaves_the_input_untouched(
    suite: str, unsigned: dict[str, Any], vector_key: KeyPair, vector_loader: DocumentLoader
):
    before = copy.deepcopy(unsigned)
    proofs.sign(unsigned, vector_key, suite, created=CREATED, loader=vector_loader)
    assert unsigned == before


def test_jcs_vector_canonical_form_is_rfc8785():
    doc = read_json(DI_VECTORS / "unsigned.json")
    assert jcs.canonicalize(doc) == (DI_VECTORS / "eddsa-jcs-2022" / "canonDocJCS.txt").read_bytes()

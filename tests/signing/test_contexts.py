"""signing knows no battery vocabulary (issue 15): its loader holds the W3C contexts it
bundles and what a caller hands it; the ledger hands over the project's own, every one
``schemas/contexts/index.json`` lists (``ledger.core.contexts``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from cli.inputs import loader_with
from ledger.core import contexts
from signing import keys, proofs, suites
from signing.contexts import CREDENTIALS_V2, DATA_INTEGRITY_V2, MULTIKEY_V1, default_loader
from signing.errors import UnknownContextError

ROOT = Path(__file__).resolve().parents[2]
W3C = {CREDENTIALS_V2, DATA_INTEGRITY_V2, MULTIKEY_V1}
BPL_V1 = "https://w3id.org/bpl/v1"
INDEX = json.loads((ROOT / "schemas" / "contexts" / "index.json").read_text(encoding="utf-8"))
KEY = keys.from_seed(bytes(range(32)))


def test_signings_default_loader_knows_the_w3c_contexts_and_no_bpl_one() -> None:
    loader = default_loader()
    assert all(url in loader for url in W3C)
    assert BPL_V1 not in loader
    assert not any(url in loader for url in INDEX)


def test_the_ledgers_loader_knows_every_context_the_index_lists() -> None:
    loader = contexts.loader()
    assert BPL_V1 in loader
    assert "https://w3id.org/bpl/v2" in INDEX  # the index is the one list: v2 is in it
    for url, name in INDEX.items():
        stored = json.loads((ROOT / "schemas" / "contexts" / name).read_text(encoding="utf-8"))
        assert loader(url)["document"] == stored, url
    assert all(url in loader for url in W3C)
    assert contexts.loader() is loader  # built once
    assert BPL_V1 not in default_loader()  # and nothing of it leaked into signing's


def test_the_command_lines_loader_is_the_ledgers() -> None:
    assert all(url in loader_with(None) for url in INDEX)


@pytest.fixture
def record() -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2, BPL_V1],
        "id": "urn:uuid:5d1c7e2a-9b3f-4a6e-8c0d-2e4f6a8b0c1d",
        "type": ["VerifiableCredential", "StatusChange"],
        "issuer": KEY.did,
        "validFrom": "2026-11-29T10:00:00Z",
        "credentialSubject": {"id": "urn:bpl:passport:x", "sequence": 4, "status": "waste"},
    }


@pytest.mark.parametrize("suite", [suites.JCS, suites.RDFC])
def test_a_bpl_record_signs_and_verifies_with_the_ledgers_contexts_only(
    suite: str, record: dict[str, Any]
) -> None:
    with pytest.raises(UnknownContextError, match=BPL_V1):
        proofs.sign(record, KEY, suite)
    signed = proofs.sign(record, KEY, suite, loader=contexts.loader())
    proofs.verify(signed, loader=contexts.loader())
    with pytest.raises(UnknownContextError, match=BPL_V1):
        proofs.verify(signed)
    assert proofs.verify_many([signed]) != [None]
    assert proofs.verify_many([signed], loader=contexts.loader()) == [None]


def test_signing_reads_no_data_but_its_own() -> None:
    """``signing`` imports no ledger or schema (import-linter) and reads no other package's
    files either: every ``resources.files`` call names ``signing``."""
    read: list[str] = []
    for path in sorted((ROOT / "signing").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "files"
            ):
                argument = node.args[0] if node.args else None
                name = argument.value if isinstance(argument, ast.Constant) else None
                read.append(f"{path.name}: {name}")
    assert read and all(line.endswith(": signing") for line in read), read

"""Shared fixtures: the W3C vectors, the loader that knows their example context, keys; the
Hypothesis profile named by ``$BPL_HYPOTHESIS_PROFILE`` (tests/hypothesis_profiles.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from signing import keys
from signing.contexts import DocumentLoader, default_loader
from tests.hypothesis_profiles import load_profile_from_environment

load_profile_from_environment()

VECTORS = Path(__file__).parent / "vectors"
DI_VECTORS = VECTORS / "vc-di-eddsa"
EXAMPLES_CONTEXT_URL = "https://www.w3.org/ns/credentials/examples/v2"
EXAMPLES_CONTEXT_FILE = VECTORS / "jsonld-contexts" / "credentials-examples-v2.jsonld"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def vector_loader() -> DocumentLoader:
    """The bundled contexts plus the W3C examples context the vectors use."""
    return default_loader().with_contexts({EXAMPLES_CONTEXT_URL: read_json(EXAMPLES_CONTEXT_FILE)})


@pytest.fixture(scope="session")
def vector_key() -> keys.KeyPair:
    return keys.from_dict(read_json(DI_VECTORS / "keyPair.json"))


@pytest.fixture
def unsigned() -> dict[str, Any]:
    return read_json(DI_VECTORS / "unsigned.json")


@pytest.fixture(scope="session")
def battery_credential() -> dict[str, Any]:
    """A small credential in the project's own vocabulary (bundled context only)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/bpl/v1"],
        "id": "urn:uuid:1f0c6a52-8d0e-4e53-9a51-2b8f3c1e7a10",
        "type": ["VerifiableCredential", "DiagnosticTest"],
        "issuer": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "validFrom": "2026-11-29T10:00:00Z",
        "credentialSubject": {
            "id": "https://id.example.com/01/09506000134352/21/SN-0001",
            "batteryId": "DE-BAT-2024-000418",
            "sequence": 3,
            "previous": "sha256:9f2c1d1b53d7a1c3e0a4f1b6e4a1d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4",
            "stateOfCertifiedEnergy": 87.5,
            "cellTemperatures": [21.5, 22.0, 22.25],
            "testedBy": "Prüflabor Süd GmbH",
        },
    }


# The modules whose tests take longest (README sessions of real processes, the property
# tests that draw thousands of examples, the tamper matrix), run first: the parallel
# workers then end on short tests and finish together, where a long test drawn last kept
# one core busy while the other idled. Whole modules move, so that module-scoped fixtures
# are still made once.
LONGEST_FIRST = (
    "tests/test_readme.py",
    "tests/signing/test_json_input.py",
    "tests/ledger/test_tamper.py",
    "tests/signing/test_jcs.py",
    "tests/ledger/test_log_concurrency.py",
    "tests/passport/browser/test_pages_sqlite_browser.py",
    "tests/passport/test_schemathesis.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))

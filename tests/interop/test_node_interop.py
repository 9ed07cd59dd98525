"""Interop: bpl's signing layer against Digital Bazaar's JavaScript Data Integrity libraries.

Documents signed here must verify there and the other way round, for ``eddsa-jcs-2022``
and ``eddsa-rdfc-2022``, with did:key verification methods, single proofs and proof sets
(two proofs from two keys, one of each suite). The JavaScript side is
``tests/interop/node/di.mjs`` (see ``tests/interop/README.md``). To keep the module fast,
node is spawned once per round: round 1 does every JavaScript operation on documents
Python made, round 2 verifies the proof sets that Python completed from round 1's output.

Node and the npm packages are test requirements, never optional: when either is missing
the tests fail and say to run ``make test``, which installs them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ledger.core import contexts
from signing import jcs, json_input, keys, proofs
from signing.contexts import DocumentLoader
from signing.errors import BadSignatureError, VerificationError
from signing.multibase import encode_z

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
SCRIPT = NODE_DIR / "di.mjs"
VECTORS = HERE.parent / "vectors"
DI_VECTORS = VECTORS / "vc-di-eddsa"
EXAMPLES_CONTEXT_URL = "https://www.w3.org/ns/credentials/examples/v2"
EXAMPLES_CONTEXT_FILE = VECTORS / "jsonld-contexts" / "credentials-examples-v2.jsonld"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
BPL_V1 = "https://w3id.org/bpl/v1"

JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
SUITES = (JCS, RDFC)
OTHER = {JCS: RDFC, RDFC: JCS}
CREATED = "2026-11-29T10:00:00Z"
CREATED_LATER = "2026-11-29T11:30:00Z"
MAKE_HINT = (
    "run `make test` from the repository root: it installs the interop dependencies "
    "(`npm ci --prefix tests/interop/node`) before running the tests"
)
NODE_TIMEOUT_S = 120


def _key(label: str) -> keys.KeyPair:
    return keys.from_seed(hashlib.sha256(f"bpl interop key {label}".encode()).digest())


# Fixed keys, so that a failure can be reproduced exactly.
PY_A = _key("python A")
PY_B = _key("python B")
JS_A = _key("javascript A")
JS_B = _key("javascript B")


# --------------------------------------------------------------------------------------
# Documents.


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def battery_credential() -> dict[str, Any]:
    """A VC 2.0 credential in the project's vocabulary: floats, non-ASCII, nesting."""
    return {
        "@context": [CREDENTIALS_V2, BPL_V1],
        "id": "urn:uuid:3c1e52d0-6a0f-4b9e-9d7a-5b8c2f1e0a44",
        "type": ["VerifiableCredential", "DiagnosticTest"],
        "issuer": {"id": PY_A.did, "name": "Zellwerk Nord GmbH"},
        "validFrom": "2026-11-29T10:00:00Z",
        "name": "Batteriediagnose Nr. 3 — Modul «Ω-7»",
        "credentialSubject": {
            "id": "https://id.example.com/01/09506000134352/21/SN-0001",
            "sequence": 3,
            "previous": "sha256:9f2c1d1b53d7a1c3e0a4f1b6e4a1d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4",
            "stateOfCertifiedEnergy": 87.5,
            "stateOfHealth": 0.9312,
            "ratedEnergyWh": 61440.0,
            "internalResistanceOhm": 0.0015,
            "cellTemperatures": [21.5, 22.0, 22.25, -4.75],
            "testedBy": {
                "name": "Prüflabor Süd GmbH",
                "address": {"locality": "München", "country": "DE", "street": "Straße 1"},
                "remark": "电池检测 — 合格 🔋",
            },
            "measurements": [
                {"kind": "voltage", "value": 3.7125, "unit": "V"},
                {"kind": "stateOfCharge", "value": 0.5, "unit": "1"},
                {"kind": "capacity", "value": {"nominal": 230.0, "measured": 214.37}},
            ],
        },
    }


def w3c_unsigned() -> dict[str, Any]:
    """The unsigned credential of the W3C vc-di-eddsa test vectors (examples context)."""
    document: dict[str, Any] = read_json(DI_VECTORS / "unsigned.json")
    return document


def edge_cases() -> dict[str, Any]:
    """Strings and numbers that stress both canonicalizations (both sides must agree)."""
    return {
        "@context": [CREDENTIALS_V2, BPL_V1],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2026-11-29T10:00:00Z",
        "credentialSubject": {
            "id": "urn:example:edge",
            "escapes": 'bs\b ht\t lf\n ff\f cr\r quote" backslash\\ slash/',
            "controls": "nul\u0000 bel\u0007 vt\u000b so\u000e us\u001f del\u007f",
            "unicode": "nbsp\u00a0 ls\u2028 ps\u2029 bom\ufeff é e\u0301 ß 𝄞 🔋 Ω",
            "numbers": [
                0,
                -1,
                9007199254740991,
                0.1,
                0.30000000000000004,
                1e-6,
                -2.5e-5,
                1.5e300,
                1e21,
                4.5e15,
                100.0,
                -0.0,
                123456.789,
            ],
            "nested": {"a": {"b": {"c": [1, {"d": "deep"}]}}, "empty": {}, "list": []},
            "flags": [True, False],
        },
    }


DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "battery": battery_credential,
    "w3c": w3c_unsigned,
    "edge": edge_cases,
}


def _set_energy(document: dict[str, Any]) -> None:
    document["credentialSubject"]["stateOfCertifiedEnergy"] = 87.6


def _set_alumni(document: dict[str, Any]) -> None:
    document["credentialSubject"]["alumniOf"] = "The School of Counterfeits"


def _set_text(document: dict[str, Any]) -> None:
    document["credentialSubject"]["unicode"] += "!"


TAMPER: dict[str, Callable[[dict[str, Any]], None]] = {
    "battery": _set_energy,
    "w3c": _set_alumni,
    "edge": _set_text,
}


def tampered(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of a signed document with one value changed after signing."""
    copied = copy.deepcopy(document)
    TAMPER[name](copied)
    return copied


def _tiny_number() -> dict[str, Any]:
    document = battery_credential()
    document["credentialSubject"]["selfDischargePerSecond"] = 1e-7
    return document


def _noncharacter() -> dict[str, Any]:
    document = battery_credential()
    document["credentialSubject"]["testedBy"]["remark"] = "noncharacter \ufffe here"
    return document


# Known eddsa-rdfc-2022 disagreements, each a bug in the JavaScript stack (see README).
RDFC_DISAGREEMENTS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "tiny-number": (
        _tiny_number,
        "jsonld.js 9.0.0 toRDF types a number with 0 < |x| < 1e-6 (whose JavaScript string "
        'form has an exponent, e.g. 1e-7) as "0"^^xsd:integer instead of xsd:double '
        '"1.0E-7" (JSON-LD 1.1 API, object to RDF: non-zero fractional part => double)',
    ),
    "noncharacter": (
        _noncharacter,
        "rdf-canonize 5.0.0 writes U+FFFE raw in a literal; canonical N-Quads must write "
        "characters that are not XML 1.1 Char as UCHAR (\\uFFFE)",
    ),
}


def _big_integral_double() -> dict[str, Any]:
    document = battery_credential()
    document["credentialSubject"]["lifetimeEnergyJ"] = 1e20
    return document


SIGNED_VECTORS = sorted(DI_VECTORS.glob("*/signed*.json"))
JCS_FUZZ_SEED = 20261129
JCS_FUZZ_COUNT = 1500


_FUZZ_CHARS = (
    *'aZ0 "\\/.e-+,:[]{}',
    *"\b\t\n\f\r\x00\x1f\x7f\x80é\u2028\ufeff\ue000\ufffe\uffff",
    *"😀𝄞\U0010ffff",
)
_FUZZ_FLOATS = (
    0.0, -0.0, 0.1, 1e-7, 1e-6, 1e-5, 5e-324, 1e15 + 0.5, 1e16, -1e16, 2.0**53, 1e20,
    9.999999999999999e20, 1e21, 123456789012345.6, 1.7976931348623157e308,
)  # fmt: skip


def random_json_values(seed: int, count: int) -> list[Any]:
    """JSON values that stress a JCS implementation: every float layout, escapes, quotes
    and number-like text inside strings, keys that sort differently by code point and by
    UTF-16 code unit. Integers stay within +-(2^53 - 1), strings hold no lone surrogate."""
    rng = random.Random(seed)

    def number() -> float | int:
        pick = rng.random()
        if pick < 0.3:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            return value if math.isfinite(value) else 0.5
        if pick < 0.55:
            return rng.choice((-1, 1)) * rng.random() * 10.0 ** rng.randint(-30, 30)
        if pick < 0.75:
            return float(rng.randint(-(10**6), 10**6)) * 10.0 ** rng.randint(-8, 22)
        if pick < 0.9:
            return rng.choice(_FUZZ_FLOATS)
        return rng.randint(-(2**53) + 1, 2**53 - 1)

    def text() -> str:
        return "".join(rng.choice(_FUZZ_CHARS) for _ in range(rng.randint(0, 8)))

    def value(depth: int) -> Any:
        pick = rng.random()
        if depth > 4 or pick < 0.5:
            return rng.choice((number, number, text, lambda: None, lambda: True, lambda: False))()
        if pick < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 5))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 5))}

    return [value(0) for _ in range(count)]


@pytest.fixture(scope="module")
def loader() -> DocumentLoader:
    """The bundled contexts, the project's (as the ledger hands them to signing) and the W3C
    examples context, like the JavaScript side."""
    examples = {EXAMPLES_CONTEXT_URL: read_json(EXAMPLES_CONTEXT_FILE)}
    return contexts.loader().with_contexts(examples)


# --------------------------------------------------------------------------------------
# Running node.


def _node_command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js (`node`) is not on PATH; the interop tests need Node 18 or newer "
            f"and the npm packages of tests/interop/node: install Node.js, then {MAKE_HINT}",
            pytrace=False,
        )
    dependencies = read_json(NODE_DIR / "package.json")["dependencies"]
    missing = [
        name
        for name in sorted(dependencies)
        if not (NODE_DIR / "node_modules" / name / "package.json").is_file()
    ]
    if missing:
        pytest.fail(
            f"the npm packages in tests/interop/node are not installed "
            f"(missing: {', '.join(missing)}); {MAKE_HINT}",
            pytrace=False,
        )
    return [node, str(SCRIPT)]


def run_node(args: list[str], payload: Any) -> Any:
    """Run di.mjs with ``payload`` as JSON on stdin; its parsed JSON output."""
    command = [*_node_command(), *args]
    try:
        completed = subprocess.run(
            command,
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=NODE_DIR,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`node di.mjs {' '.join(args)}` took more than {NODE_TIMEOUT_S} s")
    if completed.returncode != 0:
        pytest.fail(
            f"`node di.mjs {' '.join(args)}` exited {completed.returncode}:\n"
            f"{completed.stderr.strip()}"
        )
    return json.loads(completed.stdout)


@dataclass
class Batch:
    """JavaScript operations collected under names and run by one `node di.mjs batch`."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def sign(
        self,
        name: str,
        document: dict[str, Any],
        suite: str,
        key: keys.KeyPair,
        created: str = CREATED,
    ) -> None:
        self._add(
            name,
            {
                "op": "sign",
                "suite": suite,
                "document": document,
                "secretKeyMultibase": key.secret_multibase(),
                "publicKeyMultibase": key.public_multibase,
                "created": created,
            },
        )

    def verify(self, name: str, document: dict[str, Any]) -> None:
        self._add(name, {"op": "verify", "document": document})

    def jcs(self, name: str, value: Any) -> None:
        self._add(name, {"op": "jcs", "value": value})

    def _add(self, name: str, request: dict[str, Any]) -> None:
        assert name not in self.names, name
        self.names.append(name)
        self.requests.append(request)

    def run(self) -> dict[str, Any]:
        responses = run_node(["batch"], self.requests)
        assert isinstance(responses, list)
        assert len(responses) == len(self.requests)
        return dict(zip(self.names, responses, strict=True))


def js_signed(response: dict[str, Any]) -> dict[str, Any]:
    """The document from a JavaScript sign response, or fail with its error."""
    if not response.get("ok"):
        pytest.fail(f"JavaScript signing failed: {response.get('error')}")
    document: dict[str, Any] = response["document"]
    return document


def assert_js_verified(report: dict[str, Any], document: dict[str, Any], proof_count: int) -> None:
    detail = (
        f"JavaScript refused a document that should verify: {report.get('errors')}\n"
        f"document: {json.dumps(document, ensure_ascii=False)}"
    )
    assert report["verified"] is True, detail
    assert report["libraryVerified"] is True, detail
    assert report["proofCount"] == proof_count
    assert [r["verified"] for r in report["results"]] == [True] * proof_count, detail


def assert_js_refused(report: dict[str, Any]) -> None:
    assert report["verified"] is False, "JavaScript accepted a tampered document"
    assert report["libraryVerified"] is False
    assert report["results"], report
    assert all(not r["verified"] for r in report["results"])
    assert all("Invalid signature." in r["errors"] for r in report["results"]), report


def python_verify(document: dict[str, Any], loader: DocumentLoader) -> None:
    try:
        proofs.verify(document, loader=loader)
    except VerificationError as exc:
        pytest.fail(
            f"Python refused a document that should verify: {exc}\n"
            f"document: {json.dumps(document, ensure_ascii=False)}"
        )


def appended_context(document: dict[str, Any]) -> dict[str, Any]:
    """A copy with one more (known) context after the signed ones."""
    copied = copy.deepcopy(document)
    copied["@context"] = [*copied["@context"], DATA_INTEGRITY_V2]
    return copied


def broken_last_proof(document: dict[str, Any]) -> dict[str, Any]:
    """A copy whose last proof carries a well-formed but wrong signature."""
    copied = copy.deepcopy(document)
    copied["proof"][-1]["proofValue"] = encode_z(bytes(64))
    return copied


def prefix_context_set(loader: DocumentLoader) -> dict[str, Any]:
    """A valid proof set whose eddsa-jcs-2022 proof covers only a prefix of the @context.

    The W3C credential is signed with JCS under the VC context alone; the examples context
    is appended afterwards (allowed: the proof's @context is a prefix) and an
    eddsa-rdfc-2022 proof is added over the document as it now is.
    """
    document = w3c_unsigned()
    document["@context"] = [CREDENTIALS_V2]
    document = proofs.sign(document, PY_A, JCS, CREATED, loader=loader)
    document["@context"] = [CREDENTIALS_V2, EXAMPLES_CONTEXT_URL]
    return proofs.sign(document, PY_B, RDFC, CREATED_LATER, loader=loader)


# --------------------------------------------------------------------------------------
# The two rounds.


@dataclass
class Round1:
    python_signed: dict[tuple[str, str], dict[str, Any]]
    python_sets: dict[str, dict[str, Any]]
    js: dict[str, Any]


@dataclass
class Round2:
    js_sets: dict[str, dict[str, Any]]
    js_then_python_sets: dict[str, dict[str, Any]]
    js: dict[str, Any]


@pytest.fixture(scope="module")
def round1(loader: DocumentLoader) -> Round1:
    """Python signs; one node run verifies, signs, and adds proofs to Python's documents."""
    batch = Batch()
    signed: dict[tuple[str, str], dict[str, Any]] = {}
    python_sets: dict[str, dict[str, Any]] = {}
    for suite in SUITES:
        for name, make in DOCUMENTS.items():
            document = proofs.sign(make(), PY_A, suite, CREATED, loader=loader)
            signed[name, suite] = document
            batch.verify(f"verify python {name} {suite}", document)
            batch.verify(f"verify python tampered {name} {suite}", tampered(document, name))
            batch.sign(f"sign {name} {suite}", make(), suite, JS_A)
        battery = signed["battery", suite]
        # Proof set, Python first: JavaScript adds a proof of the other suite.
        batch.sign(f"add to python {suite}", battery, OTHER[suite], JS_B, CREATED_LATER)
        # A proof set that Python completed itself, with its last proof broken.
        python_set = proofs.sign(battery, PY_B, OTHER[suite], CREATED_LATER, loader=loader)
        python_sets[suite] = python_set
        batch.verify(f"verify broken set {suite}", broken_last_proof(python_set))
    batch.verify("verify python appended jcs", appended_context(signed["battery", JCS]))
    batch.verify("verify prefix-context set", prefix_context_set(loader))
    for path in SIGNED_VECTORS:
        batch.verify(f"verify vector {path.name}", read_json(path))
    batch.sign("sign big integral double", _big_integral_double(), JCS, JS_A)
    for index, value in enumerate(random_json_values(JCS_FUZZ_SEED, JCS_FUZZ_COUNT)):
        batch.jcs(f"jcs {index}", value)
    for case, (make, _reason) in RDFC_DISAGREEMENTS.items():
        document = proofs.sign(make(), PY_A, RDFC, CREATED, loader=loader)
        batch.verify(f"verify python {case}", document)
        batch.sign(f"sign {case}", make(), RDFC, JS_A)
    return Round1(signed, python_sets, batch.run())


@pytest.fixture(scope="module")
def round2(round1: Round1, loader: DocumentLoader) -> Round2:
    """JavaScript verifies the proof sets: Python's additions to its documents, and its own."""
    batch = Batch()
    js_sets: dict[str, dict[str, Any]] = {}
    js_then_python: dict[str, dict[str, Any]] = {}
    for suite in SUITES:
        js_set = js_signed(round1.js[f"add to python {suite}"])
        js_sets[suite] = js_set
        batch.verify(f"verify python+js set {suite}", js_set)
        batch.verify(f"verify python+js set tampered {suite}", tampered(js_set, "battery"))
        js_battery = js_signed(round1.js[f"sign battery {suite}"])
        # Proof set, JavaScript first: Python adds a proof of the other suite.
        combined = proofs.sign(js_battery, PY_B, OTHER[suite], CREATED_LATER, loader=loader)
        js_then_python[suite] = combined
        batch.verify(f"verify js+python set {suite}", combined)
        batch.verify(f"verify js+python set tampered {suite}", tampered(combined, "battery"))
    changed = js_signed(round1.js["sign tiny-number"])
    changed["credentialSubject"]["selfDischargePerSecond"] = 9e-7
    batch.verify("verify js tiny-number tampered", changed)
    return Round2(js_sets, js_then_python, batch.run())


# --------------------------------------------------------------------------------------
# Python signs, JavaScript verifies.


@pytest.mark.parametrize("name", list(DOCUMENTS))
@pytest.mark.parametrize("suite", SUITES)
def test_python_signs_js_verifies(suite: str, name: str, round1: Round1):
    document = round1.python_signed[name, suite]
    assert_js_verified(round1.js[f"verify python {name} {suite}"], document, 1)


@pytest.mark.parametrize("name", list(DOCUMENTS))
@pytest.mark.parametrize("suite", SUITES)
def test_python_signed_then_tampered_js_refuses(suite: str, name: str, round1: Round1):
    assert_js_refused(round1.js[f"verify python tampered {name} {suite}"])


# --------------------------------------------------------------------------------------
# JavaScript signs, Python verifies.


@pytest.mark.parametrize("name", list(DOCUMENTS))
@pytest.mark.parametrize("suite", SUITES)
def test_js_signs_python_verifies(suite: str, name: str, round1: Round1, loader: DocumentLoader):
    document = js_signed(round1.js[f"sign {name} {suite}"])
    proof = document["proof"]
    assert proof["cryptosuite"] == suite
    assert proof["verificationMethod"] == JS_A.verification_method
    assert ("@context" in proof) is (suite == JCS)
    python_verify(document, loader)


@pytest.mark.parametrize("name", list(DOCUMENTS))
@pytest.mark.parametrize("suite", SUITES)
def test_js_signed_then_tampered_python_refuses(
    suite: str, name: str, round1: Round1, loader: DocumentLoader
):
    document = tampered(js_signed(round1.js[f"sign {name} {suite}"]), name)
    with pytest.raises(BadSignatureError):
        proofs.verify(document, loader=loader)


@pytest.mark.parametrize("name", list(DOCUMENTS))
@pytest.mark.parametrize("suite", SUITES)
def test_same_key_same_document_same_proof(
    suite: str, name: str, round1: Round1, loader: DocumentLoader
):
    """Ed25519 is deterministic: equal canonical forms give byte-identical signatures."""
    from_js = js_signed(round1.js[f"sign {name} {suite}"])
    from_python = proofs.sign(DOCUMENTS[name](), JS_A, suite, CREATED, loader=loader)
    assert from_python["proof"] == from_js["proof"]


# --------------------------------------------------------------------------------------
# Proof sets: two proofs, two keys, one of each suite.


@pytest.mark.parametrize("suite", SUITES)
def test_proof_set_python_first_js_adds(
    suite: str, round1: Round1, round2: Round2, loader: DocumentLoader
):
    combined = round2.js_sets[suite]
    original = round1.python_signed["battery", suite]
    assert isinstance(combined["proof"], list)
    assert len(combined["proof"]) == 2
    assert combined["proof"][0] == original["proof"], "JavaScript changed the first proof"
    assert {k: v for k, v in combined.items() if k != "proof"} == {
        k: v for k, v in original.items() if k != "proof"
    }
    added = combined["proof"][1]
    assert (added["cryptosuite"], added["verificationMethod"]) == (
        OTHER[suite],
        JS_B.verification_method,
    )
    results = proofs.verify_each(combined, loader=loader)
    assert [r.error for r in results] == [None, None]
    assert_js_verified(round2.js[f"verify python+js set {suite}"], combined, 2)


@pytest.mark.parametrize("suite", SUITES)
def test_proof_set_js_first_python_adds(suite: str, round2: Round2, loader: DocumentLoader):
    combined = round2.js_then_python_sets[suite]
    assert [p["cryptosuite"] for p in combined["proof"]] == [suite, OTHER[suite]]
    assert [p["verificationMethod"] for p in combined["proof"]] == [
        JS_A.verification_method,
        PY_B.verification_method,
    ]
    python_verify(combined, loader)
    assert_js_verified(round2.js[f"verify js+python set {suite}"], combined, 2)


@pytest.mark.parametrize("suite", SUITES)
def test_tampered_proof_set_refused_by_both(suite: str, round2: Round2, loader: DocumentLoader):
    for label, combined in (
        ("python+js", round2.js_sets[suite]),
        ("js+python", round2.js_then_python_sets[suite]),
    ):
        changed = tampered(combined, "battery")
        results = proofs.verify_each(changed, loader=loader)
        assert all(isinstance(r.error, BadSignatureError) for r in results), label
        assert_js_refused(round2.js[f"verify {label} set tampered {suite}"])


@pytest.mark.parametrize("suite", SUITES)
def test_proof_set_with_one_bad_proof(suite: str, round1: Round1, loader: DocumentLoader):
    """Both sides flag the bad proof; jsonld-signatures' own top-level flag does not.

    ``jsonld-signatures.verify`` answers ``verified: true`` as soon as ANY proof that
    matches a suite and purpose verifies, so di.mjs checks every result itself.
    """
    broken = broken_last_proof(round1.python_sets[suite])
    results = proofs.verify_each(broken, loader=loader)
    assert results[0].error is None
    assert isinstance(results[1].error, BadSignatureError)
    report = round1.js[f"verify broken set {suite}"]
    assert [r["verified"] for r in report["results"]] == [True, False]
    assert report["verified"] is False
    assert report["libraryVerified"] is True  # jsonld-signatures 11.6.0's "any proof" rule


# --------------------------------------------------------------------------------------
# eddsa-jcs-2022: a context appended after signing (the proof's @context is a prefix).


def test_jcs_context_appended_after_signing(round1: Round1, loader: DocumentLoader):
    document = appended_context(round1.python_signed["battery", JCS])
    python_verify(document, loader)
    assert_js_verified(round1.js["verify python appended jcs"], document, 1)


def test_proof_set_with_jcs_prefix_context_each_proof(round1: Round1, loader: DocumentLoader):
    python_verify(prefix_context_set(loader), loader)
    report = round1.js["verify prefix-context set"]
    assert [r["alone"] for r in report["results"]] == [True, True], report["errors"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="jsonld-signatures 11.6.0 verifies the proofs of a set concurrently on one shared "
    "copy of the document, and eddsa-jcs-2022-cryptosuite 1.0.0 overwrites that copy's "
    "@context with its proof's: the eddsa-rdfc-2022 proof is then checked against the "
    "truncated @context and fails (each proof alone verifies)",
)
def test_proof_set_with_jcs_prefix_context_whole_set_in_js(round1: Round1):
    report = round1.js["verify prefix-context set"]
    assert report["verified"] is True, report["errors"]


# --------------------------------------------------------------------------------------
# eddsa-jcs-2022: signing.jcs against the `canonicalize` package, byte for byte.


def test_jcs_canonical_forms_agree(round1: Round1):
    values = random_json_values(JCS_FUZZ_SEED, JCS_FUZZ_COUNT)
    differences = []
    for index, value in enumerate(values):
        response = round1.js[f"jcs {index}"]
        assert response["ok"], response
        if jcs.canonicalize(value) != response["canonical"].encode("utf-8"):
            differences.append(value)
    assert not differences, f"{len(differences)} values differ, e.g. {differences[:3]!r}"


def test_jcs_big_integral_double_js_signs_python_verifies(round1: Round1, loader: DocumentLoader):
    """JavaScript writes the double 1e20 as 100000000000000000000; read strictly, as the
    command line reads it, it is that exact double again and the proof verifies."""
    text = json.dumps(js_signed(round1.js["sign big integral double"])).encode()
    assert b"100000000000000000000" in text
    document = json_input.parse_object(text)
    assert document["credentialSubject"]["lifetimeEnergyJ"] == 1e20
    proofs.verify(document, loader=loader)


# --------------------------------------------------------------------------------------
# The W3C vectors through the JavaScript harness.


@pytest.mark.parametrize("path", SIGNED_VECTORS, ids=lambda p: p.name)
def test_w3c_vectors_verify_in_js(path: Path, round1: Round1):
    assert len(SIGNED_VECTORS) == 2
    assert_js_verified(round1.js[f"verify vector {path.name}"], read_json(path), 1)


# --------------------------------------------------------------------------------------
# Known disagreements (bugs on the JavaScript side): strict xfail, so a fixed upstream
# release turns these into failures that ask for the note to be removed.


def _xfail_cases(raises: type[BaseException]) -> list[Any]:
    return [
        pytest.param(case, marks=pytest.mark.xfail(strict=True, raises=raises, reason=reason))
        for case, (_make, reason) in RDFC_DISAGREEMENTS.items()
    ]


@pytest.mark.parametrize("case", _xfail_cases(AssertionError))
def test_rdfc_known_disagreement_python_signs_js_verifies(case: str, round1: Round1):
    report = round1.js[f"verify python {case}"]
    assert report["verified"] is True, report["errors"]


@pytest.mark.parametrize("case", _xfail_cases(BadSignatureError))
def test_rdfc_known_disagreement_js_signs_python_verifies(
    case: str, round1: Round1, loader: DocumentLoader
):
    proofs.verify(js_signed(round1.js[f"sign {case}"]), loader=loader)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=RDFC_DISAGREEMENTS["tiny-number"][1])
def test_rdfc_tiny_number_is_signed_in_js(round2: Round2):
    """The consequence of the jsonld.js bug: 1e-7 and 9e-7 (and 0) hash the same there,
    so JavaScript accepts its own eddsa-rdfc-2022 proof after the value was changed."""
    assert_js_refused(round2.js["verify js tiny-number tampered"])


# --------------------------------------------------------------------------------------
# The single-document commands of di.mjs.


def test_cli_sign_then_verify_commands(loader: DocumentLoader):
    signed = run_node(
        ["sign", RDFC],
        {
            "document": battery_credential(),
            "secretKeyMultibase": JS_A.secret_multibase(),
            "created": CREATED,
        },
    )
    python_verify(signed, loader)
    both = run_node(
        ["sign", JCS],
        {"document": signed, "secretKeyMultibase": JS_B.secret_multibase(), "created": CREATED},
    )
    assert len(both["proof"]) == 2
    report = run_node(["verify"], both)
    assert_js_verified(report, both, 2)
    python_verify(both, loader)

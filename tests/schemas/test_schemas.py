"""The v1 record schemas: valid 2020-12, examples that pass (and sign), named refusals.

Version 1 of the record format stays valid for the records signed under it: this file
pins every call to "v1" (tests/schemas/test_schemas_v2.py tests version 2).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from ledger.core import contexts
from signing import jcs, keys, proofs, suites
from tests.hypothesis_profiles import examples

V1 = "v1"
EXAMPLES = Path(__file__).parent / "examples" / V1
DOCS = Path(__file__).parents[2] / "docs" / "schemas.md"
SCHEMA_DIR = Path(schemas.__file__).parent / "kinds" / V1
KINDS = schemas.kinds(V1)
GROUPS = schemas.groups(V1)
KEY = keys.from_seed(bytes(range(32)))


def example(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{kind}.json").read_text(encoding="utf-8"))
    return loaded


def python_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def python_disclosure_validator(kind: str, group: str) -> jsonschema.Draft202012Validator:
    full = schemas.schema(kind, V1)
    return python_validator(
        {
            "$schema": full["$schema"],
            "$defs": full["$defs"],
            "$ref": f"#/$defs/disclosure-{group}",
        }
    )


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(jcs.canonicalize(value)).hexdigest()


# --------------------------------------------------------------------------- the schemas


def test_one_file_per_kind() -> None:
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == set(KINDS)
    assert KINDS == schemas.BATTERY_KINDS + schemas.ACTOR_KINDS + schemas.POLICY_KINDS
    assert len(set(KINDS)) == 13
    assert GROUPS == ("public", "legitimate-interest", "authority")
    assert schemas.restricted_groups(V1) == GROUPS[1:]


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_2020_12(kind: str) -> None:
    schema = schemas.schema(kind, V1)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://w3id.org/bpl/schemas/{kind}.json"
    assert schema["properties"]["type"]["const"] == ["VerifiableCredential", kind]
    assert schema["additionalProperties"] is False
    assert "proof" not in schema["properties"]


def test_schema_returns_a_copy() -> None:
    schemas.schema("Shipment", V1)["properties"].clear()
    assert "credentialSubject" in schemas.schema("Shipment", V1)["properties"]


def properties_of(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (location, property schema) anywhere in a schema, conditions (if) aside."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            if key != "if":
                yield from properties_of(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties_of(value, f"{where}[{index}]")


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_says_who_reads_it(kind: str) -> None:
    schema = schemas.schema(kind, V1)
    found = list(properties_of(schema))
    assert found
    for where, prop in found:
        assert prop.get("x-access") in GROUPS, where
    # Objects that hold fields refuse any other field.
    for where, prop in found:
        if prop.get("type") == "object":
            assert prop.get("additionalProperties") is False, where
    for name, definition in schema["$defs"].items():
        if name.startswith("disclosure-"):
            group = name.removeprefix("disclosure-")
            assert definition["additionalProperties"] is False
            assert {p["x-access"] for _, p in properties_of(definition)} == {group}


@pytest.mark.parametrize("kind", KINDS)
def test_access_groups_cover_every_property(kind: str) -> None:
    schema = schemas.schema(kind, V1)
    groups = schemas.access_groups(kind, V1)
    subject = schema["properties"]["credentialSubject"]["properties"]
    for name, prop in subject.items():
        assert groups[name] == prop["x-access"] == "public"
    for group in schemas.disclosure_groups(kind, V1):
        for name, prop in schema["$defs"][f"disclosure-{group}"]["properties"].items():
            if name in ("salt", "group"):
                assert name not in groups
            else:
                assert groups[name] != "public"
                assert GROUPS.index(groups[name]) >= GROUPS.index(prop["x-access"])
    nested = {where for where, _ in properties_of(schema["$defs"])} | {
        where for where, _ in properties_of(subject)
    }
    assert len(groups) <= len(nested) + len(subject)
    assert all(group in GROUPS for group in groups.values())


def test_access_groups_follow_the_records_contract() -> None:
    expected = {
        "PassportIssued": {
            "batteryId": "public",
            "mass": "public",
            "predecessors": "public",
            "status": "legitimate-interest",
            "composition": "legitimate-interest",
            "dismantling[].hash": "legitimate-interest",
            "complianceReports": "authority",
        },
        "CustodyTransfer": {"from": "public", "to": "public", "reason": "legitimate-interest"},
        "DiagnosticTest": {
            "testedOn": "public",
            "soce": "legitimate-interest",
            "gradingPolicy.version": "legitimate-interest",
        },
        "Shipment": {
            "shipmentId": "public",
            "carrier": "public",
            "consignee": "legitimate-interest",
            "dangerousGoods.unNumber": "legitimate-interest",
            "documents[].type": "legitimate-interest",
        },
        "StatusChange": {"status": "legitimate-interest", "reason": "legitimate-interest"},
        "DocumentAttached": {"documentHash": "public", "documentType": "authority"},
        "Recycled": {"recovered.Li": "legitimate-interest", "process": "legitimate-interest"},
        "ActorRegistered": {"roles": "public", "keys": "public", "name": "legitimate-interest"},
        "KeyRevoked": {"key": "public", "reason": "public"},
    }
    for kind, fields in expected.items():
        groups = schemas.access_groups(kind, V1)
        for field, group in fields.items():
            assert groups[field] == group, (kind, field)
    for kind in ("PassportSucceeded", "KeyAdded", "KeyRevoked", "GradingPolicyRegistered"):
        assert set(schemas.access_groups(kind, V1).values()) == {"public"}
        assert schemas.disclosure_groups(kind, V1) == ()


def test_docs_table_is_generated_from_the_schemas() -> None:
    assert schemas.access_table(V1) in DOCS.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("kind", KINDS)
def test_example_is_valid(kind: str) -> None:
    ex = example(kind)
    record, disclosures = ex["record"], ex["disclosures"]
    assert schemas.kind_of(record) == kind
    assert schemas.validate_record(record) == kind
    python_validator(schemas.schema(kind, V1)).validate(record)
    digests = record["credentialSubject"].get("disclosures", {})
    assert {d["group"] for d in disclosures} == set(digests)
    for disclosure in disclosures:
        schemas.validate_disclosure(kind, disclosure, V1)
        python_disclosure_validator(kind, disclosure["group"]).validate(disclosure)
        assert digests[disclosure["group"]] == digest(disclosure)


@pytest.mark.parametrize("kind", KINDS)
def test_example_signs_and_verifies_with_jcs(kind: str) -> None:
    signed = proofs.sign(example(kind)["record"], keys.generate(), loader=contexts.loader())
    proofs.verify(signed, loader=contexts.loader())
    # The ledger validates the unsecured record: the proof is stripped, not validated.
    assert schemas.validate_record(signed) == kind


@pytest.mark.parametrize("kind", KINDS)
def test_example_signs_and_verifies_with_rdfc(kind: str) -> None:
    """rdfc safe mode refuses any term the context leaves undefined."""
    signed = proofs.sign(example(kind)["record"], KEY, suites.RDFC, loader=contexts.loader())
    proofs.verify(signed, loader=contexts.loader())


def test_the_schema_itself_refuses_a_proof() -> None:
    """The ledger strips proof before validation; the schema describes the unsecured record."""
    signed = proofs.sign(example("KeyAdded")["record"], KEY, loader=contexts.loader())
    errors = list(python_validator(schemas.schema("KeyAdded", V1)).iter_errors(signed))
    assert [e.validator for e in errors] == ["additionalProperties"]
    assert schemas.validate_record(signed) == "KeyAdded"


# --------------------------------------------------------------------------- refusals

Change = Callable[[dict[str, Any]], Any]


def subject(change: Callable[[dict[str, Any]], Any]) -> Change:
    return lambda record: change(record["credentialSubject"])


DIGEST = "sha256:" + "ab" * 32

# name: (kind of the example to start from, change, expected path, message part)
BAD_RECORDS: dict[str, tuple[str, Change, str, str]] = {
    "restricted field in clear": (
        "StatusChange",
        subject(lambda s: s.update(status="waste")),
        "$.credentialSubject.status",
        "'status' is a legitimate-interest field of StatusChange",
    ),
    "authority field in clear": (
        "PassportIssued",
        subject(lambda s: s.update(complianceReports=[DIGEST])),
        "$.credentialSubject.complianceReports",
        "authority field",
    ),
    "measure in clear": (
        "DiagnosticTest",
        subject(lambda s: s.update(soce=80)),
        "$.credentialSubject.soce",
        "legitimate-interest disclosure, never in clear",
    ),
    "missing previous at sequence 3": (
        "CustodyTransfer",
        subject(lambda s: (s.update(sequence=3), s.pop("previous"))),
        "$.credentialSubject.previous",
        "'previous' is required",
    ),
    "previous at sequence 0": (
        "PassportIssued",
        subject(lambda s: s.update(previous=DIGEST)),
        "$.credentialSubject.previous",
        "not allowed at sequence 0",
    ),
    "sequence 0 for a later kind": (
        "Shipment",
        subject(lambda s: s.update(sequence=0)),
        "$.credentialSubject.sequence",
        "minimum of 1",
    ),
    "sequence not 0 for the first kind": (
        "ActorRegistered",
        subject(lambda s: s.update(sequence=1)),
        "$.credentialSubject.sequence",
        "0 was expected",
    ),
    "negative sequence": (
        "KeyAdded",
        subject(lambda s: s.update(sequence=-1)),
        "$.credentialSubject.sequence",
        "minimum",
    ),
    "wrong type list": (
        "Shipment",
        lambda r: r.update(type=["Shipment", "VerifiableCredential"]),
        "$.type",
        "was expected",
    ),
    "no VerifiableCredential": (
        "Shipment",
        lambda r: r.update(type=["Shipment"]),
        "$.type",
        "was expected",
    ),
    "unknown kind": (
        "Shipment",
        lambda r: r.update(type=["VerifiableCredential", "Teleported"]),
        "$.type",
        "unknown kind 'Teleported'",
    ),
    "two kinds": (
        "Shipment",
        lambda r: r.update(type=["VerifiableCredential", "Shipment", "Recycled"]),
        "$.type",
        "exactly one record kind",
    ),
    "no kind": (
        "Shipment",
        lambda r: r.update(type=["VerifiableCredential"]),
        "$.type",
        "found none",
    ),
    "type not a list": (
        "Shipment",
        lambda r: r.update(type="Shipment"),
        "$.type",
        "list of strings",
    ),
    "extra top-level property": (
        "Recycled",
        lambda r: r.update(credentialStatus={"id": "urn:x"}),
        "$.credentialStatus",
        "unexpected property 'credentialStatus'",
    ),
    "extra subject property": (
        "KeyRevoked",
        subject(lambda s: s.update(comment="lost laptop")),
        "$.credentialSubject.comment",
        "unexpected property 'comment'",
    ),
    "bad previous digest": (
        "CustodyTransfer",
        subject(lambda s: s.update(previous="sha256:" + "AB" * 32)),
        "$.credentialSubject.previous",
        "does not match",
    ),
    "bad disclosure digest": (
        "DiagnosticTest",
        subject(lambda s: s["disclosures"].update({"legitimate-interest": "sha256:1234"})),
        '$.credentialSubject.disclosures["legitimate-interest"]',
        "does not match",
    ),
    "missing disclosure": (
        "StatusChange",
        subject(lambda s: s.pop("disclosures")),
        "$.credentialSubject.disclosures",
        "'disclosures' is required",
    ),
    "disclosure group the kind has not": (
        "CustodyTransfer",
        subject(lambda s: s["disclosures"].update(authority=DIGEST)),
        "$.credentialSubject.disclosures.authority",
        "no authority disclosure",
    ),
    "disclosures on a public-only kind": (
        "PassportSucceeded",
        subject(lambda s: s.update(disclosures={"legitimate-interest": DIGEST})),
        "$.credentialSubject.disclosures",
        "unexpected property",
    ),
    "two disclosure groups for a document": (
        "DocumentAttached",
        subject(lambda s: s["disclosures"].update({"legitimate-interest": DIGEST})),
        "$.credentialSubject.disclosures",
        "more than 1 property",
    ),
    "no bpl @context: no version": (
        "KeyAdded",
        lambda r: r.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
        '$["@context"]',
        "a record names its version by a bpl context",
    ),
    "wrong @context order": (
        "KeyAdded",
        lambda r: r["@context"].reverse(),
        '$["@context"]',
        "was expected",
    ),
    "extra @context": (
        "KeyAdded",
        lambda r: r["@context"].append("https://w3id.org/security/data-integrity/v2"),
        '$["@context"]',
        "was expected",
    ),
    "record id not a urn:uuid": (
        "KeyAdded",
        lambda r: r.update(id="https://example.com/1"),
        "$.id",
        "does not match",
    ),
    "issuer not a DID": (
        "KeyAdded",
        lambda r: r.update(issuer="https://example.com/operator"),
        "$.issuer",
        "does not match",
    ),
    "validFrom without zone": (
        "KeyAdded",
        lambda r: r.update(validFrom="2026-11-29T10:00:00"),
        "$.validFrom",
        "does not match",
    ),
    "impossible date": (
        "PassportIssued",
        subject(lambda s: s.update(manufacturedOn="2026-02-30")),
        "$.credentialSubject.manufacturedOn",
        '"date"',
    ),
    "actor subject not a DID": (
        "KeyAdded",
        subject(lambda s: s.update(id="urn:bpl:passport:1")),
        "$.credentialSubject.id",
        "does not match",
    ),
    "passport id not absolute": (
        "StatusChange",
        subject(lambda s: s.update(id="passport-1")),
        "$.credentialSubject.id",
        "does not match",
    ),
    "category enum": (
        "PassportIssued",
        subject(lambda s: s.update(category="SLI")),
        "$.credentialSubject.category",
        "is not one of",
    ),
    "negative mass": (
        "PassportIssued",
        subject(lambda s: s.update(mass=-1)),
        "$.credentialSubject.mass",
        "less than or equal to the minimum of 0",
    ),
    "recycled content above 100 %": (
        "PassportIssued",
        subject(lambda s: s["recycledContent"].update(Co=101)),
        "$.credentialSubject.recycledContent.Co",
        "maximum of 100",
    ),
    "role enum": (
        "ActorRegistered",
        subject(lambda s: s["roles"].append("smuggler")),
        "$.credentialSubject.roles[2]",
        "is not one of",
    ),
    "key not a did:key method": (
        "KeyAdded",
        subject(lambda s: s.update(key="did:web:example.com#key-1")),
        "$.credentialSubject.key",
        "does not match",
    ),
    "key revocation reason enum": (
        "KeyRevoked",
        subject(lambda s: s.update(reason="bored")),
        "$.credentialSubject.reason",
        "is not one of",
    ),
}


@pytest.mark.parametrize("name", list(BAD_RECORDS))
def test_bad_record_is_refused_by_path_and_rule(name: str) -> None:
    kind, change, path, message = BAD_RECORDS[name]
    record = copy.deepcopy(example(kind)["record"])
    change(record)
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_record(record)
    assert caught.value.path == path
    assert message in caught.value.message
    assert message in str(caught.value)
    # The Python reference implementation agrees that the record is invalid.
    assert not python_validator(schemas.schema(kind, V1)).is_valid(record)


def disclosure(kind: str, group: str = "legitimate-interest") -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in example(kind)["disclosures"] if d["group"] == group)
    return copy.deepcopy(found)


def dg(change: Callable[[dict[str, Any]], Any]) -> Change:
    return lambda d: change(d["dangerousGoods"])


# name: (kind, group of the example disclosure, change, expected path, message part)
BAD_DISCLOSURES: dict[str, tuple[str, str, Change, str, str]] = {
    "salt too short": (
        "StatusChange",
        "legitimate-interest",
        lambda d: d.update(salt="c2FsdA"),
        "$.salt",
        "does not match",
    ),
    "salt with padding": (
        "StatusChange",
        "legitimate-interest",
        lambda d: d.update(salt="dGhpcyBpcyAxNiBieXRlcw=="),
        "$.salt",
        "does not match",
    ),
    "salt in standard base64": (
        "StatusChange",
        "legitimate-interest",
        lambda d: d.update(salt="dGhpcyBpcy+xNiBieXRlcw"),
        "$.salt",
        "does not match",
    ),
    "missing salt": (
        "StatusChange",
        "legitimate-interest",
        lambda d: d.pop("salt"),
        "$.salt",
        "'salt' is required",
    ),
    "status enum": (
        "StatusChange",
        "legitimate-interest",
        lambda d: d.update(status="broken"),
        "$.status",
        "is not one of",
    ),
    "waste is no status to issue a passport in": (
        "PassportIssued",
        "legitimate-interest",
        lambda d: d.update(status="waste"),
        "$.status",
        "is not one of",
    ),
    "custody reason enum": (
        "CustodyTransfer",
        "legitimate-interest",
        lambda d: d.update(reason="gift"),
        "$.reason",
        "is not one of",
    ),
    "grade enum": (
        "DiagnosticTest",
        "legitimate-interest",
        lambda d: d.update(grade="excellent"),
        "$.grade",
        "is not one of",
    ),
    "soce above range": (
        "DiagnosticTest",
        "legitimate-interest",
        lambda d: d.update(soce=180),
        "$.soce",
        "maximum",
    ),
    "neither soce nor remaining capacity": (
        "DiagnosticTest",
        "legitimate-interest",
        lambda d: (d.pop("soce"), d.pop("remainingCapacity")),
        "$",
        "anyOf",
    ),
    "grading policy without version": (
        "DiagnosticTest",
        "legitimate-interest",
        lambda d: d["gradingPolicy"].pop("version"),
        "$.gradingPolicy.version",
        "'version' is required",
    ),
    "packing instruction enum": (
        "Shipment",
        "legitimate-interest",
        dg(lambda g: g.update(packingInstruction="P999")),
        "$.dangerousGoods.packingInstruction",
        "is not one of",
    ),
    "UN number enum": (
        "Shipment",
        "legitimate-interest",
        dg(lambda g: g.update(unNumber="UN1203")),
        "$.dangerousGoods.unNumber",
        "is not one of",
    ),
    "class other than 9": (
        "Shipment",
        "legitimate-interest",
        dg(lambda g: g.update({"class": "8"})),
        "$.dangerousGoods.class",
        '"9" was expected',
    ),
    "special provision enum": (
        "Shipment",
        "legitimate-interest",
        dg(lambda g: g.update(specialProvisions=[188])),
        "$.dangerousGoods.specialProvisions[0]",
        "is not one of",
    ),
    "negative gross mass": (
        "Shipment",
        "legitimate-interest",
        dg(lambda g: g.update(grossMass=-5)),
        "$.dangerousGoods.grossMass",
        "minimum of 0",
    ),
    "used not waste without Annex XIV evidence": (
        "Shipment",
        "legitimate-interest",
        lambda d: d.pop("annexXivEvidence"),
        "$.annexXivEvidence",
        "'annexXivEvidence' is required",
    ),
    "document type enum": (
        "Shipment",
        "legitimate-interest",
        lambda d: d["documents"][0].update(type="selfie"),
        "$.documents[0].type",
        "is not one of",
    ),
    "consignee not a DID": (
        "Shipment",
        "legitimate-interest",
        lambda d: d.update(consignee="ACME GmbH"),
        "$.consignee",
        "does not match",
    ),
    "negative recovered mass": (
        "Recycled",
        "legitimate-interest",
        lambda d: d["recovered"].update(Co=-0.5),
        "$.recovered.Co",
        "minimum of 0",
    ),
    "unknown recovered material": (
        "Recycled",
        "legitimate-interest",
        lambda d: d["recovered"].update(unobtainium=1),
        "$.recovered.unobtainium",
        "unexpected property",
    ),
    "extra disclosure field": (
        "CustodyTransfer",
        "legitimate-interest",
        lambda d: d.update(price=1000),
        "$.price",
        "unexpected property 'price'",
    ),
    "wrong group for the kind": (
        "CustodyTransfer",
        "legitimate-interest",
        lambda d: d.update(group="authority"),
        "$.group",
        "not a disclosure group of CustodyTransfer",
    ),
    "public is no disclosure group": (
        "Recycled",
        "legitimate-interest",
        lambda d: d.update(group="public"),
        "$.group",
        "not a disclosure group",
    ),
    "authority field in the legitimate-interest disclosure": (
        "PassportIssued",
        "legitimate-interest",
        lambda d: d.update(complianceReports=[DIGEST]),
        "$.complianceReports",
        "unexpected property",
    ),
}


@pytest.mark.parametrize("name", list(BAD_DISCLOSURES))
def test_bad_disclosure_is_refused_by_path_and_rule(name: str) -> None:
    kind, group, change, path, message = BAD_DISCLOSURES[name]
    bad = disclosure(kind, group)
    change(bad)
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_disclosure(kind, bad, V1)
    assert caught.value.path == path
    assert message in caught.value.message
    assert caught.value.kind == kind
    assert not python_disclosure_validator(kind, group).is_valid(bad)


def test_waste_shipment_needs_no_annex_xiv_evidence() -> None:
    waste = disclosure("Shipment")
    waste.update(waste=True)
    waste.pop("annexXivEvidence")
    waste["dangerousGoods"].update(
        properShippingName="WASTE LITHIUM ION BATTERIES",
        specialProvisions=[377],
        packingInstruction="P909",
        marks=["LITHIUM BATTERIES FOR RECYCLING"],
    )
    schemas.validate_disclosure("Shipment", waste, V1)


def test_document_may_be_disclosed_to_either_group() -> None:
    ex = example("DocumentAttached")
    moved = copy.deepcopy(ex)
    (only,) = moved["disclosures"]
    only["group"] = "legitimate-interest"
    moved["record"]["credentialSubject"]["disclosures"] = {"legitimate-interest": digest(only)}
    schemas.validate_record(moved["record"])
    schemas.validate_disclosure("DocumentAttached", only, V1)


def test_public_only_kinds_have_no_disclosure() -> None:
    with pytest.raises(schemas.SchemaError, match="none: the kind has no restricted fields"):
        schemas.validate_disclosure("KeyAdded", {"salt": "A" * 22, "group": "authority"}, V1)


def test_unknown_kind_is_named_everywhere() -> None:
    for call in (
        lambda: schemas.schema("Teleported", V1),
        lambda: schemas.access_groups("Teleported", V1),
        lambda: schemas.validate_disclosure("Teleported", {}, V1),
    ):
        with pytest.raises(schemas.SchemaError, match=re.escape("unknown kind 'Teleported'")):
            call()


@pytest.mark.parametrize("value", [None, "x", ["record"]])
def test_not_an_object(value: Any) -> None:
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_record(value)
    assert caught.value.path == "$"


def test_not_json_data_is_a_schema_error() -> None:
    record = copy.deepcopy(example("KeyAdded")["record"])
    record["credentialSubject"]["key"] = {1, 2}
    with pytest.raises(schemas.SchemaError, match="not JSON data"):
        schemas.validate_record(record)


def test_schema_error_is_a_value_error() -> None:
    error = schemas.SchemaError("Shipment", "$.x", "bad")
    assert isinstance(error, ValueError)
    assert (error.kind, error.path, error.message) == ("Shipment", "$.x", "bad")
    assert str(error) == "Shipment: $.x: bad"


def test_a_restricted_field_in_clear_is_named_before_other_errors() -> None:
    record = copy.deepcopy(example("StatusChange")["record"])
    record["credentialSubject"].pop("disclosures")
    record["credentialSubject"]["status"] = "waste"
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_record(record)
    assert caught.value.path == "$.credentialSubject.status"


def test_validators_are_compiled_once() -> None:
    schemas.validate_record(example("Shipment")["record"])
    assert schemas._validators("Shipment", V1) is schemas._validators("Shipment", V1)


class _Named(str):
    """A str subclass: kind_of's fast path leaves it to the reference."""


TYPE_ITEMS = st.sampled_from(
    [*schemas.KINDS, "VerifiableCredential", _Named("Shipment"), "Teleported", 7, None]
)


@settings(max_examples=examples(1000))
@given(types=st.one_of(st.lists(TYPE_ITEMS, max_size=3), TYPE_ITEMS))
def test_kind_of_agrees_with_its_reference(types: Any) -> None:
    def outcome(call: Callable[[], str]) -> object:
        try:
            return call()
        except schemas.SchemaError as exc:
            return exc.path, exc.message

    assert outcome(lambda: schemas.kind_of({"type": types})) == outcome(
        lambda: schemas._kind_of(types)
    )


def test_a_disclosure_may_be_any_mapping() -> None:
    schemas.validate_disclosure("Shipment", MappingProxyType(disclosure("Shipment")), V1)
    bad = disclosure("Shipment")
    bad["waste"] = "yes"
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_disclosure("Shipment", MappingProxyType(bad), V1)
    assert caught.value.path == "$.waste"


@pytest.mark.parametrize("group", [["legitimate-interest"], None, 7, "public"])
def test_a_disclosure_group_must_be_one_of_the_kinds(group: object) -> None:
    odd = {**disclosure("Shipment"), "group": group}
    with pytest.raises(schemas.SchemaError, match="expected legitimate-interest") as caught:
        schemas.validate_disclosure("Shipment", odd, V1)
    assert caught.value.path == "$.group"

"""The v2 record schemas and context: valid 2020-12, examples that pass (and sign), named
refusals, and the v1 records that stay valid beside them.

v2 gives each Annex XIII point its own group (circularity: point 2, compliance: point 3,
performance: point 4), keeps the parties' own data apart (business), states a battery
model's data once (BatteryModelPublished) and makes public what the law makes public.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import schemas
from ledger.core import contexts
from signing import errors, jcs, keys, proofs, suites

V1, V2 = "v1", "v2"
HERE = Path(__file__).parent
EXAMPLES = HERE / "examples" / V2
EXAMPLES_V1 = HERE / "examples" / V1
DOCS = Path(__file__).parents[2] / "docs" / "schemas.md"
PACKAGE = Path(schemas.__file__).parent
SCHEMA_DIR = PACKAGE / "kinds" / V2
CONTEXTS = PACKAGE / "contexts"
VC_CONTEXT = Path(errors.__file__).parent / "contexts" / "credentials-v2.jsonld"
KINDS = schemas.kinds(V2)
GROUPS = schemas.groups(V2)
KEY = keys.from_seed(bytes(range(32)))
DIGEST = "sha256:" + "ab" * 32
MODEL = "https://id.example.com/01/09506000134352"


def example(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{kind}.json").read_text(encoding="utf-8"))
    return loaded


def example_v1(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES_V1 / f"{kind}.json").read_text(encoding="utf-8"))
    return loaded


def python_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def python_disclosure_validator(kind: str, group: str) -> jsonschema.Draft202012Validator:
    full = schemas.schema(kind, V2)
    return python_validator(
        {"$schema": full["$schema"], "$defs": full["$defs"], "$ref": f"#/$defs/disclosure-{group}"}
    )


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(jcs.canonicalize(value)).hexdigest()


def both_accept(kind: str, record: dict[str, Any], disclosures: list[dict[str, Any]]) -> None:
    """The record and its disclosures pass both validators, and the digests bind them."""
    assert schemas.validate_record(record) == kind
    python_validator(schemas.schema(kind, V2)).validate(record)
    digests = record["credentialSubject"].get("disclosures", {})
    assert {d["group"] for d in disclosures} == set(digests)
    for disclosure in disclosures:
        schemas.validate_disclosure(kind, disclosure, V2)
        python_disclosure_validator(kind, disclosure["group"]).validate(disclosure)
        assert digests[disclosure["group"]] == digest(disclosure)


def rebind(record: dict[str, Any], disclosures: list[dict[str, Any]]) -> None:
    """Set the record's disclosure digests to those of ``disclosures`` (none: no map)."""
    subject = record["credentialSubject"]
    if disclosures:
        subject["disclosures"] = {d["group"]: digest(d) for d in disclosures}
    else:
        subject.pop("disclosures", None)


# --------------------------------------------------------------------------- the schemas


def test_one_file_per_kind() -> None:
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == set(KINDS)
    assert set(KINDS) == set(schemas.KINDS)
    assert len(set(KINDS)) == 14
    assert "BatteryModelPublished" in KINDS
    assert "BatteryModelPublished" not in schemas.kinds(V1)
    assert GROUPS == ("public", "circularity", "compliance", "performance", "business")
    assert schemas.restricted_groups(V2) == GROUPS[1:]
    assert schemas.CURRENT == V2


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_2020_12(kind: str) -> None:
    schema = schemas.schema(kind, V2)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://w3id.org/bpl/schemas/v2/{kind}.json"
    assert schema["properties"]["@context"]["const"] == schemas.context_of(V2)
    assert schema["properties"]["@context"]["const"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://w3id.org/bpl/v2",
    ]
    assert schema["properties"]["type"]["const"] == ["VerifiableCredential", kind]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["credentialSubject"]["additionalProperties"] is False
    assert "proof" not in schema["properties"]
    assert set(schema["required"]) == {
        "@context",
        "id",
        "type",
        "issuer",
        "validFrom",
        "credentialSubject",
    }


def test_schema_returns_a_copy() -> None:
    schemas.schema("BatteryModelPublished", V2)["properties"].clear()
    assert "credentialSubject" in schemas.schema("BatteryModelPublished", V2)["properties"]


def test_v2_is_the_default_version() -> None:
    assert schemas.schema("StatusChange") == schemas.schema("StatusChange", V2)
    assert schemas.access_groups("StatusChange") == schemas.access_groups("StatusChange", V2)
    assert schemas.context_of(schemas.CURRENT) == example("StatusChange")["record"]["@context"]


CONDITIONAL = ("then", "else")


def properties_of(node: Any, where: str = "$") -> Iterator[tuple[str, Any]]:
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


def branches_of(node: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(object schema, one of its then / else branches) for every conditional object."""
    if isinstance(node, dict):
        owners = [node, *node.get("allOf", [])]
        for owner in owners:
            for key in CONDITIONAL:
                if isinstance(owner.get(key), dict):
                    yield node, owner[key]
        for key, value in node.items():
            if key not in ("if", "allOf", *CONDITIONAL):
                yield from branches_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from branches_of(value)


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_says_who_reads_it(kind: str) -> None:
    schema = schemas.schema(kind, V2)
    found = list(properties_of(schema))
    assert found
    for where, prop in found:
        if prop is True:
            # A branch that only lets named fields through (a person's record, a document
            # with a disclosure) restates names defined, with their x-access, beside it.
            assert any(f"/{key}." in where for key in CONDITIONAL), where
            continue
        assert prop.get("x-access") in GROUPS, where
        assert prop.get("description"), where
        if prop.get("type") == "object":
            assert prop.get("additionalProperties") is False, where
        if prop.get("type") == "number":
            # Units in every numeric description: "Battery mass (kg)".
            assert re.search(r"\([^()]+\)$", prop["description"]), where
    # The record holds public fields only: the log is public.
    subject = schema["properties"]["credentialSubject"]
    assert {p["x-access"] for _, p in properties_of(subject) if p is not True} == {"public"}
    for name, definition in schema["$defs"].items():
        if name.startswith("disclosure-"):
            group = name.removeprefix("disclosure-")
            assert group in schemas.restricted_groups(V2)
            assert definition["additionalProperties"] is False
            assert definition["properties"]["group"]["const"] == group
            assert {"salt", "group"} <= set(definition["required"])
            assert {p["x-access"] for _, p in properties_of(definition)} == {group}


@pytest.mark.parametrize("kind", KINDS)
def test_conditional_branches_restate_only_defined_fields(kind: str) -> None:
    for owner, branch in branches_of(schemas.schema(kind, V2)):
        for name, prop in branch.get("properties", {}).items():
            assert prop is True, (kind, name)
            assert name in owner["properties"], (kind, name)
        if "properties" in branch:
            assert branch["additionalProperties"] is False
        for name in branch.get("required", []):
            assert name in owner["properties"], (kind, name)


@pytest.mark.parametrize("kind", KINDS)
def test_the_subject_discloses_exactly_its_groups(kind: str) -> None:
    schema = schemas.schema(kind, V2)
    groups = schemas.disclosure_groups(kind, V2)
    digests = schema["properties"]["credentialSubject"]["properties"].get("disclosures")
    if not groups:
        assert digests is None
        return
    assert set(digests["properties"]) == set(groups)
    assert digests["additionalProperties"] is False
    for group in groups:
        assert digests["properties"][group]["$ref"] == "#/$defs/sha256"


@pytest.mark.parametrize("kind", KINDS)
def test_access_groups_cover_every_property(kind: str) -> None:
    schema = schemas.schema(kind, V2)
    groups = schemas.access_groups(kind, V2)
    subject = schema["properties"]["credentialSubject"]["properties"]
    restated = {
        name
        for group in schemas.disclosure_groups(kind, V2)
        for name in schema["$defs"][f"disclosure-{group}"]["properties"]
    }
    for name, prop in subject.items():
        assert prop["x-access"] == "public"
        # A field public in one record and restricted in another (a document's type, an
        # actor's name) reports its stricter group; every other subject field is public.
        assert groups[name] == "public" or name in restated, name
    for group in schemas.disclosure_groups(kind, V2):
        for name, prop in schema["$defs"][f"disclosure-{group}"]["properties"].items():
            if name in ("salt", "group"):
                assert name not in groups
            else:
                assert groups[name] != "public"
                assert GROUPS.index(groups[name]) >= GROUPS.index(prop["x-access"])
    assert all(group in GROUPS for group in groups.values())


def test_access_groups_follow_annex_xiii() -> None:
    expected = {
        "BatteryModelPublished": {
            "gtin": "public",
            "manufacturer.name": "public",
            "manufacturer.address": "public",
            "manufacturer.contact.email": "public",
            "warrantyPeriod": "public",
            "carbonFootprint.perFunctionalUnit": "public",
            "recycledContent.postConsumer.Li": "public",
            "extinguishingAgents": "public",
            "declarationOfConformity.hash": "public",
            "internalResistance.pack": "public",
            "composition": "circularity",
            "partNumbers[].source": "circularity",
            "dismantling[].hash": "circularity",
            "safety.measures": "circularity",
            "complianceReports": "compliance",
            "capacityFade": "performance",
            "expectedLifetimeYears": "performance",
        },
        "PassportIssued": {
            "batteryId": "public",
            "model.id": "public",
            "model.record": "public",
            "manufacturedOn": "public",
            "extinguishingAgents": "public",
            "predecessors": "public",
            "status": "performance",
            "puttingIntoServiceOn": "performance",
        },
        "DiagnosticTest": {
            "testedOn": "public",
            "soce": "performance",
            "temperatureHistory.chargingTimeBelowIdleRange": "performance",
            "selfDischargeEvolution[].rate": "performance",
            "gradingPolicy.digest": "performance",
        },
        "StatusChange": {"status": "performance", "reason": "performance"},
        "CustodyTransfer": {
            "from": "public",
            "to": "public",
            "reason": "business",
            "price.currency": "business",
            "invoice": "business",
        },
        "Shipment": {
            "shipmentId": "public",
            "carrier": "public",
            "dangerousGoods.unNumber": "public",
            "dangerousGoods.marks": "public",
            "crateIds": "public",
            "consignee": "business",
            "waste": "business",
            "annexXivEvidence.testRecords": "business",
            "documents[].type": "business",
        },
        "ShipmentReceived": {"shipmentId": "public", "condition": "business"},
        "DocumentAttached": {"documentHash": "public", "mediaType": "public"},
        "PassportSucceeded": {"successors": "public"},
        "Recycled": {
            "scope": "public",
            "recovered.Li": "business",
            "components[].partNumber": "business",
        },
        "ActorRegistered": {"roles": "public", "keys": "public", "entity": "public"},
        "KeyRevoked": {"key": "public", "reason": "public"},
    }
    for kind, fields in expected.items():
        groups = schemas.access_groups(kind, V2)
        for field, group in fields.items():
            assert groups[field] == group, (kind, field)
    disclosed = {kind: schemas.disclosure_groups(kind, V2) for kind in KINDS}
    assert disclosed == {
        "BatteryModelPublished": ("circularity", "compliance", "performance"),
        "PassportIssued": ("performance",),
        "CustodyTransfer": ("business",),
        "DiagnosticTest": ("performance",),
        "Shipment": ("business",),
        "ShipmentReceived": ("business",),
        "StatusChange": ("performance",),
        "DocumentAttached": ("circularity", "compliance", "performance", "business"),
        "PassportSucceeded": (),
        "Recycled": ("business",),
        "ActorRegistered": ("business",),
        "KeyAdded": (),
        "KeyRevoked": (),
        "GradingPolicyRegistered": (),
    }
    for kind in ("PassportSucceeded", "KeyAdded", "KeyRevoked", "GradingPolicyRegistered"):
        assert set(schemas.access_groups(kind, V2).values()) == {"public"}


def test_no_v1_group_survives_in_v2() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json"))
    assert '"legitimate-interest"' in text  # the role, in ActorRegistered's enum
    for kind in KINDS:
        assert not {"legitimate-interest", "authority"} & set(
            schemas.access_groups(kind, V2).values()
        )
    roles = schemas.schema("ActorRegistered", V2)["properties"]["credentialSubject"]
    assert roles["properties"]["roles"]["items"]["enum"] == [
        "manufacturer",
        "dismantler",
        "test-lab",
        "carrier",
        "repurposer",
        "remanufacturer",
        "recycler",
        "legitimate-interest",
        "notified-body",
        "market-surveillance",
        "commission",
        "operator",
    ]


def test_docs_tables_are_generated_from_the_schemas() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert schemas.access_table(V1) in text
    assert schemas.access_table(V2) in text
    assert text.index(schemas.access_table(V1)) < text.index(schemas.access_table(V2))


def strip_annotations(node: Any) -> Any:
    """A schema without who reads it and how it is described: its shape only."""
    if isinstance(node, dict):
        return {
            k: strip_annotations(v)
            for k, v in node.items()
            if k not in ("x-access", "x-longlist", "description", "title")
        }
    if isinstance(node, list):
        return [strip_annotations(v) for v in node]
    return node


def test_diagnostic_test_keeps_every_v1_field_and_shape() -> None:
    """Grading reads the measures by their v1 names, from either version's group."""
    old = schemas.schema("DiagnosticTest", V1)["$defs"]["disclosure-legitimate-interest"]
    new = schemas.schema("DiagnosticTest", V2)["$defs"]["disclosure-performance"]
    for name, prop in old["properties"].items():
        if name == "group":
            continue
        assert strip_annotations(new["properties"][name]) == strip_annotations(prop), name
    assert set(old["required"]) - {"group"} <= set(new["required"])
    assert new["anyOf"] == old["anyOf"]
    assert set(new["properties"]) - set(old["properties"]) == {
        "remainingEnergy",
        "capacityThroughput",
        "selfDischargeEvolution",
        "temperatureHistory",
        "puttingIntoServiceOn",
    }


def test_shipment_keeps_the_v1_shapes() -> None:
    old = schemas.schema("Shipment", V1)["$defs"]["disclosure-legitimate-interest"]
    new = schemas.schema("Shipment", V2)
    subject = new["properties"]["credentialSubject"]["properties"]
    business = new["$defs"]["disclosure-business"]
    for name in ("dangerousGoods", "crateIds"):
        assert strip_annotations(subject[name]) == strip_annotations(old["properties"][name])
    for name in ("consignor", "consignee", "waste", "annexXivEvidence", "documents"):
        assert strip_annotations(business["properties"][name]) == strip_annotations(
            old["properties"][name]
        )
    assert (business["if"], business["then"]) == (old["if"], old["then"])


@pytest.mark.parametrize("kind", ["KeyAdded", "KeyRevoked", "GradingPolicyRegistered"])
def test_unchanged_kinds_differ_from_v1_in_version_only(kind: str) -> None:
    old, new = schemas.schema(kind, V1), schemas.schema(kind, V2)
    for schema in (old, new):
        schema.pop("$id")
        schema.pop("title")
        schema["properties"].pop("@context")
    assert old == new


def test_v1_is_kept_byte_for_byte() -> None:
    """Records signed under v1 keep their meaning: its schemas and context never change."""
    summed = hashlib.sha256()
    for path in sorted((PACKAGE / "kinds" / V1).glob("*.json")):
        summed.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert summed.hexdigest() == "c059c4bffb5bee62bf01ac7d2813f824f31bc19e6a2b335d989170cf6f3a36c3"
    context = (CONTEXTS / "bpl-v1.jsonld").read_bytes()
    assert hashlib.sha256(context).hexdigest() == (
        "cb54ab83427005776535b6024ffc3fc651adc1f694a6414c120f5da7bde29970"
    )


# --------------------------------------------------------------------------- the context


def context_terms(path: Path) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in pairs]
        assert len(names) == len(set(names)), f"a term defined twice in {path.name}"
        return dict(pairs)

    loaded = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    terms: dict[str, Any] = loaded["@context"]
    return terms


def record_field_names(kind: str) -> set[str]:
    """Every member name a v2 record of ``kind`` may carry in its subject, nested too
    (the grading policy document is @json: its inside is no RDF)."""
    names: set[str] = set()

    def walk(properties: dict[str, Any]) -> None:
        for name, prop in properties.items():
            names.add(name)
            if name == "policy":
                continue
            walk(prop.get("properties", {}))
            items = prop.get("items")
            if isinstance(items, dict):
                walk(items.get("properties", {}))

    walk(schemas.schema(kind, V2)["properties"]["credentialSubject"]["properties"])
    return names


def test_context_is_indexed_and_protected() -> None:
    index = json.loads((CONTEXTS / "index.json").read_text(encoding="utf-8"))
    assert index == {
        "https://w3id.org/bpl/v1": "bpl-v1.jsonld",
        "https://w3id.org/bpl/v2": "bpl-v2.jsonld",
    }
    terms = context_terms(CONTEXTS / "bpl-v2.jsonld")
    assert terms["@protected"] is True
    assert terms["@version"] == 1.1
    # No catch-all vocabulary: a term the context leaves undefined is refused by rdfc.
    assert "@vocab" not in terms


def test_context_defines_every_term_once() -> None:
    terms = context_terms(CONTEXTS / "bpl-v2.jsonld")
    vc = context_terms(VC_CONTEXT)
    # bpl never redefines a term of the (protected) VC context: id, name, mediaType ...
    assert {name for name in set(terms) & set(vc) if not name.startswith("@")} == set()
    for kind in KINDS:
        assert terms[kind] == f"bpl:{kind}"
        for name in record_field_names(kind):
            assert name in terms or name in vc, (kind, name)
    for group in schemas.restricted_groups(V2):
        assert terms[group] == {"@id": f"bpl:{group}Disclosure"}
    iris = [t["@id"] if isinstance(t, dict) else t for n, t in terms.items() if n[0] != "@"]
    assert len(iris) == len(set(iris)), "two terms for one IRI"
    used = set().union(*(record_field_names(kind) for kind in KINDS)) | set(KINDS)
    unused = set(terms) - used - set(schemas.restricted_groups(V2)) - {"bpl", "xsd"}
    assert {name for name in unused if not name.startswith("@")} == set()


def test_context_types_dates_and_identifiers() -> None:
    terms = context_terms(CONTEXTS / "bpl-v2.jsonld")
    for name in ("manufacturedOn", "testedOn"):
        assert terms[name]["@type"] == "xsd:date"
    assert terms["warrantyPeriod"]["@type"] == "xsd:duration"
    assert terms["sequence"]["@type"] == "xsd:integer"
    for name in (
        "manufacturer",
        "operator",
        "predecessors",
        "successors",
        "from",
        "to",
        "carrier",
        "keys",
        "key",
        "studyUrl",
        "url",
    ):
        assert terms[name]["@type"] == "@id", name
    assert terms["policy"]["@type"] == "@json"


def test_rdfc_refuses_a_term_the_context_leaves_undefined() -> None:
    record = copy.deepcopy(example("BatteryModelPublished")["record"])
    record["credentialSubject"]["voltage"]["ripple"] = 0.2
    with pytest.raises(errors.CanonicalizationError, match="'ripple' is not defined"):
        proofs.sign(record, KEY, suites.RDFC, loader=contexts.loader())


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("kind", KINDS)
def test_example_is_valid(kind: str) -> None:
    ex = example(kind)
    record, disclosures = ex["record"], ex["disclosures"]
    assert schemas.kind_of(record) == kind
    assert schemas.version_of(record) == V2
    both_accept(kind, record, disclosures)


@pytest.mark.parametrize("kind", KINDS)
def test_example_signs_and_verifies_with_jcs(kind: str) -> None:
    signed = proofs.sign(example(kind)["record"], keys.generate(), loader=contexts.loader())
    proofs.verify(signed, loader=contexts.loader())
    assert schemas.validate_record(signed) == kind


@pytest.mark.parametrize("kind", KINDS)
def test_example_signs_and_verifies_with_rdfc(kind: str) -> None:
    """No @vocab: rdfc safe mode refuses any term the context leaves undefined."""
    signed = proofs.sign(example(kind)["record"], KEY, suites.RDFC, loader=contexts.loader())
    proofs.verify(signed, loader=contexts.loader())


def test_the_model_example_is_a_full_model() -> None:
    """Every property of BatteryModelPublished and of its disclosures, nested too, is in
    the example: the one place the whole v2 model shape is signed and checked."""
    ex = example("BatteryModelPublished")
    schema = schemas.schema("BatteryModelPublished", V2)

    def missing(value: Any, node: dict[str, Any], where: str) -> Iterator[str]:
        for name, prop in node.get("properties", {}).items():
            if name == "previous":
                continue
            if name not in value:
                yield f"{where}.{name}"
                continue
            inner = value[name]
            if prop.get("type") == "object":
                yield from missing(inner, prop, f"{where}.{name}")
            items = prop.get("items", {})
            if prop.get("type") == "array" and items.get("type") == "object":
                merged = {k: v for item in inner for k, v in item.items()}
                yield from missing(merged, items, f"{where}.{name}[]")

    subject = schema["properties"]["credentialSubject"]
    assert list(missing(ex["record"]["credentialSubject"], subject, "$")) == []
    for disclosure in ex["disclosures"]:
        definition = schema["$defs"][f"disclosure-{disclosure['group']}"]
        assert list(missing(disclosure, definition, disclosure["group"])) == []


def test_the_model_example_adds_up() -> None:
    """The example's values are a consistent EV pack, not random numbers."""
    subject = example("BatteryModelPublished")["record"]["credentialSubject"]
    footprint = subject["carbonFootprint"]
    stages = ("rawMaterialAcquisition", "production", "distribution", "endOfLife")
    assert sum(footprint[s] for s in stages) == pytest.approx(footprint["perFunctionalUnit"])
    assert footprint["absolute"] == pytest.approx(
        footprint["perFunctionalUnit"] * subject["ratedEnergy"]
    )
    voltage = subject["voltage"]
    assert voltage["minimum"] < voltage["nominal"] < voltage["maximum"]
    assert subject["ratedCapacity"] * voltage["nominal"] / 1000 == pytest.approx(
        subject["ratedEnergy"], rel=0.01
    )
    assert subject["certifiedUsableEnergy"] < subject["ratedEnergy"]
    assert subject["gtin"] in subject["id"]
    checksum = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(subject["gtin"][:-1]))
    assert (10 - checksum % 10) % 10 == int(subject["gtin"][-1])


def test_the_diagnostic_test_example_measures_a_dozen_things() -> None:
    (performance,) = example("DiagnosticTest")["disclosures"]
    numeric = [k for k, v in performance.items() if isinstance(v, int | float) and k != "salt"]
    assert len(numeric) >= 12


# --------------------------------------------------------------------------- variants


def test_a_model_revision_restates_with_previous() -> None:
    ex = example("BatteryModelPublished")
    record = copy.deepcopy(ex["record"])
    record["credentialSubject"].update(sequence=1, previous=DIGEST)
    record["credentialSubject"]["warrantyPeriod"] = "P96M"
    both_accept("BatteryModelPublished", record, ex["disclosures"])


@pytest.mark.parametrize("period", ["P8Y", "P96M", "P8Y6M", "P8Y6M15D", "P2920D", "P416W", "P1M1D"])
def test_warranty_periods(period: str) -> None:
    record = copy.deepcopy(example("BatteryModelPublished")["record"])
    record["credentialSubject"]["warrantyPeriod"] = period
    schemas.validate_record(record)
    python_validator(schemas.schema("BatteryModelPublished", V2)).validate(record)


def test_a_successor_passport() -> None:
    ex = example("PassportIssued")
    record = copy.deepcopy(ex["record"])
    record["issuer"] = record["credentialSubject"]["manufacturer"] = KEY.did
    record["credentialSubject"].update(
        id="urn:bpl:passport:0c4a9a52-3f8e-4b7e-a1d2-5e6f70819a01",
        batteryId="https://id.example.com/01/09506000134352/21/NV82-000417-M1",
        manufacturedOn="2031-06-20",
        manufacturedAt="Second Life Storage SAS, Lyon, FR",
        mass=58.7,
        extinguishingAgents=["water"],
        predecessors=["urn:bpl:passport:5b0e2f4c-8a1d-4c3e-9f7b-2d6a1e0c9b84"],
    )
    performance = {
        **ex["disclosures"][0],
        "status": "repurposed",
        "puttingIntoServiceOn": "2031-07-01",
    }
    rebind(record, [performance])
    both_accept("PassportIssued", record, [performance])
    loader = contexts.loader()
    proofs.verify(proofs.sign(record, KEY, suites.RDFC, loader=loader), loader=loader)


def test_a_public_document_has_no_disclosure() -> None:
    record = copy.deepcopy(example("DocumentAttached")["record"])
    rebind(record, [])
    record["credentialSubject"].update(
        documentType="declaration-of-conformity",
        title="EU declaration of conformity, PowerPack EV-82",
    )
    both_accept("DocumentAttached", record, [])
    loader = contexts.loader()
    proofs.verify(proofs.sign(record, KEY, suites.RDFC, loader=loader), loader=loader)


@pytest.mark.parametrize("group", ["circularity", "compliance", "performance", "business"])
def test_a_restricted_document_may_be_in_any_group(group: str) -> None:
    ex = example("DocumentAttached")
    record = copy.deepcopy(ex["record"])
    (only,) = copy.deepcopy(ex["disclosures"])
    only["group"] = group
    rebind(record, [only])
    both_accept("DocumentAttached", record, [only])


def test_a_private_person_is_registered_under_a_pseudonym() -> None:
    record = copy.deepcopy(example("ActorRegistered")["record"])
    subject = record["credentialSubject"]
    for name in ("name", "address", "contact"):
        subject.pop(name)
    subject.update(
        id=KEY.did,
        keys=[KEY.verification_method],
        roles=["legitimate-interest"],
        entity="person",
    )
    business = {
        "salt": "dGhpcyBpcyAxNiBieXRlcw",
        "group": "business",
        "name": "Jana Nováková",
        "address": "Vinohradská 12, 120 00 Praha 2, CZ",
        "contact": {"email": "jana@example.cz"},
    }
    rebind(record, [business])
    both_accept("ActorRegistered", record, [business])
    loader = contexts.loader()
    proofs.verify(proofs.sign(record, KEY, suites.RDFC, loader=loader), loader=loader)


def test_an_organisation_may_give_its_name_only() -> None:
    record = copy.deepcopy(example("ActorRegistered")["record"])
    record["credentialSubject"].pop("address")
    record["credentialSubject"].pop("contact")
    both_accept("ActorRegistered", record, [])


def test_a_custody_transfer_may_state_no_business() -> None:
    record = copy.deepcopy(example("CustodyTransfer")["record"])
    rebind(record, [])
    both_accept("CustodyTransfer", record, [])


def test_a_waste_shipment_needs_no_annex_xiv_evidence() -> None:
    ex = example("Shipment")
    record = copy.deepcopy(ex["record"])
    record["credentialSubject"]["dangerousGoods"].update(
        properShippingName="WASTE LITHIUM ION BATTERIES",
        specialProvisions=[377],
        packingInstruction="P909",
        marks=["LITHIUM BATTERIES FOR RECYCLING"],
    )
    (business,) = copy.deepcopy(ex["disclosures"])
    business["waste"] = True
    business.pop("annexXivEvidence")
    rebind(record, [business])
    both_accept("Shipment", record, [business])


def test_whole_recycling_names_no_components() -> None:
    ex = example("Recycled")
    record = copy.deepcopy(ex["record"])
    record["credentialSubject"]["scope"] = "whole"
    (business,) = copy.deepcopy(ex["disclosures"])
    business.pop("components")
    business["inputMass"] = 511.9
    rebind(record, [business])
    both_accept("Recycled", record, [business])


# --------------------------------------------------------------------------- v1 stays valid


V1_KINDS = schemas.kinds(V1)


@pytest.mark.parametrize("kind", V1_KINDS)
def test_every_v1_example_is_still_valid(kind: str) -> None:
    """The version is read from the record's context: no caller names it."""
    ex = example_v1(kind)
    record = ex["record"]
    assert schemas.version_of(record) == V1
    assert schemas.validate_record(record) == kind
    for disclosure in ex["disclosures"]:
        schemas.validate_disclosure(kind, disclosure, V1)
    loader = contexts.loader()
    proofs.verify(proofs.sign(record, KEY, suites.RDFC, loader=loader), loader=loader)


@pytest.mark.parametrize("kind", ["PassportIssued", "StatusChange", "DiagnosticTest"])
def test_a_v1_record_is_no_v2_record(kind: str) -> None:
    """The versions are distinct formats: relabelling a v1 record does not make it v2."""
    record = copy.deepcopy(example_v1(kind)["record"])
    record["@context"] = schemas.context_of(V2)
    with pytest.raises(schemas.SchemaError):
        schemas.validate_record(record)
    assert not python_validator(schemas.schema(kind, V2)).is_valid(record)


def test_a_model_record_does_not_exist_in_v1() -> None:
    record = copy.deepcopy(example("BatteryModelPublished")["record"])
    record["@context"] = schemas.context_of(V1)
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_record(record)
    assert caught.value.path == "$.type"
    assert "BatteryModelPublished records do not exist in version v1" in caught.value.message


def test_a_v1_disclosure_group_is_no_v2_group() -> None:
    (old,) = example_v1("StatusChange")["disclosures"]
    with pytest.raises(schemas.SchemaError, match="expected performance") as caught:
        schemas.validate_disclosure("StatusChange", old, V2)
    assert caught.value.path == "$.group"
    schemas.validate_disclosure("StatusChange", old, V1)


# --------------------------------------------------------------------------- refusals

Change = Callable[[dict[str, Any]], Any]


def subject(change: Callable[[dict[str, Any]], Any]) -> Change:
    return lambda record: change(record["credentialSubject"])


def as_person(s: dict[str, Any]) -> dict[str, Any]:
    s.update(entity="person", disclosures={"business": DIGEST})
    return s


# name: (kind of the example to start from, change, expected path, message part)
BAD_RECORDS: dict[str, tuple[str, Change, str, str]] = {
    "performance field in clear": (
        "StatusChange",
        subject(lambda s: s.update(status="waste")),
        "$.credentialSubject.status",
        "'status' is a performance field of StatusChange: it goes in the performance "
        "disclosure, never in clear",
    ),
    "circularity field in clear": (
        "BatteryModelPublished",
        subject(lambda s: s.update(composition=[{"material": "nickel"}])),
        "$.credentialSubject.composition",
        "'composition' is a circularity field of BatteryModelPublished: it goes in the "
        "circularity disclosure, never in clear",
    ),
    "compliance field in clear": (
        "BatteryModelPublished",
        subject(lambda s: s.update(complianceReports=[DIGEST])),
        "$.credentialSubject.complianceReports",
        "'complianceReports' is a compliance field",
    ),
    "model performance value in clear": (
        "BatteryModelPublished",
        subject(lambda s: s.update(capacityFade=20)),
        "$.credentialSubject.capacityFade",
        "'capacityFade' is a performance field",
    ),
    "battery status in clear": (
        "PassportIssued",
        subject(lambda s: s.update(status="original")),
        "$.credentialSubject.status",
        "'status' is a performance field of PassportIssued",
    ),
    "measure in clear": (
        "DiagnosticTest",
        subject(lambda s: s.update(soce=80)),
        "$.credentialSubject.soce",
        "performance disclosure, never in clear",
    ),
    "price in clear": (
        "CustodyTransfer",
        subject(lambda s: s.update(price={"amount": 1, "currency": "EUR"})),
        "$.credentialSubject.price",
        "'price' is a business field of CustodyTransfer: it goes in the business disclosure",
    ),
    "consignee in clear": (
        "Shipment",
        subject(lambda s: s.update(consignee="did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7")),
        "$.credentialSubject.consignee",
        "'consignee' is a business field of Shipment",
    ),
    "person with a public name": (
        "ActorRegistered",
        subject(as_person),
        "$.credentialSubject.name",
        "'name' is a business field of ActorRegistered: it goes in the business disclosure, "
        "never in clear",
    ),
    "person with a public address": (
        "ActorRegistered",
        subject(lambda s: (as_person(s), s.pop("name"), s.pop("contact"))),
        "$.credentialSubject.address",
        "'address' is a business field of ActorRegistered",
    ),
    "person without a business disclosure": (
        "ActorRegistered",
        subject(lambda s: (s.update(entity="person"), *map(s.pop, ("name", "address", "contact")))),
        "$.credentialSubject.disclosures",
        "'disclosures' is required",
    ),
    "organisation without a name": (
        "ActorRegistered",
        subject(lambda s: s.pop("name")),
        "$.credentialSubject.name",
        "'name' is required",
    ),
    "organisation with a disclosure": (
        "ActorRegistered",
        subject(lambda s: s.update(disclosures={"business": DIGEST})),
        "$.credentialSubject.disclosures",
        "unexpected property 'disclosures'",
    ),
    "actor without entity": (
        "ActorRegistered",
        subject(lambda s: s.pop("entity")),
        "$.credentialSubject.entity",
        "'entity' is required",
    ),
    "entity enum": (
        "ActorRegistered",
        subject(lambda s: s.update(entity="robot")),
        "$.credentialSubject.entity",
        'is not one of "organisation" or "person"',
    ),
    "v1 authority role": (
        "ActorRegistered",
        subject(lambda s: s["roles"].append("authority")),
        "$.credentialSubject.roles[1]",
        "is not one of",
    ),
    "v1 publicProfile": (
        "ActorRegistered",
        subject(lambda s: s.update(publicProfile=True)),
        "$.credentialSubject.publicProfile",
        "unexpected property 'publicProfile'",
    ),
    "public document type with a disclosure": (
        "DocumentAttached",
        subject(lambda s: s.update(documentType="declaration-of-conformity")),
        "$.credentialSubject.documentType",
        "'documentType' is a restricted field of DocumentAttached: it goes in its "
        "circularity, compliance, performance or business disclosure, never in clear",
    ),
    "public title with a disclosure": (
        "DocumentAttached",
        subject(lambda s: s.update(title="Test report")),
        "$.credentialSubject.title",
        "never in clear",
    ),
    "restricted document type in clear": (
        "DocumentAttached",
        subject(lambda s: (s.pop("disclosures"), s.update(documentType="invoice"))),
        "$.credentialSubject.documentType",
        '"invoice" is not one of "declaration-of-conformity", "carbon-footprint-study", '
        '"due-diligence-report", "third-party-assurance" or "end-user-information"',
    ),
    "document saying neither what it is nor its group": (
        "DocumentAttached",
        subject(lambda s: s.pop("disclosures")),
        "$.credentialSubject.documentType",
        "'documentType' is required",
    ),
    "two disclosure groups for a document": (
        "DocumentAttached",
        subject(lambda s: s["disclosures"].update(business=DIGEST)),
        "$.credentialSubject.disclosures",
        "more than 1 property",
    ),
    "no successor": (
        "PassportSucceeded",
        subject(lambda s: s.update(successors=[])),
        "$.credentialSubject.successors",
        "[] has less than 1 item",
    ),
    "a successor twice": (
        "PassportSucceeded",
        subject(lambda s: s["successors"].append(s["successors"][0])),
        "$.credentialSubject.successors",
        "non-unique elements",
    ),
    "v1 successor": (
        "PassportSucceeded",
        subject(lambda s: s.update(successor=s["successors"][0])),
        "$.credentialSubject.successor",
        "unexpected property 'successor'",
    ),
    "recycled content missing a metal": (
        "BatteryModelPublished",
        subject(lambda s: s["recycledContent"]["postConsumer"].pop("Pb")),
        "$.credentialSubject.recycledContent.postConsumer.Pb",
        "'Pb' is required",
    ),
    "recycled content without pre-consumer": (
        "BatteryModelPublished",
        subject(lambda s: s["recycledContent"].pop("preConsumer")),
        "$.credentialSubject.recycledContent.preConsumer",
        "'preConsumer' is required",
    ),
    "recycled content above 100 %": (
        "BatteryModelPublished",
        subject(lambda s: s["recycledContent"]["preConsumer"].update(Co=101)),
        "$.credentialSubject.recycledContent.preConsumer.Co",
        "maximum of 100",
    ),
    "warranty period in words": (
        "BatteryModelPublished",
        subject(lambda s: s.update(warrantyPeriod="8 years")),
        "$.credentialSubject.warrantyPeriod",
        "does not match",
    ),
    "warranty period without a number": (
        "BatteryModelPublished",
        subject(lambda s: s.update(warrantyPeriod="P")),
        "$.credentialSubject.warrantyPeriod",
        "does not match",
    ),
    "warranty period in hours": (
        "BatteryModelPublished",
        subject(lambda s: s.update(warrantyPeriod="PT70080H")),
        "$.credentialSubject.warrantyPeriod",
        "does not match",
    ),
    "warranty period out of order": (
        "BatteryModelPublished",
        subject(lambda s: s.update(warrantyPeriod="P6M8Y")),
        "$.credentialSubject.warrantyPeriod",
        "does not match",
    ),
    "gtin of 13 digits": (
        "BatteryModelPublished",
        subject(lambda s: s.update(gtin="9506000134352")),
        "$.credentialSubject.gtin",
        "does not match",
    ),
    "previous at the first publication": (
        "BatteryModelPublished",
        subject(lambda s: s.update(previous=DIGEST)),
        "$.credentialSubject.previous",
        "'previous' is not allowed at sequence 0",
    ),
    "revision without previous": (
        "BatteryModelPublished",
        subject(lambda s: s.update(sequence=1)),
        "$.credentialSubject.previous",
        "'previous' is required",
    ),
    "model without carbon footprint study": (
        "BatteryModelPublished",
        subject(lambda s: s["carbonFootprint"].pop("studyUrl")),
        "$.credentialSubject.carbonFootprint.studyUrl",
        "'studyUrl' is required",
    ),
    "model without a life-cycle stage": (
        "BatteryModelPublished",
        subject(lambda s: s["carbonFootprint"].pop("distribution")),
        "$.credentialSubject.carbonFootprint.distribution",
        "'distribution' is required",
    ),
    "due diligence report saying nothing": (
        "BatteryModelPublished",
        subject(lambda s: s.update(dueDiligenceReport={})),
        "$.credentialSubject.dueDiligenceReport",
        "{} has less than 1 property",
    ),
    "manufacturer without contact": (
        "BatteryModelPublished",
        subject(lambda s: s["manufacturer"].pop("contact")),
        "$.credentialSubject.manufacturer.contact",
        "'contact' is required",
    ),
    "manufacturer as a bare DID": (
        "BatteryModelPublished",
        subject(lambda s: s.update(manufacturer=s["manufacturer"]["id"])),
        "$.credentialSubject.manufacturer",
        'is not of type "object"',
    ),
    "no symbols": (
        "BatteryModelPublished",
        subject(lambda s: s.update(symbols=[])),
        "$.credentialSubject.symbols",
        "less than 1 item",
    ),
    "symbol without meaning": (
        "BatteryModelPublished",
        subject(lambda s: s["symbols"][0].pop("meaning")),
        "$.credentialSubject.symbols[0].meaning",
        "'meaning' is required",
    ),
    "symbol enum": (
        "BatteryModelPublished",
        subject(lambda s: s["symbols"][0].update(symbol="skull")),
        "$.credentialSubject.symbols[0].symbol",
        "is not one of",
    ),
    "model category enum": (
        "BatteryModelPublished",
        subject(lambda s: s.update(category="SLI")),
        "$.credentialSubject.category",
        'is not one of "EV", "LMT" or "industrial"',
    ),
    "model without its compliance digest": (
        "BatteryModelPublished",
        subject(lambda s: s["disclosures"].pop("compliance")),
        "$.credentialSubject.disclosures.compliance",
        "'compliance' is required",
    ),
    "v1 group digest": (
        "BatteryModelPublished",
        subject(lambda s: s["disclosures"].update({"legitimate-interest": DIGEST})),
        '$.credentialSubject.disclosures["legitimate-interest"]',
        "unexpected property 'legitimate-interest'",
    ),
    "group the kind has not": (
        "StatusChange",
        subject(lambda s: s["disclosures"].update(business=DIGEST)),
        "$.credentialSubject.disclosures.business",
        "StatusChange records have no business disclosure",
    ),
    "model without idle temperature bound": (
        "BatteryModelPublished",
        subject(lambda s: s["idleTemperatureRange"].pop("upper")),
        "$.credentialSubject.idleTemperatureRange.upper",
        "'upper' is required",
    ),
    "model without cycle-life C-rate": (
        "BatteryModelPublished",
        subject(lambda s: s["expectedLifetime"].pop("cRate")),
        "$.credentialSubject.expectedLifetime.cRate",
        "'cRate' is required",
    ),
    "fractional cycles": (
        "BatteryModelPublished",
        subject(lambda s: s["expectedLifetime"].update(cycles=2500.5)),
        "$.credentialSubject.expectedLifetime.cycles",
        'is not of type "integer"',
    ),
    "model without extinguishing agents": (
        "BatteryModelPublished",
        subject(lambda s: s.pop("extinguishingAgents")),
        "$.credentialSubject.extinguishingAgents",
        "'extinguishingAgents' is required",
    ),
    "declaration of conformity without hash": (
        "BatteryModelPublished",
        subject(lambda s: s["declarationOfConformity"].pop("hash")),
        "$.credentialSubject.declarationOfConformity.hash",
        "'hash' is required",
    ),
    "passport without model": (
        "PassportIssued",
        subject(lambda s: s.pop("model")),
        "$.credentialSubject.model",
        "'model' is required",
    ),
    "model named without its record": (
        "PassportIssued",
        subject(lambda s: s["model"].pop("record")),
        "$.credentialSubject.model.record",
        "'record' is required",
    ),
    "model record not a digest": (
        "PassportIssued",
        subject(lambda s: s["model"].update(record="sha256:1234")),
        "$.credentialSubject.model.record",
        "does not match",
    ),
    "model data copied into the passport": (
        "PassportIssued",
        subject(lambda s: s.update(ratedCapacity=234)),
        "$.credentialSubject.ratedCapacity",
        "unexpected property 'ratedCapacity'",
    ),
    "empty battery id": (
        "PassportIssued",
        subject(lambda s: s.update(batteryId="")),
        "$.credentialSubject.batteryId",
        "shorter than 1 character",
    ),
    "impossible manufacturing date": (
        "PassportIssued",
        subject(lambda s: s.update(manufacturedOn="2026-02-30")),
        "$.credentialSubject.manufacturedOn",
        '"date"',
    ),
    "previous at sequence 0": (
        "PassportIssued",
        subject(lambda s: s.update(previous=DIGEST)),
        "$.credentialSubject.previous",
        "not allowed at sequence 0",
    ),
    "public UN number enum": (
        "Shipment",
        subject(lambda s: s["dangerousGoods"].update(unNumber="UN1203")),
        "$.credentialSubject.dangerousGoods.unNumber",
        "is not one of",
    ),
    "shipment without dangerous goods": (
        "Shipment",
        subject(lambda s: s.pop("dangerousGoods")),
        "$.credentialSubject.dangerousGoods",
        "'dangerousGoods' is required",
    ),
    "recycling without scope": (
        "Recycled",
        subject(lambda s: s.pop("scope")),
        "$.credentialSubject.scope",
        "'scope' is required",
    ),
    "recycling scope enum": (
        "Recycled",
        subject(lambda s: s.update(scope="some")),
        "$.credentialSubject.scope",
        'is not one of "whole" or "part"',
    ),
    "v1 context on a v2 record": (
        "StatusChange",
        lambda r: r.update({"@context": schemas.context_of(V1)}),
        "$.credentialSubject.disclosures.performance",
        "unexpected property 'performance'",
    ),
    "both bpl contexts": (
        "KeyAdded",
        lambda r: r["@context"].append("https://w3id.org/bpl/v1"),
        '$["@context"]',
        "was expected",
    ),
    "record id not a urn:uuid": (
        "KeyAdded",
        lambda r: r.update(id="https://example.com/1"),
        "$.id",
        "does not match",
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
    version = schemas.version_of(record)
    assert not python_validator(schemas.schema(kind, version)).is_valid(record)


def disclosure(kind: str, group: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in example(kind)["disclosures"] if d["group"] == group)
    return copy.deepcopy(found)


# name: (kind, group of the example disclosure, change, expected path, message part)
BAD_DISCLOSURES: dict[str, tuple[str, str, Change, str, str]] = {
    "neither soce nor remaining capacity": (
        "DiagnosticTest",
        "performance",
        lambda d: (d.pop("soce"), d.pop("remainingCapacity")),
        "$",
        "anyOf",
    ),
    "empty temperature history": (
        "DiagnosticTest",
        "performance",
        lambda d: d.update(temperatureHistory={}),
        "$.temperatureHistory",
        "less than 1 property",
    ),
    "negative time above the idle range": (
        "DiagnosticTest",
        "performance",
        lambda d: d["temperatureHistory"].update(timeAboveIdleRange=-1),
        "$.temperatureHistory.timeAboveIdleRange",
        "minimum of 0",
    ),
    "self-discharge rate without date": (
        "DiagnosticTest",
        "performance",
        lambda d: d["selfDischargeEvolution"][1].pop("date"),
        "$.selfDischargeEvolution[1].date",
        "'date' is required",
    ),
    "grade enum": (
        "DiagnosticTest",
        "performance",
        lambda d: d.update(grade="excellent"),
        "$.grade",
        "is not one of",
    ),
    "waste is no status to issue a passport in": (
        "PassportIssued",
        "performance",
        lambda d: d.update(status="waste"),
        "$.status",
        "is not one of",
    ),
    "passport without status": (
        "PassportIssued",
        "performance",
        lambda d: d.pop("status"),
        "$.status",
        "'status' is required",
    ),
    "extinguishing agents are public now": (
        "BatteryModelPublished",
        "circularity",
        lambda d: d["safety"].update(extinguishingAgents=["water"]),
        "$.safety.extinguishingAgents",
        "unexpected property 'extinguishingAgents'",
    ),
    "model without composition": (
        "BatteryModelPublished",
        "circularity",
        lambda d: d.pop("composition"),
        "$.composition",
        "'composition' is required",
    ),
    "compliance field in the circularity disclosure": (
        "BatteryModelPublished",
        "circularity",
        lambda d: d.update(complianceReports=[DIGEST]),
        "$.complianceReports",
        "unexpected property 'complianceReports'",
    ),
    "no compliance report": (
        "BatteryModelPublished",
        "compliance",
        lambda d: d.update(complianceReports=[]),
        "$.complianceReports",
        "less than 1 item",
    ),
    "model without expected lifetime in years": (
        "BatteryModelPublished",
        "performance",
        lambda d: d.pop("expectedLifetimeYears"),
        "$.expectedLifetimeYears",
        "'expectedLifetimeYears' is required",
    ),
    "capacity fade above 100 %": (
        "BatteryModelPublished",
        "performance",
        lambda d: d.update(capacityFade=120),
        "$.capacityFade",
        "maximum of 100",
    ),
    "currency in lower case": (
        "CustodyTransfer",
        "business",
        lambda d: d["price"].update(currency="eur"),
        "$.price.currency",
        "does not match",
    ),
    "price without currency": (
        "CustodyTransfer",
        "business",
        lambda d: d["price"].pop("currency"),
        "$.price.currency",
        "'currency' is required",
    ),
    "custody reason enum": (
        "CustodyTransfer",
        "business",
        lambda d: d.update(reason="gift"),
        "$.reason",
        "is not one of",
    ),
    "used not waste without Annex XIV evidence": (
        "Shipment",
        "business",
        lambda d: d.pop("annexXivEvidence"),
        "$.annexXivEvidence",
        "'annexXivEvidence' is required",
    ),
    "dangerous goods are public now": (
        "Shipment",
        "business",
        lambda d: d.update(dangerousGoods={"unNumber": "UN3480"}),
        "$.dangerousGoods",
        "unexpected property 'dangerousGoods'",
    ),
    "arrival condition enum": (
        "ShipmentReceived",
        "business",
        lambda d: d.update(condition="wet"),
        "$.condition",
        "is not one of",
    ),
    "negative component mass": (
        "Recycled",
        "business",
        lambda d: d["components"][0].update(mass=-1),
        "$.components[0].mass",
        "minimum of 0",
    ),
    "component without part number": (
        "Recycled",
        "business",
        lambda d: d["components"][0].pop("partNumber"),
        "$.components[0].partNumber",
        "'partNumber' is required",
    ),
    "restricted document type enum": (
        "DocumentAttached",
        "compliance",
        lambda d: d.update(documentType="selfie"),
        "$.documentType",
        "is not one of",
    ),
    "wrong group for the kind": (
        "DocumentAttached",
        "compliance",
        lambda d: d.update(group="authority"),
        "$.group",
        "expected circularity or compliance or performance or business",
    ),
    "public is no disclosure group": (
        "Recycled",
        "business",
        lambda d: d.update(group="public"),
        "$.group",
        "not a disclosure group of Recycled",
    ),
    "status in the performance group of a shipment": (
        "Shipment",
        "business",
        lambda d: d.update(group="performance"),
        "$.group",
        "expected business",
    ),
}


@pytest.mark.parametrize("name", list(BAD_DISCLOSURES))
def test_bad_disclosure_is_refused_by_path_and_rule(name: str) -> None:
    kind, group, change, path, message = BAD_DISCLOSURES[name]
    bad = disclosure(kind, group)
    change(bad)
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_disclosure(kind, bad, V2)
    assert caught.value.path == path
    assert message in caught.value.message
    assert caught.value.kind == kind
    assert not python_disclosure_validator(kind, group).is_valid(bad)


def test_a_person_without_a_name_in_the_business_disclosure() -> None:
    business = {"salt": "dGhpcyBpcyAxNiBieXRlcw", "group": "business", "address": "Praha, CZ"}
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_disclosure("ActorRegistered", business, V2)
    assert (caught.value.path, caught.value.message) == ("$.name", "'name' is required")


def test_a_restricted_field_in_clear_is_named_before_other_errors() -> None:
    record = copy.deepcopy(example("ActorRegistered")["record"])
    as_person(record["credentialSubject"])
    record["credentialSubject"]["roles"] = []
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.validate_record(record)
    assert caught.value.path in ("$.credentialSubject.name", "$.credentialSubject.address")
    assert caught.value.message.endswith("never in clear")


def test_validators_are_compiled_once_per_version() -> None:
    schemas.validate_record(example("Shipment")["record"])
    assert schemas._validators("Shipment", V2) is schemas._validators("Shipment", V2)
    assert schemas._validators("Shipment", V1) is not schemas._validators("Shipment", V2)

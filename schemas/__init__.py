"""Data, shipped in the wheel: the project's JSON-LD contexts and JSON Schemas, by version.

``schemas/kinds/<version>/<Kind>.json`` is the JSON Schema (draft 2020-12) of one record
kind in one version of the record format: the record without its ``proof``, public fields
only, plus ``$defs/disclosure-<group>`` for each restricted group. Every property says who
may read it (``"x-access"``). A record names its version by its bpl context
(``https://w3id.org/bpl/v1`` or ``.../v2``), so a record stored under an older version
stays valid and is replayed under the schema it was signed against (docs/schemas.md).
This module validates records and disclosures with those schemas (jsonschema-rs, compiled
once) and reads the access groups out of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

from signing.json_path import json_path

__all__ = [
    "ACTOR_KINDS",
    "BATTERY_KINDS",
    "CONTEXTS",
    "CURRENT",
    "KINDS",
    "MODEL_KINDS",
    "POLICY_KINDS",
    "VERSIONS",
    "SchemaError",
    "access_groups",
    "access_table",
    "context_of",
    "disclosure_groups",
    "groups",
    "kind_of",
    "kinds",
    "restricted_groups",
    "schema",
    "validate_disclosure",
    "validate_record",
    "version_of",
]

VERSIONS: tuple[str, ...] = ("v1", "v2")
CURRENT = "v2"
"""The version new records are built in; every version stays valid for what it signed."""
CONTEXTS: Mapping[str, str] = {version: f"https://w3id.org/bpl/{version}" for version in VERSIONS}
_VERSION_OF_CONTEXT = {url: version for version, url in CONTEXTS.items()}
_CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"

BATTERY_KINDS: tuple[str, ...] = (
    "PassportIssued",
    "CustodyTransfer",
    "DiagnosticTest",
    "Shipment",
    "ShipmentReceived",
    "StatusChange",
    "DocumentAttached",
    "PassportSucceeded",
    "Recycled",
)
MODEL_KINDS: tuple[str, ...] = ("BatteryModelPublished",)
"""A battery model's static data, stated once by its manufacturer (v2 on)."""
ACTOR_KINDS: tuple[str, ...] = ("ActorRegistered", "KeyAdded", "KeyRevoked")
POLICY_KINDS: tuple[str, ...] = ("GradingPolicyRegistered",)
"""The operator's registrations of grading policies (ADR 0013)."""
KINDS: tuple[str, ...] = BATTERY_KINDS + MODEL_KINDS + ACTOR_KINDS + POLICY_KINDS
"""Every kind of every version."""
_KINDS_OF: Mapping[str, tuple[str, ...]] = {
    "v1": BATTERY_KINDS + ACTOR_KINDS + POLICY_KINDS,
    "v2": KINDS,
}
_GROUPS_OF: Mapping[str, tuple[str, ...]] = {
    # v1 merged Annex XIII points 2 and 4 into one group and point 3 into another.
    "v1": ("public", "legitimate-interest", "authority"),
    # v2: one group per Annex XIII point (2, 3, 4), and the parties' business data.
    "v2": ("public", "circularity", "compliance", "performance", "business"),
}

_CREDENTIAL_TYPE = "VerifiableCredential"
_KIND_SET = frozenset(KINDS)
_ENVELOPE_FIELDS = frozenset({"salt", "group"})
_IN_CLEAR = ", never in clear"
_CONTEXT_PATH = json_path(["@context"])  # $["@context"], as every error writes it


class SchemaError(ValueError):
    """A record or disclosure that its kind's schema refuses.

    ``path`` is a JSON path into the record or disclosure (``$.credentialSubject.sequence``),
    ``message`` says which rule failed, ``kind`` is the record kind ("" when unknown).
    """

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(f"{kind or 'record'}: {path}: {message}")
        self.kind = kind
        self.path = path
        self.message = message


# --------------------------------------------------------------------------- versions


def kinds(version: str) -> tuple[str, ...]:
    """The record kinds of one version of the record format."""
    return _KINDS_OF[_known_version(version)]


def groups(version: str) -> tuple[str, ...]:
    """The access groups of one version, from least to most restricted ("public" first)."""
    return _GROUPS_OF[_known_version(version)]


def restricted_groups(version: str) -> tuple[str, ...]:
    """The groups whose fields travel in disclosures, never in the record itself."""
    return groups(version)[1:]


def context_of(version: str) -> list[str]:
    """The ``@context`` of a record of ``version``: VC 2.0, then that version's bpl context."""
    return [_CREDENTIALS_V2, CONTEXTS[_known_version(version)]]


def version_of(record: Mapping[str, Any]) -> str:
    """The version a record names by its bpl context (its second ``@context`` entry).

    An unknown or missing bpl context is a SchemaError at ``$["@context"]``; the schema of
    the version found then checks the whole ``@context`` list exactly.
    """
    if not (record.__class__ is dict or isinstance(record, Mapping)):
        raise SchemaError("", "$", "a record is a JSON object")
    contexts = record.get("@context")
    if contexts.__class__ is list and len(contexts) == 2:
        version = _VERSION_OF_CONTEXT.get(contexts[1]) if contexts[1].__class__ is str else None
        if version is not None:
            return version
    if isinstance(contexts, list):
        for url in contexts:
            if isinstance(url, str) and url in _VERSION_OF_CONTEXT:
                return _VERSION_OF_CONTEXT[url]
    known = " or ".join(CONTEXTS.values())
    raise SchemaError("", _CONTEXT_PATH, f"a record names its version by a bpl context: {known}")


def _known_version(version: str) -> str:
    if version not in _KINDS_OF:
        raise SchemaError("", _CONTEXT_PATH, f"unknown record format version {version!r}")
    return version


# --------------------------------------------------------------------------- loading


@cache
def _schema(kind: str, version: str) -> dict[str, Any]:
    path = resources.files(__name__).joinpath("kinds", version, f"{kind}.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@cache
def _validators(kind: str, version: str) -> jsonschema_rs.ValidatorMap:
    # Formats are asserted too (an impossible date such as 2026-02-30 is refused); the
    # patterns already pin the shape of every formatted string.
    return jsonschema_rs.validator_map_for(
        _schema(kind, version), validate_formats=True, offline=True
    )


@cache
def _validator(kind: str, version: str, pointer: str = "#") -> jsonschema_rs.Validator:
    return _validators(kind, version)[pointer]


@cache
def _disclosure_validators(kind: str, version: str) -> dict[str, jsonschema_rs.Validator]:
    """The validator of each restricted group a ``kind`` record may disclose."""
    return {
        group: _validator(kind, version, f"#/$defs/disclosure-{group}")
        for group in disclosure_groups(kind, version)
    }


def _known(kind: str, version: str) -> str:
    if kind not in _KINDS_OF[_known_version(version)]:
        if kind in _KIND_SET:
            raise SchemaError("", "$.type", f"{kind} records do not exist in version {version}")
        raise SchemaError("", "$.type", f"unknown kind {kind!r}")
    return kind


def schema(kind: str, version: str = CURRENT) -> dict[str, Any]:
    """The JSON Schema of ``kind`` in ``version`` (a copy: change it freely)."""
    return copy.deepcopy(_schema(_known(kind, version), version))


def disclosure_groups(kind: str, version: str = CURRENT) -> tuple[str, ...]:
    """The restricted groups a record of ``kind`` may disclose, in :func:`groups` order."""
    defs = _schema(_known(kind, version), version).get("$defs", {})
    return tuple(g for g in restricted_groups(version) if f"disclosure-{g}" in defs)


# --------------------------------------------------------------------------- validation


def kind_of(record: Mapping[str, Any]) -> str:
    """The record's kind, read from ``type``; SchemaError unless exactly one known kind."""
    if not (record.__class__ is dict or isinstance(record, Mapping)):
        raise SchemaError("", "$", "a record is a JSON object")
    types = record.get("type")
    if types.__class__ is list and len(types) == 2:  # the usual ["VerifiableCredential", kind]
        first, kind = types
        if (
            first.__class__ is str
            and kind.__class__ is str
            and first == _CREDENTIAL_TYPE
            and kind in _KIND_SET
        ):
            return kind
    return _kind_of(types)


def _kind_of(types: object) -> str:
    """:func:`kind_of` for any ``type`` value: the reference, which words every refusal."""
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise SchemaError("", "$.type", "type must be a list of strings")
    others: list[str] = [t for t in types if t != _CREDENTIAL_TYPE]
    unknown = [t for t in others if t not in KINDS]
    if unknown:
        raise SchemaError("", "$.type", f"unknown kind {unknown[0]!r}")
    if len(others) != 1:
        found = ", ".join(others) if others else "none"
        raise SchemaError("", "$.type", f"exactly one record kind is needed, found {found}")
    return others[0]


def validate_record(record: Mapping[str, Any]) -> str:
    """Validate a record (its ``proof`` is ignored) against its kind's schema in the
    version its context names; its kind (:func:`version_of` gives the version).

    Raises :class:`SchemaError` naming the path and the rule that failed.
    """
    kind = kind_of(record)
    version = version_of(record)
    _known(kind, version)
    document = {key: value for key, value in record.items() if key != "proof"}
    _check(kind, version, _validator(kind, version), document)
    return kind


def validate_disclosure(kind: str, disclosure: Mapping[str, Any], version: str = CURRENT) -> None:
    """Validate one disclosure of a ``kind`` record of ``version``, by its ``group``."""
    validators = _disclosure_validators(_known(kind, version), version)
    if disclosure.__class__ is not dict:
        if not isinstance(disclosure, Mapping):
            raise SchemaError(kind, "$", "a disclosure is a JSON object")
        disclosure = dict(disclosure)
    group = disclosure.get("group")
    validator = validators.get(group) if isinstance(group, str) else None
    if validator is None:
        allowed = disclosure_groups(kind, version)
        expected = " or ".join(allowed) if allowed else "none: the kind has no restricted fields"
        raise SchemaError(
            kind, "$.group", f"{group!r} is not a disclosure group of {kind} (expected {expected})"
        )
    _check(kind, version, validator, disclosure)


def _check(
    kind: str, version: str, validator: jsonschema_rs.Validator, document: dict[str, Any]
) -> None:
    try:
        if validator.is_valid(document):
            return
        errors = [_explain(kind, version, error) for error in validator.iter_errors(document)]
    except (ValueError, TypeError, OverflowError) as exc:  # not JSON data (e.g. a set)
        raise SchemaError(kind, "$", f"not JSON data: {exc}") from None
    # A restricted value sent in clear is the error that matters most: name it first.
    raise next((e for e in errors if e.message.endswith(_IN_CLEAR)), errors[0]) from None


def _explain(kind: str, version: str, error: jsonschema_rs.ValidationError) -> SchemaError:
    path = list(error.instance_path)
    detail = error.kind
    if isinstance(detail, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        name = detail.unexpected[0]
        return SchemaError(kind, json_path([*path, name]), _unexpected(kind, version, path, name))
    if isinstance(detail, jsonschema_rs.ValidationErrorKind.Required):
        name = detail.property
        return SchemaError(kind, json_path([*path, name]), f"{name!r} is required")
    if isinstance(detail, jsonschema_rs.ValidationErrorKind.Enum):
        # The validator's message names two values "or N other candidates": name them all.
        *others, last = [json.dumps(option, ensure_ascii=False) for option in detail.options]
        allowed = f"{', '.join(others)} or {last}" if others else last
        shown = json.dumps(error.instance, ensure_ascii=False)
        return SchemaError(kind, json_path(path), f"{shown} is not one of {allowed}")
    return SchemaError(kind, json_path(path), error.message)


def _unexpected(kind: str, version: str, parent: list[str | int], name: str) -> str:
    if parent == ["credentialSubject"]:
        if name == "previous":
            return "'previous' is not allowed at sequence 0"
        group = _restricted_fields(kind, version).get(name)
        if group is not None:
            where = _disclosures_holding(kind, version, name)
            if len(where) > 1:  # DocumentAttached: one disclosure, of any of its groups
                *others, last = where
                return (
                    f"{name!r} is a restricted field of {kind}: it goes in its "
                    f"{', '.join(others)} or {last} disclosure{_IN_CLEAR}"
                )
            return (
                f"{name!r} is a {group} field of {kind}: it goes in the {group} "
                f"disclosure{_IN_CLEAR}"
            )
    if parent == ["credentialSubject", "disclosures"] and name in restricted_groups(version):
        return f"{kind} records have no {name} disclosure"
    return f"unexpected property {name!r}"


# --------------------------------------------------------------------------- access groups


def _walk(properties: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    """(dotted field name, x-access) for each property and nested property."""
    for name, prop in properties.items():
        field = f"{prefix}{name}"
        yield field, prop["x-access"]
        yield from _walk(prop.get("properties", {}), f"{field}.")
        items = prop.get("items")
        if isinstance(items, Mapping):
            yield from _walk(items.get("properties", {}), f"{field}[].")


@cache
def _access_groups(kind: str, version: str) -> dict[str, str]:
    loaded = _schema(kind, version)
    order = groups(version)
    found = dict(_walk(loaded["properties"]["credentialSubject"]["properties"], ""))
    for group in disclosure_groups(kind, version):
        fields = loaded["$defs"][f"disclosure-{group}"]["properties"]
        for field, access in _walk(fields, ""):
            if field in _ENVELOPE_FIELDS:
                continue
            # A field a record may put in either group (DocumentAttached) maps to the
            # stricter one: a version's groups are ordered from least to most restricted.
            if field not in found or order.index(access) > order.index(found[field]):
                found[field] = access
    return found


def access_groups(kind: str, version: str = CURRENT) -> dict[str, str]:
    """Field name -> access group, for the subject's fields and the disclosures' fields.

    Nested fields are dotted (``gradingPolicy.version``); fields of array items take
    ``[]`` (``documents[].hash``). The disclosures' ``salt`` and ``group`` are left out.
    """
    return dict(_access_groups(_known(kind, version), version))


@cache
def _restricted_fields(kind: str, version: str) -> dict[str, str]:
    return {
        f: g
        for f, g in _access_groups(kind, version).items()
        if g != "public" and "." not in f and "[" not in f
    }


@cache
def _disclosures_holding(kind: str, version: str, name: str) -> tuple[str, ...]:
    """The restricted groups whose disclosure of a ``kind`` record may hold field ``name``."""
    defs = _schema(kind, version).get("$defs", {})
    return tuple(
        group
        for group in disclosure_groups(kind, version)
        if name in defs[f"disclosure-{group}"].get("properties", {})
    )


def access_table(version: str = CURRENT) -> str:
    """The field -> access group table of every kind of ``version``, as Markdown
    (docs/schemas.md)."""
    lines = ["| kind | field | access group |", "|---|---|---|"]
    for kind in kinds(version):
        for field, group in _access_groups(kind, version).items():
            lines.append(f"| `{kind}` | `{field}` | {group} |")
    return "\n".join(lines) + "\n"

"""Data, shipped in the wheel: the project's JSON-LD contexts and JSON Schemas.

``schemas/kinds/<Kind>.json`` is the JSON Schema (draft 2020-12) of one record kind: the
record without its ``proof``, public fields only, plus ``$defs/disclosure-<group>`` for
each restricted group. Every property says who may read it (``"x-access"``). This module
validates records and disclosures with those schemas (jsonschema-rs, compiled once) and
reads the access groups out of them. See docs/schemas.md.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

from signing.json_path import json_path

__all__ = [
    "ACTOR_KINDS",
    "BATTERY_KINDS",
    "GROUPS",
    "KINDS",
    "POLICY_KINDS",
    "SchemaError",
    "access_groups",
    "access_table",
    "disclosure_groups",
    "kind_of",
    "schema",
    "validate_disclosure",
    "validate_record",
]

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
ACTOR_KINDS: tuple[str, ...] = ("ActorRegistered", "KeyAdded", "KeyRevoked")
POLICY_KINDS: tuple[str, ...] = ("GradingPolicyRegistered",)
"""The operator's registrations of grading policies (ADR 0013)."""
KINDS: tuple[str, ...] = BATTERY_KINDS + ACTOR_KINDS + POLICY_KINDS
GROUPS: tuple[str, ...] = ("public", "legitimate-interest", "authority")
RESTRICTED_GROUPS: tuple[str, ...] = GROUPS[1:]

_CREDENTIAL_TYPE = "VerifiableCredential"
_KIND_SET = frozenset(KINDS)
_ENVELOPE_FIELDS = frozenset({"salt", "group"})
_IN_CLEAR = ", never in clear"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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


# --------------------------------------------------------------------------- loading


@cache
def _schema(kind: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath("kinds", f"{kind}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validators(kind: str) -> jsonschema_rs.ValidatorMap:
    # Formats are asserted too (an impossible date such as 2026-02-30 is refused); the
    # patterns already pin the shape of every formatted string.
    return jsonschema_rs.validator_map_for(_schema(kind), validate_formats=True, offline=True)


@cache
def _validator(kind: str, pointer: str = "#") -> jsonschema_rs.Validator:
    return _validators(kind)[pointer]


@cache
def _disclosure_validators(kind: str) -> dict[str, jsonschema_rs.Validator]:
    """The validator of each restricted group a ``kind`` record may disclose."""
    return {
        group: _validator(kind, f"#/$defs/disclosure-{group}") for group in disclosure_groups(kind)
    }


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise SchemaError("", "$.type", f"unknown kind {kind!r}")
    return kind


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind`` (a copy: change it freely)."""
    return copy.deepcopy(_schema(_known(kind)))


def disclosure_groups(kind: str) -> tuple[str, ...]:
    """The restricted groups a record of ``kind`` may disclose, in GROUPS order."""
    defs = _schema(_known(kind)).get("$defs", {})
    return tuple(g for g in RESTRICTED_GROUPS if f"disclosure-{g}" in defs)


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
    """Validate a record (its ``proof`` is ignored) against its kind's schema; its kind.

    Raises :class:`SchemaError` naming the path and the rule that failed.
    """
    kind = kind_of(record)
    document = {key: value for key, value in record.items() if key != "proof"}
    _check(kind, _validator(kind), document)
    return kind


def validate_disclosure(kind: str, disclosure: Mapping[str, Any]) -> None:
    """Validate one disclosure of a ``kind`` record, by its ``group``."""
    validators = _disclosure_validators(_known(kind))
    if disclosure.__class__ is not dict:
        if not isinstance(disclosure, Mapping):
            raise SchemaError(kind, "$", "a disclosure is a JSON object")
        disclosure = dict(disclosure)
    group = disclosure.get("group")
    validator = validators.get(group) if isinstance(group, str) else None
    if validator is None:
        allowed = disclosure_groups(kind)
        expected = " or ".join(allowed) if allowed else "none: the kind has no restricted fields"
        raise SchemaError(
            kind, "$.group", f"{group!r} is not a disclosure group of {kind} (expected {expected})"
        )
    _check(kind, validator, disclosure)


def _check(kind: str, validator: jsonschema_rs.Validator, document: dict[str, Any]) -> None:
    try:
        if validator.is_valid(document):
            return
        errors = [_explain(kind, error) for error in validator.iter_errors(document)]
    except (ValueError, TypeError, OverflowError) as exc:  # not JSON data (e.g. a set)
        raise SchemaError(kind, "$", f"not JSON data: {exc}") from None
    # A restricted value sent in clear is the error that matters most: name it first.
    raise next((e for e in errors if e.message.endswith(_IN_CLEAR)), errors[0]) from None


def _explain(kind: str, error: jsonschema_rs.ValidationError) -> SchemaError:
    path = list(error.instance_path)
    detail = error.kind
    if isinstance(detail, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        name = detail.unexpected[0]
        return SchemaError(kind, json_path([*path, name]), _unexpected(kind, path, name))
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


def _unexpected(kind: str, parent: list[str | int], name: str) -> str:
    if parent == ["credentialSubject"]:
        if name == "previous":
            return "'previous' is not allowed at sequence 0"
        group = _restricted_fields(kind).get(name)
        if group is not None:
            return (
                f"{name!r} is a {group} field of {kind}: it goes in the {group} "
                f"disclosure{_IN_CLEAR}"
            )
    if parent == ["credentialSubject", "disclosures"] and name in RESTRICTED_GROUPS:
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
def _access_groups(kind: str) -> dict[str, str]:
    loaded = _schema(kind)
    groups = dict(_walk(loaded["properties"]["credentialSubject"]["properties"], ""))
    for group in disclosure_groups(kind):
        fields = loaded["$defs"][f"disclosure-{group}"]["properties"]
        for field, access in _walk(fields, ""):
            if field in _ENVELOPE_FIELDS:
                continue
            # A field a record may put in either group (DocumentAttached) maps to the
            # stricter one: GROUPS is ordered from least to most restricted.
            if field not in groups or GROUPS.index(access) > GROUPS.index(groups[field]):
                groups[field] = access
    return groups


def access_groups(kind: str) -> dict[str, str]:
    """Field name -> access group, for the subject's fields and the disclosures' fields.

    Nested fields are dotted (``gradingPolicy.version``); fields of array items take
    ``[]`` (``documents[].hash``). The disclosures' ``salt`` and ``group`` are left out.
    """
    return dict(_access_groups(_known(kind)))


@cache
def _restricted_fields(kind: str) -> dict[str, str]:
    return {
        f: g
        for f, g in _access_groups(kind).items()
        if g != "public" and "." not in f and "[" not in f
    }


def access_table() -> str:
    """The field -> access group table of every kind, as Markdown (docs/schemas.md)."""
    lines = ["| kind | field | access group |", "|---|---|---|"]
    for kind in KINDS:
        for field, group in _access_groups(kind).items():
            lines.append(f"| `{kind}` | `{field}` | {group} |")
    return "\n".join(lines) + "\n"

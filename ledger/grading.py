"""Grading a battery's diagnostic test: reuse, remanufacture, repurpose or recycle.

No law sets these thresholds except remanufacturing's (Art. 3(32) of Regulation (EU)
2023/1542: at least 90 % of rated capacity, cells within 3 % state of health). So a grade
comes from a declarative, versioned policy (a JSON file, see docs/grading.md), and a
DiagnosticTest record carries the grade with the policy's id and version
(:func:`policy_ref`).

The same measures under the same policy always give the same grade: only the measures the
policy names are read, and comparisons are exact on the decimal values as written (no float
rounding: 79.999 is below 80, 48 Ah / 60 Ah is exactly 80 %). Raising the state of health,
all else equal, never lowers the grade: thresholds are minimums and the first grade (best
first) whose threshold is met and that no knock-out excludes wins.

The bundled default is ``ledger/policies/default-v1.json`` (id ``bpl-default``, version
``1``). A released policy file never changes; a new rule set is a new version.
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, NoReturn

from ledger.errors import LedgerError
from signing import json_input
from signing.errors import CanonicalizationError, DocumentError
from signing.jcs import canonicalize

__all__ = [
    "DEFAULT_POLICY",
    "GRADES",
    "MEASURES",
    "Grade",
    "GradeRule",
    "GradingError",
    "GradingPolicy",
    "KnockOut",
    "grade",
    "load_policy",
    "policy_ref",
]

GRADES: Final = ("reuse", "remanufacture", "repurpose", "recycle")
"""Every grade a policy may give."""

DEFAULT_POLICY: Final = "default-v1"
"""Name of the bundled policy :func:`load_policy` reads when given none."""

Kind = Literal["amount", "change", "count", "flag"]
"""amount: finite number >= 0; change: finite number; count: integer >= 0; flag: bool."""

MEASURES: Final[Mapping[str, tuple[Kind, str]]] = {
    "soce": ("amount", "%"),
    "remainingCapacity": ("amount", "Ah"),
    "ratedCapacity": ("amount", "Ah"),
    "capacityFade": ("change", "%"),
    "internalResistance": ("amount", "mOhm"),
    "resistanceIncrease": ("change", "%"),
    "selfDischarge": ("amount", "%/month"),
    "cellSohSpread": ("amount", "%"),
    "roundTripEfficiency": ("amount", "%"),
    "powerAt80Soc": ("amount", "W"),
    "powerAt20Soc": ("amount", "W"),
    "energyThroughput": ("amount", "kWh"),
    "socAtTest": ("amount", "%"),
    "temperature": ("change", "°C"),
    "uncertainty": ("amount", "%"),
    "fullCycles": ("count", ""),
    "deepDischargeEvents": ("count", ""),
    "overchargeEvents": ("count", ""),
    "accidents": ("count", ""),
    "damaged": ("flag", ""),
}
"""The measures a policy may name: kind and unit (as in a DiagnosticTest record)."""

_OPS: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_FLAG_OPS: Final = ("==", "!=")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:/#-]{0,199}")  # a name or a URI
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")

Number = int | float


class GradingError(LedgerError, ValueError):
    """Measures the policy cannot grade, or a policy file that is not valid (names the field)."""


@dataclass(frozen=True)
class GradeRule:
    """A grade and the state of health (%) it needs at least; ``None`` on the last only."""

    grade: str
    min_soh: Number | None
    because: str = ""


@dataclass(frozen=True)
class KnockOut:
    """When ``measure op value`` holds, none of ``excludes`` can be given."""

    measure: str
    op: str
    value: bool | Number
    excludes: tuple[str, ...]
    because: str = ""


@dataclass(frozen=True)
class GradingPolicy:
    """A validated policy; build it with :func:`load_policy`."""

    id: str
    version: str
    description: str
    soh_sources: tuple[str, ...]
    """Where the state of health comes from, first present wins: a measure in %, or "a/b"."""
    grades: tuple[GradeRule, ...]
    """Best first; the last has no threshold and no knock-out excludes it."""
    knock_outs: tuple[KnockOut, ...]
    digest: str
    """``sha256:`` + hex SHA-256 of the policy document's JCS bytes."""


@dataclass(frozen=True)
class Grade:
    """A grade, the policy that gave it and why (one line per rule that decided)."""

    grade: str
    policy_id: str
    policy_version: str
    reasons: tuple[str, ...]


def policy_ref(policy: GradingPolicy) -> dict[str, str]:
    """The ``gradingPolicy`` value of a DiagnosticTest record: ``{"id", "version"}``."""
    return {"id": policy.id, "version": policy.version}


# -- grading -------------------------------------------------------------------------------


def grade(measures: Mapping[str, object], policy: GradingPolicy) -> Grade:
    """Grade ``measures`` (e.g. a DiagnosticTest's credentialSubject) under ``policy``.

    Raises :class:`GradingError` when a measure the policy needs is missing or has the wrong
    type; measures the policy does not name are ignored.
    """
    if not isinstance(measures, Mapping):
        raise GradingError(f"measures must be a mapping, got {type(measures).__name__}")
    missing = sorted({k.measure for k in policy.knock_outs if k.measure not in measures})
    if missing:
        raise GradingError(f"measures lack {', '.join(missing)} (policy {_label(policy)})")
    soh, soh_text = _state_of_health(measures, policy)

    reasons: list[str] = []
    excluded: set[str] = set()
    for rule in policy.knock_outs:
        value = _measure(measures, rule.measure)
        if _OPS[rule.op](_comparable(value), _comparable(rule.value)):
            excluded.update(rule.excludes)
            unit = _unit(rule.measure)
            test = "" if isinstance(value, bool) else f" {rule.op} {_show(rule.value)}{unit}"
            reasons.append(
                f"{rule.measure} {_show(value)}{unit}{test}: "
                f"not {', '.join(rule.excludes)}{_because(rule.because)}"
            )
    for step in policy.grades:
        if step.grade in excluded:
            continue
        if step.min_soh is None:
            reasons.append(f"{step.grade}: no other grade applies")
        elif soh < _exact(step.min_soh):
            reasons.append(
                f"{soh_text} < {step.grade} threshold {_show(step.min_soh)} %"
                + _because(step.because)
            )
            continue
        else:
            reasons.append(f"{soh_text} >= {step.grade} threshold {_show(step.min_soh)} %")
        return Grade(step.grade, policy.id, policy.version, tuple(reasons))
    raise AssertionError("unreachable: the last grade has no threshold and is never excluded")


def _state_of_health(measures: Mapping[str, object], policy: GradingPolicy) -> tuple[Fraction, str]:
    """The state of health (%) from the first source whose measures are all present."""
    for source in policy.soh_sources:
        names = source.split("/")
        if not all(name in measures for name in names):
            continue
        if len(names) == 1:
            value = _measure(measures, source)
            return _exact(value), f"{source} {_show(value)} %"
        num, den = (_measure(measures, name) for name in names)
        if den == 0:
            raise GradingError(f"measure {names[1]}: must be > 0 to compute state of health")
        soh = _exact(num) / _exact(den) * 100
        parts = " / ".join(
            f"{n} {_show(v)}{_unit(n)}" for n, v in zip(names, (num, den), strict=True)
        )
        return soh, f"SoH {_show(soh)} % ({parts})"
    options = ", or ".join(" and ".join(source.split("/")) for source in policy.soh_sources)
    raise GradingError(f"measures lack the state of health: need {options}")


def _measure(measures: Mapping[str, object], name: str) -> bool | Number:
    """``measures[name]`` checked against its kind in :data:`MEASURES`."""
    kind, _ = MEASURES[name]
    value = measures[name]
    if kind == "flag":
        if isinstance(value, bool):
            return value
        raise GradingError(f"measure {name}: expected true or false, got {value!r}")
    if kind == "count":
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise GradingError(f"measure {name}: expected an integer >= 0, got {value!r}")
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (kind == "change" or value >= 0)
    ):
        return value
    wanted = "a finite number" if kind == "change" else "a finite number >= 0"
    raise GradingError(f"measure {name}: expected {wanted}, got {value!r}")


@functools.lru_cache(maxsize=4096)  # thresholds recur on every record; parsing is slow
def _exact(value: Number) -> Fraction:
    """The decimal value as written (``repr`` of a float is its shortest decimal form)."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _comparable(value: bool | Number) -> bool | Fraction:
    return value if isinstance(value, bool) else _exact(value)


def _show(value: bool | Number | Fraction) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else repr(float(value))
    return repr(value)


def _unit(measure: str) -> str:
    unit = MEASURES[measure][1]
    return f" {unit}" if unit else ""


def _because(because: str) -> str:
    return f" ({because})" if because else ""


def _label(policy: GradingPolicy) -> str:
    return f"{policy.id} v{policy.version}"


# -- loading -------------------------------------------------------------------------------


def load_policy(path_or_name: str | Path | None = None) -> GradingPolicy:
    """Load and validate a policy: a file (a :class:`Path`, or a string ending in ``.json``
    or containing ``/``) or a bundled policy by name (``None``: :data:`DEFAULT_POLICY`)."""
    if path_or_name is None:
        path_or_name = DEFAULT_POLICY
    if isinstance(path_or_name, Path) or path_or_name.endswith(".json") or "/" in path_or_name:
        source = str(path_or_name)
        try:
            data = Path(path_or_name).read_bytes()
        except OSError as exc:
            raise GradingError(f"policy {source}: cannot read it: {exc.strerror}") from exc
    else:
        bundled = {
            entry.name.removesuffix(".json"): entry
            for entry in (resources.files("ledger") / "policies").iterdir()
            if entry.name.endswith(".json")
        }
        if path_or_name not in bundled:
            names = ", ".join(sorted(bundled))
            raise GradingError(f"no bundled grading policy {path_or_name!r} (bundled: {names})")
        source = f"{path_or_name} (bundled)"
        data = bundled[path_or_name].read_bytes()
    return _parse(_decode(data, source), source)


def _decode(data: bytes, source: str) -> object:
    """Strict JSON (no duplicate keys, NaN or non-UTF-8): the project's one strict parser."""
    try:
        return json_input.parse(data)
    except DocumentError as exc:
        raise GradingError(f"policy {source}: {exc}") from None


def _parse(doc: object, source: str) -> GradingPolicy:
    check = _Checker(source)
    top = check.fields(
        doc, "$", {"id", "version", "stateOfHealth", "grades", "knockOuts"}, "description"
    )
    policy_id = check.text(top["id"], "$.id", _ID)
    version = check.text(top["version"], "$.version", _VERSION)
    description = check.text(top.get("description", ""), "$.description")
    sources = _parse_sources(check, top["stateOfHealth"])
    grades = _parse_grades(check, top["grades"])
    soh_measures = {name for source in sources for name in source.split("/")}
    knock_outs = tuple(
        _parse_knock_out(check, item, f"$.knockOuts[{i}]", grades, soh_measures)
        for i, item in enumerate(check.array(top["knockOuts"], "$.knockOuts", empty=True))
    )
    try:
        digest = hashlib.sha256(canonicalize(doc)).hexdigest()
    except CanonicalizationError as exc:
        raise GradingError(f"policy {source}: {exc}") from exc
    return GradingPolicy(
        policy_id, version, description, sources, grades, knock_outs, f"sha256:{digest}"
    )


def _parse_sources(check: _Checker, value: object) -> tuple[str, ...]:
    sources: list[str] = []
    for i, item in enumerate(check.array(value, "$.stateOfHealth", empty=False)):
        where = f"$.stateOfHealth[{i}]"
        source = check.text(item, where)
        names = source.split("/")
        if len(names) > 2 or len(set(names)) != len(names):
            check.fail(where, f"{source!r}: expected a measure or 'measure/measure'")
        for name in names:
            if MEASURES.get(name, ("",))[0] != "amount":
                check.fail(where, f"{name!r} is not a measure of kind amount ({_amounts()})")
        if source in sources:
            check.fail(where, f"{source!r} is listed twice")
        sources.append(source)
    return tuple(sources)


def _parse_grades(check: _Checker, value: object) -> tuple[GradeRule, ...]:
    rules: list[GradeRule] = []
    items = check.array(value, "$.grades", empty=False)
    for i, item in enumerate(items):
        where = f"$.grades[{i}]"
        last = i == len(items) - 1
        entry = check.fields(
            item, where, {"grade"} if last else {"grade", "minSoh"}, "minSoh", "because"
        )
        name = check.text(entry["grade"], f"{where}.grade")
        if name not in GRADES:
            check.fail(f"{where}.grade", f"{name!r} is not one of {', '.join(GRADES)}")
        if name in (rule.grade for rule in rules):
            check.fail(f"{where}.grade", f"{name!r} is listed twice")
        if last and "minSoh" in entry:
            check.fail(f"{where}.minSoh", "the last grade applies when no other does: no threshold")
        min_soh = None if last else check.number(entry["minSoh"], f"{where}.minSoh")
        because = check.text(entry.get("because", ""), f"{where}.because")
        rules.append(GradeRule(name, min_soh, because))
    return tuple(rules)


def _parse_knock_out(
    check: _Checker, item: object, where: str, grades: tuple[GradeRule, ...], soh: set[str]
) -> KnockOut:
    entry = check.fields(item, where, {"measure", "op", "value", "excludes"}, "because")
    measure = check.text(entry["measure"], f"{where}.measure")
    if measure not in MEASURES:
        check.fail(f"{where}.measure", f"unknown measure {measure!r} ({', '.join(MEASURES)})")
    if measure in soh:
        check.fail(f"{where}.measure", f"{measure!r} gives the state of health: use minSoh")
    flag = MEASURES[measure][0] == "flag"
    op = check.text(entry["op"], f"{where}.op")
    ops = _FLAG_OPS if flag else tuple(_OPS)
    if op not in ops:
        check.fail(f"{where}.op", f"{op!r} is not one of {' '.join(ops)} for {measure}")
    raw = entry["value"]
    value: bool | Number
    if not flag:
        value = check.number(raw, f"{where}.value")
    elif isinstance(raw, bool):
        value = raw
    else:
        check.fail(f"{where}.value", f"expected true or false, got {_json_type(raw)}")
    excludes: list[str] = []
    for j, excluded in enumerate(check.array(entry["excludes"], f"{where}.excludes", empty=False)):
        at = f"{where}.excludes[{j}]"
        name = check.text(excluded, at)
        if name not in (rule.grade for rule in grades):
            check.fail(at, f"{name!r} is not a grade of this policy")
        if name == grades[-1].grade:
            check.fail(at, f"{name!r} is the last grade: it cannot be excluded")
        if name in excludes:
            check.fail(at, f"{name!r} is listed twice")
        excludes.append(name)
    because = check.text(entry.get("because", ""), f"{where}.because")
    return KnockOut(measure, op, value, tuple(excludes), because)


class _Checker:
    """Type checks on a decoded policy document; errors name the file and the JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        raise GradingError(f"policy {self.source}: {where}: {problem}")

    def fields(
        self, value: object, where: str, required: set[str], *optional: str
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {_json_type(value)}")
        if missing := sorted(required - value.keys()):
            self.fail(where, f"missing {', '.join(missing)}")
        if unknown := sorted(value.keys() - required - set(optional)):
            self.fail(where, f"unknown field {unknown[0]!r}")
        return value

    def text(self, value: object, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_json_type(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(where, f"{value!r} does not match {pattern.pattern}")
        return value

    def number(self, value: object, where: str) -> Number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"expected a number, got {_json_type(value)}")
        if not math.isfinite(value):
            self.fail(where, f"{value!r} is not a finite number")
        return value

    def array(self, value: object, where: str, *, empty: bool) -> list[object]:
        if not isinstance(value, list):
            self.fail(where, f"expected an array, got {_json_type(value)}")
        if not value and not empty:
            self.fail(where, "must not be empty")
        return value


def _amounts() -> str:
    return ", ".join(name for name, (kind, _) in MEASURES.items() if kind == "amount")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return "an array" if isinstance(value, list) else "an object"

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

:func:`grade` gives the grade with its reasons; :func:`check` the grade alone, faster (for
the ledger, which re-grades every DiagnosticTest it appends or audits).
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from importlib.resources.abc import Traversable
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
    "bundled_policy_names",
    "check",
    "grade",
    "load_policy",
    "parse_policy",
    "policy_ref",
    "read_policy",
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

    @functools.cached_property
    def _plan(self) -> _Plan | None:
        """The policy compiled for :func:`grade` and :func:`check`, once (``None``: never fast)."""
        return _compile(self)

    def __getstate__(self) -> dict[str, object]:
        """The fields without the compiled plan: it is rebuilt on first use where the policy
        lands (a ledger's audit sends its policies to worker processes), so a pickle stays
        small and holds nothing of the plan's internals."""
        return {name: value for name, value in self.__dict__.items() if name != "_plan"}


@dataclass(frozen=True)
class Grade:
    """A grade, the policy that gave it and why (one line per rule that decided)."""

    grade: str
    policy_id: str
    policy_version: str
    reasons: tuple[str, ...]


def policy_ref(policy: GradingPolicy) -> dict[str, str]:
    """The ``gradingPolicy`` value of a DiagnosticTest record: ``{"id", "version",
    "digest"}``. The digest binds the record's grade to the policy's exact rules under the
    record's signature (ADR 0012)."""
    return {"id": policy.id, "version": policy.version, "digest": policy.digest}


# -- grading -------------------------------------------------------------------------------


def grade(measures: Mapping[str, object], policy: GradingPolicy) -> Grade:
    """Grade ``measures`` (e.g. a DiagnosticTest's credentialSubject) under ``policy``.

    Raises :class:`GradingError` when a measure the policy needs is missing or has the wrong
    type; measures the policy does not name are ignored. See :func:`check` for the grade alone.
    """
    plan = policy._plan
    if plan is not None and (decision := _decide(measures, plan)) is not None:
        return _explain(measures, policy, plan, decision)
    return _grade_exact(measures, policy)


def check(measures: Mapping[str, object], policy: GradingPolicy) -> str:
    """Only the grade :func:`grade` gives (same errors too), without building its reasons.

    For the ledger's hot path, which re-grades every DiagnosticTest and needs the reasons only
    when the record's grade is wrong: then call :func:`grade` for them.
    """
    plan = policy._plan
    if plan is not None and (decision := _decide(measures, plan)) is not None:
        return plan.grades[decision[0]]
    return _grade_exact(measures, policy).grade


def _grade_exact(measures: Mapping[str, object], policy: GradingPolicy) -> Grade:
    """The reference: every comparison on exact fractions, straight from the policy.

    :func:`grade` and :func:`check` defer to it for all but valid measures of plain types, so
    errors (and any odd input) behave exactly as here; the tests hold the fast path to it.
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
        if value.denominator == 1:
            return str(value.numerator)
        try:
            return repr(float(value))
        except OverflowError:  # a ratio beyond the floats (e.g. 1.7e308 / 3e-300)
            return format(Decimal(value.numerator) / Decimal(value.denominator), ".6e")
    return repr(value)


def _unit(measure: str) -> str:
    unit = MEASURES[measure][1]
    return f" {unit}" if unit else ""


def _because(because: str) -> str:
    return f" ({because})" if because else ""


def _label(policy: GradingPolicy) -> str:
    return f"{policy.id} v{policy.version}"


# -- the fast path -------------------------------------------------------------------------
#
# grade() must stay exact on the decimal values as written, but Fraction(repr(x)) costs ~2 µs
# a value and the ledger re-grades every DiagnosticTest. So each policy is compiled once
# (_Plan) and valid measures of plain types (dict, int, float, bool) are compared on the
# values themselves wherever that provably gives the exact answer; anything else (an error,
# a subclass, a hand-built policy outside the schema) goes to _grade_exact, the reference.
#
# Why comparing the values is exact. Let D(x) be the decimal value repr(x) writes (what
# _exact compares) and R(f) the interval of reals that round to the float f. repr round-trips
# and float(str) rounds correctly, so D(f) is in R(f); R(f) contains f and no other float.
# - float f vs float g: rounding is monotone, so f < g gives D(f) < D(g) (D(f) >= D(g) would
#   round to f >= g); f == g gives D(f) == D(g) (same repr, or 0.0 and -0.0, both 0).
# - int vs int: D(n) = n.
# - int n with |n| <= 2^53 vs float f: n is itself a float, so if n != f, n lies outside R(f),
#   on f's side of the whole interval, hence on D(f)'s side: n < f iff n < D(f). When n == f
#   (as reals) the values cannot tell D(f) from n: compare exactly. Python compares int with
#   float exactly. Ints beyond 2^53 are not floats: against a float they go exact.
# - the capacity ratio Q = 100 * D(num) / D(den) against a threshold T > 0: see _ratio_bounds.

_SAFE: Final = 2**53
"""Every int of at most this size is exactly a float (larger ones go to the reference)."""
_INF: Final = math.inf
_NORMAL: Final = 2.0**-1022
"""The least normal float: from here up, half an ulp is at most 2^-53 of the value."""
_LEAST, _MOST = 2.0**-1000, 2.0**1000
"""The float SoH ratios the fast path takes (see :func:`_ratio_bounds`)."""
_MARGIN: Final = 2.0**-40
"""Relative gap beyond which the float ratio decides (its error is at most 7 * 2^-53)."""
_FLOAT, _INT, _BIG = 0, 1, 2
"""Threshold modes: a float, an int (or a flag's bool) within 2^53, an int beyond."""
_MISSING: Final = object()

_Ranges = tuple[float, float, int, int]
_RANGES: Final[Mapping[str, _Ranges]] = {
    "amount": (0.0, sys.float_info.max, 0, _SAFE),
    "change": (-sys.float_info.max, sys.float_info.max, -_SAFE, _SAFE),
    "count": (1.0, 0.0, 0, _SAFE),  # no float
    "flag": (1.0, 0.0, 1, 0),  # no float and no int: a bool
}
"""The measures the fast path takes, by kind: floats from and to, ints from and to (valid
measures beyond them, ints beyond 2^53, go to the reference)."""

_Step = tuple[Number, Fraction, int, float, float] | None
"""A grade's threshold (None: none): as written, exact, mode, and the ratio's (hi, lo)."""
_Rule = tuple[
    str, Callable[[Any, Any], bool], bool | Number, Fraction | bool, bool, bool, _Ranges, int, int
]
"""A knock-out: measure, op, threshold as written and exact, whether the threshold is a float
or an int beyond 2^53, its measure's _RANGES, its bit and the grades it excludes (a mask)."""
_Source = tuple[int, str, str | None]
"""A SoH source: its index, the measure or numerator, the denominator (None: a measure)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """A policy compiled for speed: exact thresholds, ops, reason texts."""

    grades: tuple[str, ...]
    steps: tuple[_Step, ...]
    sources: tuple[_Source, ...]
    rules: tuple[_Rule, ...]
    rule_texts: tuple[tuple[str, str], ...]
    """Per knock-out: the reason before and after the measure's value."""
    below: tuple[str, ...]
    """Per grade: the reason after the SoH text when the SoH is below the threshold."""
    won: tuple[str, ...]
    """Per grade: the reason after the SoH text when it is met (whole, with no threshold)."""


def _decide(measures: Mapping[str, object], plan: _Plan) -> tuple[int, int, int, int] | None:
    """(grade index, bit masks of the knock-outs that hold and of the grades they exclude, SoH
    source index), as the reference decides; ``None``: let the reference answer (it raises on
    bad measures; types other than dict, int, float and bool are left to it too)."""
    if type(measures) is not dict:
        return None
    knocked = _knock_outs(measures, plan.rules)
    if knocked is None:
        return None
    fired, excluded = knocked
    for source, first, second in plan.sources:
        soh = measures.get(first, _MISSING)
        if soh is _MISSING:
            continue
        if second is None:
            winner = _first_met(plan.steps, excluded, soh) if _amount(soh) else None
        else:
            den = measures.get(second, _MISSING)
            if den is _MISSING:
                continue
            if not (_amount(soh) and _amount(den)) or den == 0:
                return None  # the reference names the measure
            winner = _first_met_ratio(plan.steps, excluded, soh, den)
        return None if winner is None else (winner, fired, excluded, source)
    return None


def _knock_outs(measures: dict[str, object], rules: tuple[_Rule, ...]) -> tuple[int, int] | None:
    """Bit masks of the knock-outs that hold and of the grades they exclude (``None``: a
    measure the fast path does not take, see _RANGES)."""
    fired = excluded = 0
    for name, op, limit, exact, is_float, is_big, ranges, bit, excludes in rules:
        value: Any = measures.get(name, _MISSING)
        kind_of = type(value)
        if kind_of is float:
            if not ranges[0] <= value <= ranges[1]:  # also refuses NaN
                return None
            # Direct when exact (see above): two floats, or a float and an int that differ.
            if is_float or (value != limit and not is_big):
                holds = op(value, limit)
            else:
                holds = op(_exact(value), exact)
        elif kind_of is int:
            if not ranges[2] <= value <= ranges[3]:
                return None
            holds = op(value, limit if not is_float or value != limit else exact)
        elif kind_of is bool and ranges[2] > ranges[3]:  # a flag
            holds = op(value, limit)
        else:
            return None
        if holds:
            fired |= bit
            excluded |= excludes
    return fired, excluded


def _amount(value: object) -> bool:
    """Whether ``value`` is a valid amount the fast path takes (int within 2^53, float)."""
    if type(value) is float:
        return 0.0 <= value < _INF
    return type(value) is int and 0 <= value <= _SAFE


def _first_met(steps: tuple[_Step, ...], excluded: int, soh: Number) -> int | None:
    """The first grade not excluded whose threshold ``soh`` meets (None: all are excluded)."""
    is_float = type(soh) is float
    for index, step in enumerate(steps):
        if excluded >> index & 1:
            continue
        if step is None:
            return index
        limit, exact, mode, _, _ = step
        # Direct if exact (see above): two floats, two ints, or an int and a float that differ.
        if (mode == _FLOAT) == is_float or (soh != limit and mode != _BIG):
            if soh >= limit:
                return index
        elif _exact(soh) >= exact:
            return index
    return None


def _first_met_ratio(
    steps: tuple[_Step, ...], excluded: int, num: Number, den: Number
) -> int | None:
    """:func:`_first_met` for the SoH ``100 * num / den`` (den > 0): in floats when far from
    the threshold (see :func:`_ratio_bounds`), else on exact fractions. ``None`` also for a
    zero or extreme SoH, left to the reference (which may then overflow showing it)."""
    a, b = float(num), float(den)
    if a < _NORMAL or b < _NORMAL:
        return None
    ratio = a / b * 100
    if not _LEAST <= ratio <= _MOST:  # so neither step underflowed nor overflowed
        return None
    soh: Fraction | None = None
    for index, step in enumerate(steps):
        if excluded >> index & 1:
            continue
        if step is None:
            return index
        _, exact, _, hi, lo = step
        if ratio > hi:
            return index
        if ratio < lo:
            continue
        if soh is None:
            soh = _exact(num) / _exact(den) * 100
        if soh >= exact:
            return index
    return None


def _explain(
    measures: Mapping[str, object],
    policy: GradingPolicy,
    plan: _Plan,
    decision: tuple[int, int, int, int],
) -> Grade:
    """The :class:`Grade` with the reasons :func:`_grade_exact` gives for this decision."""
    winner, fired, excluded, source = decision
    reasons = []
    if fired:
        for index, (head, tail) in enumerate(plan.rule_texts):
            if fired >> index & 1:
                reasons.append(head + _text(measures[plan.rules[index][0]]) + tail)
    _, first, second = plan.sources[source]
    soh: Any = measures[first]
    if second is None:
        soh_text = f"{first} {soh!r} %"
    else:
        den: Any = measures[second]
        parts = f"{first} {soh!r}{_unit(first)} / {second} {den!r}{_unit(second)}"
        soh_text = f"SoH {_ratio_text(soh, den)} % ({parts})"
    for index in range(winner):
        if not excluded >> index & 1:
            reasons.append(soh_text + plan.below[index])
    won = plan.won[winner]
    reasons.append(won if plan.steps[winner] is None else soh_text + won)
    return Grade(plan.grades[winner], policy.id, policy.version, tuple(reasons))


def _text(value: object) -> str:
    """:func:`_show` for a valid measure of a plain type, without its Fraction check (slow)."""
    if value is True or value is False:
        return "true" if value else "false"
    return repr(value)


def _ratio_text(num: Number, den: Number) -> str:
    """:func:`_show` of the exact SoH ``100 * num / den``, from integers (no Fraction: 3x).

    With num = a/b and den = c/d as written, the SoH is p/r = 100ad/(bc): an integer when r
    divides p; else its float is p / r, which Python rounds correctly, as float(Fraction).
    """
    a, b = Decimal(repr(num)).as_integer_ratio() if type(num) is float else (num, 1)
    c, d = Decimal(repr(den)).as_integer_ratio() if type(den) is float else (den, 1)
    p, r = 100 * a * d, b * c
    return str(p // r) if p % r == 0 else repr(p / r)


def _compile(policy: GradingPolicy) -> _Plan | None:
    """The plan of a policy :func:`load_policy` could give; ``None`` for any other."""
    if not _in_schema(policy):
        return None
    grades = tuple(step.grade for step in policy.grades)
    steps: list[_Step] = []
    below, won = [], []
    for step in policy.grades:
        if step.min_soh is None:
            steps.append(None)
            below.append("")
            won.append(f"{step.grade}: no other grade applies")
            continue
        minimum = _exact(step.min_soh)
        mode = _limit(step.min_soh)[2]
        steps.append((step.min_soh, minimum, mode, *_ratio_bounds(step.min_soh, minimum)))
        threshold = f"{step.grade} threshold {_show(step.min_soh)} %"
        below.append(f" < {threshold}{_because(step.because)}")
        won.append(f" >= {threshold}")
    rules: list[_Rule] = []
    texts: list[tuple[str, str]] = []
    for index, rule in enumerate(policy.knock_outs):
        kind = MEASURES[rule.measure][0]
        value, exact, mode = _limit(rule.value)
        excludes = sum(1 << i for i, name in enumerate(grades) if name in rule.excludes)
        rules.append(
            (
                rule.measure,
                _OPS[rule.op],
                value,
                exact,
                mode == _FLOAT,
                mode == _BIG,
                _RANGES[kind],
                1 << index,
                excludes,
            )
        )
        unit = _unit(rule.measure)
        test = "" if kind == "flag" else f" {rule.op} {_show(rule.value)}{unit}"
        tail = f"{unit}{test}: not {', '.join(rule.excludes)}{_because(rule.because)}"
        texts.append((f"{rule.measure} ", tail))
    sources: list[_Source] = []
    for index, source in enumerate(policy.soh_sources):
        first, _, second = source.partition("/")
        sources.append((index, first, second or None))
    return _Plan(
        grades,
        tuple(steps),
        tuple(sources),
        tuple(rules),
        tuple(texts),
        tuple(below),
        tuple(won),
    )


def _in_schema(policy: GradingPolicy) -> bool:
    """Whether the policy has the shape :func:`load_policy` checks (a hand-built one may not)."""
    sources = all(
        type(source) is str
        and 1 <= len(names := source.split("/")) <= 2
        and all(MEASURES.get(name, ("",))[0] == "amount" for name in names)
        for source in policy.soh_sources
    )
    grades = all(
        type(step.grade) is str
        and type(step.because) is str
        and (step.min_soh is None or _plain_number(step.min_soh))
        for step in policy.grades
    )
    return (
        sources and grades and bool(policy.grades) and all(map(_rule_in_schema, policy.knock_outs))
    )


def _rule_in_schema(rule: KnockOut) -> bool:
    kind = MEASURES.get(rule.measure, ("",))[0] if type(rule.measure) is str else ""
    return (
        kind != ""
        and type(rule.op) is str
        and rule.op in _OPS
        and (type(rule.value) is bool if kind == "flag" else _plain_number(rule.value))
        and type(rule.because) is str
        and type(rule.excludes) is tuple
        and all(type(name) is str for name in rule.excludes)
    )


def _plain_number(value: object) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _limit(value: bool | Number) -> tuple[bool | Number, Fraction | bool, int]:
    """A threshold as written, its exact value (a flag's: the bool) and its mode."""
    if type(value) is float:
        return value, _exact(value), _FLOAT
    if type(value) is bool:
        return value, value, _INT
    return value, _exact(value), _INT if abs(value) <= _SAFE else _BIG


def _ratio_bounds(threshold: Number, exact: Fraction) -> tuple[float, float]:
    """(hi, lo): a float ratio above hi (below lo) is exactly above (below) the threshold.

    All errors below are relative; u = 2^-53. With num and den normal floats (or ints within
    2^53, exact as floats), each is within u of its written value (half an ulp), and the
    division and the * 100 round by u each, neither underflowing nor overflowing (the caller
    checks): the float ratio q is within 5u of the exact Q. The threshold T, if normal, is
    within 2u of its float t (u if written as a float), and hi = t * (1 + 2^-40) rounds by u:
    q > hi gives Q > T since (1 + 2^-40)(1 - u) > (1 + 5u)(1 + 2u); likewise q < lo gives
    Q < T. With T <= 0, every Q > 0 is above (hi = 0). Between the bounds, or for a
    subnormal or huge threshold, the exact fractions decide.
    """
    if exact <= 0:
        return 0.0, -_INF
    try:
        as_float = float(threshold)
    except OverflowError:  # an int beyond the floats
        return _INF, -_INF
    if as_float < _NORMAL:
        return _INF, -_INF
    return as_float * (1 + _MARGIN), as_float * (1 - _MARGIN)


# -- loading -------------------------------------------------------------------------------


def load_policy(path_or_name: str | Path | None = None) -> GradingPolicy:
    """Load and validate a policy: a file (a :class:`Path`, or a string ending in ``.json``
    or containing ``/``) or a bundled policy by name (``None``: :data:`DEFAULT_POLICY`)."""
    return read_policy(path_or_name)[0]


def read_policy(path_or_name: str | Path | None = None) -> tuple[GradingPolicy, bytes]:
    """:func:`load_policy`, and the document's JCS bytes: what its ``digest`` is of, and
    what a ledger stores when it registers the policy (the layout of the file is not part
    of the policy)."""
    if path_or_name is None:
        path_or_name = DEFAULT_POLICY
    if isinstance(path_or_name, Path) or path_or_name.endswith(".json") or "/" in path_or_name:
        source = str(path_or_name)
        try:
            data = Path(path_or_name).read_bytes()
        except OSError as exc:
            raise GradingError(f"policy {source}: cannot read it: {exc.strerror}") from exc
    else:
        bundled = _bundled_files()
        if path_or_name not in bundled:
            names = ", ".join(sorted(bundled))
            raise GradingError(f"no bundled grading policy {path_or_name!r} (bundled: {names})")
        source = f"{path_or_name} (bundled)"
        data = bundled[path_or_name].read_bytes()
    return _parse_document(_decode(data, source), source)


def parse_policy(data: bytes, source: str) -> GradingPolicy:
    """A policy from its JSON bytes (``source`` names them in errors): how a ledger reads
    back the documents it registered."""
    return _parse(_decode(data, source), source)


def parse_document(doc: object, source: str) -> GradingPolicy:
    """A policy from its decoded document (``source`` names it in errors): how the ledger
    reads the policy a GradingPolicyRegistered record carries."""
    return _parse(doc, source)


def bundled_policy_names() -> tuple[str, ...]:
    """The names of the policies bundled with bpl (for :func:`load_policy`)."""
    return tuple(sorted(_bundled_files()))


def _bundled_files() -> dict[str, Traversable]:
    return {
        entry.name.removesuffix(".json"): entry
        for entry in (resources.files("ledger") / "policies").iterdir()
        if entry.name.endswith(".json")
    }


def _decode(data: bytes, source: str) -> object:
    """Strict JSON (no duplicate keys, NaN or non-UTF-8): the project's one strict parser."""
    try:
        return json_input.parse(data)
    except DocumentError as exc:
        raise GradingError(f"policy {source}: {exc}") from None


def _parse(doc: object, source: str) -> GradingPolicy:
    return _parse_document(doc, source)[0]


def _parse_document(doc: object, source: str) -> tuple[GradingPolicy, bytes]:
    """The policy of a decoded document, and the document's JCS bytes (its digest's)."""
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
        canonical = canonicalize(doc)
    except CanonicalizationError as exc:
        raise GradingError(f"policy {source}: {exc}") from exc
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    policy = GradingPolicy(policy_id, version, description, sources, grades, knock_outs, digest)
    return policy, canonical


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

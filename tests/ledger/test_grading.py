"""Grading policies: the bundled default, boundaries, knock-outs, bad input, custom policies."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import pickle
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core import grading
from ledger.core.grading import (
    GRADES,
    MEASURES,
    Grade,
    GradeRule,
    GradingError,
    GradingPolicy,
    KnockOut,
    check,
    grade,
    load_policy,
    policy_ref,
)
from tests.hypothesis_profiles import examples

DEFAULT = load_policy()
DEFAULT_FILE = Path(__file__).parents[2] / "ledger" / "policies" / "default-v1.json"
# A released policy never changes: editing default-v1.json must fail here (bump the version).
DEFAULT_DIGEST = "sha256:2059ac6f32bc795b39cad3030952b920966c3e6a07e34074d7538785df7a4bbc"


def healthy(**changes: object) -> dict[str, object]:
    """Measures the default policy grades reuse; ``changes`` override (None removes)."""
    measures: dict[str, object] = {
        "id": "https://id.example.com/01/09506000134352/21/SN-0001",
        "sequence": 4,
        "soce": 85.0,
        "damaged": False,
        "accidents": 0,
        "overchargeEvents": 0,
        "cellSohSpread": 1.5,
        "internalResistance": "not read by the default policy",
    }
    measures.update(changes)
    return {k: v for k, v in measures.items() if v is not None}


def default_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    return document


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def rank(result: Grade, policy: GradingPolicy = DEFAULT) -> int:
    """0 is the policy's best grade."""
    return [rule.grade for rule in policy.grades].index(result.grade)


# -- the bundled default ---------------------------------------------------------------------


def test_default_policy_identity() -> None:
    assert (DEFAULT.id, DEFAULT.version) == ("bpl-default", "1")
    assert policy_ref(DEFAULT) == {"id": "bpl-default", "version": "1", "digest": DEFAULT_DIGEST}
    assert DEFAULT.digest == DEFAULT_DIGEST
    assert load_policy("default-v1") == DEFAULT
    assert load_policy(DEFAULT_FILE) == DEFAULT
    assert [rule.grade for rule in DEFAULT.grades] == [
        "reuse",
        "remanufacture",
        "repurpose",
        "recycle",
    ]


def test_grade_records_the_policy() -> None:
    result = grade(healthy(), DEFAULT)
    assert result == Grade("reuse", "bpl-default", "1", result.reasons)
    assert result.reasons == ("soce 85.0 % >= reuse threshold 80 %",)


@pytest.mark.parametrize(
    ("soce", "expected"),
    [
        (100, "reuse"),
        (80, "reuse"),
        (80.0, "reuse"),
        (79.999, "repurpose"),
        (60, "repurpose"),
        (59.999, "recycle"),
        (0, "recycle"),
    ],
)
def test_soh_thresholds(soce: float, expected: str) -> None:
    assert grade(healthy(soce=soce), DEFAULT).grade == expected


def test_reason_names_the_threshold() -> None:
    reasons = grade(healthy(soce=72.5), DEFAULT).reasons
    assert "soce 72.5 % < reuse threshold 80 %" in reasons
    assert reasons[-1] == "soce 72.5 % >= repurpose threshold 60 %"


@pytest.mark.parametrize(
    ("soce", "spread", "expected"),
    [
        (90, 3, "remanufacture"),
        (90, 3.01, "repurpose"),
        (89.999, 0, "repurpose"),
        (99, 0, "remanufacture"),
    ],
)
def test_remanufacture_art_3_32(soce: float, spread: float, expected: str) -> None:
    # An accident rules out reuse as is; the battery may still qualify for remanufacturing.
    result = grade(healthy(soce=soce, cellSohSpread=spread, accidents=1), DEFAULT)
    assert result.grade == expected
    assert result.reasons[0] == "accidents 1 > 0: not reuse"


def test_spread_reason_cites_art_3_32() -> None:
    reasons = grade(healthy(soce=95, cellSohSpread=3.01, accidents=1), DEFAULT).reasons
    assert (
        "cellSohSpread 3.01 % > 3 %: not remanufacture "
        "(Art. 3(32): at most 3 % SoH spread between cells)"
    ) in reasons


@pytest.mark.parametrize(("spread", "expected"), [(5, "reuse"), (5.01, "repurpose")])
def test_large_spread_rules_out_reuse(spread: float, expected: str) -> None:
    assert grade(healthy(soce=95, cellSohSpread=spread), DEFAULT).grade == expected


@pytest.mark.parametrize(
    ("changes", "expected", "reason"),
    [
        pytest.param(
            {"damaged": True, "soce": 100},
            "recycle",
            "damaged true: not reuse, remanufacture, repurpose (damaged or defective)",
            id="damaged",
        ),
        pytest.param({"accidents": 2}, "repurpose", "accidents 2 > 0: not reuse", id="accident"),
        pytest.param(
            {"overchargeEvents": 1},
            "repurpose",
            "overchargeEvents 1 > 0: not reuse",
            id="overcharge",
        ),
        pytest.param(
            {"overchargeEvents": 1, "soce": 92},
            "remanufacture",
            "overchargeEvents 1 > 0: not reuse",
            id="overcharge-high-soh",
        ),
        pytest.param(
            {"damaged": True, "soce": 59}, "recycle", "recycle: no other grade applies", id="both"
        ),
    ],
)
def test_knock_outs(changes: dict[str, object], expected: str, reason: str) -> None:
    result = grade(healthy(**changes), DEFAULT)
    assert result.grade == expected
    assert reason in result.reasons


def test_soh_from_capacity_when_soce_is_absent() -> None:
    measures = healthy(soce=None, remainingCapacity=48, ratedCapacity=60)
    result = grade(measures, DEFAULT)
    assert result.grade == "reuse"
    assert result.reasons == (
        "SoH 80 % (remainingCapacity 48 Ah / ratedCapacity 60 Ah) >= reuse threshold 80 %",
    )
    assert grade({**measures, "remainingCapacity": 47.99}, DEFAULT).grade == "repurpose"


def test_capacity_ratio_is_exact() -> None:
    # In floats 4.52 / 5.65 * 100 is 79.99999999999999; the values as written give 80.
    assert 4.52 / 5.65 * 100 < 80
    measures = healthy(soce=None, remainingCapacity=4.52, ratedCapacity=5.65)
    assert grade(measures, DEFAULT).grade == "reuse"


def test_soce_wins_over_capacity() -> None:
    measures = healthy(soce=70, remainingCapacity=59, ratedCapacity=60)
    assert grade(measures, DEFAULT).grade == "repurpose"


# -- measures the policy cannot grade --------------------------------------------------------


@pytest.mark.parametrize(
    ("measures", "message"),
    [
        pytest.param(healthy(damaged=None), "measures lack damaged", id="missing-damaged"),
        pytest.param(
            healthy(accidents=None, cellSohSpread=None),
            "measures lack accidents, cellSohSpread",
            id="missing-two",
        ),
        pytest.param(
            healthy(soce=None),
            "need soce, or remainingCapacity and ratedCapacity",
            id="missing-soh",
        ),
        pytest.param(
            healthy(soce=None, remainingCapacity=50),
            "need soce, or remainingCapacity and ratedCapacity",
            id="missing-rated-capacity",
        ),
        pytest.param(healthy(soce="85"), "measure soce: expected a finite number", id="soce-str"),
        pytest.param(
            healthy() | {"soce": None}, "measure soce: expected a finite number", id="soce-null"
        ),
        pytest.param(healthy(soce=True), "measure soce: expected a finite number", id="soce-bool"),
        pytest.param(healthy(soce=float("nan")), "measure soce: ", id="soce-nan"),
        pytest.param(healthy(soce=float("inf")), "measure soce: ", id="soce-inf"),
        pytest.param(healthy(soce=-1), "measure soce: expected a finite number >= 0", id="soce<0"),
        pytest.param(
            healthy(damaged="no"), "measure damaged: expected true or false", id="dmg-str"
        ),
        pytest.param(healthy(damaged=0), "measure damaged: expected true or false", id="dmg-int"),
        pytest.param(healthy(accidents=1.0), "measure accidents: expected an integer", id="float"),
        pytest.param(healthy(accidents=-1), "measure accidents: expected an integer", id="neg"),
        pytest.param(healthy(accidents=True), "measure accidents: expected an integer", id="bool"),
        pytest.param(healthy(cellSohSpread=[1, 2]), "measure cellSohSpread: ", id="spread-list"),
        pytest.param(
            healthy(soce=None, remainingCapacity=50, ratedCapacity=0),
            "measure ratedCapacity: must be > 0",
            id="rated-zero",
        ),
        pytest.param([("soce", 85)], "measures must be a mapping", id="not-a-mapping"),
    ],
)
def test_bad_measures(measures: Any, message: str) -> None:
    with pytest.raises(GradingError, match=re.escape(message)):
        grade(measures, DEFAULT)


def test_grading_error_is_a_value_error() -> None:
    assert issubclass(GradingError, ValueError)


# -- policy files ----------------------------------------------------------------------------


def _set(path: str, value: object) -> Any:
    """A change to the default document: set the value at a dotted path (None deletes)."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is None:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(_set("id", None), r"\$: missing id", id="no-id"),
        pytest.param(
            _set("version", 1), r"\$.version: expected a string, got the number 1", id="v"
        ),
        pytest.param(_set("version", ""), r"\$.version: '' does not match", id="empty-v"),
        pytest.param(_set("id", "bpl default"), r"\$.id: 'bpl default' does not match", id="id"),
        pytest.param(_set("threshold", 80), r"\$: unknown field 'threshold'", id="unknown"),
        pytest.param(_set("grades", []), r"\$.grades: must not be empty", id="no-grades"),
        pytest.param(_set("grades.0.grade", "scrap"), r"\$.grades\[0\].grade: 'scrap'", id="grd"),
        pytest.param(_set("grades.1.grade", "reuse"), r"'reuse' is listed twice", id="dup-grade"),
        pytest.param(_set("grades.3.minSoh", 0), r"\$.grades\[3\].minSoh: the last", id="last"),
        pytest.param(_set("grades.2.minSoh", None), r"\$.grades\[2\]: missing minSoh", id="noth"),
        pytest.param(_set("grades.0.minSoh", "80"), r"minSoh: expected a number", id="th-str"),
        pytest.param(_set("grades.0.minSoh", True), r"minSoh: expected a number", id="th-bool"),
        pytest.param(_set("stateOfHealth", []), r"\$.stateOfHealth: must not be empty", id="soh"),
        pytest.param(_set("stateOfHealth.0", "sohe"), r"\$.stateOfHealth\[0\]: 'sohe'", id="sohe"),
        pytest.param(_set("stateOfHealth.1", "a/b/c"), r"expected a measure or", id="a/b/c"),
        pytest.param(_set("stateOfHealth.0", "accidents"), r"'accidents' is not a", id="soh-kind"),
        pytest.param(
            _set("knockOuts.1.measure", "acidents"), r"unknown measure 'acidents'", id="m"
        ),
        pytest.param(
            _set("knockOuts.1.measure", "soce"), r"state of health: use minSoh", id="ko-soh"
        ),
        pytest.param(_set("knockOuts.1.op", "=>"), r"\$.knockOuts\[1\].op: '=>'", id="op"),
        pytest.param(_set("knockOuts.0.op", ">"), r"\$.knockOuts\[0\].op: '>' is not", id="fop"),
        pytest.param(_set("knockOuts.0.value", 1), r"knockOuts\[0\].value: expected true", id="f"),
        pytest.param(_set("knockOuts.1.value", True), r"\[1\].value: expected a number", id="nv"),
        pytest.param(_set("knockOuts.1.excludes", []), r"excludes: must not be empty", id="ex"),
        pytest.param(
            _set("knockOuts.1.excludes", ["recycle"]), r"'recycle' is the last grade", id="ex-last"
        ),
        pytest.param(_set("knockOuts.1.excludes", ["scrap"]), r"'scrap' is not a grade", id="ex?"),
        pytest.param(_set("knockOuts.1.because", 3), r"\[1\].because: expected a string", id="bc"),
        pytest.param(_set("knockOuts.1.unless", 3), r"\[1\]: unknown field 'unless'", id="unk"),
    ],
)
def test_bad_policy_files(tmp_path: Path, change: Any, message: str) -> None:
    document = default_document()
    change(document)
    path = write(tmp_path / "policy.json", document)
    with pytest.raises(GradingError, match=f"^policy {re.escape(str(path))}: .*{message}"):
        load_policy(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b'{"id": "a", "id": "b"}', "duplicate key 'id'", id="duplicate-key"),
        pytest.param(b'{"id": NaN}', "NaN is not a JSON number", id="nan"),
        pytest.param(b'{"id": ', "malformed JSON", id="truncated"),
        pytest.param(b"\xff{}", "not UTF-8", id="not-utf8"),
        pytest.param(b"[]", r"\$: expected an object, got an array", id="array"),
    ],
)
def test_unreadable_policy_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    with pytest.raises(GradingError, match=message):
        load_policy(path)


def test_huge_threshold_is_refused(tmp_path: Path) -> None:
    text = DEFAULT_FILE.read_text(encoding="utf-8").replace('"minSoh": 80', '"minSoh": 1e400')
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GradingError, match=r"number 1e400 is too large for a JSON number"):
        load_policy(path)


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(GradingError, match="cannot read it"):
        load_policy(tmp_path / "absent.json")
    with pytest.raises(GradingError, match=r"no bundled grading policy 'strict' \(bundled: "):
        load_policy("strict")


def test_custom_policy_changes_results(tmp_path: Path) -> None:
    document = default_document()
    document.update(id="https://acme.example/grading/strict", version="2025.1")
    document["grades"][0]["minSoh"] = 90
    document["knockOuts"].append(
        {"measure": "deepDischargeEvents", "op": ">=", "value": 3, "excludes": ["reuse"]}
    )
    strict = load_policy(str(write(tmp_path / "strict.json", document)))
    measures = healthy(soce=85, deepDischargeEvents=0)

    assert grade(measures, DEFAULT).grade == "reuse"
    result = grade(measures, strict)
    assert (result.grade, result.policy_id, result.policy_version) == (
        "repurpose",
        "https://acme.example/grading/strict",
        "2025.1",
    )
    assert policy_ref(strict) == {
        "id": "https://acme.example/grading/strict",
        "version": "2025.1",
        "digest": strict.digest,
    }
    assert strict.digest != DEFAULT.digest
    assert grade(healthy(soce=95, deepDischargeEvents=3), strict).grade == "remanufacture"
    with pytest.raises(GradingError, match="measures lack deepDischargeEvents"):
        grade(healthy(soce=95), strict)


def test_digest_ignores_layout(tmp_path: Path) -> None:
    document = default_document()
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(dict(reversed(document.items()))), encoding="utf-8")
    assert load_policy(compact).digest == DEFAULT.digest
    document["grades"][2]["minSoh"] = 61
    assert load_policy(write(tmp_path / "changed.json", document)).digest != DEFAULT.digest


def test_read_policy_gives_the_jcs_bytes_its_digest_is_of(tmp_path: Path) -> None:
    document = default_document()
    path = tmp_path / "reversed.json"
    path.write_text(json.dumps(dict(reversed(document.items())), indent=3), encoding="utf-8")
    policy, canonical = grading.read_policy(path)
    assert policy == DEFAULT
    assert canonical == grading.read_policy()[1]
    assert "sha256:" + hashlib.sha256(canonical).hexdigest() == DEFAULT.digest
    assert json.loads(canonical) == document
    assert grading.parse_policy(canonical, "stored") == DEFAULT
    with pytest.raises(GradingError, match=r"policy stored: \$: missing grades"):
        grading.parse_policy(b'{"id": "x", "version": "1"}', "stored")
    with pytest.raises(GradingError, match=r"policy stored: .*duplicate"):
        grading.parse_policy(b'{"id": "x", "id": "y"}', "stored")
    assert grading.bundled_policy_names() == ("default-v1",)


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "after-grading"])
def test_a_policy_pickles_without_its_compiled_plan(used: bool) -> None:
    """The audit sends policies to worker processes: a policy that has graded (its plan
    compiled and cached) must pickle, arrive equal and grade the same."""
    policy = grading.parse_policy(grading.read_policy()[1], "fresh copy")
    if used:
        assert check(healthy(), policy) == "reuse"
        assert "_plan" in vars(policy)
    data = pickle.dumps(policy)
    assert b"_plan" not in data  # rebuilt where it lands
    arrived = pickle.loads(data)
    assert arrived == policy and hash(arrived) == hash(policy)
    assert "_plan" not in vars(arrived)
    for measures in (healthy(), healthy(soce=72.5, accidents=1), healthy(damaged=True)):
        assert grade(measures, arrived) == grade(measures, policy)
    assert arrived._plan == policy._plan


# -- properties ------------------------------------------------------------------------------

soh_values = st.floats(min_value=0, max_value=130, allow_nan=False) | st.integers(0, 130)
other_measures = st.fixed_dictionaries(
    {
        "damaged": st.booleans(),
        "accidents": st.integers(0, 3),
        "overchargeEvents": st.integers(0, 3),
        "cellSohSpread": st.sampled_from([0, 1.5, 3, 3.01, 5, 5.01, 12]),
    }
)


@given(other_measures, soh_values, soh_values)
def test_raising_soce_never_lowers_the_grade(rest: dict[str, object], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert rank(grade({**rest, "soce": high}, DEFAULT)) <= rank(
        grade({**rest, "soce": low}, DEFAULT)
    )


@given(other_measures, soh_values, soh_values, st.floats(min_value=1, max_value=500))
def test_raising_capacity_never_lowers_the_grade(
    rest: dict[str, object], a: float, b: float, rated: float
) -> None:
    low, high = (rated * value / 100 for value in sorted((a, b)))
    lower = grade({**rest, "remainingCapacity": low, "ratedCapacity": rated}, DEFAULT)
    higher = grade({**rest, "remainingCapacity": high, "ratedCapacity": rated}, DEFAULT)
    assert rank(higher) <= rank(lower)


@settings(max_examples=examples(50))
@given(
    st.permutations(GRADES),
    st.lists(st.integers(0, 100), min_size=3, max_size=3),
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from(GRADES[:3])), max_size=3),
    other_measures,
    soh_values,
    soh_values,
)
def test_any_policy_is_monotonic(
    tmp_path_factory: pytest.TempPathFactory,
    order: list[str],
    thresholds: list[int],
    knock_outs: list[tuple[int, str]],
    rest: dict[str, object],
    a: float,
    b: float,
) -> None:
    document = copy.deepcopy(default_document())
    document["grades"] = [
        {"grade": name, "minSoh": threshold}
        for name, threshold in zip(order[:3], thresholds, strict=True)
    ] + [{"grade": order[3]}]
    document["knockOuts"] = [
        {"measure": "accidents", "op": ">=", "value": value, "excludes": [name]}
        for value, name in knock_outs
        if name != order[3]
    ]
    policy = load_policy(write(tmp_path_factory.mktemp("policy") / "p.json", document))
    low, high = sorted((a, b))
    lower = grade({**rest, "soce": low}, policy)
    higher = grade({**rest, "soce": high}, policy)
    assert rank(higher, policy) <= rank(lower, policy)


@given(other_measures, soh_values)
def test_same_measures_same_grade(rest: dict[str, object], soce: float) -> None:
    measures = {**rest, "soce": soce}
    first = grade(measures, DEFAULT)
    assert grade(dict(reversed(measures.items())), load_policy()) == first
    assert first.grade in GRADES
    assert first.reasons


# -- the fast path agrees with the exact reference -------------------------------------------
#
# grade() and check() decide on the values themselves where that is provably exact, and defer
# to grading._grade_exact (every comparison on Fractions) otherwise. These tests hold both to
# the reference: same Grade (reasons included), same grade, same exception and message.


def assert_agrees(measures: Any, policy: GradingPolicy) -> Grade | None:
    """grade() and check() give what the reference gives; returns its Grade (None: it raised)."""
    try:
        expected = grading._grade_exact(measures, policy)
    except Exception as exc:  # any exception: the fast path must raise the very same
        for fast in (grade, check):
            with pytest.raises(type(exc)) as info:
                fast(measures, policy)
            assert (type(info.value), str(info.value)) == (type(exc), str(exc))
        return None
    assert grade(measures, policy) == expected
    assert check(measures, policy) == expected.grade
    return expected


def fast_path(measures: Mapping[str, object], policy: GradingPolicy) -> Grade:
    """The fast path's own answer, never the reference's (fails if it defers)."""
    plan = policy._plan
    assert plan is not None
    decision = grading._decide(measures, plan)
    assert decision is not None, "the fast path deferred to the reference"
    return grading._explain(measures, policy, plan, decision)


def around(threshold: float) -> st.SearchStrategy[float]:
    """Numbers at, one ulp off and near a threshold, as ints and as floats of many decimals."""
    at = float(threshold)
    exactly = [at, math.nextafter(at, math.inf), math.nextafter(at, -math.inf)]
    if at.is_integer() and abs(at) < 2**53:
        exactly += [int(at), int(at) - 1, int(at) + 1]
    low, high = Decimal(repr(at)) - 1, Decimal(repr(at)) + 1
    return st.one_of(
        st.sampled_from(exactly),
        st.integers(0, 17).flatmap(lambda places: st.decimals(low, high, places=places)).map(float),
        st.floats(at - 1, at + 1, allow_nan=False),
        st.floats(at - 1e-12, at + 1e-12, allow_nan=False),
    )


class Reading(float):
    """A float subclass (as a numeric library might hand over): the fast path defers it."""


ODD = [
    *("85", None, True, False, [1], Reading(85.5), Reading(2.0)),
    *(-1, -0.0, 0, 1.5, 2**53, 2**53 + 1, 2**60, 10**400, 1e308),
    *(math.nan, math.inf, -math.inf, -1e-300, 5e-324),
]
"""Values of the wrong type, sign or size, and a few valid edge ones, for any measure."""
ODD_VALUES = st.sampled_from(ODD)


def values(kind: str, thresholds: list[float]) -> st.SearchStrategy[Any]:
    """A measure of ``kind``, mostly valid and near the thresholds it is compared with."""
    if kind == "flag":
        return st.booleans()
    near = [around(threshold) for threshold in thresholds or [1]]
    if kind == "count":
        return st.integers(0, 8) | st.one_of(near).map(lambda value: max(0, math.floor(value)))
    if kind == "amount":
        return st.one_of(*near, st.floats(0, 1e6), st.integers(0, 10**6)).map(abs)
    return st.one_of(*near, st.floats(-1e6, 1e6), st.integers(-(10**6), 10**6))


@st.composite
def capacities(draw: st.DrawFn, thresholds: list[float]) -> tuple[float, float]:
    """(remaining, rated) whose SoH 100 * remaining / rated is at or near a threshold."""
    rated = draw(st.sampled_from([60, 60.0, 5.65, 100, 1, 0.3, 2.2]) | st.floats(0.001, 1e4))
    soh = Decimal(repr(draw(st.one_of(*(around(t) for t in thresholds or [80])))))
    remaining = Decimal(repr(rated)) * soh / 100
    how = draw(st.integers(0, 3))
    if how == 0:  # the decimal product: often exactly at the threshold as written
        value = float(remaining)
    elif how == 1:  # rounded to a few places, as a device would print it
        value = round(float(remaining), draw(st.integers(0, 6)))
    elif how == 2:  # one ulp off
        value = math.nextafter(float(remaining), draw(st.sampled_from([math.inf, -math.inf])))
    else:
        value = float(rated) * float(soh) / 100  # the float product, off by rounding
    return abs(value), rated


@st.composite
def measures_for(draw: st.DrawFn, policy: GradingPolicy) -> Any:
    """Measures for ``policy``: every one it names, near its thresholds; now and then one is
    missing or odd, or the mapping is not a dict."""
    soh = [rule.min_soh for rule in policy.grades if rule.min_soh is not None]
    measures: dict[str, object] = {}
    for source in policy.soh_sources:
        names = source.split("/")
        if len(names) == 1:
            measures.setdefault(source, draw(values("amount", soh)))
        else:
            remaining, rated = draw(capacities(soh))
            measures.setdefault(names[0], remaining)
            measures.setdefault(names[1], rated)
    for rule in policy.knock_outs:
        others = [k.value for k in policy.knock_outs if k.measure == rule.measure]
        thresholds = [value for value in others if not isinstance(value, bool)]
        measures.setdefault(rule.measure, draw(values(MEASURES[rule.measure][0], thresholds)))
    measures["grade"] = "reuse"  # not a measure: ignored
    names = sorted(measures)
    spoil = draw(st.integers(0, 11))
    if spoil == 0:
        del measures[draw(st.sampled_from(names))]
    elif spoil == 1:
        measures[draw(st.sampled_from(names))] = draw(ODD_VALUES)
    elif spoil == 2:
        return MappingProxyType(measures)
    return measures


@st.composite
def policy_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid policy document of random shape: sources, grades, thresholds, knock-outs."""
    amounts = [name for name, (kind, _) in MEASURES.items() if kind == "amount"]
    single = st.sampled_from(amounts)
    pair = st.lists(single, min_size=2, max_size=2, unique=True).map("/".join)
    sources = draw(st.lists(single | pair, min_size=1, max_size=3, unique=True))
    used = {name for source in sources for name in source.split("/")}
    number = st.one_of(
        st.sampled_from([0, 3, 5, 60, 80, 90, 100, 80.0, 79.99999999999999, 80.00000000000001]),
        st.sampled_from([3.01, 0.1, 1e-310, 5e-324, 1e300, -2.5, 33.333333333333336]),
        st.integers(-5, 130),
        st.floats(-10, 130, allow_nan=False),
        st.integers(0, 17).flatmap(lambda places: st.decimals(0, 130, places=places)).map(float),
    )
    names = draw(st.permutations(GRADES))[: draw(st.integers(1, 4))]
    grades: list[dict[str, Any]] = [{"grade": name, "minSoh": draw(number)} for name in names]
    del grades[-1]["minSoh"]
    if draw(st.booleans()):
        grades[0]["because"] = "a reason"
    knock_outs = []
    for _ in range(draw(st.integers(0, 4)) if len(names) > 1 else 0):
        measure = draw(st.sampled_from(sorted(set(MEASURES) - used)))
        flag = MEASURES[measure][0] == "flag"
        rule: dict[str, Any] = {
            "measure": measure,
            "op": draw(
                st.sampled_from(["==", "!="] if flag else ["<", "<=", ">", ">=", "==", "!="])
            ),
            "value": draw(st.booleans() if flag else number),
            "excludes": draw(st.lists(st.sampled_from(names[:-1]), min_size=1, unique=True)),
        }
        if draw(st.booleans()):
            rule["because"] = "why"
        knock_outs.append(rule)
    return {
        "id": "random",
        "version": "1",
        "stateOfHealth": sources,
        "grades": grades,
        "knockOuts": knock_outs,
    }


@settings(max_examples=examples(400))
@given(st.data())
def test_fast_path_agrees_on_the_default_policy(data: st.DataObject) -> None:
    assert_agrees(data.draw(measures_for(DEFAULT)), DEFAULT)


@settings(max_examples=examples(400))
@given(st.data())
def test_fast_path_agrees_on_random_policies(data: st.DataObject) -> None:
    policy = grading._parse(data.draw(policy_documents()), "random")  # load_policy, no file
    assert_agrees(data.draw(measures_for(policy)), policy)


@given(
    st.fixed_dictionaries(
        {
            "soce": around(80) | around(90) | around(60),
            "damaged": st.booleans(),
            "accidents": st.integers(0, 2),
            "overchargeEvents": st.integers(0, 2),
            "cellSohSpread": around(3) | around(5),
        }
    )
)
def test_fast_path_itself_is_exact(measures: dict[str, object]) -> None:
    # Not via grade(), which would hide a fast path that defers: its own answer.
    assert fast_path(measures, DEFAULT) == grading._grade_exact(measures, DEFAULT)


@given(other_measures, st.data())
def test_fast_path_itself_is_exact_on_capacity(rest: dict[str, object], data: Any) -> None:
    remaining, rated = data.draw(capacities([80, 90, 60]))
    measures = {**rest, "remainingCapacity": remaining, "ratedCapacity": rated}
    expected = grading._grade_exact(measures, DEFAULT)
    plan = DEFAULT._plan
    assert plan is not None
    decision = grading._decide(measures, plan)
    if decision is not None:  # it defers only for a zero or extreme SoH
        assert grading._explain(measures, DEFAULT, plan, decision) == expected
    else:
        assert not 2.0**-1000 <= float(remaining) / float(rated) * 100 <= 2.0**1000


@pytest.mark.parametrize(
    ("soce", "expected"),
    [
        (80, "reuse"),
        (80.0, "reuse"),
        (80.00000000000001, "reuse"),
        (79.99999999999999, "repurpose"),
        (math.nextafter(60.0, 0), "recycle"),
        (60, "repurpose"),
        (0.0, "recycle"),
        (-0.0, "recycle"),
        (5e-324, "recycle"),
        (1.7976931348623157e308, "reuse"),
        (2**53, "reuse"),
    ],
)
def test_fast_path_at_soce_thresholds(soce: float, expected: str) -> None:
    measures = healthy(soce=soce)
    assert fast_path(measures, DEFAULT).grade == expected
    assert assert_agrees(measures, DEFAULT) == fast_path(measures, DEFAULT)


@pytest.mark.parametrize(
    ("remaining", "rated", "expected"),
    [
        (4.52, 5.65, "reuse"),  # 79.99999999999999 in floats, exactly 80 as written
        (48, 60, "reuse"),
        (48.0, 60.0, "reuse"),
        (math.nextafter(48.0, 0), 60.0, "repurpose"),
        (36, 60, "repurpose"),
        (35.99999999999999, 60, "recycle"),
        (1, 3, "recycle"),  # 33.333...: the reason shows the float of the exact ratio
        (0.3, 0.3, "reuse"),
    ],
)
def test_fast_path_at_capacity_thresholds(remaining: float, rated: float, expected: str) -> None:
    measures = healthy(soce=None, remainingCapacity=remaining, ratedCapacity=rated)
    assert fast_path(measures, DEFAULT).grade == expected
    assert assert_agrees(measures, DEFAULT) == fast_path(measures, DEFAULT)


@pytest.mark.parametrize(
    ("remaining", "rated"),
    [
        *((0, 60), (0.0, 60.0), (5e-324, 60.0), (1e-300, 1e300), (50, 0), (50, 0.0)),
        *((1e308, 1e-300), (1.7e308, 3e-300)),  # a SoH of 10^610, then one no float can show
    ],
)
def test_extreme_capacities_match_the_reference(remaining: float, rated: float) -> None:
    # The fast path defers these; the reference may raise (e.g. an unshowable SoH).
    assert_agrees(healthy(soce=None, remainingCapacity=remaining, ratedCapacity=rated), DEFAULT)


def test_a_ratio_beyond_the_floats_is_graded_not_crashed() -> None:
    # 1.7e308 / 3e-300 is a state of health of 5.7e609 %: graded, and shown in its reason.
    measures = healthy(soce=None, remainingCapacity=1.7e308, ratedCapacity=3e-300)
    result = grade(measures, DEFAULT)
    assert result.grade == "reuse"
    assert any("5.666667e+609" in reason for reason in result.reasons)


@pytest.mark.parametrize("value", ODD, ids=repr)
@pytest.mark.parametrize(
    "name",
    [*("soce", "remainingCapacity", "ratedCapacity"), *("damaged", "accidents", "cellSohSpread")],
)
def test_odd_measures_match_the_reference(name: str, value: object) -> None:
    assert_agrees(healthy(**{name: value}), DEFAULT)
    capacity = healthy(soce=None, remainingCapacity=48.5, ratedCapacity=60)
    assert_agrees({**capacity, name: value}, DEFAULT)


def test_int_and_float_at_equal_thresholds(tmp_path: Path) -> None:
    # Mixed int and float equal as values go exact; so do ints beyond 2^53 (not floats).
    document = default_document()
    document["grades"][0]["minSoh"] = 79.99999999999999
    document["knockOuts"] = [
        {"measure": "accidents", "op": ">=", "value": 3.0, "excludes": ["reuse"]},
        {"measure": "deepDischargeEvents", "op": "<", "value": 2.5, "excludes": ["repurpose"]},
        {"measure": "temperature", "op": "<=", "value": -10, "excludes": ["remanufacture"]},
    ]
    policy = load_policy(write(tmp_path / "mixed.json", document))
    names = ("soce", "accidents", "deepDischargeEvents", "temperature")
    cases = [
        ((80, 3, 2, -10.0), "recycle"),  # each knock-out holds at its mixed int/float tie
        ((80, 2, 3, -10.0), "reuse"),
        ((79.99999999999999, 0, 3, -9.999999999999998), "reuse"),
        ((79.99999999999997, 0, 3, 0), "repurpose"),
        ((79.99999999999997, 0, 0, 0), "recycle"),
    ]
    for values, expected in cases:
        measures = dict(zip(names, values, strict=True))
        assert fast_path(measures, policy).grade == expected, measures
        assert assert_agrees(measures, policy) == fast_path(measures, policy)
    big = dict(zip(names, cases[0][0], strict=True)) | {"accidents": 2**60}
    assert assert_agrees(big, policy) is not None  # deferred: beyond 2^53


def test_hand_built_policies_match_the_reference() -> None:
    # Outside what load_policy accepts (an int threshold beyond 2^53, a bool for a count):
    # a float 2^60 is 1152921504606846976 in binary but 1152921504606847000 as written.
    big = 2**60 + 1
    rules = (KnockOut("cellSohSpread", ">", big, ("reuse",)),)
    policy = GradingPolicy(
        "hand", "1", "", ("soce",), (GradeRule("reuse", big), GradeRule("recycle", None)), rules, ""
    )
    measures = healthy(soce=float(2**60), cellSohSpread=float(2**60))
    assert fast_path(measures, policy).grade == "recycle"
    assert assert_agrees(measures, policy) is not None
    assert assert_agrees(healthy(soce=2**60 + 1, cellSohSpread=big), policy) is not None
    odd = GradingPolicy(
        "hand",
        "1",
        "",
        ("soce",),
        DEFAULT.grades,
        (KnockOut("accidents", ">", True, ("reuse",)),),
        "",
    )
    assert odd._plan is None  # never fast: the reference answers
    assert assert_agrees(healthy(accidents=2), odd) is not None


def test_check_is_the_grade_and_raises_the_same() -> None:
    assert check(healthy(), DEFAULT) == "reuse"
    assert check(healthy(soce=72.5, accidents=1), DEFAULT) == "repurpose"
    with pytest.raises(GradingError, match="measures lack damaged"):
        check(healthy(damaged=None), DEFAULT)
    with pytest.raises(GradingError, match="measure ratedCapacity: must be > 0"):
        check(healthy(soce=None, remainingCapacity=50, ratedCapacity=0), DEFAULT)

"""Admission: every check of a submitted record that needs no ledger state.

Parse and bound the submission, validate the record against its kind's schema, match each
disclosure to the digest the record carries and validate it, re-grade a DiagnosticTest
under its grading policy (one of those given: the ledger's), and verify every proof. What
passes is a :class:`Checked` record, ready for the append rules (:mod:`ledger.core.rules`),
which need the ledger's state. Appends run it before taking any lock; audits run it again
on every stored record, possibly in worker processes (so it is pure: the same bytes and
policies in, the same verdict out). A batch is checked stage by stage
(:func:`check_submissions`, ADR 0014); also checks a grading policy registration's policy
(ADR 0013).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import schemas
from ledger.core import collector, grading, records
from ledger.core.battery_id import BatteryIdError, parse_battery_id
from ledger.core.contexts import loader as context_loader
from ledger.errors import RecordRejected, UnknownGradingPolicy
from signing import json_input, proofs
from signing.errors import SigningError

MAX_RECORD_BYTES = 256 * 1024
"""Largest record accepted, in canonical bytes (a record holds digests, not documents)."""
STAGE_CHUNK = 64
"""Records taken through the stages together: a larger batch goes a chunk at a time, so
that the objects a stage walks stay in the CPU's own cache (ADR 0014, amended)."""


class Checked(NamedTuple):
    """A submission that passed every check that needs no ledger state. (A named tuple:
    one is built for every record, where a frozen dataclass cost a call per field.)"""

    record: Mapping[str, Any]
    kind: str
    body: bytes
    record_hash: str
    signers: list[str]
    disclosures: dict[str, Mapping[str, Any]]
    disclosure_bytes: Mapping[str, bytes]
    """Each disclosure's canonical bytes, by group: what its digest is of."""

    @property
    def subjects(self) -> list[str]:
        """The chains the rules will read for this record: its own, and the passports it
        links to."""
        subject = self.record["credentialSubject"]
        if (
            "predecessors" not in subject
            and "successor" not in subject
            and "successors" not in subject
            and "model" not in subject
        ):
            return [subject["id"]]  # the usual case, in four lookups
        model = subject.get("model")
        return [
            subject["id"],
            *subject.get("predecessors", ()),
            *([subject["successor"]] if "successor" in subject else []),
            *subject.get("successors", ()),
            *([model["id"]] if isinstance(model, Mapping) and "id" in model else []),
        ]

    @property
    def battery(self) -> str | None:
        """The canonical battery key of a v2 PassportIssued (whose one-live-passport rule
        reads the battery's passports), None otherwise or if its id does not parse."""
        subject = self.record["credentialSubject"]
        if self.kind != "PassportIssued" or "model" not in subject:
            return None
        try:
            return parse_battery_id(subject["batteryId"]).key
        except BatteryIdError:
            return None

    @property
    def position(self) -> tuple[str, int]:
        """Where the record claims to go: its chain (subject id) and sequence."""
        subject = self.record["credentialSubject"]
        return subject["id"], subject["sequence"]


Policies = Mapping[tuple[str, str], grading.GradingPolicy]
"""Grading policies by (id, version): those a DiagnosticTest may name."""


def check_submission(
    submission: Mapping[str, Any] | bytes, policies: Policies | None = None
) -> Checked:
    """Everything that needs no ledger state: size, shape, schema, disclosures, proofs.

    ``policies``: the grading policies a DiagnosticTest may name (default: the bundled
    ones, :func:`bundled_policies`). A parameter, not ledger state, so that the verdict
    depends on the input alone; a ledger passes the bundled ones and those it registered.
    Raises the RecordRejected naming the first check that refuses the submission.
    """
    [outcome] = check_submissions([submission], policies)
    if isinstance(outcome, RecordRejected):
        raise outcome
    return outcome


def check_submissions(
    submissions: Sequence[Mapping[str, Any] | bytes], policies: Policies | None = None
) -> list[Checked | RecordRejected]:
    """:func:`check_submission` of each submission: its Checked record, or the
    RecordRejected it raises (the same verdict, the same first failing check).

    Stage by stage rather than record by record: each check runs over a chunk of records
    before the next, a refused record leaving the later stages. A record's checks touch
    code in many libraries (the JSON parser, the JCS code, the schema validator, libsodium);
    in turn for each record, each evicted the others' from the CPU's caches. Measured on
    ``bench/bench_ledger.py``'s records: 93-105 against 70-76 us a record (ADR 0014). A
    batch larger than :data:`STAGE_CHUNK` is taken a chunk at a time.
    """
    known = _bundled() if policies is None else policies
    if len(submissions) > STAGE_CHUNK:
        return [
            outcome
            for start in range(0, len(submissions), STAGE_CHUNK)
            for outcome in _check_staged(submissions[start : start + STAGE_CHUNK], known)
        ]
    return _check_staged(submissions, known)


def _check_staged(
    submissions: Sequence[Mapping[str, Any] | bytes], known: Policies
) -> list[Checked | RecordRejected]:
    """:func:`check_submissions` of one chunk, stage by stage."""
    outcomes: list[Checked | RecordRejected | None] = [None] * len(submissions)
    live: list[_Candidate] = []
    for index, submission in enumerate(submissions):
        try:
            record, disclosures = _unpack(submission)
        except RecordRejected as exc:
            outcomes[index] = exc
            continue
        live.append(_Candidate(index, record, disclosures))
    live = _each(live, outcomes, _canonical_body)
    live = _each(live, outcomes, _check_schema)
    live = _each(live, outcomes, _check_disclosures)
    live = _each(live, outcomes, lambda candidate: _check_kind(candidate, known))
    live = _each(live, outcomes, _check_signed)
    refusals = proofs.verify_many(
        [c.record if c.record.__class__ is dict else dict(c.record) for c in live],
        loader=context_loader(),
    )
    for candidate, refusal in zip(live, refusals, strict=True):
        if refusal is not None:
            outcomes[candidate.index] = RecordRejected("proof", str(refusal))
            continue
        record, body = candidate.record, candidate.body
        outcomes[candidate.index] = Checked(
            record,
            candidate.kind,
            body,
            records.digest(body),
            records.signer_keys(record),
            candidate.disclosed,
            candidate.encoded,
        )
    return [outcome for outcome in outcomes if outcome is not None]


class _Candidate:
    """A submission between the stages of :func:`check_submissions`."""

    __slots__ = (
        "body",
        "disclosed",
        "disclosures",
        "encoded",
        "index",
        "kind",
        "record",
        "version",
    )

    def __init__(
        self,
        index: int,
        record: Mapping[str, Any],
        disclosures: list[Mapping[str, Any]],
    ) -> None:
        self.index = index
        self.record = record
        self.disclosures = disclosures
        self.body = b""
        self.kind = ""
        self.version = ""
        self.disclosed: dict[str, Mapping[str, Any]] = {}
        self.encoded: Mapping[str, bytes] = {}


def _each(
    live: list[_Candidate],
    outcomes: list[Checked | RecordRejected | None],
    check: Callable[[_Candidate], None],
) -> list[_Candidate]:
    """``check`` of every live candidate; those it refuses get their outcome and leave."""
    passed = []
    for candidate in live:
        try:
            check(candidate)
        except RecordRejected as exc:
            outcomes[candidate.index] = exc
            continue
        passed.append(candidate)
    return passed


def _canonical_body(candidate: _Candidate) -> None:
    try:
        body = records.canonical(candidate.record)
    except SigningError as exc:
        raise RecordRejected("parse", str(exc)) from None
    if len(body) > MAX_RECORD_BYTES:
        raise RecordRejected(
            "size", f"the record is {len(body)} bytes (at most {MAX_RECORD_BYTES})"
        )
    candidate.body = body


def _check_schema(candidate: _Candidate) -> None:
    try:
        candidate.kind = schemas.validate_record(candidate.record)  # ignores the proof
        candidate.version = schemas.version_of(candidate.record)
    except schemas.SchemaError as exc:
        raise RecordRejected("schema", str(exc)) from None


def _check_disclosures(candidate: _Candidate) -> None:
    try:
        disclosed, encoded = records.match_disclosures(candidate.record, candidate.disclosures)
        for disclosure in disclosed.values():
            schemas.validate_disclosure(candidate.kind, disclosure, candidate.version)
    except schemas.SchemaError as exc:
        raise RecordRejected("schema", str(exc)) from None
    candidate.disclosed, candidate.encoded = disclosed, encoded


def _check_kind(candidate: _Candidate, policies: Policies) -> None:
    """The checks of one kind: a DiagnosticTest's grade, a policy registration's policy."""
    if candidate.kind == "DiagnosticTest":
        _check_grade(records.measures(candidate.disclosed), policies)
    elif candidate.kind == "GradingPolicyRegistered":
        _check_registration(candidate.record["credentialSubject"])


def _check_signed(candidate: _Candidate) -> None:
    if "proof" not in candidate.record:
        raise RecordRejected("proof", "the record is not signed")


def bundled_policies() -> dict[tuple[str, str], grading.GradingPolicy]:
    """The grading policies bundled with bpl, by (id, version): known to every ledger. A
    new dict each call, for the caller to add its own to."""
    return dict(_bundled())


@functools.cache
def _bundled() -> Policies:
    loaded = map(grading.load_policy, grading.bundled_policy_names())
    return MappingProxyType({(policy.id, policy.version): policy for policy in loaded})


def _check_grade(measures: Mapping[str, Any], policies: Policies) -> None:
    """A DiagnosticTest's grade must be what its grading policy gives for its measures, and
    the policy the one it names: id, version and digest (ADR 0012)."""
    reference = measures.get("gradingPolicy", {})
    key = (str(reference.get("id")), str(reference.get("version")))
    policy = policies.get(key)
    if policy is None:
        raise UnknownGradingPolicy(key)
    if reference.get("digest") != policy.digest:
        raise RecordRejected(
            "grade",
            f"graded under grading policy {key[0]} version {key[1]} with digest "
            f"{reference.get('digest')}, but that version here is {policy.digest}: other rules",
        )
    try:
        expected = grading.check(measures, policy)
    except grading.GradingError as exc:
        raise RecordRejected("grade", str(exc)) from None
    if measures.get("grade") != expected:
        reasons = grading.grade(measures, policy).reasons  # only a refusal needs them
        raise RecordRejected(
            "grade",
            f"grade {measures.get('grade')!r}, but {key[0]} v{key[1]} gives "
            f"{expected!r} ({'; '.join(reasons)})",
        )


def _check_registration(subject: Mapping[str, Any]) -> None:
    """A GradingPolicyRegistered record's policy must be a valid grading policy, the one its
    id, version and digest name, on its id's chain, under an id not bundled (ADR 0013)."""
    named = (subject["policyId"], subject["version"])
    try:
        policy = grading.parse_document(subject["policy"], f"{named[0]} version {named[1]}")
    except grading.GradingError as exc:
        raise RecordRejected("policy", str(exc)) from None
    if (policy.id, policy.version) != named:
        raise RecordRejected(
            "policy",
            f"the record registers {named[0]} version {named[1]}, but its policy is "
            f"{policy.id} version {policy.version}",
        )
    if subject["digest"] != policy.digest:
        raise RecordRejected(
            "policy", f"the record says digest {subject['digest']}, its policy has {policy.digest}"
        )
    if subject["id"] != records.policy_chain(policy.id):
        raise RecordRejected(
            "policy",
            f"policy {policy.id} is registered on chain {records.policy_chain(policy.id)}, "
            f"not {subject['id']}",
        )
    if any(policy.id == bundled_id for bundled_id, _ in _bundled()):
        raise RecordRejected(
            "policy", f"grading policy id {policy.id} is reserved for the policies bundled with bpl"
        )


def _unpack(
    submission: Mapping[str, Any] | bytes,
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The record and its disclosures from a submission (JSON bytes or a mapping)."""
    if submission.__class__ is bytes or isinstance(submission, bytes | bytearray):
        if len(submission) > json_input.MAX_DOCUMENT_BYTES:
            raise RecordRejected(
                "size", f"the submission is over {json_input.MAX_DOCUMENT_BYTES} bytes"
            )
        try:
            submission = json_input.parse_object(bytes(submission))
        except SigningError as exc:
            raise RecordRejected("parse", str(exc)) from None
    if not (submission.__class__ is dict or isinstance(submission, Mapping)):
        raise RecordRejected("parse", "a submission is a JSON object")
    if "record" in submission:
        record, disclosures = submission["record"], submission.get("disclosures", [])
    else:
        record, disclosures = submission, []
    if not (record.__class__ is dict or isinstance(record, Mapping)) or not isinstance(
        disclosures, list
    ):
        raise RecordRejected("parse", "record must be an object and disclosures a list")
    return record, disclosures


def admit_stored(
    submissions: list[tuple[bytes, list[bytes]]], policies: Policies | None = None
) -> list[str | None]:
    """Admission of stored records (run in a worker process), grades under ``policies``
    (default: the bundled ones; pickled to the worker with each chunk): for each, None, or
    the rule and reason that refuses it. The stored bytes must also be the record's
    canonical form, which is what lets the parent rebuild the admitted record with a plain
    parser instead of receiving it pickled. Here, not in :mod:`ledger.audit`, so that the
    audit's worker processes import admission alone, not the storage code (SQLAlchemy,
    Alembic): ``bpl audit`` of 24,000 records took 2.6-2.8 against 3.0-3.1 s."""
    outcomes: list[str | None] = [None] * len(submissions)
    with collector.paused():
        parsed: list[dict[str, Any]] = []
        positions: list[int] = []
        for position, (body, disclosures) in enumerate(submissions):
            try:
                record = json_input.parse_object(body)
                shown = [json_input.parse_object(d) for d in disclosures]
            except SigningError as exc:  # not even JSON: only a tampered row gets here
                outcomes[position] = f"parse: {exc}"
                continue
            parsed.append({"record": record, "disclosures": shown})
            positions.append(position)
        for position, checked in zip(positions, check_submissions(parsed, policies), strict=True):
            if isinstance(checked, RecordRejected):
                outcomes[position] = f"{checked.rule}: {checked.detail}"
            elif checked.body != submissions[position][0]:
                outcomes[position] = "parse: its bytes are not the record's canonical (JCS) form"
            elif sorted(checked.disclosure_bytes.values()) != sorted(submissions[position][1]):
                outcomes[position] = "parse: a disclosure's bytes are not its canonical (JCS) form"
    return outcomes


Refusal = tuple[str, str, tuple[str, str] | None]
"""A refusal as a worker process sends it back: the rule, the reason, and for a grading
policy the ledger does not know, its (id, version). (RecordRejected itself does not
survive pickling: its arguments are not its constructor's.)"""


def refusal_of(error: RecordRejected) -> Refusal:
    """``error`` as :data:`Refusal`, for a worker process to send back."""
    if isinstance(error, UnknownGradingPolicy):
        return (error.rule, error.detail, error.key)
    if error.__class__ is not RecordRejected:  # pragma: no cover - admission raises no other
        raise TypeError(f"admission gave a {error.__class__.__name__}")
    return (error.rule, error.detail, None)


def rejected(refusal: Refusal) -> RecordRejected:
    """The RecordRejected that :func:`refusal_of` sent: equal in class, rule and message."""
    rule, detail, key = refusal
    return RecordRejected(rule, detail) if key is None else UnknownGradingPolicy(key)


_worker_policies: dict[bytes, Policies] = {}
"""In a worker process: the grading policies of each pickled set it was sent, by those
bytes (a ledger's set changes only when a policy is registered)."""


def admit_in_worker(submissions: Sequence[bytes], policies: bytes) -> list[Checked | Refusal]:
    """:func:`check_submissions` of JSON submissions in a worker process of a ledger's
    admission pool (``policies``: its grading policies, pickled once by the ledger and
    unpickled here once per worker). A Checked record goes back pickled as it is, so that
    the ledger gets exactly what admission in its own process gives (the parsed values
    with their types: re-parsing the canonical bytes would read ``12000.0`` as ``12000``);
    unpickling one costs about what parsing its bytes again would. A refusal goes back
    as a :data:`Refusal`."""
    known = _worker_policies.get(policies)
    if known is None:
        if len(_worker_policies) >= 4:
            _worker_policies.clear()
        known = _worker_policies[policies] = pickle.loads(policies)  # noqa: S301 (our own)
    with collector.paused():
        return [
            outcome if outcome.__class__ is Checked else refusal_of(outcome)  # type: ignore[arg-type]
            for outcome in check_submissions(submissions, known)
        ]

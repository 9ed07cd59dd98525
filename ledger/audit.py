"""The audit: re-derive the whole ledger from its log, and name the first bad record.

Every stored record must be its log leaf byte for byte and hash to its record hash; it is
admitted again (:func:`ledger.core.admission.check_submission`: schema, disclosures, grade,
every proof) and replayed through the append rules in log order, from an empty state; the
chain heads, actors and keys the replay ends with must be exactly the stored ones. The
log's own audit (tiles and root against the latest signed checkpoint) comes first.

Admission is pure and is most of the cost (an Ed25519 verify per proof), so on a ledger of
more than :data:`PARALLEL_FROM` records it runs in worker processes, a chunk of records at
a time, while this process reads the next chunks and replays the rules, which need the
order. Records are read a chunk at a time: a million-record audit never holds the
ledger in memory.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

import schemas
from ledger import worker_pool
from ledger.core import admission, collector, records
from ledger.core.admission import Checked, Policies, admit_stored, bundled_policies
from ledger.core.rules import Actor, Effects, Head, Key, Registration, check
from ledger.errors import LedgerError, RecordRejected
from ledger.log import TransparencyLog
from ledger.storage import audit_reads
from ledger.storage import policy_rows as policy_store
from ledger.storage.ledger_rows import (
    actor_row,
    hash_key,
    head_row,
    model_row,
    passport_row,
)

CHUNK = 1024
"""Records read, admitted and replayed per step."""
PARALLEL_FROM = 20_000
"""Smaller ledgers are audited in this process: starting workers costs about a second."""
_BUNDLED = frozenset(bundled_policies())
"""The (id, version) of the policies bundled with bpl: known before any registration."""


@dataclass(frozen=True)
class Report:
    """The outcome of :meth:`Ledger.verify_chain` or :meth:`Ledger.audit`."""

    ok: bool
    records: int
    """Records checked (for a failure: the position of the bad one)."""
    record_hash: str | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "recordHash": self.record_hash,
            "reason": self.reason,
        }


def audit(
    engine: sa.Engine, log: TransparencyLog, verifier_key: str, *, workers: int | None = None
) -> Report:
    """Audit the ledger in ``engine`` (see the module doc). ``workers``: processes for
    admission (default: one per CPU when the ledger is large enough; 1: none). They are
    started first, to boot while this process audits the log."""
    try:
        size = log.size()
    except LedgerError as exc:
        return Report(False, 0, None, f"log: {exc}")
    if workers is None:
        workers = (os.cpu_count() or 1) if size >= PARALLEL_FROM else 1
    with _admission_pool(workers) as pool:
        if workers > 1:
            for _ in range(workers):
                pool.submit(admit_stored, [])  # to start each worker: nothing to admit
        try:
            return _audit(engine, log, verifier_key, pool, workers)
        except (ValueError, TypeError, LookupError, AttributeError) as exc:
            # A stored value of a type or form no check expected (SQLite keeps any value
            # in any column): a finding, not a crash.
            return Report(False, 0, None, f"a stored value is malformed ({_malformed(exc)})")


def _malformed(exc: Exception) -> str:
    """A parse error's type and message, cut short (it may quote the stored value)."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _audit(
    engine: sa.Engine, log: TransparencyLog, verifier_key: str, pool: Executor, workers: int
) -> Report:
    try:
        size = log.audit(verifier_key)
    except LedgerError as exc:
        return Report(False, 0, None, f"log: {exc}")
    with engine.connect() as connection:
        problem = _counts_problem(connection, size)
    if problem is not None:
        return Report(False, size, None, problem)
    policies, problem = policy_store.audited(engine)
    if problem is not None:
        return Report(False, 0, None, problem)
    view = ReplayView()
    for start, rows, problems, submissions, refusals in _admitted_chunks(
        engine, log, size, pool, workers, policies
    ):
        with collector.paused():
            for offset, (row, stored, submission, refusal) in enumerate(
                zip(rows, problems, submissions, refusals, strict=True)
            ):
                problem = stored or refusal
                if problem is None:
                    item = _admitted(row[0], *submission)
                    problem = _row_problem(row, submission[1], item) or _replay(item, view)
                    if item.kind == "PassportIssued":
                        passport = passport_row(item.record, start + offset)
                        view.passports[passport[0]] = passport
                    elif item.kind == "BatteryModelPublished" and _first(item):
                        model = model_row(item.record, start + offset)
                        view.models[model[0]] = model
                if problem is not None:
                    return Report(False, start + offset, row[0], problem)
    problem = _compare_heads(engine, view)
    if problem is not None:
        return Report(False, size, None, problem)
    return Report(True, size, None, None)


def _counts_problem(connection: sa.Connection, size: int) -> str | None:
    """A record for each of the ``size`` leaves, and no disclosure beside them."""
    count, stray = audit_reads.counts(connection, size)
    if count != size:
        return f"the log has {size} leaves, the ledger {count} records"
    if stray:
        return f"{stray} disclosures belong to no leaf of the log"
    return None


class _Inline(Executor):
    """An executor that runs each call at once, in this process (small ledgers)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _admission_pool(workers: int) -> Executor:
    if workers <= 1:
        return _Inline()
    # Workers that import ledger.core.admission alone, never the caller's __main__ (ADR 0015).
    return ProcessPoolExecutor(workers, mp_context=worker_pool.context([admission.__name__]))


Submission = tuple[bytes, list[bytes]]
"""A stored record's bytes and its disclosures' bytes."""
Chunk = tuple[int, list[Any], list[str | None], list[Submission], list[str | None]]


def _admitted_chunks(
    engine: sa.Engine,
    log: TransparencyLog,
    size: int,
    pool: Executor,
    workers: int,
    policies: Policies,
) -> Iterator[Chunk]:
    """Each chunk's rows, the problems found by comparing them with their leaves, their
    bytes, and their admission refusals (grades under ``policies``), in order; up to
    ``2 * workers`` chunks sent to the pool ahead. While the oldest chunk sent is not back
    (the workers take about a second to start), this process admits the next chunks
    itself rather than wait."""
    pending: deque[tuple[int, list[Any], list[str | None], list[Submission], Future[Any]]]
    pending = deque()
    upcoming = iter(range(0, size, CHUNK))

    def take(start: int, here: bool) -> None:
        rows, problems, submissions = _read_chunk(engine, log, start, min(start + CHUNK, size))
        if here:
            admitted: Future[Any] = Future()
            admitted.set_result(admit_stored(submissions, policies))
        else:
            admitted = pool.submit(admit_stored, submissions, policies)
        pending.append((start, rows, problems, submissions, admitted))

    for first in itertools.islice(upcoming, 2 * workers):
        take(first, here=False)
    while pending:
        while not pending[0][4].done() and (next_start := next(upcoming, None)) is not None:
            take(next_start, here=True)
        first, rows, problems, submissions, future = pending.popleft()
        yield first, rows, problems, submissions, future.result()
        if (next_start := next(upcoming, None)) is not None:
            take(next_start, here=False)


def _read_chunk(
    engine: sa.Engine, log: TransparencyLog, start: int, end: int
) -> tuple[list[Any], list[str | None], list[Submission]]:
    """Records ``[start, end)``: their rows (``audit_reads.RECORD_COLUMNS``, then the
    groups their disclosures are stored under), checked against their leaves (their
    bytes), and the leaves with their disclosures."""
    leaves = log.leaves(start, end)
    with engine.connect() as connection:
        rows = audit_reads.records_between(connection, start, end)
        groups: dict[int, list[str]] = {}
        bodies: dict[int, list[bytes]] = {}
        for leaf_index, group, body in audit_reads.disclosures_between(connection, start, end):
            if leaf_index in groups:
                groups[leaf_index].append(group)
                bodies[leaf_index].append(bytes(body))
            else:
                groups[leaf_index] = [group]
                bodies[leaf_index] = [bytes(body)]
    if len(rows) != end - start:  # the count matched: so some leaf index is wrong
        indexes = {int(row[1]) for row in rows}
        missing = next(i for i in range(start, end) if i not in indexes)
        rows = [row for row in rows if int(row[1]) < missing]
        rows.append((None, missing, None, None, None, None, None))
    problems: list[str | None] = []
    submissions = []
    with_groups = []
    for where, (row, leaf) in enumerate(zip(rows, leaves, strict=False), start):
        problems.append(_stored_problem(row, where, leaf))
        submissions.append((leaf, bodies.get(where, [])))
        with_groups.append((*row, groups.get(where, [])))
    return with_groups, problems, submissions


def _stored_problem(row: Any, leaf_index: int, leaf: bytes) -> str | None:
    """Why a stored record row is not that of the log's leaf ``leaf_index``, or None."""
    if row[0] is None or int(row[1]) != leaf_index:
        return f"no record for leaf {leaf_index} (a leaf index was altered)"
    if records.digest(leaf) != row[0]:
        return "its leaf's bytes do not hash to its record hash"
    if row[2] != hash_key(leaf_index, row[0]):
        return "its stored hash key does not match its hash and leaf (lookups would miss it)"
    return None


def _row_problem(row: Any, disclosures: list[bytes], item: Checked) -> str | None:
    """Why a stored record row (:data:`audit_reads.RECORD_COLUMNS`, then the groups its
    ``disclosures`` are stored under) does not say what its admitted record says, or None:
    a row under another chain or position hides the record from its chain, and a
    disclosure under another group is served to that group's readers."""
    subject = item.record["credentialSubject"]
    stored = (row[3], row[4], row[5], row[6])
    expected = (subject["id"], subject["sequence"], item.kind, item.record["issuer"])
    if stored != expected:
        for name, value, wanted in zip(
            ("subject", "sequence", "kind", "issuer"), stored, expected, strict=True
        ):
            if value != wanted:
                return f"its row's {name} is {value!r}, its record's {wanted!r}"
    groups = row[7]
    if len(groups) == 1 and groups[0] in item.disclosure_bytes:  # the usual record
        return None
    group_of = {body: group for group, body in item.disclosure_bytes.items()}
    for stored_group, body in zip(groups, disclosures, strict=True):
        if stored_group != group_of[body]:
            return f"its {group_of[body]!r} disclosure is stored under group {stored_group!r}"
    return None


def _admitted(record_hash: str, body: bytes, disclosures: list[bytes]) -> Checked:
    """The Checked record of stored bytes that :func:`admit_stored` passed (canonical JSON:
    orjson reads them exactly as the strict parser did)."""
    record = orjson.loads(body)
    disclosed = {}
    encoded = {}
    for text in disclosures:
        disclosure = orjson.loads(text)
        disclosed[disclosure["group"]] = disclosure
        encoded[disclosure["group"]] = text
    kind = schemas.kind_of(record)
    signers = records.signer_keys(record)
    return Checked(record, kind, body, record_hash, signers, disclosed, encoded)


def _replay(item: Checked, view: ReplayView) -> str | None:
    """Apply the append rules to one admitted record, in log order; a DiagnosticTest must
    also name a policy bundled with bpl or registered earlier in the log (ADR 0013)."""
    try:
        view.apply(
            check(item.record, item.kind, item.record_hash, item.signers, item.disclosures, view)
        )
    except RecordRejected as exc:
        return f"{exc.rule}: {exc.detail}"
    if item.kind == "DiagnosticTest":
        return _grading_policy_problem(item.disclosures, view)
    return None


def _grading_policy_problem(disclosures: dict[str, Any], view: ReplayView) -> str | None:
    """Why the grading policy a DiagnosticTest names is not one the log had registered
    before it, or None. (Admission checked the name and digest against the stored rows.)"""
    reference = records.measures(disclosures).get("gradingPolicy", {})
    key = (str(reference.get("id")), str(reference.get("version")))
    if key in _BUNDLED:
        return None
    registered = view.policies.get(key)
    if registered is None:
        return (
            f"grade: graded under grading policy {key[0]} version {key[1]}, which the log "
            "does not register before this record"
        )
    if registered.digest != reference.get("digest"):
        return (
            f"grade: graded under grading policy {key[0]} version {key[1]} with digest "
            f"{reference.get('digest')}, but the log registers it with digest {registered.digest}"
        )
    return None


def _compare_heads(engine: sa.Engine, view: ReplayView) -> str | None:
    """The stored chain heads, actors and keys must be exactly, value for value, the rows
    the replay's ends would be written as (a stored value is compared, never parsed: a
    malformed one is a difference like any other)."""
    with engine.connect() as connection:
        heads, actors, keys, passports, models = audit_reads.derived_tables(connection)
    comparisons = (
        (heads, {s: head_row(h) for s, h in view.heads.items()}, "the stored head of {}"),
        (actors, {d: actor_row(a) for d, a in view.actors.items()}, "the stored actor {}"),
        (keys, {k: (k, v.actor, v.revoked) for k, v in view.keys.items()}, "the stored key {}"),
        (passports, view.passports, "the stored lookup row of passport {}"),
        (models, view.models, "the stored lookup row of battery model {}"),
    )
    for stored, expected, name in comparisons:
        different = _first_different_row(stored, expected)
        if different is not None:
            return (name + " differs from what the log's records make it").format(different)
    return _compare_policies(policy_store.stored_registrations(engine), view)


def _first_different_row(
    stored: dict[str, tuple[Any, ...]], expected: dict[str, tuple[Any, ...]]
) -> str | None:
    """A key whose stored row is missing or not the expected one, else the first extra one.
    Rows are compared as tuples: SQLite keeps whatever type a value was written with, and
    ``'3'`` is not 3, nor ``2`` true (the affinity of an INTEGER column stores 1.0 as 1)."""
    for key, row in expected.items():
        if stored.get(key) != row:
            return key
    extra = stored.keys() - expected.keys()
    return min(extra) if extra else None


def _compare_policies(
    stored: dict[tuple[str, str], tuple[str, str | None, datetime | None]], view: ReplayView
) -> str | None:
    """Each stored grading policy row must be a registration on the log (its digest, record
    and time, its record's ``validFrom``), and each registration on the log a row (the
    rows' documents were held to their digests)."""
    for (policy_id, version), (digest, record_hash, at) in sorted(stored.items()):
        registered = view.policies.get((policy_id, version))
        if registered is None:
            return f"grading policy {policy_id} version {version} has no registration in the log"
        expected_at = policy_store.registration_time(registered.registered_at)
        if (digest, record_hash, at) != (registered.digest, registered.record_hash, expected_at):
            return (
                f"grading policy {policy_id} version {version} differs from its registration "
                f"in the log (record {registered.record_hash}, digest {registered.digest}, "
                f"registered at {registered.registered_at})"
            )
    missing = sorted(set(view.policies) - set(stored))
    if missing:
        policy_id, version = missing[0]
        return f"grading policy {policy_id} version {version} is registered in the log, not stored"
    return None


class ReplayView:
    """The rules' view during an audit: built from the records alone, in memory."""

    def __init__(self) -> None:
        self.heads: dict[str, Head] = {}
        self.actors: dict[str, Actor] = {}
        self.keys: dict[str, Key] = {}
        self.policies: dict[tuple[str, str], Registration] = {}
        self.passports: dict[str, tuple[Any, ...]] = {}
        """The ``ledger_passports`` rows the PassportIssued records make."""
        self.models: dict[str, tuple[Any, ...]] = {}
        """The ``ledger_models`` rows the models' first records make."""
        self.batteries: dict[str, list[str]] = {}
        """Canonical battery key -> the v2 passports issued for it, in log order."""

    def head(self, subject_id: str) -> Head | None:
        return self.heads.get(subject_id)

    def policy(self, key: tuple[str, str]) -> Registration | None:
        return self.policies.get(key)

    def actor(self, did: str) -> Actor | None:
        return self.actors.get(did)

    def key(self, key: str) -> Key | None:
        return self.keys.get(key)

    def has_actors(self) -> bool:
        return bool(self.actors)

    def passports_of(self, battery: str) -> list[str]:
        return self.batteries.get(battery, [])

    def apply(self, effects: Effects) -> None:
        self.heads[effects.head.subject_id] = effects.head
        if effects.battery is not None:
            self.batteries.setdefault(effects.battery, []).append(effects.head.subject_id)
        self.actors.update((actor.did, actor) for actor in effects.actors)
        self.keys.update((key.key, key) for key in effects.keys)
        for registration in effects.policies:
            self.policies[registration.policy_id, registration.version] = registration


def _first(item: Checked) -> bool:
    """Whether a record starts its chain (a model's first record makes its lookup row)."""
    return bool(item.record["credentialSubject"]["sequence"] == 0)

"""The ledger: the gate every record passes, and what it keeps.

``Ledger.append_many`` takes signed records (with their disclosures) and, in this order:
parses and bounds them, validates each against its kind's schema, matches every
disclosure to its digest, verifies every proof, then, holding the log's sequencer lock,
applies the append rules (:mod:`ledger.core.rules`) against the chain heads, stores the
records, disclosures and new heads, and appends the records' canonical bytes to the
transparency log: all in ONE transaction. In ``append_many`` a refused record refuses its
batch, and nothing of it is stored; concurrent single ``append`` calls share a transaction
(group commit) but each keeps its own outcome. Every batch is committed with its signed
checkpoint before any receipt is returned. A batch of battery records sends its rows
before its rules run (on PostgreSQL the server writes them meanwhile; a refusal rolls them
back), and the log signs the new checkpoint only once every rule passed. A record at a
chain position another record holds is refused by the sequence rule (StaleRecord, with the
chain's head) on every path, never by the database: a batch holding one runs its rules
first, and should the database refuse a row for its position all the same (the rules'
view missed a commit), the commit is made again from the database, rules first.

A DiagnosticTest is graded under the policy it names: one bundled with bpl, or one
registered with this ledger (:meth:`Ledger.add_grading_policy`, ADR 0009).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from ledger import audit as auditing
from ledger import identity
from ledger.admission_pool import AdmissionPool
from ledger.audit import Report
from ledger.committer import GroupCommitter
from ledger.core import access, collector, grading, records
from ledger.core.access import Reader
from ledger.core.admission import (
    Checked,
    Policies,
    admit_stored,
    bundled_policies,
    check_submissions,
)
from ledger.core.contexts import loader as context_loader
from ledger.core.grading import GradingPolicy
from ledger.core.rules import OPERATOR_KINDS, Effects, Head, check
from ledger.datadir import DEFAULT_ORIGIN, DataDir
from ledger.errors import (
    LedgerError,
    LogIntegrityError,
    RecordRejected,
    StoreError,
    UnknownGradingPolicy,
)
from ledger.log import PlannedAppend, State, TransparencyLog, checkpoint, merkle
from ledger.log.proofs import InclusionProof
from ledger.storage import database, lookups
from ledger.storage import policy_rows as policy_store
from ledger.storage.ledger_rows import (
    Known,
    LedgerView,
    Sql,
    insert_records,
    is_chain_collision,
)
from ledger.storage.lookups import BatteryHistory as BatteryHistory  # noqa: PLC0414 (exported)
from ledger.storage.lookups import Model as Model  # noqa: PLC0414
from ledger.storage.lookups import Passport as Passport  # noqa: PLC0414
from ledger.storage.policy_rows import KnownPolicy
from ledger.storage.rows import pipelined
from signing import json_input, proofs
from signing.keys import KeyPair


class Receipt(NamedTuple):
    """Proof of acceptance: where the record is in the log, and the log's signed word. (A
    named tuple: one is built for every record appended.)"""

    record_hash: str
    subject_id: str
    sequence: int
    leaf_index: int
    checkpoint: str
    inclusion: InclusionProof
    appended: bool = True
    """Whether this append stored the record (False: it was stored already, and this is
    its receipt in the latest tree)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordHash": self.record_hash,
            "subject": self.subject_id,
            "sequence": self.sequence,
            "leafIndex": self.leaf_index,
            "treeSize": self.inclusion.size,
            "leafHash": self.inclusion.leaf_hash.hex(),
            "checkpoint": self.checkpoint,
            "inclusionProof": [h.hex() for h in self.inclusion.hashes],
        }


@dataclass
class _Batch:
    """What one commit's steps share: its transaction, the log state it started from,
    the admitted records and their chain positions, the rules' view, and the receipts
    made so far (by record hash)."""

    connection: sa.Connection
    state: State
    checked: list[Checked]
    positions: list[tuple[str, int]]
    view: LedgerView
    fresh: dict[str, Receipt]


_NOT_YET = RuntimeError("internal: a record of the group was given no outcome")
"""A group outcome's placeholder until its commit decides (never left in place)."""
_REGISTRATION_ATTEMPTS = 3
"""Tries of a grading policy registration, which another process's registration under the
same id can make stale."""
HEADS_PART = 125
"""PostgreSQL: a batch's chain heads are written every this many records, as the rules pass
them, so that the server writes them while the client checks the next ones (the wait at
the end of a batch of 500: 2.5-4.7 against 4.2-11 us a record, alternating runs)."""


@dataclass(frozen=True)
class StoredRecord:
    """A record where the log holds it: its leaf, and its inclusion proof in the tree of
    the latest signed checkpoint (which a client checks with the log's key alone)."""

    record: dict[str, Any]
    leaf_index: int
    checkpoint: str
    inclusion: InclusionProof

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "leafIndex": self.leaf_index,
            "treeSize": self.inclusion.size,
            "checkpoint": self.checkpoint,
            "inclusionProof": [digest.hex() for digest in self.inclusion.hashes],
        }


@dataclass(frozen=True)
class ReadRecord:
    """A chain's record as a reader sees it: the signed record (public part), its hash and
    leaf, and the disclosures the reader may read, by group."""

    record: dict[str, Any]
    record_hash: str
    leaf_index: int
    disclosures: dict[str, dict[str, Any]]


class Ledger:
    """Battery passports and actors as hash chains of signed records on one log."""

    def __init__(self, log: TransparencyLog, verifier_key: str) -> None:
        self.log = log
        self.engine = log.engine
        self.verifier_key = verifier_key
        """The log's note verifier key: what checkpoints are checked with."""
        self._commit_lock = threading.Lock()  # one transaction at a time per Ledger
        self._committer: GroupCommitter[Mapping[str, Any] | bytes, Receipt] = GroupCommitter(
            self._commit_queued, name="bpl-group-commit"
        )
        self._known: Known | None = None  # heads, actors, keys after our last commit
        self.admission = AdmissionPool()
        """Worker processes that share the admission of large batches of JSON submissions
        with the caller's thread (ADR 0018); started by the first such batch, stopped by
        :meth:`close`. ``admission.workers = 0`` admits every batch in the caller's thread."""
        self.disclosure_readers: list[Callable[[str, Reader, list[str]], None]] = []
        """Called with (record hash, reader, groups) for every read that returns
        disclosures, whichever read it is (:meth:`disclosures`, :meth:`chain_page_as`): the
        service records restricted reads here (passport.access_log)."""
        self._policies: Policies = bundled_policies()
        """The grading policies records may name: bundled, and registered (loaded by
        :meth:`open`, looked up again when a record names one not here). Replaced, never
        changed in place: the committer thread reads it."""

    @classmethod
    def open(
        cls, location: str | Path, *, writable: bool = True, log_key: Path | None = None
    ) -> Ledger:
        """The ledger in a data directory, or in the database at a URL (a ``str`` with
        ``://``: ``postgresql://...``, ``sqlite:////abs/ledger.db``), which names its log
        by the identity it records (ADR 0007).

        ``writable`` loads the log's signer key, needed to append: the data directory's
        ``log.key``; for a URL the file ``log_key``, else ``$BPL_LOG_KEY_FILE``, checked
        against the recorded verifier key. Readers and auditors open without it.
        """
        if isinstance(location, str) and "://" in location:
            log, recorded = identity.open_url(location, writable=writable, log_key=log_key)
            ledger = cls(log, recorded.verifier_key)
        else:
            if log_key is not None:
                raise LedgerError(
                    "log_key is for a database URL: a data directory's key is its log.key"
                )
            directory = DataDir(Path(location))
            ledger = cls(directory.open_log(writable=writable), directory.verifier_key())
        try:
            ledger.grading_policies()  # loads the registered ones
        except BaseException:
            ledger.engine.dispose()
            raise
        return ledger

    @classmethod
    def init(
        cls,
        location: str | Path,
        operator: KeyPair,
        *,
        origin: str = DEFAULT_ORIGIN,
        name: str = "Ledger operator",
    ) -> Ledger:
        """A new ledger: its log, and the operator registered with ``operator``'s key as
        the first record (the trust anchor that registers every other actor).

        ``location`` is a data directory (the signer key lives there); ``$DATABASE_URL``
        puts the database elsewhere."""
        if isinstance(location, str) and "://" in location:
            raise LedgerError(
                "a new ledger needs a data directory for its signer key: give one, and set "
                "$DATABASE_URL to keep its database elsewhere"
            )
        directory = DataDir(Path(location))
        with directory.creating():  # a failed init leaves the database as it was
            directory.init(origin)
            return cls._with_operator(directory, operator, name)

    @classmethod
    def _with_operator(cls, directory: DataDir, operator: KeyPair, name: str) -> Ledger:
        """The ledger just made in ``directory``, its operator registered."""
        ledger = cls.open(directory.path)
        try:
            ledger.register_actor(operator, operator.did, ["operator"], name=name)
        except BaseException:
            ledger.engine.dispose()  # closes the database, for its files to be removed
            raise
        return ledger

    def close(self) -> None:
        """Stop the admission workers, if started, and close the ledger's database (its
        background checkpoints done first)."""
        self.admission.close()
        database.dispose(self.engine)

    def register_actor(
        self,
        operator: KeyPair,
        did: str,
        roles: Sequence[str],
        *,
        name: str,
        keys: Sequence[str] | None = None,
        person: bool = False,
        address: str | None = None,
        contact: Mapping[str, str] | None = None,
    ) -> Receipt:
        """Sign (with the operator's key) and append an ActorRegistered record.

        An organisation's name, address and contact are public (Annex VI part A asks it
        of manufacturers); a private ``person``'s travel in the business disclosure, read
        by the person and the authorities only, so that the public log shows a
        pseudonymous DID (ADR 0016). ``contact``: ``email``, ``phone`` (E.164) and ``url``,
        at least one."""
        profile: dict[str, Any] = {"name": name}
        if address:
            profile["address"] = address
        if contact:
            profile["contact"] = dict(contact)
        public_fields: dict[str, Any] = {
            "roles": list(roles),
            "keys": list(keys or [records.did_key_method(did)]),
            "entity": "person" if person else "organisation",
        }
        restricted = {"business": profile} if person else {}
        if not person:
            public_fields |= profile
        return self._operator_record(operator, "ActorRegistered", did, public_fields, restricted)

    def add_key(self, operator: KeyPair, did: str, key: str) -> Receipt:
        """Register another did:key for actor ``did``."""
        return self._operator_record(operator, "KeyAdded", did, {"key": key}, {})

    def revoke_key(self, operator: KeyPair, did: str, key: str, reason: str) -> Receipt:
        """Revoke one of actor ``did``'s keys: no record signed with it is accepted after."""
        return self._operator_record(
            operator, "KeyRevoked", did, {"key": key, "reason": reason}, {}
        )

    def _operator_record(
        self,
        operator: KeyPair,
        kind: str,
        subject_id: str,
        public: Mapping[str, Any],
        restricted: Mapping[str, Mapping[str, Any]],
    ) -> Receipt:
        """Build the next record of chain ``subject_id``, sign it with the operator's key
        and append it (``restricted``: its disclosures' fields, by group)."""
        sequence, previous = self.next_position(subject_id)
        record, disclosures = records.build(
            kind, subject_id, sequence, previous, operator.did, public, restricted or None
        )
        signed = proofs.sign(record, operator, loader=context_loader())
        return self.append({"record": signed, "disclosures": disclosures})

    def next_position(self, subject_id: str) -> tuple[int, str | None]:
        """The ``sequence`` and ``previous`` a new record on this chain must carry."""
        head = self.head(subject_id)
        return (0, None) if head is None else (head.sequence + 1, head.record_hash)

    # -- grading policies ------------------------------------------------------------

    def add_grading_policy(self, operator: KeyPair, source: Path | str) -> GradingPolicy:
        """Register the grading policy in file ``source`` (loaded and validated by
        :func:`ledger.core.grading.read_policy`), so that DiagnosticTest records may name it: a
        GradingPolicyRegistered record signed with the operator's key, on the log (ADR 0013).

        Idempotent for the same content (a bundled policy is known already: nothing is
        stored). Raises GradingError for an invalid file, PolicyConflictError for other
        content under an (id, version) the ledger knows, or under a bundled policy's id: a
        released version never changes (ADR 0009); nothing is stored then. RecordRejected
        if the operator's key cannot sign it (rule ``signer`` or ``role``).
        """
        policy, document = grading.read_policy(Path(source))
        public = {
            "policyId": policy.id,
            "version": policy.version,
            "digest": policy.digest,
            "policy": json.loads(document),
        }
        chain = records.policy_chain(policy.id)
        for attempt in range(_REGISTRATION_ATTEMPTS):
            if not policy_store.to_register(self.engine, policy):  # raises for a conflict
                break
            try:
                self._operator_record(operator, "GradingPolicyRegistered", chain, public, {})
                break
            except RecordRejected as exc:
                # Another process registered under this id meanwhile: compare again.
                if exc.rule not in ("sequence", "policy") or attempt + 1 == _REGISTRATION_ATTEMPTS:
                    raise
        self._policies = {**self._policies, (policy.id, policy.version): policy}
        return policy

    def grading_policy_document(self, policy_id: str, version: str) -> bytes | None:
        """The document (JCS bytes) of a policy records may name, bundled or registered, or
        None: what a test lab grades under, offline too (its digest is the policy's)."""
        for name in grading.bundled_policy_names():
            policy, document = grading.read_policy(name)
            if (policy.id, policy.version) == (policy_id, version):
                return document
        return policy_store.document(self.engine, (policy_id, version))

    def grading_policies(self) -> list[KnownPolicy]:
        """The grading policies records may name: the bundled ones, then those registered
        (read from the database now, so also those another process registered)."""
        bundled = bundled_policies()
        known = [KnownPolicy(policy, None) for policy in bundled.values()]
        known += policy_store.registered(self.engine)
        self._policies = {(k.policy.id, k.policy.version): k.policy for k in known}
        return known

    def _admit(
        self, submissions: Sequence[Mapping[str, Any] | bytes]
    ) -> list[Checked | RecordRejected]:
        """:func:`check_submissions` under the ledger's grading policies: each submission's
        Checked record or refusal. Policies it does not know are looked up in the database
        once (another process may have registered them), and the records naming them
        admitted again. A large batch of JSON submissions is shared with the ledger's
        admission workers (:mod:`ledger.admission_pool`): the same outcomes."""
        if self.admission.wants(submissions):
            outcomes = self.admission.admit(submissions, self._policies)  # type: ignore[arg-type]
        else:
            outcomes = check_submissions(submissions, self._policies)
        unknown = {o.key for o in outcomes if isinstance(o, UnknownGradingPolicy)}
        known = {
            key: policy
            for key in unknown
            if (policy := policy_store.find(self.engine, key)) is not None
        }
        if not known:
            return outcomes
        self._policies = {**self._policies, **known}
        again = [
            index
            for index, outcome in enumerate(outcomes)
            if isinstance(outcome, UnknownGradingPolicy) and outcome.key in known
        ]
        retried = check_submissions([submissions[index] for index in again], self._policies)
        for index, outcome in zip(again, retried, strict=True):
            outcomes[index] = outcome
        return outcomes

    # -- appending -------------------------------------------------------------------

    def append(self, submission: Mapping[str, Any] | bytes) -> Receipt:
        """Append one record; raises RecordRejected naming the rule that refused it.

        Group commit: the caller queues its record for the ledger's committer thread,
        which checks and commits everything queued as one transaction (one fsync), each
        record with its own outcome, while the next records queue up. So single-record
        appends scale with concurrent callers instead of with the disk's sync rate. The
        committer also does the checks (schema, disclosures, proofs): done in the callers'
        threads they contended for the GIL with the committer, whose many short waits on
        the database then each cost a GIL hand-over (measured: 2,700 against 3,200/s).
        """
        return self._committer.submit(submission)

    def _commit_queued(
        self, submissions: Sequence[Mapping[str, Any] | bytes]
    ) -> list[Receipt | BaseException]:
        """The committer's work for one group of single appends: check them, commit what
        passes in one transaction, and give each its receipt or its own refusal."""
        outcomes: list[Receipt | BaseException] = []
        checked: list[Checked] = []
        pending: list[int] = []  # the positions in the group of the records in checked
        for position, outcome in enumerate(self._admit_queued(submissions)):
            outcomes.append(outcome if isinstance(outcome, Exception) else _NOT_YET)
            if not isinstance(outcome, Exception):  # refused alone: only its caller hears
                checked.append(outcome)
                pending.append(position)
        if not checked:
            return outcomes
        try:
            with self._commit_lock:
                refusals, fresh = self._commit(checked, atomic=False)
            accepted = [n for n, refusal in enumerate(refusals) if refusal is None]
            receipts = self._receipts([checked[n] for n in accepted], fresh)
        except Exception as exc:  # the commit failed: every caller in it hears
            for position in pending:
                outcomes[position] = exc
            return outcomes
        for n, receipt in zip(accepted, receipts, strict=True):
            outcomes[pending[n]] = receipt
        for n, refusal in enumerate(refusals):
            if refusal is not None:
                outcomes[pending[n]] = refusal
        return outcomes

    def _admit_queued(
        self, submissions: Sequence[Mapping[str, Any] | bytes]
    ) -> list[Checked | Exception]:
        """The queued records admitted together; should a check fail unexpectedly (not a
        refusal), each record alone, so that only the callers whose records fail hear."""
        try:
            return list(self._admit(submissions))
        except Exception:
            outcomes: list[Checked | Exception] = []
            for submission in submissions:
                try:
                    outcomes.extend(self._admit([submission]))
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes

    def append_many(self, submissions: Sequence[Mapping[str, Any] | bytes]) -> list[Receipt]:
        """Append records in order, in one transaction; a receipt for each.

        A submission is a signed record, or ``{"record": ..., "disclosures": [...]}``, as a
        mapping or JSON bytes. Resubmitting an accepted record returns its receipt and
        stores nothing. Raises RecordRejected (``.rule``, ``.index``) for the first refused
        record; then nothing of the batch is stored. A record at a chain position another
        record holds (another writer's since its client read the head, or an earlier one
        of the batch) is refused as any stale record is: StaleRecord, with the head.
        """
        with collector.paused():
            # The batch's objects are freed as _append_batch returns, before the collector
            # runs again: else its first collection walks them all (about 2 us a record).
            return self._append_batch(submissions)

    def _append_batch(self, submissions: Sequence[Mapping[str, Any] | bytes]) -> list[Receipt]:
        checked = []
        for index, outcome in enumerate(self._admit(submissions)):
            if isinstance(outcome, RecordRejected):
                raise outcome.at(index) from None
            checked.append(outcome)
        with self._commit_lock:
            _, fresh = self._commit(checked, atomic=True)
        return self._receipts(checked, fresh)

    def _commit(
        self, checked: list[Checked], *, atomic: bool
    ) -> tuple[list[RecordRejected | None], dict[str, Receipt]]:
        """Apply the rules and store what passes, with the log, in one transaction.

        ``atomic``: the first refusal refuses everything (raised); otherwise each refused
        record gets its error in the returned list (None: accepted or already stored).
        Also returns the receipts of the records this transaction appended (by record
        hash), proved in the batch's own tree: valid once the transaction commits.

        Should the database refuse a record's row for its chain position
        (``uq_ledger_chain``: the view the rules read missed a commit that took it), the
        transaction is rolled back and the commit made once more from the database
        alone, its rules first: the sequence rule then refuses that record (StaleRecord,
        with the head as it is), or finds it stored (a resubmission: its receipt). Any
        other database error is no refusal and is raised as it is.
        """
        try:
            return self._transact(checked, atomic=atomic, rows_first=atomic)
        except sa.exc.IntegrityError as exc:
            if not is_chain_collision(exc):
                raise
        try:
            return self._transact(checked, atomic=atomic, rows_first=False)
        except sa.exc.IntegrityError as exc:
            if not is_chain_collision(exc):
                raise
            raise LogIntegrityError(
                "a chain position past its chain's stored head holds a record: the chain "
                "heads disagree with the records (bpl audit names the first bad one)"
            ) from exc

    def _transact(
        self, checked: list[Checked], *, atomic: bool, rows_first: bool
    ) -> tuple[list[RecordRejected | None], dict[str, Receipt]]:
        """One transaction of :meth:`_commit`; ``rows_first``: an atomic batch of battery
        records may send its rows before its rules run (:func:`_rows_may_go_first`)."""
        outcomes: list[RecordRejected | None] = [None] * len(checked)
        fresh: dict[str, Receipt] = {}
        known, self._known = self._known, None  # taken: a failed transaction leaves none
        with self.log.writer.begin() as connection:
            state = self.log.lock(connection)
            size = state.size
            view = LedgerView(connection, known if known and known.size == size else None)
            positions = [item.position for item in checked]
            view.prefetch(
                [s for item in checked for s in item.subjects],
                [key for item in checked for key in item.signers],
                [(*at, item.record_hash) for item, at in zip(checked, positions, strict=True)],
            )
            view.prefetch_batteries(key for item in checked if (key := item.battery))
            batch = _Batch(connection, state, checked, positions, view, fresh)
            if rows_first and _rows_may_go_first(batch):
                size = self._rows_then_rules(batch)
            else:
                size = self._rules_then_rows(batch, outcomes, atomic=atomic)
        self._known = view.known(size)  # committed: the next commit may start from it
        return outcomes, fresh

    def _rows_then_rules(self, batch: _Batch) -> int:
        """An atomic batch of battery records: its rows are sent first, for the server to
        write while the rules run here. Nothing in them is signed yet, and a refusal rolls
        them back; the rules of battery records read only what prefetch loaded. The new
        log size."""
        checked, view = batch.checked, batch.view
        accepted = [
            index
            for index in _first_of_each(checked)
            if not view.is_stored(checked[index].record_hash)
        ]  # the others are resubmissions: their receipts again, nothing stored
        if not accepted:
            return batch.state.size
        planned = self._plan(batch, accepted)
        with pipelined(batch.connection), view.without_reads():
            self._write_rows(batch, planned, accepted)
            # Where the server writes while the rules run (PostgreSQL), the heads go in
            # parts as the rules pass: written whole at the end, their upsert was the last
            # statement the client waited for.
            in_parts = database.driver_for(batch.connection.dialect).pipelines_writes
            for applied, index in enumerate(accepted, 1):
                try:
                    view.apply(_apply_rules(checked[index], view))
                except RecordRejected as exc:
                    raise exc.at(index) from None
                if in_parts and applied % HEADS_PART == 0:
                    view.flush_heads()
            return self._conclude(batch, planned, accepted)

    def _rules_then_rows(
        self, batch: _Batch, outcomes: list[RecordRejected | None], *, atomic: bool
    ) -> int:
        """Group commits (each refused record gets its outcome, the others' leaves follow
        on) and batches with actor records (which change what the next records' rules
        read): the rules first, then the rows of what passed. The new log size."""
        accepted: list[int] = []
        seen: set[str] = set()
        for index, item in enumerate(batch.checked):
            if item.record_hash in seen or batch.view.is_stored(item.record_hash):
                continue  # a resubmission: its receipt again, nothing stored
            try:
                effects = _apply_rules(item, batch.view)
            except RecordRejected as exc:
                if atomic:
                    raise exc.at(index) from None
                outcomes[index] = exc
                continue
            seen.add(item.record_hash)
            batch.view.apply(effects)
            accepted.append(index)
        if not accepted:
            return batch.state.size
        planned = self._plan(batch, accepted)
        with pipelined(batch.connection):  # the server writes while the rest is made
            self._write_rows(batch, planned, accepted)
            return self._conclude(batch, planned, accepted)

    def _plan(self, batch: _Batch, accepted: list[int]) -> PlannedAppend:
        """The log's append of the ``accepted`` records (computed, not written)."""
        bodies = [batch.checked[index].body for index in accepted]
        hashes = [merkle.leaf_hash(body) for body in bodies]
        return self.log.plan_append(batch.state, bodies, hashes, prove=True)

    def _write_rows(self, batch: _Batch, planned: PlannedAppend, accepted: list[int]) -> None:
        """The log's leaves, tiles and state, and the ``accepted`` records' rows."""
        self.log.write_rows(batch.connection, planned)
        first = batch.state.size
        insert_records(batch.connection, first, [batch.checked[i] for i in accepted])

    def _conclude(self, batch: _Batch, planned: PlannedAppend, accepted: list[int]) -> int:
        """Once the rows are sent and every rule passed: the signed checkpoint, the chain
        heads, and a receipt per record (into ``batch.fresh``); the new log size."""
        appended = self.log.write_checkpoint(batch.connection, planned)
        batch.view.flush()
        for index, inclusion in zip(accepted, appended.proofs, strict=True):
            item = batch.checked[index]
            subject_id, sequence = batch.positions[index]
            batch.fresh[item.record_hash] = Receipt(
                item.record_hash,
                subject_id,
                sequence,
                inclusion.index,
                appended.checkpoint,
                inclusion,
            )
        return appended.size

    def _receipts(self, items: list[Checked], fresh: Mapping[str, Receipt]) -> list[Receipt]:
        """Receipts in order: the ``fresh`` ones just appended, and for records stored
        earlier (resubmissions) their leaves in the latest checkpoint's tree."""
        stored = self._stored_receipts([item for item in items if item.record_hash not in fresh])
        return [fresh.get(item.record_hash) or stored[item.record_hash] for item in items]

    def _stored_receipts(self, items: list[Checked]) -> dict[str, Receipt]:
        """Receipts of stored records: their leaves (found by chain position), the latest
        checkpoint, and inclusion proofs in its tree (one tile query for all)."""
        if not items:
            return {}
        with self.engine.connect() as connection:
            leaves = {
                record_hash: int(leaf_index)
                for record_hash, leaf_index in Sql(connection.dialect).records_at(
                    connection, "record_hash, leaf_index", [item.position for item in items]
                )
            }
        size, note = self.log.latest()  # just signed by us: no need to verify it again
        indexes = [leaves[item.record_hash] for item in items]
        inclusions = self.log.inclusion_proofs(indexes, size)
        return {
            item.record_hash: Receipt(
                item.record_hash, *item.position, index, note, inclusion, appended=False
            )
            for item, index, inclusion in zip(items, indexes, inclusions, strict=True)
        }

    # -- reading ---------------------------------------------------------------------

    def head(self, subject_id: str) -> Head | None:
        """The latest state of a passport or actor chain, None if it has no records."""
        with self.engine.connect() as connection:
            return lookups.head(connection, subject_id)

    def chain(self, subject_id: str) -> list[dict[str, Any]]:
        """The signed records of a chain, in order (public parts only)."""
        with self.engine.connect() as connection:
            return lookups.chain(connection, subject_id)

    def chain_leaves(self, subject_id: str) -> list[tuple[int, dict[str, Any]]]:
        """A chain's signed records (public parts) with their leaf indexes, in order: what
        an evidence bundle (:mod:`ledger.bundle`) proves each record's inclusion by."""
        with self.engine.connect() as connection:
            rows = lookups.stored_chain(connection, subject_id)
        return [(row.leaf_index, json.loads(row.body)) for row in rows]

    # -- lookups (ledger.storage.lookups): what the service and the pages read ---------------

    def passports_by_battery(self, battery_id: str) -> list[Passport]:
        """Every passport of a battery id (its original and any successor issued under
        the same id), oldest first, with each chain's current head."""
        with self.engine.connect() as connection:
            return lookups.passports_by_battery(connection, battery_id)

    def battery_history(self, battery_id: str) -> BatteryHistory:
        """A battery's live passport, every passport issued for it, and those of the
        batteries it was made from (through predecessors)."""
        with self.engine.connect() as connection:
            return lookups.battery_history(connection, battery_id)

    def passports_by_gtin(
        self, gtin: str, *, after: str | None = None, limit: int = 100
    ) -> list[Passport]:
        """A page of the (v2) passports of batteries with this GTIN-14, by id."""
        with self.engine.connect() as connection:
            return lookups.passports_by_gtin(connection, gtin, after, limit)

    def models_by_gtin(self, gtin: str) -> list[Model]:
        """The battery models published with this GTIN-14 (one, unless two publishers
        claim it), each with its current record."""
        with self.engine.connect() as connection:
            return lookups.models(connection, gtin=gtin)

    def model(self, model_id: str) -> Model | None:
        """One battery model by its id, with its current record; None if unpublished."""
        with self.engine.connect() as connection:
            found = lookups.models(connection, model_id=model_id)
        return found[0] if found else None

    def passports_by_manufacturer(
        self, did: str, *, after: str | None = None, limit: int = 100
    ) -> list[Passport]:
        """A page of the passports manufacturer ``did`` issued, by id, after ``after``."""
        with self.engine.connect() as connection:
            return lookups.passports_by_manufacturer(connection, did, after, limit)

    def passports_by_custodian(
        self, did: str, *, after: str | None = None, limit: int = 100
    ) -> list[Passport]:
        """A page of the passports actor ``did`` holds now, by id, after ``after``."""
        with self.engine.connect() as connection:
            return lookups.passports_by_custodian(connection, did, after, limit)

    def chain_page(
        self, subject_id: str, *, after: int = -1, limit: int = 100
    ) -> list[dict[str, Any]]:
        """A page of a chain's signed records (public parts), from sequence ``after + 1``."""
        with self.engine.connect() as connection:
            return lookups.chain_page(connection, subject_id, after, limit)

    def record(self, record_hash: str) -> StoredRecord | None:
        """The record with this hash, its leaf index, and its inclusion proof in the tree of
        the latest signed checkpoint; None if the ledger holds no such record."""
        with self.engine.connect() as connection:
            found = lookups.record_by_hash(connection, record_hash)
        if found is None:
            return None
        leaf_index, body = found
        size, note = self.log.latest()
        inclusion = self.log.inclusion_proofs([leaf_index], size)[0]
        return StoredRecord(json.loads(body), leaf_index, note, inclusion)

    def actors(self) -> list[lookups.ActorKeys]:
        """The registered actors, by DID, with their roles and keys."""
        with self.engine.connect() as connection:
            return lookups.actors(connection)

    def actor(self, did: str) -> lookups.ActorKeys | None:
        """One registered actor with its roles and keys, or None."""
        with self.engine.connect() as connection:
            found = lookups.actors(connection, did)
        return found[0] if found else None

    def verify_chain(self, subject_id: str) -> Report:
        """Re-check one chain: hashes, signatures, links, every stored disclosure against
        its digest in its record, and inclusion of every record in the tree of the latest
        signed checkpoint. Names the first bad record."""
        head_note = checkpoint.verify(self.log.checkpoint(), self.verifier_key, self.log.origin)
        with self.engine.connect() as connection:
            rows = lookups.stored_chain(connection, subject_id)
        head = self.head(subject_id)
        if not rows:
            return Report(False, 0, None, f"no records for {subject_id}")
        proofs_ = self.log.inclusion_proofs([row.leaf_index for row in rows], head_note.size)
        # The audit's own admission (schema, disclosures, grade, every proof, canonical
        # bytes): one verifier of stored records, not two.
        refusals = admit_stored(
            [(row.body, [text for _, text in row.disclosures]) for row in rows],
            self._policies,
        )
        previous = None
        for position, (row, inclusion) in enumerate(zip(rows, proofs_, strict=True)):
            body = row.body
            problem = _record_problem(body, row.record_hash, subject_id, position, previous)
            if problem is None and row.sequence != position:
                problem = f"its row puts it at sequence {row.sequence}"
            if problem is None:
                problem = refusals[position] or _label_problem(row.disclosures)
            if problem is None and inclusion.leaf_hash != merkle.leaf_hash(body):
                problem = "its log leaf does not match the signed tree's leaf hash"
            if problem is None:
                try:
                    inclusion.verify(head_note.root)
                except merkle.ProofError as exc:
                    problem = f"not in the signed tree: {exc}"
            if problem is not None:
                return Report(False, position, row.record_hash, problem)
            previous = row.record_hash
        if head is None or (head.sequence, head.record_hash) != (len(rows) - 1, previous):
            return Report(
                False,
                len(rows),
                None if head is None else head.record_hash,
                "the chain's records end before its head: a record is missing from the chain"
                if head is not None and head.sequence >= len(rows)
                else "the chain's stored head is not its last record",
            )
        return Report(True, len(rows), None, None)

    def audit(self, *, workers: int | None = None) -> Report:
        """Re-derive everything from the log: every record's bytes, hash, signatures,
        schema, disclosures, grade (under the registered grading policies, each held to its
        stored digest first) and append rules, replayed in log order; every chain link;
        the log's tiles and root against its latest signed checkpoint. Names the first bad
        record (by leaf index), or the first bad policy row. ``workers``: processes that
        re-verify records (default: one per CPU on large ledgers); see :mod:`ledger.audit`."""
        return auditing.audit(self.engine, self.log, self.verifier_key, workers=workers)

    def disclosures(self, record_hash: str, reader: Reader) -> dict[str, dict[str, Any]]:
        """The disclosures of a record that ``reader`` may read, by group (ledger.core.access:
        Art. 77(2)); {} for an unknown record. Pass ``access.PUBLIC`` for anyone.

        A disclosure is served under the group its own (digested) body names: a row stored
        under another group label is refused (StoreError), never served to that group."""
        with self.engine.connect() as connection:
            found = lookups.record_by_hash(connection, record_hash)
            if found is None:
                return {}
            rows = lookups.disclosure_rows(connection, found[0])
        shown = _readable(reader, record_hash, json.loads(found[1]), rows)
        self._note_read(record_hash, reader, shown)
        return shown

    def chain_page_as(
        self, subject_id: str, reader: Reader, *, after: int = -1, limit: int = 100
    ) -> list[ReadRecord]:
        """A page of a chain (from sequence ``after + 1``) with what ``reader`` may read of
        each record, as :meth:`disclosures` serves it: two queries for the whole page, so
        that a passport page of a hundred records does not cost two hundred."""
        with self.engine.connect() as connection:
            page = lookups.chain_page_leaves(connection, subject_id, after, limit)
            rows = lookups.disclosure_rows_of(connection, [index for index, _, _ in page])
        out = []
        for index, record_hash, data in page:
            record = _loads(data)
            shown = _readable(reader, record_hash, record, rows.get(index, []))
            self._note_read(record_hash, reader, shown)
            out.append(ReadRecord(record, record_hash, index, shown))
        return out

    def _note_read(self, record_hash: str, reader: Reader, shown: Mapping[str, Any]) -> None:
        if shown:
            for note in self.disclosure_readers:
                note(record_hash, reader, list(shown))


def _loads(data: bytes) -> Any:
    """Stored JSON, parsed as admission parsed it (signing.json_input: orjson where its
    value is provably the strict parser's): 4 us a record against the standard library's
    7 (measured), on a page that parses two hundred."""
    return json_input.parse(data)


def _readable(
    reader: Reader, record_hash: str, record: dict[str, Any], rows: list[tuple[str, bytes]]
) -> dict[str, dict[str, Any]]:
    """The stored disclosures of a record that ``reader`` may read; a row stored under a
    group label that is not its body's own is refused (StoreError: bpl audit names it)."""
    stored = {}
    for label, body in rows:
        disclosure = _loads(body)
        group = disclosure.get("group") if isinstance(disclosure, dict) else None
        if group != label:
            raise StoreError(
                f"a disclosure of record {record_hash} is stored under group "
                f"{label!r} but is the {group!r} disclosure: run bpl audit"
            )
        stored[group] = disclosure
    shown = access.readable(reader, record, stored)
    return {group: stored[group] for group in shown}


def _apply_rules(item: Checked, view: LedgerView) -> Effects:
    """The append rules for one admitted record (raises RecordRejected)."""
    return check(item.record, item.kind, item.record_hash, item.signers, item.disclosures, view)


def _rows_may_go_first(batch: _Batch) -> bool:
    """Whether an atomic batch may send its rows before its rules run: it holds no
    operator records (whose effects change what the next records' rules read), and no
    record the database would refuse before its rule could: one at a chain position that
    holds another record (prefetch saw it), or two records at one position. Such a batch
    is refused, and its rules, run first, name the first record refused."""
    checked, positions = batch.checked, batch.positions
    if any(item.kind in OPERATOR_KINDS for item in checked) or batch.view.claims_taken_position():
        return False
    claimed = len(set(positions))  # a record sent twice claims its position twice
    return claimed == len(positions) or claimed == len({item.record_hash for item in checked})


def _first_of_each(checked: list[Checked]) -> list[int]:
    """The positions of the records in ``checked``, a record sent twice counted once."""
    seen: set[str] = set()
    first = []
    for index, item in enumerate(checked):
        if item.record_hash not in seen:
            seen.add(item.record_hash)
            first.append(index)
    return first


def _record_problem(
    body: bytes, record_hash: str, subject_id: str, sequence: int, previous: str | None
) -> str | None:
    """Why a stored record of chain ``subject_id`` is not at its place in the chain, or
    None (its content is admission's to check)."""
    if records.digest(body) != record_hash:
        return "its bytes do not hash to its record hash"
    try:
        record = json.loads(body)
    except ValueError:
        return "its bytes are not a JSON record"
    subject = record.get("credentialSubject", {}) if isinstance(record, dict) else {}
    subject = subject if isinstance(subject, dict) else {}
    if subject.get("id") != subject_id:
        return f"it is a record of {subject.get('id')}, not of this chain"
    if subject.get("sequence") != sequence:
        return f"sequence {subject.get('sequence')} where {sequence} belongs"
    if subject.get("previous") != previous:
        return "its previous link does not point at the record before it"
    return None


def _label_problem(stored: list[tuple[str, bytes]]) -> str | None:
    """Why a record's admitted disclosures are stored under other group labels than the
    groups their (digested) bodies name, or None: a relabelled one would be served to the
    other group's readers."""
    for label, text in stored:
        group = json.loads(text)["group"]
        if label != group:
            return f"disclosure: its {group!r} disclosure is stored under group {label!r}"
    return None

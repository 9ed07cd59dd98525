"""Offline evidence bundles: a passport's whole story, checkable without the ledger.

:func:`build` gathers, over the :class:`~ledger.facade.Ledger` facade, every record of a
passport and of its predecessors and successors (transitively), the battery models they
name, the grading policies registered on the log, and the actor chains of every signer
(transitively: the operator who registered them too); the disclosures the requester may
read (``Ledger.disclosures(hash, reader)``, never more); each record's leaf index and
inclusion proof in the tree of one signed checkpoint; and, when the holder names an older
tree size, the consistency proof from it. docs/bundles.md describes the format, ADR 0020
the decisions.

:func:`verify` is pure (no database, no network, no clock but the proofs' own): the
checkpoint's signature with the log key the holder trusts, every inclusion proof against
its root, every record's proofs, schema and links, each shown disclosure against its
digest, the append rules the bundle's own records let it replay (keys registered and not
revoked at each record's place in the log, roles, custody, closed passports,
predecessors, successors and models present), and, given a checkpoint the holder kept, that
the log only grew since. Every failure names the record (leaf index and hash) and the rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import schemas
from ledger.core import admission, grading, records
from ledger.core.access import Reader
from ledger.core.contexts import loader as context_loader
from ledger.core.rules import (
    ACTOR_KINDS,
    AUTHORITY_ROLES,
    CLOSING,
    CUSTODY_BOUND,
    KIND_ROLES,
    MODEL_KINDS,
    POLICY_KINDS,
)
from ledger.errors import LedgerError, LogError, RecordRejected
from ledger.log import checkpoint, merkle
from ledger.log.checkpoint import CheckpointError
from signing import proofs
from signing.errors import SigningError

if TYPE_CHECKING:
    from ledger.facade import Ledger

TYPE = "BplEvidenceBundle"
VERSION = 1
"""The bundle format's version: a verifier refuses (as unusable) a version it does not know."""
MAX_FAILURES = 100
"""Failures listed at most; the count says how many more there were."""

_NODE = b"\x01"
_HEX_RUN = re.compile(r"[0-9a-f]*")
_sha256 = hashlib.sha256


class BundleError(LedgerError):
    """Unusable input: no bundle (wrong shape, unknown version), or an export that cannot be
    made (a ``since`` beyond the tree)."""


class PassportNotFoundError(BundleError):
    """No passport with that id on the ledger."""


# -- building ---------------------------------------------------------------------------


def build(
    ledger: Ledger, passport_id: str, reader: Reader, *, since: int | None = None
) -> dict[str, Any]:
    """The evidence bundle of ``passport_id`` as ``reader`` may see it (a JSON object).

    ``since``: a tree size the holder verified before; the bundle then carries the
    consistency proof from it. Raises PassportNotFoundError, or BundleError for a ``since``
    beyond the tree. Chains are read before the checkpoint, so every record read is in
    its tree."""
    chains: dict[str, list[tuple[int, dict[str, Any]]]] = {}

    def take(subject_id: str) -> list[tuple[int, dict[str, Any]]]:
        if subject_id not in chains:
            chains[subject_id] = ledger.chain_leaves(subject_id)
        return chains[subject_id]

    first = take(passport_id)
    if not first or _kind(first[0][1]) != "PassportIssued":
        raise PassportNotFoundError(f"no passport {passport_id}")
    for model in sorted(_passports_and_models(passport_id, take)):
        take(model)
    for known in ledger.grading_policies():
        if not known.bundled:
            take(records.policy_chain(known.policy.id))
    _take_signers(ledger, chains, take)
    size, note = ledger.log.latest()
    entries = sorted(
        (leaf, record) for chain in chains.values() for leaf, record in chain if leaf < size
    )
    inclusions = ledger.log.inclusion_proofs([leaf for leaf, _ in entries], size)
    listed = []
    for (leaf, record), inclusion in zip(entries, inclusions, strict=True):
        entry: dict[str, Any] = {
            "leafIndex": leaf,
            "record": record,
            "inclusionProof": [node.hex() for node in inclusion.hashes],
        }
        if record.get("credentialSubject", {}).get("disclosures"):
            shown = ledger.disclosures(records.record_hash(record), reader)
            if shown:
                entry["disclosures"] = [shown[group] for group in sorted(shown)]
        listed.append(entry)
    bundle: dict[str, Any] = {
        "type": TYPE,
        "version": VERSION,
        "passport": passport_id,
        "log": {"origin": ledger.log.origin, "verifierKey": ledger.verifier_key},
        "checkpoint": note,
        "records": listed,
    }
    if since is not None:
        if not 0 <= since <= size:
            raise BundleError(f"since {since} is not a tree size of this log (0 to {size})")
        try:
            consistency = ledger.log.consistency_proof(since, size)
            old_root = ledger.log.root(since)
        except LogError as exc:
            raise BundleError(str(exc)) from None
        bundle["consistency"] = {
            "oldSize": since,
            "oldRoot": old_root.hex(),
            "hashes": [node.hex() for node in consistency.hashes],
        }
    return bundle


def _passports_and_models(passport_id: str, take: Any) -> set[str]:
    """Take the chains of ``passport_id`` and of every passport linked to it through
    predecessors and successors, transitively; the battery models they name."""
    passports: set[str] = set()
    models: set[str] = set()
    queue = [passport_id]
    while queue:
        subject_id = queue.pop()
        if subject_id in passports:
            continue
        passports.add(subject_id)
        for _, record in take(subject_id):
            linked, model = _links(record)
            queue.extend(linked)
            if model is not None:
                models.add(model)
    return models


def _links(record: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The passports a passport record links to (predecessors, successors) and the battery
    model it names."""
    subject = record.get("credentialSubject", {})
    linked = [*subject.get("predecessors", ()), *subject.get("successors", ())]
    if "successor" in subject:
        linked.append(subject["successor"])
    model = subject.get("model")
    model_id = model.get("id") if isinstance(model, Mapping) else None
    return [str(item) for item in linked], model_id if isinstance(model_id, str) else None


def _take_signers(
    ledger: Ledger,
    chains: dict[str, list[tuple[int, dict[str, Any]]]],
    take: Any,
) -> None:
    """Add the actor chain of every key that signed a gathered record, until the actors'
    own records' signers (the operator) are there too."""
    owners = {key: actor.did for actor in ledger.actors() for key, _ in actor.keys}
    seen: set[str] = set()
    pending = [record for chain in chains.values() for _, record in chain]
    while pending:
        record = pending.pop()
        try:
            keys = records.signer_keys(record)
        except RecordRejected:
            continue
        for key in keys:
            did = owners.get(key)
            if did is not None and did not in seen:
                seen.add(did)
                pending.extend(record for _, record in take(did))


def _kind(record: Mapping[str, Any]) -> str | None:
    types = record.get("type")
    return types[1] if isinstance(types, list) and len(types) == 2 else None


# -- the verdict ----------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Why a bundle does not verify: the rule, the reason, and the record it is about."""

    rule: str
    detail: str
    leaf_index: int | None = None
    record_hash: str | None = None

    def __str__(self) -> str:
        where = "" if self.leaf_index is None else f"record at leaf {self.leaf_index}: "
        return f"{where}{self.rule}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "detail": self.detail,
            "leafIndex": self.leaf_index,
            "recordHash": self.record_hash,
        }


@dataclass
class Verdict:
    """What :func:`verify` found."""

    passport: str
    origin: str
    tree_size: int = 0
    records: int = 0
    passports: list[str] = field(default_factory=list)
    disclosures: int = 0
    withheld: int = 0
    since: int | None = None
    """The size of the holder's checkpoint the log was proven to extend, if given."""
    failures: list[Failure] = field(default_factory=list)
    more_failures: int = 0

    @property
    def verified(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "error": str(self.failures[0]) if self.failures else None,
            "passport": self.passport,
            "origin": self.origin,
            "treeSize": self.tree_size,
            "records": self.records,
            "passports": self.passports,
            "disclosures": self.disclosures,
            "withheld": self.withheld,
            "consistentSince": self.since,
            "failures": [failure.to_dict() for failure in self.failures],
            "moreFailures": self.more_failures,
        }


class _Failures:
    def __init__(self) -> None:
        self.found: list[Failure] = []

    def add(
        self, rule: str, detail: str, leaf: int | None = None, record_hash: str | None = None
    ) -> None:
        self.found.append(Failure(rule, detail, leaf, record_hash))


# -- parsing ----------------------------------------------------------------------------


@dataclass
class _Entry:
    leaf: int
    record: dict[str, Any]
    proof: tuple[str, ...]
    """The inclusion proof's hashes in lowercase hex, decoded only where hashed."""
    disclosures: list[dict[str, Any]]
    body: bytes = b""
    record_hash: str = ""
    kind: str = ""
    version: str = ""
    shown: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    usable: bool = True
    """Listed once and in order, schema-valid and authentic: the rules replay it (a record
    not proven in the log is still replayed, so that its failure is said once, not again
    for every record its absence would fail)."""


@dataclass
class _Shape:
    passport: str
    origin: str
    verifier_key: str
    checkpoint: str
    entries: list[_Entry]
    consistency: tuple[int, bytes, tuple[bytes, ...]] | None


def parse(data: bytes | str) -> dict[str, Any]:
    """A bundle's JSON text as an object; BundleError if it is not JSON."""
    try:
        found = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise BundleError("a bundle is a JSON object")
    return found


def is_bundle(document: Mapping[str, Any]) -> bool:
    """Whether a document says it is an evidence bundle (of any version)."""
    return document.get("type") == TYPE


def _shape(bundle: object) -> _Shape:
    if not isinstance(bundle, dict) or bundle.get("type") != TYPE:
        raise BundleError(f'not an evidence bundle (a JSON object with "type": "{TYPE}")')
    if bundle.get("version") != VERSION:
        raise BundleError(f"bundle version {bundle.get('version')!r} (this bpl reads {VERSION})")
    log = bundle.get("log")
    if not isinstance(log, dict):
        raise BundleError("log must be an object with origin and verifierKey")
    passport, origin, key, note = (
        _text(bundle.get("passport"), "passport"),
        _text(log.get("origin"), "log.origin"),
        _text(log.get("verifierKey"), "log.verifierKey"),
        _text(bundle.get("checkpoint"), "checkpoint"),
    )
    items = bundle.get("records")
    if not isinstance(items, list):
        raise BundleError("records must be a list")
    entries = [_entry(item, position) for position, item in enumerate(items)]
    consistency = None
    if "consistency" in bundle:
        found = bundle["consistency"]
        if not isinstance(found, dict):
            raise BundleError("consistency must be an object")
        consistency = (
            _uint(found.get("oldSize"), "consistency.oldSize"),
            _hash(found.get("oldRoot"), "consistency.oldRoot"),
            tuple(map(bytes.fromhex, _hex_list(found.get("hashes"), "consistency.hashes"))),
        )
    return _Shape(passport, origin, key, note, entries, consistency)


def _entry(item: object, position: int) -> _Entry:
    where = f"records[{position}]"
    if not isinstance(item, dict):
        raise BundleError(f"{where} must be an object")
    record = item.get("record")
    if not isinstance(record, dict):
        raise BundleError(f"{where}.record must be an object")
    disclosures = item.get("disclosures", [])
    if not isinstance(disclosures, list) or not all(isinstance(d, dict) for d in disclosures):
        raise BundleError(f"{where}.disclosures must be a list of objects")
    return _Entry(
        _uint(item.get("leafIndex"), f"{where}.leafIndex"),
        record,
        _hex_list(item.get("inclusionProof"), f"{where}.inclusionProof"),
        disclosures,
    )


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BundleError(f"{name} must be a non-empty string")
    return value


def _uint(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BundleError(f"{name} must be a non-negative integer")
    return value


def _hash(value: object, name: str) -> bytes:
    try:
        digest = bytes.fromhex(value) if isinstance(value, str) and len(value) == 64 else b""
    except ValueError:
        digest = b""
    if len(digest) != merkle.HASH_SIZE or digest.hex() != value:  # one spelling per hash
        raise BundleError(f"{name} must be a SHA-256 hash in lowercase hex (64 characters)")
    return digest


def _hex_list(value: object, name: str) -> tuple[str, ...]:
    """A list of SHA-256 hashes in lowercase hex, checked in one pass (a bundle holds tens
    of thousands); the first bad one is named."""
    if not isinstance(value, list):
        raise BundleError(f"{name} must be a list of SHA-256 hashes in hex")
    try:
        joined = "".join(value)
        lengths = set(map(len, value))
    except TypeError:  # an item is no string
        joined, lengths = "", {0}
    if lengths <= {64} and _HEX_RUN.fullmatch(joined):
        return tuple(value)
    for n, item in enumerate(value):
        _hash(item, f"{name}[{n}]")
    raise AssertionError("unreachable: a bad hash was named above")  # pragma: no cover


# -- verifying --------------------------------------------------------------------------


def verify(bundle: object, log_key: str, *, since: str | None = None) -> Verdict:
    """Check a bundle (its parsed JSON) with nothing but ``log_key``, the log's note
    verifier key the holder trusts, and ``since``, a signed checkpoint the holder kept.

    Returns the Verdict with every failure found (at most :data:`MAX_FAILURES`); raises
    BundleError when the input is no bundle this bpl can read."""
    shape = _shape(bundle)
    verdict = Verdict(shape.passport, shape.origin, records=len(shape.entries))
    failures = _Failures()
    try:
        _verify(shape, log_key.strip(), since, verdict, failures)
    finally:
        found = sorted(failures.found, key=lambda f: -1 if f.leaf_index is None else f.leaf_index)
        verdict.failures = found[:MAX_FAILURES]
        verdict.more_failures = max(0, len(found) - MAX_FAILURES)
    return verdict


def _verify(
    shape: _Shape, log_key: str, since: str | None, verdict: Verdict, failures: _Failures
) -> None:
    if shape.verifier_key != log_key:
        failures.add(
            "log-key",
            f"the bundle names log key {shape.verifier_key!r}; it is verified with {log_key!r}",
        )
    try:
        head = checkpoint.verify(shape.checkpoint, log_key, shape.origin)
    except CheckpointError as exc:
        failures.add("checkpoint", str(exc))
        return  # nothing is proven without the signed root
    verdict.tree_size = head.size
    _check_consistency(shape, head, log_key, since, verdict, failures)
    entries = shape.entries
    _check_order(entries, head.size, failures)
    _check_bodies(entries, failures)
    _check_inclusions(entries, head.size, head.root, failures)
    _check_schemas(entries, failures)
    _check_proofs(entries, failures)
    verdict.disclosures = sum(len(entry.shown) for entry in entries)
    verdict.withheld = sum(
        len(_digests(entry.record)) - len(entry.shown) for entry in entries if entry.usable
    )
    replay = _Replay(failures)
    for entry in entries:
        if entry.usable:
            replay.record(entry)
    verdict.passports = replay.closure(shape.passport)


def _check_consistency(
    shape: _Shape,
    head: checkpoint.Checkpoint,
    log_key: str,
    since: str | None,
    verdict: Verdict,
    failures: _Failures,
) -> None:
    """The bundle's consistency proof against its checkpoint, and against the checkpoint the
    holder kept (``since``): the log only grew, without rewriting what the holder saw."""
    if shape.consistency is not None:
        old_size, old_root, hashes = shape.consistency
        try:
            merkle.verify_consistency(old_size, head.size, old_root, head.root, hashes)
        except merkle.ProofError as exc:
            failures.add("consistency", str(exc))
            return
    if since is None:
        return
    try:
        kept = checkpoint.verify(since, log_key, shape.origin)
    except CheckpointError as exc:
        failures.add("since", f"the checkpoint kept does not verify with the log key: {exc}")
        return
    if kept.size == head.size:
        if kept.root != head.root:
            failures.add("since", f"the log signed two roots for size {kept.size}: a fork")
            return
    elif shape.consistency is None:
        failures.add(
            "since",
            f"the checkpoint kept is of size {kept.size}; the bundle carries no consistency "
            f"proof (export it with since={kept.size})",
        )
        return
    elif (kept.size, kept.root) != shape.consistency[:2]:
        failures.add(
            "since",
            f"the bundle proves consistency from size {shape.consistency[0]}, not from the "
            f"checkpoint kept (size {kept.size}, or another root: a fork)",
        )
        return
    verdict.since = kept.size


def _check_order(entries: Sequence[_Entry], size: int, failures: _Failures) -> None:
    previous = -1
    for entry in entries:
        if entry.leaf <= previous:
            failures.add(
                "order",
                f"leaf {entry.leaf} follows leaf {previous}: records are listed in log order, "
                "each once",
                entry.leaf,
            )
            entry.usable = False
        if entry.leaf >= size:
            failures.add("inclusion", f"leaf {entry.leaf} is beyond tree size {size}", entry.leaf)
            entry.usable = False
        previous = max(previous, entry.leaf)


def _check_bodies(entries: Sequence[_Entry], failures: _Failures) -> None:
    for entry in entries:
        try:
            entry.body = records.canonical(entry.record)
        except SigningError as exc:
            failures.add("parse", f"the record has no canonical form: {exc}", entry.leaf)
            entry.usable = False
            continue
        entry.record_hash = records.digest(entry.body)


def _check_inclusions(
    entries: Sequence[_Entry], size: int, root: bytes, failures: _Failures
) -> None:
    """Every record's inclusion proof against the signed root. Each proof is checked whole,
    but a path that reaches a node an earlier proof verified stops hashing there: it must
    then give that node's hash, and its remaining hashes must be that proof's (equal bytes,
    no hashing), so neighbouring leaves cost a few hashes each, not a whole path."""
    known: dict[tuple[int, int], tuple[bytes, tuple[str, ...], int]] = {}
    for entry in entries:
        if not entry.body or entry.leaf >= size:
            continue
        problem = _inclusion(entry.leaf, entry.body, entry.proof, size, root, known)
        if problem is not None:
            failures.add("inclusion", problem, entry.leaf, entry.record_hash)


def _inclusion(
    index: int,
    body: bytes,
    proof: tuple[str, ...],
    size: int,
    root: bytes,
    known: dict[tuple[int, int], tuple[bytes, tuple[str, ...], int]],
) -> str | None:
    """RFC 9162 2.1.3.2 for one leaf, with ``known`` (node -> hash, and the proof and
    position that led from it to the root) shared across leaves of one tree."""
    node = _sha256(b"\x00" + body).digest()
    fn, sn, level = index, size - 1, 0
    visited: list[tuple[tuple[int, int], bytes, int]] = []
    for step, sibling in enumerate(proof):
        seen = known.get((level, fn))
        if seen is not None:
            their_hash, their_proof, their_step = seen
            if their_hash != node:
                return f"its path gives node {level}/{fn} another hash than the signed tree"
            if proof[step:] != their_proof[their_step:]:
                return f"its path above node {level}/{fn} differs from the signed tree's"
            break
        visited.append(((level, fn), node, step))
        if sn == 0:
            return "the inclusion proof is longer than the path to the root"
        if fn & 1 or fn == sn:
            node = _sha256(_NODE + bytes.fromhex(sibling) + node).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
                level += 1
        else:
            node = _sha256(_NODE + node + bytes.fromhex(sibling)).digest()
        fn >>= 1
        sn >>= 1
        level += 1
    else:
        if sn != 0:
            return "the inclusion proof is shorter than the path to the root"
        if node != root:
            return "the inclusion proof does not lead to the checkpoint's root"
    for position, value, step in visited:
        known[position] = (value, proof, step)
    return None


def _check_schemas(entries: Sequence[_Entry], failures: _Failures) -> None:
    """Each record against its kind's schema, each shown disclosure against its digest in
    the record and its group's schema (a disclosure may be withheld: not a failure)."""
    for entry in entries:
        if not entry.body:
            continue
        try:
            entry.kind = schemas.validate_record(entry.record)
            entry.version = schemas.version_of(entry.record)
        except schemas.SchemaError as exc:
            failures.add("schema", str(exc), entry.leaf, entry.record_hash)
            entry.usable = False
            continue
        digests = _digests(entry.record)
        for disclosure in entry.disclosures:
            group = disclosure.get("group")
            if not isinstance(group, str) or group not in digests:
                failures.add(
                    "disclosure",
                    f"a disclosure of group {group!r}, for which the record carries no digest",
                    entry.leaf,
                    entry.record_hash,
                )
                continue
            if group in entry.shown:
                failures.add(
                    "disclosure", f"two {group!r} disclosures", entry.leaf, entry.record_hash
                )
                continue
            try:
                matches = records.digest(records.canonical(disclosure)) == digests[group]
                if matches:
                    schemas.validate_disclosure(entry.kind, disclosure, entry.version)
            except SigningError as exc:
                failures.add("disclosure", f"{group}: {exc}", entry.leaf, entry.record_hash)
                continue
            except schemas.SchemaError as exc:
                failures.add("schema", str(exc), entry.leaf, entry.record_hash)
                continue
            if not matches:
                failures.add(
                    "disclosure",
                    f"the {group!r} disclosure does not match its digest in the record",
                    entry.leaf,
                    entry.record_hash,
                )
                continue
            entry.shown[group] = disclosure


def _digests(record: Mapping[str, Any]) -> Mapping[str, str]:
    subject = record.get("credentialSubject")
    found = subject.get("disclosures") if isinstance(subject, dict) else None
    return found if isinstance(found, dict) else {}


def _check_proofs(entries: Sequence[_Entry], failures: _Failures) -> None:
    """Every proof of every record (Ed25519 over the JCS hash data), in one staged batch."""
    signed = [entry for entry in entries if entry.body]
    outcomes = proofs.verify_many([entry.record for entry in signed], loader=context_loader())
    for entry, outcome in zip(signed, outcomes, strict=True):
        if outcome is not None:
            failures.add("proof", str(outcome), entry.leaf, entry.record_hash)
            entry.usable = False


@dataclass
class _Chain:
    """A chain as the replay has it so far."""

    sequence: int
    record_hash: str
    kind: str
    first_kind: str
    custodian: str | None = None
    closed: bool = False
    predecessors: tuple[str, ...] = ()
    successors: tuple[str, ...] = ()


class _Replay:
    """The append rules the bundle's own records decide, replayed in log order: actors and
    keys as the bundle's actor records register and revoke them, chain links, roles,
    custody, closing, predecessors, successors and models. Rules that need a withheld
    disclosure or records of other passports (a status change's transition, a shipment's
    consignee, one live passport per battery) are not replayed (docs/bundles.md)."""

    def __init__(self, failures: _Failures) -> None:
        self.failures = failures
        self.chains: dict[str, _Chain] = {}
        self.keys: dict[str, tuple[str, bool]] = {}
        self.actors: dict[str, frozenset[str]] = {}
        self.policies: dict[tuple[str, str], grading.GradingPolicy] = dict(
            admission.bundled_policies()
        )
        self.entry = _Entry(-1, {}, (), [])

    def fail(self, rule: str, detail: str) -> None:
        self.failures.add(rule, detail, self.entry.leaf, self.entry.record_hash)

    def record(self, entry: _Entry) -> None:
        """Replay one record (schema-valid and authentic) at its place in the log."""
        self.entry = entry
        record, kind = entry.record, entry.kind
        subject = record["credentialSubject"]
        found = self.chains.get(subject["id"])
        if not self._linked(subject, found):
            return
        chain = found or _Chain(-1, "", kind, kind)
        if kind in ACTOR_KINDS:
            self._actor_record(record, kind, subject)
        elif kind in POLICY_KINDS:
            self._policy_record(record, subject)
        elif (kind in MODEL_KINDS) != (chain.first_kind in MODEL_KINDS):
            self.fail("sequence", f"no {kind} on {subject['id']}, a {chain.first_kind} chain")
        else:
            actor = self._signer(record)
            if actor is not None:
                self._battery_record(record, kind, subject, chain, found is None, actor)
        chain.sequence, chain.record_hash, chain.kind = (
            subject["sequence"],
            entry.record_hash,
            kind,
        )
        self.chains[subject["id"]] = chain

    def _linked(self, subject: Mapping[str, Any], chain: _Chain | None) -> bool:
        """The sequence and previous link: a chain in the bundle starts at 0 and has no
        gap (a dropped record breaks it)."""
        sequence, previous = subject["sequence"], subject.get("previous")
        if chain is None:
            if sequence != 0:
                self.fail(
                    "chain",
                    f"{subject['id']} starts at sequence {sequence} in the bundle: its records "
                    "before are missing",
                )
                return False
            return True
        if sequence != chain.sequence + 1 or previous != chain.record_hash:
            self.fail(
                "chain",
                f"{subject['id']} is at sequence {chain.sequence} ({chain.record_hash}) in the "
                f"bundle; this record says sequence {sequence} after {previous}: a record is "
                "missing, moved or changed",
            )
            return False
        if chain.closed:
            self.fail("closed", f"{subject['id']} is closed by {chain.kind}: nothing follows it")
        return True

    def _owner(self, key: str) -> tuple[str, frozenset[str]] | None:
        found = self.keys.get(key)
        if found is None:
            self.fail(
                "signer",
                f"{key} is not registered by an actor record the bundle holds before this one",
            )
            return None
        did, revoked = found
        if revoked:
            self.fail("signer", f"{key} was revoked before this record (earlier in the log)")
            return None
        return did, self.actors.get(did, frozenset())

    def _signer(self, record: Mapping[str, Any]) -> tuple[str, frozenset[str]] | None:
        """The issuer's actor: every proof's key registered and unrevoked here, the first
        one the issuer's."""
        owners = [self._owner(key) for key in records.signer_keys(record)]
        first = owners[0] if owners else None
        if first is None or any(owner is None for owner in owners):
            return None
        if first[0] != record.get("issuer"):
            self.fail(
                "signer",
                f"the first proof is by a key of {first[0]}, not of the issuer "
                f"{record.get('issuer')}",
            )
            return None
        return first

    def _signed_by(self, record: Mapping[str, Any]) -> set[str]:
        return {self.keys[key][0] for key in records.signer_keys(record) if key in self.keys}

    def _operator(self, record: Mapping[str, Any], kind: str) -> None:
        actor = self._signer(record)
        if actor is not None and "operator" not in actor[1]:
            self.fail("role", f"{kind} is signed by the operator, not by {actor[0]}")

    def _policy_record(self, record: Mapping[str, Any], subject: Mapping[str, Any]) -> None:
        self._operator(record, "GradingPolicyRegistered")
        try:
            policy = grading.parse_document(subject["policy"], str(subject["policyId"]))
        except grading.GradingError as exc:
            self.fail("policy", str(exc))
            return
        if policy.digest != subject["digest"]:
            self.fail(
                "policy",
                f"the record says digest {subject['digest']}, its policy has {policy.digest}",
            )
            return
        self.policies[(policy.id, policy.version)] = policy

    def _actor_record(
        self, record: Mapping[str, Any], kind: str, subject: Mapping[str, Any]
    ) -> None:
        did = subject["id"]
        if kind == "ActorRegistered" and not self.actors:
            keys = list(subject["keys"])
            bootstrap = (
                self.entry.leaf == 0
                and "operator" in subject["roles"]
                and record.get("issuer") == did
                and records.signer_keys(record)[0] in keys
            )
            if not bootstrap:
                self.fail(
                    "signer",
                    "the first actor record is the log's first leaf: the operator registering "
                    "itself with its own key",
                )
        else:
            self._operator(record, kind)
        if kind == "ActorRegistered":
            self.actors[did] = frozenset(subject["roles"])
            for key in subject["keys"]:
                self._new_key(key, did)
            return
        key = subject["key"]
        if kind == "KeyAdded":
            self._new_key(key, did)
        elif self.keys.get(key, ("", False))[0] != did:
            self.fail("signer", f"{key} is not a key of {did}")
        else:
            self.keys[key] = (did, True)

    def _new_key(self, key: str, did: str) -> None:
        if key in self.keys:
            self.fail("signer", f"{key} is already registered")
        self.keys[key] = (did, False)

    def _battery_record(
        self,
        record: Mapping[str, Any],
        kind: str,
        subject: Mapping[str, Any],
        chain: _Chain,
        fresh: bool,
        actor: tuple[str, frozenset[str]],
    ) -> None:
        did, roles = actor
        if roles.isdisjoint(KIND_ROLES[kind]):
            self.fail(
                "role",
                f"{kind} needs one of the roles {sorted(KIND_ROLES[kind])}; "
                f"{did} has {sorted(roles)}",
            )
        if kind in MODEL_KINDS:
            if fresh:
                chain.custodian = did  # its publisher
            elif chain.custodian != did:
                self.fail("model", f"model {subject['id']} is revised by its publisher only")
            return
        if fresh:
            self._issue(kind, subject, chain, did, roles)
            return
        self._custody(record, kind, subject, chain, did, roles)
        if kind == "DiagnosticTest":
            self._grade()
        if kind == "PassportSucceeded":
            self._successors(subject, chain)
        if kind in CLOSING and subject.get("scope", "whole") == "whole":
            chain.closed = True

    def _custody(
        self,
        record: Mapping[str, Any],
        kind: str,
        subject: Mapping[str, Any],
        chain: _Chain,
        did: str,
        roles: frozenset[str],
    ) -> None:
        """Who may write to a passport that exists: its custodian, and for a transfer both
        parties; a test lab tests, an authority attaches documents."""
        if kind == "PassportIssued":
            self.fail("sequence", "PassportIssued starts a passport; this one exists")
        elif kind == "CustodyTransfer":
            giver, taker = subject["from"], subject["to"]
            if giver != chain.custodian:
                self.fail("custody", f"{giver} is not the current custodian {chain.custodian}")
            elif giver == taker or not {giver, taker} <= self._signed_by(record):
                self.fail("custody", "a transfer is signed by both its parties, two of them")
            chain.custodian = taker
        elif kind in CUSTODY_BOUND and did != chain.custodian:
            self.fail("custody", f"{kind} must come from the current custodian {chain.custodian}")
        elif kind == "DiagnosticTest" and "test-lab" not in roles and did != chain.custodian:
            self.fail("custody", "a DiagnosticTest comes from a test lab or the custodian")
        elif (
            kind == "DocumentAttached"
            and roles.isdisjoint(AUTHORITY_ROLES)
            and did != chain.custodian
        ):
            self.fail("custody", "documents come from the custodian or an authority")

    def _successors(self, subject: Mapping[str, Any], chain: _Chain) -> None:
        """A PassportSucceeded's successors: in the bundle before it, naming it."""
        named = subject.get("successors") or [subject["successor"]]
        chain.successors = tuple(str(successor) for successor in named)
        for successor in chain.successors:
            found = self.chains.get(successor)
            if found is None or found.first_kind != "PassportIssued":
                self.fail("successor", f"successor {successor} is not in the bundle before it")
            elif subject["id"] not in found.predecessors:
                self.fail("successor", f"{successor} does not name {subject['id']} as predecessor")

    def _issue(
        self, kind: str, subject: Mapping[str, Any], chain: _Chain, did: str, roles: frozenset[str]
    ) -> None:
        """A passport's first record: its issuer, predecessors and model, in the bundle."""
        if kind != "PassportIssued":
            self.fail("sequence", f"a passport starts with PassportIssued, not {kind}")
            return
        predecessors = tuple(str(p) for p in subject.get("predecessors", ()))
        for original in predecessors:
            found = self.chains.get(original)
            if found is None or found.first_kind != "PassportIssued":
                self.fail("predecessor", f"predecessor {original} is not in the bundle before it")
            elif found.closed:
                self.fail("predecessor", f"predecessor {original} is closed")
            elif found.custodian != did:
                self.fail(
                    "custody",
                    f"a successor comes from the custodian of predecessor {original} "
                    f"({found.custodian})",
                )
        if not predecessors and "manufacturer" not in roles:
            self.fail("role", "an original passport comes from a manufacturer")
        model = subject.get("model")
        if isinstance(model, Mapping):
            named = self.chains.get(str(model.get("id")))
            if named is None or named.first_kind not in MODEL_KINDS:
                self.fail(
                    "model", f"battery model {model.get('id')} is not in the bundle before it"
                )
            elif named.record_hash != model.get("record"):
                self.fail(
                    "model",
                    f"the passport names record {model.get('record')} of model {model.get('id')}, "
                    f"whose current record there is {named.record_hash}",
                )
        chain.custodian = did
        chain.predecessors = predecessors

    def _grade(self) -> None:
        """A shown measures disclosure: its grade under the policy it names (bundled, or
        registered by a record the bundle holds before it), digest included."""
        measures = records.measures(self.entry.shown)
        if not measures:
            return
        reference = measures.get("gradingPolicy", {})
        key = (str(reference.get("id")), str(reference.get("version")))
        policy = self.policies.get(key)
        if policy is None:
            self.fail("grade", f"grading policy {key[0]} version {key[1]} is not in the bundle")
            return
        if reference.get("digest") != policy.digest:
            self.fail(
                "grade", f"graded under digest {reference.get('digest')}, not {policy.digest}"
            )
            return
        try:
            expected = grading.check(measures, policy)
        except grading.GradingError as exc:
            self.fail("grade", str(exc))
            return
        if measures.get("grade") != expected:
            self.fail(
                "grade", f"grade {measures.get('grade')!r}, but the policy gives {expected!r}"
            )

    def closure(self, passport: str) -> list[str]:
        """The passports linked to ``passport`` through predecessors and successors: a
        bundle holds exactly these."""
        held = {sid for sid, chain in self.chains.items() if chain.first_kind == "PassportIssued"}
        if passport not in held:
            self.failures.add("bundle", f"the bundle holds no passport {passport}")
            return []
        successors_of: dict[str, list[str]] = {}
        for sid in held:
            for original in self.chains[sid].predecessors:
                successors_of.setdefault(original, []).append(sid)
        found: set[str] = set()
        queue = [passport]
        while queue:
            current = queue.pop()
            if current in found or current not in held:
                continue
            found.add(current)
            queue.extend(self.chains[current].predecessors)
            queue.extend(self.chains[current].successors)
            queue.extend(successors_of.get(current, ()))
        for other in sorted(held - found):
            self.failures.add(
                "bundle", f"passport {other} is not linked to {passport}: it does not belong here"
            )
        return sorted(found)

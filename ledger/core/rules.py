"""The append rules (docs/ledger.md, "Append rules"): who may write what, and when.

Pure logic over a :class:`View` of the ledger's state (chain heads, actors, keys). Every
refusal is a :class:`~ledger.errors.RecordRejected` whose ``rule`` names the rule:

``signer``     the proofs' keys belong to a registered actor, are not revoked, and the
               first one is the issuer's; ``role``: that actor's roles allow the kind;
``custody``    custody-bound kinds come from the current custodian; a transfer carries
               the releasing and the receiving party's proofs;
``sequence``   head + 1 and the head's hash (compare-and-swap; :class:`StaleRecord`);
``status``     only allowed status transitions; ``closed``: nothing after ``Recycled``
               or ``PassportSucceeded``; ``successor``: links point at existing passports;
``policy``     a grading policy version is registered once, by the operator (ADR 0013);
``model``      a passport (v2) names its battery model's current record; a model's
               revisions come from its publisher;
``battery-id`` a v2 passport's ``batteryId`` is a valid GS1 Digital Link or ISO/IEC
               15459 id (docs/battery-ids.md), and a battery has one live passport: a
               second one must be a successor of the live one (ADR 0016).

Signatures, schemas and disclosures are checked before (:mod:`ledger.facade`); here the
record is known to be well formed and authentic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from ledger.core.battery_id import BatteryIdError, parse_battery_id
from ledger.errors import RecordRejected, StaleRecord
from signing import jcs

ACTOR_KINDS = frozenset({"ActorRegistered", "KeyAdded", "KeyRevoked"})
POLICY_KINDS = frozenset({"GradingPolicyRegistered"})
MODEL_KINDS = frozenset({"BatteryModelPublished"})
OPERATOR_KINDS = ACTOR_KINDS | POLICY_KINDS
"""The operator's kinds: their effects change what the rules of later records read."""
AUTHORITY_ROLES = frozenset({"authority", "notified-body", "market-surveillance", "commission"})
"""v1's one authority role and v2's three (ledger.core.access)."""
READER_ONLY_ROLES = AUTHORITY_ROLES | {"legitimate-interest"}
ROLES = frozenset(
    {
        "manufacturer",
        "dismantler",
        "test-lab",
        "carrier",
        "repurposer",
        "remanufacturer",
        "recycler",
        "operator",
    }
    | READER_ONLY_ROLES
)
SUCCESSOR_ISSUERS = frozenset({"repurposer", "remanufacturer", "dismantler"})
MODEL_PUBLISHERS = frozenset({"manufacturer", "repurposer", "remanufacturer"})
"""Who places a battery model on the market: its manufacturer, or whoever repurposes or
remanufactures batteries into a product of their own."""
# Which roles may sign each battery kind (custody is checked on top where it applies).
KIND_ROLES: Mapping[str, frozenset[str]] = {
    "PassportIssued": frozenset({"manufacturer"}) | SUCCESSOR_ISSUERS,
    "CustodyTransfer": ROLES - {"operator"} - READER_ONLY_ROLES,
    "DiagnosticTest": frozenset({"test-lab", "dismantler", "repurposer", "remanufacturer"}),
    "Shipment": ROLES - {"operator"} - READER_ONLY_ROLES,
    "ShipmentReceived": ROLES - {"operator"} - READER_ONLY_ROLES,
    "StatusChange": ROLES - {"operator", "carrier"} - READER_ONLY_ROLES,
    "DocumentAttached": ROLES - {"operator", "legitimate-interest"},
    "PassportSucceeded": SUCCESSOR_ISSUERS,
    "Recycled": frozenset({"recycler"}),
    "BatteryModelPublished": MODEL_PUBLISHERS,
}
# Kinds only the current custodian may write (others: see their own rule below).
CUSTODY_BOUND = frozenset({"Shipment", "StatusChange", "PassportSucceeded", "Recycled"})
CLOSING = frozenset({"Recycled", "PassportSucceeded"})
V1_CONTEXT = "https://w3id.org/bpl/v1"
STATUSES = ("original", "repurposed", "re-used", "remanufactured", "waste")
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "original": frozenset({"re-used", "waste"}),
    "re-used": frozenset({"waste"}),
    "repurposed": frozenset({"re-used", "waste"}),
    "remanufactured": frozenset({"re-used", "waste"}),
    "waste": frozenset(),
}
"""Status changes on one passport. Repurposing and remanufacturing give the battery a new
passport (a successor, starting in that status) rather than a status change."""


_NO_SHIPMENTS: Mapping[str, str] = MappingProxyType({})


class Head(NamedTuple):
    """The state of one chain after its latest record. A named tuple, not a frozen
    dataclass: one is built for every record appended, and a frozen dataclass took 0.7 us
    (a call per field) where a tuple takes 0.2."""

    subject_id: str
    sequence: int
    record_hash: str
    kind: str  # of the latest record
    custodian: str | None = None
    status: str | None = None
    closed: bool = False
    predecessors: tuple[str, ...] = ()
    open_shipments: Mapping[str, str] = _NO_SHIPMENTS
    """shipmentId -> consignee DID, until received (never changed in place)."""

    def to_state(self) -> dict[str, Any]:
        """The JSON-able fields beyond the head's columns."""
        return {
            "predecessors": list(self.predecessors),
            "openShipments": dict(self.open_shipments),
        }


@dataclass(frozen=True)
class Actor:
    did: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Key:
    key: str  # a verification method id (did:key:z6Mk...#z6Mk...)
    actor: str
    revoked: bool = False


class Registration(NamedTuple):
    """A grading policy version registered with the ledger (ADR 0013)."""

    policy_id: str
    version: str
    digest: str
    record_hash: str | None
    """The GradingPolicyRegistered record on the log; None for a registration made before
    registrations were records (ADR 0009): off the log."""
    document: bytes = b""
    """The policy document's JCS bytes (what ``digest`` is of), when the rules made it."""
    registered_at: str = ""
    """Its record's ``validFrom`` (signed by the operator), when the rules made it: what
    the stored row's ``registered_at`` must be (ADR 0015)."""


class View(Protocol):
    """The ledger state the rules read (and the service updates)."""

    def head(self, subject_id: str) -> Head | None: ...
    def actor(self, did: str) -> Actor | None: ...
    def key(self, key: str) -> Key | None: ...
    def has_actors(self) -> bool: ...
    def policy(self, key: tuple[str, str]) -> Registration | None: ...
    def passports_of(self, battery: str) -> Sequence[str]:
        """The ids of every v2 passport issued for the battery with this canonical key
        (:attr:`BatteryId.key`), live or closed."""
        ...


class Effects(NamedTuple):
    """What accepting one record changes (a named tuple: one is built for every record)."""

    head: Head
    actors: Sequence[Actor] = ()
    keys: Sequence[Key] = ()
    policies: Sequence[Registration] = ()
    battery: str | None = None
    """The canonical battery key a v2 passport was issued for (its PassportIssued)."""


def check(
    record: Mapping[str, Any],
    kind: str,
    record_hash: str,
    signers: list[str],
    disclosed: Mapping[str, Mapping[str, Any]],
    view: View,
) -> Effects:
    """Apply every rule to ``record``; return its effects, or raise RecordRejected."""
    subject = record["credentialSubject"]
    head = view.head(subject["id"])
    _check_sequence(subject, head)
    if kind in ACTOR_KINDS:
        return _actor_record(record, kind, record_hash, signers, view, head)
    if kind in POLICY_KINDS:
        return _policy_record(record, record_hash, signers, view)
    if head is not None and (head.kind in MODEL_KINDS) != (kind in MODEL_KINDS):
        what = "a battery model" if head.kind in MODEL_KINDS else "not a battery model"
        raise RecordRejected("sequence", f"{subject['id']} is {what}: no {kind} on it")
    if head is not None and head.closed:
        raise RecordRejected(
            "closed", f"passport {subject['id']} is closed by {head.kind}: nothing follows it"
        )
    actor = _signer(record, signers, view)
    if actor.roles.isdisjoint(KIND_ROLES[kind]):
        raise RecordRejected(
            "role",
            f"{kind} needs one of the roles {sorted(KIND_ROLES[kind])}; "
            f"{actor.did} has {sorted(actor.roles)}",
        )
    fields: dict[str, Any] = {}
    for group in disclosed.values():
        fields.update(group)
    fields.update(subject)
    if kind in MODEL_KINDS:
        return Effects(_model(subject, record_hash, actor, head))
    if head is None:
        new_head = Head(subject["id"], subject["sequence"], record_hash, kind)
        battery = _battery_key(record, fields, view)
        return Effects(_issue(kind, fields, actor, new_head, view), battery=battery)
    # The chain's state carries over.
    new_head = Head(
        subject["id"],
        subject["sequence"],
        record_hash,
        kind,
        head.custodian,
        head.status,
        False,  # a closed head refused the record above
        head.predecessors,
        head.open_shipments,
    )
    if kind in CUSTODY_BOUND and actor.did != head.custodian:
        raise RecordRejected(
            "custody", f"{kind} must come from the current custodian {head.custodian}"
        )
    return Effects(_battery_record(kind, fields, actor, signers, head, new_head, view))


def _check_sequence(subject: Mapping[str, Any], head: Head | None) -> None:
    sequence, previous = subject["sequence"], subject.get("previous")
    if head is None:
        if sequence != 0:
            raise StaleRecord(
                f"{subject['id']} has no records yet: its first record has sequence 0"
            )
        return
    if sequence != head.sequence + 1 or previous != head.record_hash:
        raise StaleRecord(
            f"{subject['id']} is at sequence {head.sequence} ({head.record_hash}); "
            f"the record says sequence {sequence} after {previous}",
            head_sequence=head.sequence,
            head_hash=head.record_hash,
        )


def _signer(record: Mapping[str, Any], signers: list[str], view: View) -> Actor:
    """The issuer's actor, once every proof's key is registered, unrevoked and the first
    proof is by one of the issuer's keys."""
    actors = [_key_owner(key, view) for key in signers]
    issuer = record.get("issuer")
    if actors[0].did != issuer:
        raise RecordRejected(
            "signer", f"the first proof is by a key of {actors[0].did}, not of the issuer {issuer}"
        )
    return actors[0]


def _key_owner(key: str, view: View) -> Actor:
    found = view.key(key)
    if found is None:
        raise RecordRejected("signer", f"{key} is not a registered key")
    if found.revoked:
        raise RecordRejected("signer", f"{key} was revoked (earlier in the log)")
    actor = view.actor(found.actor)
    if actor is None:  # pragma: no cover - keys are only added for registered actors
        raise RecordRejected("signer", f"{key} belongs to no registered actor")
    return actor


def _model(subject: Mapping[str, Any], record_hash: str, actor: Actor, head: Head | None) -> Head:
    """A battery model's static data: published once, revised by its publisher only (the
    head's custodian is the publisher)."""
    if head is not None and head.custodian != actor.did:
        raise RecordRejected(
            "model", f"model {subject['id']} is revised by its publisher {head.custodian} only"
        )
    return Head(subject["id"], subject["sequence"], record_hash, "BatteryModelPublished", actor.did)


def _battery_key(record: Mapping[str, Any], fields: Mapping[str, Any], view: View) -> str | None:
    """For a v2 PassportIssued: check its model and its battery id; the battery's
    canonical key. v1 passports named no model and their battery ids were free text."""
    if record["@context"][1] == V1_CONTEXT or record["type"][1] != "PassportIssued":
        return None
    model = fields["model"]
    head = view.head(model["id"])
    if head is None or head.kind not in MODEL_KINDS:
        raise RecordRejected("model", f"battery model {model['id']} is not published")
    if model["record"] != head.record_hash:
        raise RecordRejected(
            "model",
            f"the passport names record {model['record']} of battery model {model['id']}, "
            f"whose current record is {head.record_hash}",
        )
    try:
        battery = parse_battery_id(fields["batteryId"])
    except BatteryIdError as exc:
        raise RecordRejected("battery-id", str(exc)) from None
    predecessors = set(fields.get("predecessors", ()))
    for passport in view.passports_of(battery.key):
        passport_head = view.head(passport)
        if passport_head is not None and not passport_head.closed and passport not in predecessors:
            raise RecordRejected(
                "battery-id",
                f"battery {fields['batteryId']} has a live passport {passport}: a new one "
                "must name it as predecessor (a successor), or follow its closing",
            )
    return battery.key


def _issue(kind: str, fields: Mapping[str, Any], actor: Actor, head: Head, view: View) -> Head:
    """A passport's first record: PassportIssued, maybe a successor of others."""
    if kind != "PassportIssued":
        raise RecordRejected("sequence", f"a passport starts with PassportIssued, not {kind}")
    predecessors = tuple(fields.get("predecessors", ()))
    if predecessors:
        if not actor.roles & SUCCESSOR_ISSUERS:
            raise RecordRejected(
                "role", "a successor passport comes from a repurposer, remanufacturer or dismantler"
            )
        for original in predecessors:
            original_head = view.head(original)
            if original_head is None:
                raise RecordRejected("successor", f"predecessor {original} does not exist")
            if original_head.closed:
                raise RecordRejected("successor", f"predecessor {original} is closed")
            if original_head.custodian != actor.did:
                raise RecordRejected(
                    "custody",
                    f"a successor comes from the custodian of predecessor {original} "
                    f"({original_head.custodian})",
                )
    elif "manufacturer" not in actor.roles:
        raise RecordRejected("role", "an original passport comes from a manufacturer")
    status = fields.get("status", "original")
    if (status == "original") == bool(predecessors):
        raise RecordRejected(
            "status",
            "a new battery's passport starts as original; a successor's as repurposed, "
            "re-used or remanufactured",
        )
    # The chain's first head.
    return Head(
        head.subject_id,
        head.sequence,
        head.record_hash,
        head.kind,
        actor.did,
        status,
        False,
        predecessors,
    )


def _battery_record(
    kind: str,
    fields: Mapping[str, Any],
    actor: Actor,
    signers: list[str],
    head: Head,
    new_head: Head,
    view: View,
) -> Head:
    if kind == "PassportIssued":
        raise RecordRejected("sequence", "PassportIssued starts a passport; this one exists")
    if kind == "CustodyTransfer":
        return _transfer(fields, signers, head, new_head, view)
    if kind in ("Shipment", "ShipmentReceived"):
        return _shipment(kind, fields, actor, head, new_head)
    if kind == "StatusChange":
        status = fields["status"]
        if status not in TRANSITIONS.get(head.status or "", frozenset()):
            raise RecordRejected("status", f"status {head.status} cannot become {status}")
        return new_head._replace(status=status)
    if kind == "DiagnosticTest" and "test-lab" not in actor.roles and actor.did != head.custodian:
        raise RecordRejected("custody", "a DiagnosticTest comes from a test lab or the custodian")
    if (
        kind == "DocumentAttached"
        and actor.roles.isdisjoint(AUTHORITY_ROLES)
        and (actor.did != head.custodian)
    ):
        raise RecordRejected("custody", "documents come from the custodian or an authority")
    if kind == "PassportSucceeded":
        # v1 named one successor; v2 lists them (a pack split into modules has several).
        for successor in fields.get("successors") or (fields["successor"],):
            _check_successor(str(successor), head, view)
    if kind in CLOSING and fields.get("scope", "whole") == "whole":
        # A partial recycling (v2 scope "part") leaves the passport open for the rest.
        return new_head._replace(closed=True)
    return new_head


def _shipment(
    kind: str, fields: Mapping[str, Any], actor: Actor, head: Head, new_head: Head
) -> Head:
    """A shipment opens under its id (custodian only); its consignee closes it."""
    shipment = str(fields["shipmentId"])
    if kind == "Shipment":
        if shipment in head.open_shipments:
            raise RecordRejected("shipment", f"shipment {shipment} is already open")
        consignee = str(fields.get("consignee", ""))
        return new_head._replace(open_shipments={**head.open_shipments, shipment: consignee})
    if shipment not in head.open_shipments:
        raise RecordRejected("shipment", f"no open shipment {shipment} on this passport")
    if head.open_shipments[shipment] != actor.did:
        raise RecordRejected("custody", f"shipment {shipment} is received by its consignee only")
    remaining = {k: v for k, v in head.open_shipments.items() if k != shipment}
    return new_head._replace(open_shipments=remaining)


def _check_successor(successor_id: str, head: Head, view: View) -> None:
    successor = view.head(successor_id)
    if successor is None:
        raise RecordRejected("successor", f"successor {successor_id} does not exist")
    if head.subject_id not in successor.predecessors:
        raise RecordRejected(
            "successor", f"{successor_id} does not name {head.subject_id} as predecessor"
        )


def _transfer(
    fields: Mapping[str, Any], signers: list[str], head: Head, new_head: Head, view: View
) -> Head:
    """Custody passes from ``from`` (the current custodian) to ``to``; both sign."""
    giver, taker = fields["from"], fields["to"]
    if giver != head.custodian:
        raise RecordRejected("custody", f"{giver} is not the current custodian {head.custodian}")
    if giver == taker:
        raise RecordRejected("custody", "a transfer needs two different parties")
    signed_by = {_key_owner(key, view).did for key in signers}
    for party, what in ((giver, "releasing"), (taker, "receiving")):
        if party not in signed_by:
            raise RecordRejected("custody", f"the {what} party {party} has not signed")
    return new_head._replace(custodian=taker)


def _actor_record(
    record: Mapping[str, Any],
    kind: str,
    record_hash: str,
    signers: list[str],
    view: View,
    head: Head | None,
) -> Effects:
    """Actor records are the operator's: register an actor, add or revoke its keys."""
    subject = record["credentialSubject"]
    did = subject["id"]
    if kind == "ActorRegistered" and not view.has_actors():
        return _bootstrap(record, record_hash, signers)
    operator = _signer(record, signers, view)
    if "operator" not in operator.roles:
        raise RecordRejected("role", f"{kind} is signed by the operator, not by {operator.did}")
    new_head = Head(did, subject["sequence"], record_hash, kind)
    if kind == "ActorRegistered":
        roles = frozenset(subject["roles"])
        if not roles <= ROLES:
            raise RecordRejected("role", f"unknown roles {sorted(roles - ROLES)}")
        keys = [_new_key(key, did, view) for key in subject["keys"]]
        return Effects(new_head, actors=[Actor(did, roles)], keys=keys)
    if view.actor(did) is None:  # pragma: no cover - the sequence rule catches it first
        raise RecordRejected("signer", f"{did} is not a registered actor")
    key = subject["key"]
    if kind == "KeyAdded":
        return Effects(new_head, keys=[_new_key(key, did, view)])
    found = view.key(key)
    if found is None or found.actor != did:
        raise RecordRejected("signer", f"{key} is not a key of {did}")
    if found.revoked:
        raise RecordRejected("signer", f"{key} is already revoked")
    return Effects(new_head, keys=[replace(found, revoked=True)])


def _policy_record(
    record: Mapping[str, Any], record_hash: str, signers: list[str], view: View
) -> Effects:
    """The operator registers a grading policy version, once (admission has checked the
    policy against its id, version and digest). A version registered before registrations
    were records may be registered again with the same content: that puts it on the log."""
    operator = _signer(record, signers, view)
    if "operator" not in operator.roles:
        raise RecordRejected(
            "role", f"GradingPolicyRegistered is signed by the operator, not by {operator.did}"
        )
    subject = record["credentialSubject"]
    key = (subject["policyId"], subject["version"])
    known = view.policy(key)
    if known is not None and known.digest != subject["digest"]:
        raise RecordRejected(
            "policy",
            f"grading policy {key[0]} version {key[1]} is registered with digest "
            f"{known.digest}; this one has digest {subject['digest']}: a released version "
            "never changes (give the new content a new version)",
        )
    if known is not None and known.record_hash is not None:
        raise RecordRejected(
            "policy",
            f"grading policy {key[0]} version {key[1]} is registered already "
            f"(record {known.record_hash})",
        )
    head = Head(subject["id"], subject["sequence"], record_hash, "GradingPolicyRegistered")
    document = jcs.canonicalize(subject["policy"])
    registration = Registration(
        key[0], key[1], subject["digest"], record_hash, document, record["validFrom"]
    )
    return Effects(head, policies=[registration])


def _bootstrap(record: Mapping[str, Any], record_hash: str, signers: list[str]) -> Effects:
    """The ledger's first record: the operator registers itself with the key it signs with
    (the trust anchor that ``bpl init`` creates)."""
    subject = record["credentialSubject"]
    did, roles, keys = subject["id"], frozenset(subject["roles"]), list(subject["keys"])
    if "operator" not in roles or record.get("issuer") != did or signers[0] not in keys:
        raise RecordRejected(
            "signer", "the first record registers the operator, signed by one of its own keys"
        )
    head = Head(did, 0, record_hash, "ActorRegistered")
    return Effects(head, actors=[Actor(did, roles)], keys=[Key(key, did) for key in keys])


def _new_key(key: str, actor: str, view: View) -> Key:
    if view.key(key) is not None:
        raise RecordRejected("signer", f"{key} is already registered")
    return Key(key, actor)

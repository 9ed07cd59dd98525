"""The append rules (ledger/core/rules.py, docs/ledger.md "Append rules") as a pure core: each
rule's refusal, and what it accepts, over an in-memory view (``ledger.audit.ReplayView``),
with no database and no signatures.

Records are built unsigned with ``ledger.core.records.build`` (the signer keys are passed to
``check`` as a list, as the service passes them once the proofs verified); accepted effects
are applied to the view, so the state is built by the rules themselves: the operator's
bootstrap ActorRegistered, the cast's registrations, then passports.

Every ``raise`` in ledger/core/rules.py is reached. Two of them are marked ``pragma: no cover``
there and are reached only with input the service never hands to ``check``:

* ``signer``: "{key} belongs to no registered actor" (``_key_owner``) needs a view holding a
  key whose actor it does not hold; the rules add keys only with or for a registered actor,
  so the test puts such a key into the view by hand.
* ``signer``: "{did} is not a registered actor" (``_actor_record``) needs a KeyAdded or
  KeyRevoked at sequence 0 for a DID with no chain; their schemas require ``sequence`` >= 1
  and ``previous``, so a valid one is refused first as a StaleRecord (tested beside it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.audit import ReplayView
from ledger.core import records, rules
from ledger.core.rules import Actor, Effects, Head, Key, Registration
from ledger.errors import RecordRejected, StaleRecord
from signing import jcs

PASSPORT = "urn:bpl:passport:0b6f2a8e-3c1d-4f5e-8a9b-1c2d3e4f5a6b"
OTHER = "urn:bpl:passport:7d1e4c2a-9b8f-4e6d-a5c3-2f1e0d9c8b7a"
SUCCESSOR = "urn:bpl:passport:5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170"
NOWHERE = "urn:bpl:passport:00000000-0000-4000-8000-000000000000"
VALID_FROM = "2031-05-02T10:00:00Z"
ZERO_HASH = "sha256:" + "0" * 64

CAST: Mapping[str, tuple[str, ...]] = {
    "maker": ("manufacturer",),
    "lab": ("test-lab",),
    "carrier": ("carrier",),
    "dismantler": ("dismantler",),
    "repurposer": ("repurposer",),
    "remanufacturer": ("remanufacturer",),
    "recycler": ("recycler",),
    "authority": ("authority",),
    "insurer": ("legitimate-interest",),
}
"""The actors every test starts with (beside the operator), one role each."""

BATTERY = {
    "batteryId": "https://id.example.com/01/09506000134352/21/SN-0001",
    "category": "EV",
    "chemistry": "NMC811",
    "manufacturedAt": "Gliwice, PL",
    "manufacturedOn": "2024-03-14",
    "mass": 450.0,
}
POLICY: dict[str, Any] = {
    "id": "acme-strict",
    "version": "2025.1",
    "description": "reuse only from 85 % SoH",
    "stateOfHealth": ["soce"],
    "grades": [{"grade": "reuse", "minSoh": 85}, {"grade": "recycle"}],
    "knockOuts": [],
}


def did(name: str) -> str:
    """The (made-up) did:key of actor ``name``: the rules never decode it."""
    return f"did:key:z6Mk{name.title()}"


def key(name: str) -> str:
    """The verification method of ``name``'s first key."""
    return records.did_key_method(did(name))


def policy_digest(document: Mapping[str, Any]) -> str:
    return records.digest(jcs.canonicalize(document))


@dataclass(frozen=True)
class Submission:
    """What ``check`` takes of a record the service has admitted."""

    kind: str
    record: dict[str, Any]
    disclosed: dict[str, dict[str, Any]]
    signers: list[str]

    @property
    def hash(self) -> str:
        return records.record_hash(self.record)


class World:
    """A ledger's state held by a ReplayView, changed only through ``rules.check``."""

    def __init__(self, view: ReplayView | None = None) -> None:
        self.view = view or ReplayView()

    # Building and checking ------------------------------------------------------------

    def next_position(self, subject_id: str) -> tuple[int, str | None]:
        head = self.view.head(subject_id)
        return (0, None) if head is None else (head.sequence + 1, head.record_hash)

    def build(
        self,
        kind: str,
        subject_id: str,
        issuer: str,
        public: Mapping[str, Any] | None = None,
        restricted: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        signers: Sequence[str] | None = None,
        position: tuple[int, str | None] | None = None,
        version: str = "v1",
    ) -> Submission:
        """An unsigned record by ``issuer`` (a name) at the chain's next position (or at
        ``position``), "signed" with the first key of each of ``signers`` (names; default
        the issuer), in record format ``version``."""
        sequence, previous = position or self.next_position(subject_id)
        record, disclosures = records.build(
            kind,
            subject_id,
            sequence,
            previous,
            did(issuer),
            public or {},
            restricted,
            valid_from=VALID_FROM,
            version=version,
        )
        disclosed = {d["group"]: d for d in disclosures}
        return Submission(kind, record, disclosed, [key(n) for n in signers or [issuer]])

    def check(self, submission: Submission) -> Effects:
        return rules.check(
            submission.record,
            submission.kind,
            submission.hash,
            submission.signers,
            submission.disclosed,
            self.view,
        )

    def accept(self, submission: Submission) -> Effects:
        """Check ``submission`` and apply its effects (the rules must accept it)."""
        effects = self.check(submission)
        self.view.apply(effects)
        return effects

    def refuse(self, submission: Submission, rule: str, detail: str) -> RecordRejected:
        """Check that ``submission`` is refused by ``rule`` with ``detail`` in the message,
        and that the view is unchanged."""
        before = self.snapshot()
        with pytest.raises(RecordRejected) as caught:
            self.check(submission)
        assert caught.value.rule == rule, caught.value
        assert detail in caught.value.detail, caught.value.detail
        assert self.snapshot() == before
        return caught.value

    def snapshot(self) -> tuple[object, ...]:
        view = self.view
        return (
            dict(view.heads),
            dict(view.actors),
            dict(view.keys),
            dict(view.policies),
            {battery: list(ids) for battery, ids in view.batteries.items()},
        )

    # Operator records -------------------------------------------------------------------

    def bootstrap(
        self, name: str = "operator", roles: Iterable[str] = ("operator",), **kwargs: Any
    ) -> Submission:
        return self.registration(name, roles, issuer=name, **kwargs)

    def registration(
        self,
        name: str,
        roles: Iterable[str],
        *,
        keys: Sequence[str] | None = None,
        issuer: str = "operator",
        signers: Sequence[str] | None = None,
        position: tuple[int, str | None] | None = None,
    ) -> Submission:
        public = {"roles": list(roles), "keys": list(keys or [key(name)]), "publicProfile": False}
        return self.build(
            "ActorRegistered",
            did(name),
            issuer,
            public,
            {"legitimate-interest": {"name": name.title()}},
            signers=signers,
            position=position,
        )

    def key_added(
        self,
        name: str,
        new_key: str,
        by: str = "operator",
        position: tuple[int, str | None] | None = None,
    ) -> Submission:
        return self.build("KeyAdded", did(name), by, {"key": new_key}, position=position)

    def key_revoked(self, name: str, revoked: str, by: str = "operator") -> Submission:
        public = {"key": revoked, "reason": "compromised"}
        return self.build("KeyRevoked", did(name), by, public)

    def policy(
        self, document: Mapping[str, Any] = POLICY, by: str = "operator", **changes: Any
    ) -> Submission:
        document = {**document, **changes}
        public = {
            "policyId": document["id"],
            "version": document["version"],
            "digest": policy_digest(document),
            "policy": document,
        }
        chain = records.policy_chain(document["id"])
        return self.build("GradingPolicyRegistered", chain, by, public)

    # Battery records --------------------------------------------------------------------

    def issue(
        self,
        passport: str,
        by: str = "maker",
        *,
        predecessors: Sequence[str] = (),
        status: str | None = "original",
    ) -> Submission:
        public = dict(BATTERY, manufacturer=did(by))
        if predecessors:
            public["predecessors"] = list(predecessors)
        restricted = {"legitimate-interest": {"status": status}} if status else None
        return self.build("PassportIssued", passport, by, public, restricted)

    def successor(
        self, passport: str, by: str, predecessors: Sequence[str], status: str = "repurposed"
    ) -> Submission:
        return self.issue(passport, by, predecessors=predecessors, status=status)

    def transfer(
        self,
        passport: str,
        giver: str,
        taker: str,
        *,
        issuer: str | None = None,
        signers: Sequence[str] | None = None,
    ) -> Submission:
        """A CustodyTransfer from ``giver`` to ``taker``, by default issued by the giver and
        signed by both (the issuer first)."""
        issuer = issuer or giver
        if signers is None:
            signers = [issuer, taker if issuer == giver else giver]
        return self.build(
            "CustodyTransfer",
            passport,
            issuer,
            {"from": did(giver), "to": did(taker)},
            {"legitimate-interest": {"reason": "sale"}},
            signers=signers,
        )

    def status_change(self, passport: str, by: str, status: str) -> Submission:
        return self.build(
            "StatusChange", passport, by, {}, {"legitimate-interest": {"status": status}}
        )

    def shipment(
        self, passport: str, by: str, shipment_id: str = "SHP-1", consignee: str = "recycler"
    ) -> Submission:
        restricted = {"legitimate-interest": {"consignor": did(by), "consignee": did(consignee)}}
        return self.build("Shipment", passport, by, {"shipmentId": shipment_id}, restricted)

    def received(self, passport: str, by: str, shipment_id: str = "SHP-1") -> Submission:
        return self.build(
            "ShipmentReceived",
            passport,
            by,
            {"shipmentId": shipment_id},
            {"legitimate-interest": {"condition": "intact"}},
        )

    def diagnostic(self, passport: str, by: str = "lab") -> Submission:
        return self.build(
            "DiagnosticTest",
            passport,
            by,
            {"testedOn": "2031-05-02"},
            {"legitimate-interest": {"method": "bms-readout", "soce": 84.5, "grade": "reuse"}},
        )

    def document(self, passport: str, by: str) -> Submission:
        return self.build(
            "DocumentAttached",
            passport,
            by,
            {"documentHash": records.digest(b"%PDF report"), "mediaType": "application/pdf"},
            {"legitimate-interest": {"documentType": "test-report", "title": "Report"}},
        )

    def succeeded(self, passport: str, by: str, successor: str = SUCCESSOR) -> Submission:
        return self.build("PassportSucceeded", passport, by, {"successor": successor})

    def recycled(self, passport: str, by: str = "recycler") -> Submission:
        return self.build(
            "Recycled", passport, by, {}, {"legitimate-interest": {"inputMass": 450.0}}
        )

    def typical(self, kind: str, passport: str, by: str) -> Submission:
        """A plain record of battery ``kind`` by ``by`` (a transfer from ``by`` to another)."""
        match kind:
            case "PassportIssued":
                return self.issue(passport, by)
            case "CustodyTransfer":
                return self.transfer(passport, by, "dismantler" if by != "dismantler" else "lab")
            case "DiagnosticTest":
                return self.diagnostic(passport, by)
            case "Shipment":
                return self.shipment(passport, by)
            case "ShipmentReceived":
                return self.received(passport, by)
            case "StatusChange":
                return self.status_change(passport, by, "waste")
            case "DocumentAttached":
                return self.document(passport, by)
            case "PassportSucceeded":
                return self.succeeded(passport, by)
            case "Recycled":
                return self.recycled(passport, by)
        raise AssertionError(kind)


def cast_world() -> World:
    world = World()
    world.accept(world.bootstrap())
    for name, roles in CAST.items():
        world.accept(world.registration(name, roles))
    return world


@pytest.fixture
def world() -> World:
    """The operator and the cast, registered."""
    return cast_world()


@pytest.fixture
def issued(world: World) -> World:
    """The cast, and PASSPORT issued by the maker (its custodian, status original)."""
    world.accept(world.issue(PASSPORT))
    return world


def passport_in(world: World, status: str) -> tuple[str, str]:
    """A passport in ``status``, reached through the rules, and its custodian's name."""
    world.accept(world.issue(PASSPORT))
    if status in ("original", "re-used", "waste"):
        if status != "original":
            world.accept(world.status_change(PASSPORT, "maker", status))
        return PASSPORT, "maker"
    issuer = {"repurposed": "repurposer", "remanufactured": "remanufacturer"}[status]
    world.accept(world.transfer(PASSPORT, "maker", issuer))
    world.accept(world.successor(SUCCESSOR, issuer, [PASSPORT], status))
    return SUCCESSOR, issuer


# An accepted life ---------------------------------------------------------------------


def test_a_battery_life_is_accepted_with_its_effects(world: World) -> None:
    head = world.accept(world.issue(PASSPORT)).head
    assert head == Head(PASSPORT, 0, head.record_hash, "PassportIssued", did("maker"), "original")
    world.accept(world.diagnostic(PASSPORT))
    assert world.accept(world.transfer(PASSPORT, "maker", "dismantler")).head.custodian == did(
        "dismantler"
    )
    shipped = world.accept(world.shipment(PASSPORT, "dismantler", "SHP-1", "recycler")).head
    assert shipped.open_shipments == {"SHP-1": did("recycler")}
    assert world.accept(world.received(PASSPORT, "recycler")).head.open_shipments == {}
    world.accept(world.transfer(PASSPORT, "dismantler", "recycler"))
    assert world.accept(world.status_change(PASSPORT, "recycler", "waste")).head.status == "waste"
    world.accept(world.document(PASSPORT, "authority"))
    final = world.accept(world.recycled(PASSPORT)).head
    assert (final.sequence, final.kind, final.closed) == (8, "Recycled", True)
    assert (final.custodian, final.status) == (did("recycler"), "waste")


# signer ---------------------------------------------------------------------------------


def test_signer_bootstrap_registers_the_operator_with_its_own_key() -> None:
    world = World()
    submission = world.bootstrap()
    effects = world.check(submission)
    assert effects.head == Head(did("operator"), 0, submission.hash, "ActorRegistered")
    assert effects.actors == [Actor(did("operator"), frozenset({"operator"}))]
    assert effects.keys == [Key(key("operator"), did("operator"))]


@pytest.mark.parametrize(
    "case",
    ["without-operator-role", "issuer-not-the-operator", "key-not-its-own"],
)
def test_signer_bootstrap_refused(case: str) -> None:
    world = World()
    submission = {
        "without-operator-role": lambda: world.bootstrap(roles=["manufacturer"]),
        "issuer-not-the-operator": lambda: world.registration(
            "operator", ["operator"], issuer="maker", signers=["operator"]
        ),
        "key-not-its-own": lambda: world.bootstrap(signers=["maker"]),
    }[case]()
    world.refuse(submission, "signer", "the first record registers the operator")


@pytest.mark.parametrize("kind", ["PassportIssued", "KeyAdded", "GradingPolicyRegistered"])
def test_signer_on_an_empty_ledger_every_key_is_unregistered(kind: str) -> None:
    world = World()
    submission = {
        "PassportIssued": lambda: world.issue(PASSPORT),
        "KeyAdded": lambda: world.key_added("maker", key("spare"), by="maker"),
        "GradingPolicyRegistered": lambda: world.policy(by="operator"),
    }[kind]()
    signer = submission.signers[0]
    world.refuse(submission, "signer", f"{signer} is not a registered key")


@pytest.mark.parametrize("proof", ["first", "cosigner"])
def test_signer_unregistered_key(issued: World, proof: str) -> None:
    if proof == "first":
        submission = issued.diagnostic(PASSPORT, by="stranger")
    else:
        submission = issued.transfer(
            PASSPORT, "maker", "dismantler", signers=["maker", "dismantler", "stranger"]
        )
    issued.refuse(submission, "signer", f"{key('stranger')} is not a registered key")


@pytest.mark.parametrize("proof", ["first", "cosigner"])
def test_signer_revoked_key(issued: World, proof: str) -> None:
    holder = "maker" if proof == "first" else "dismantler"
    issued.accept(issued.key_revoked(holder, key(holder)))
    assert issued.view.key(key(holder)) == Key(key(holder), did(holder), revoked=True)
    submission = issued.transfer(PASSPORT, "maker", "dismantler")
    issued.refuse(submission, "signer", f"{key(holder)} was revoked (earlier in the log)")


def test_signer_another_unrevoked_key_of_the_issuer_is_accepted(issued: World) -> None:
    spare = records.did_key_method(did("makerspare"))
    issued.accept(issued.key_added("maker", spare))
    issued.accept(issued.key_revoked("maker", key("maker")))
    submission = issued.status_change(PASSPORT, "maker", "waste")
    accepted = issued.accept(
        Submission(submission.kind, submission.record, submission.disclosed, [spare])
    )
    assert accepted.head.status == "waste"


def test_signer_first_proof_not_by_the_issuer(issued: World) -> None:
    submission = issued.transfer(PASSPORT, "maker", "dismantler", signers=["dismantler", "maker"])
    issued.refuse(
        submission,
        "signer",
        f"the first proof is by a key of {did('dismantler')}, not of the issuer {did('maker')}",
    )


def test_signer_key_of_no_registered_actor() -> None:
    """An inconsistent view (the rules never make one): a key whose actor is unknown."""
    world = cast_world()
    world.accept(world.issue(PASSPORT))
    world.view.keys[key("ghost")] = Key(key("ghost"), did("ghost"))
    submission = world.diagnostic(PASSPORT, by="ghost")
    world.refuse(submission, "signer", f"{key('ghost')} belongs to no registered actor")


@pytest.mark.parametrize(
    "case", ["registered-for-a-new-actor", "added-to-another-actor", "added-again-to-its-own"]
)
def test_signer_key_already_registered(world: World, case: str) -> None:
    submission = {
        "registered-for-a-new-actor": lambda: world.registration(
            "newcomer", ["manufacturer"], keys=[key("maker")]
        ),
        "added-to-another-actor": lambda: world.key_added("lab", key("maker")),
        "added-again-to-its-own": lambda: world.key_added("maker", key("maker")),
    }[case]()
    world.refuse(submission, "signer", f"{key('maker')} is already registered")


@pytest.mark.parametrize("case", ["unknown-key", "key-of-another-actor"])
def test_signer_revoking_a_key_the_actor_does_not_hold(world: World, case: str) -> None:
    revoked = key("stranger") if case == "unknown-key" else key("lab")
    submission = world.key_revoked("maker", revoked)
    world.refuse(submission, "signer", f"{revoked} is not a key of {did('maker')}")


def test_signer_revoking_a_key_twice(world: World) -> None:
    world.accept(world.key_revoked("maker", key("maker")))
    submission = world.key_revoked("maker", key("maker"))
    world.refuse(submission, "signer", f"{key('maker')} is already revoked")


def test_signer_key_added_for_an_unregistered_actor(world: World) -> None:
    """Only at sequence 0, which the KeyAdded schema forbids (sequence >= 1, previous)."""
    submission = world.key_added("stranger", key("stranger"), position=(0, None))
    world.refuse(submission, "signer", f"{did('stranger')} is not a registered actor")


def test_sequence_key_added_for_an_unregistered_actor_as_the_schema_allows(world: World) -> None:
    submission = world.key_added("stranger", key("stranger"), position=(1, ZERO_HASH))
    refusal = world.refuse(submission, "sequence", "has no records yet")
    assert isinstance(refusal, StaleRecord)


def test_signer_key_added_then_signs(issued: World) -> None:
    spare = records.did_key_method(did("labspare"))
    effects = issued.accept(issued.key_added("lab", spare))
    assert effects.keys == [Key(spare, did("lab"))]
    submission = issued.diagnostic(PASSPORT)
    issued.accept(Submission(submission.kind, submission.record, submission.disclosed, [spare]))


# role -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "by"),
    [
        ("PassportIssued", "carrier"),
        ("CustodyTransfer", "authority"),
        ("DiagnosticTest", "carrier"),
        ("DiagnosticTest", "operator"),
        ("Shipment", "insurer"),
        ("ShipmentReceived", "authority"),
        ("StatusChange", "carrier"),
        ("DocumentAttached", "insurer"),
        ("PassportSucceeded", "maker"),
        ("Recycled", "dismantler"),
    ],
)
def test_role_may_not_write_the_kind(issued: World, kind: str, by: str) -> None:
    passport = OTHER if kind == "PassportIssued" else PASSPORT
    submission = issued.typical(kind, passport, by)
    refusal = issued.refuse(submission, "role", f"{kind} needs one of the roles")
    assert f"{did(by)} has " in refusal.detail


@pytest.mark.parametrize(
    ("kind", "by"),
    [
        ("PassportIssued", "maker"),
        ("CustodyTransfer", "maker"),
        ("DiagnosticTest", "lab"),
        ("Shipment", "maker"),
        ("StatusChange", "maker"),
        ("DocumentAttached", "maker"),
    ],
)
def test_role_may_write_the_kind(issued: World, kind: str, by: str) -> None:
    passport = OTHER if kind == "PassportIssued" else PASSPORT
    issued.accept(issued.typical(kind, passport, by))


@pytest.mark.parametrize(
    "kind", ["ActorRegistered", "KeyAdded", "KeyRevoked", "GradingPolicyRegistered"]
)
def test_role_operator_only_kinds(world: World, kind: str) -> None:
    submission = {
        "ActorRegistered": lambda: world.registration("newcomer", ["recycler"], issuer="maker"),
        "KeyAdded": lambda: world.key_added("maker", key("makerspare"), by="maker"),
        "KeyRevoked": lambda: world.key_revoked("lab", key("lab"), by="maker"),
        "GradingPolicyRegistered": lambda: world.policy(by="maker"),
    }[kind]()
    world.refuse(submission, "role", f"{kind} is signed by the operator, not by {did('maker')}")


def test_role_operator_registers_an_actor_with_several_roles(world: World) -> None:
    roles = ["recycler", "carrier"]
    effects = world.accept(world.registration("newcomer", roles))
    assert effects.actors == [Actor(did("newcomer"), frozenset(roles))]
    assert effects.keys == [Key(key("newcomer"), did("newcomer"))]


def test_role_unknown_roles(world: World) -> None:
    submission = world.registration("newcomer", ["manufacturer", "wizard", "alchemist"])
    world.refuse(submission, "role", "unknown roles ['alchemist', 'wizard']")


def test_role_successor_passport_not_from_a_successor_issuer(issued: World) -> None:
    submission = issued.successor(SUCCESSOR, "maker", [PASSPORT])
    issued.refuse(
        submission, "role", "a successor passport comes from a repurposer, remanufacturer"
    )


def test_role_original_passport_not_from_a_manufacturer(world: World) -> None:
    submission = world.issue(PASSPORT, "repurposer")
    world.refuse(submission, "role", "an original passport comes from a manufacturer")


# custody ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "by"),
    [
        ("Shipment", "carrier"),
        ("StatusChange", "recycler"),
        ("PassportSucceeded", "repurposer"),
        ("Recycled", "recycler"),
    ],
)
def test_custody_bound_kind_not_from_the_custodian(issued: World, kind: str, by: str) -> None:
    submission = issued.typical(kind, PASSPORT, by)
    issued.refuse(
        submission, "custody", f"{kind} must come from the current custodian {did('maker')}"
    )
    # The custodian's own is accepted.
    issued.accept(issued.transfer(PASSPORT, "maker", by))
    if kind == "PassportSucceeded":
        issued.accept(issued.successor(SUCCESSOR, by, [PASSPORT]))
    issued.accept(issued.typical(kind, PASSPORT, by))


def test_custody_transfer_not_from_the_custodian(issued: World) -> None:
    submission = issued.transfer(PASSPORT, "lab", "dismantler")
    issued.refuse(
        submission, "custody", f"{did('lab')} is not the current custodian {did('maker')}"
    )


def test_custody_transfer_to_the_custodian_itself(issued: World) -> None:
    submission = issued.transfer(PASSPORT, "maker", "maker", signers=["maker"])
    issued.refuse(submission, "custody", "a transfer needs two different parties")


@pytest.mark.parametrize(
    ("missing", "issuer", "signer"),
    [("releasing", "dismantler", "dismantler"), ("receiving", "maker", "maker")],
)
def test_custody_transfer_without_both_parties(
    issued: World, missing: str, issuer: str, signer: str
) -> None:
    submission = issued.transfer(PASSPORT, "maker", "dismantler", issuer=issuer, signers=[signer])
    party = did("maker") if missing == "releasing" else did("dismantler")
    issued.refuse(submission, "custody", f"the {missing} party {party} has not signed")


@pytest.mark.parametrize("issuer", ["maker", "dismantler"])
def test_custody_transfer_signed_by_both_parties_moves_custody(issued: World, issuer: str) -> None:
    submission = issued.transfer(PASSPORT, "maker", "dismantler", issuer=issuer)
    assert issued.accept(submission).head.custodian == did("dismantler")


def test_custody_successor_not_from_the_predecessor_s_custodian(issued: World) -> None:
    submission = issued.successor(SUCCESSOR, "repurposer", [PASSPORT])
    issued.refuse(
        submission,
        "custody",
        f"a successor comes from the custodian of predecessor {PASSPORT} ({did('maker')})",
    )


def test_custody_shipment_received_not_by_the_consignee(issued: World) -> None:
    issued.accept(issued.shipment(PASSPORT, "maker", "SHP-1", consignee="dismantler"))
    submission = issued.received(PASSPORT, "carrier")
    issued.refuse(submission, "custody", "shipment SHP-1 is received by its consignee only")
    head = issued.accept(issued.received(PASSPORT, "dismantler")).head
    assert head.open_shipments == {}


def test_custody_diagnostic_test_not_from_a_test_lab_or_the_custodian(issued: World) -> None:
    submission = issued.diagnostic(PASSPORT, "dismantler")
    issued.refuse(submission, "custody", "a DiagnosticTest comes from a test lab or the custodian")


@pytest.mark.parametrize("by", ["lab", "dismantler-as-custodian"])
def test_custody_diagnostic_test_from_a_test_lab_or_the_custodian(issued: World, by: str) -> None:
    if by == "dismantler-as-custodian":
        issued.accept(issued.transfer(PASSPORT, "maker", "dismantler"))
        by = "dismantler"
    issued.accept(issued.diagnostic(PASSPORT, by))


def test_custody_document_not_from_the_custodian_or_an_authority(issued: World) -> None:
    submission = issued.document(PASSPORT, "lab")
    issued.refuse(submission, "custody", "documents come from the custodian or an authority")


@pytest.mark.parametrize("by", ["authority", "maker"])
def test_custody_document_from_the_custodian_or_an_authority(issued: World, by: str) -> None:
    issued.accept(issued.document(PASSPORT, by))


# sequence ---------------------------------------------------------------------------------


def test_sequence_first_record_not_at_zero(world: World) -> None:
    submission = world.build(
        "PassportIssued", PASSPORT, "maker", dict(BATTERY), position=(1, ZERO_HASH)
    )
    refusal = world.refuse(
        submission, "sequence", f"{PASSPORT} has no records yet: its first record has sequence 0"
    )
    assert isinstance(refusal, StaleRecord)
    assert (refusal.head_sequence, refusal.head_hash) == (None, None)


@pytest.mark.parametrize(
    "case", ["replayed-position", "behind-the-head", "gap", "wrong-previous", "no-previous"]
)
def test_sequence_not_the_head_s_successor(issued: World, case: str) -> None:
    first = issued.view.heads[PASSPORT].record_hash
    issued.accept(issued.diagnostic(PASSPORT))
    head = issued.view.heads[PASSPORT]
    position: tuple[int, str | None] = {
        "replayed-position": (0, None),
        "behind-the-head": (1, first),
        "gap": (3, head.record_hash),
        "wrong-previous": (2, first),
        "no-previous": (2, None),
    }[case]
    submission = issued.build(
        "StatusChange",
        PASSPORT,
        "maker",
        {},
        {"legitimate-interest": {"status": "waste"}},
        position=position,
    )
    refusal = issued.refuse(
        submission, "sequence", f"{PASSPORT} is at sequence 1 ({head.record_hash})"
    )
    assert isinstance(refusal, StaleRecord)
    assert (refusal.head_sequence, refusal.head_hash) == (1, head.record_hash)


def test_sequence_an_actor_registered_again_is_stale(world: World) -> None:
    head = world.view.heads[did("maker")]
    submission = world.registration("maker", ["manufacturer"], position=(0, None))
    refusal = world.refuse(submission, "sequence", f"{did('maker')} is at sequence 0")
    assert isinstance(refusal, StaleRecord)
    assert (refusal.head_sequence, refusal.head_hash) == (0, head.record_hash)


@pytest.mark.parametrize(
    ("kind", "by"),
    [
        ("CustodyTransfer", "maker"),
        ("DiagnosticTest", "lab"),
        ("Shipment", "maker"),
        ("ShipmentReceived", "recycler"),
        ("StatusChange", "maker"),
        ("DocumentAttached", "authority"),
        ("PassportSucceeded", "repurposer"),
        ("Recycled", "recycler"),
    ],
)
def test_sequence_a_passport_starts_with_passport_issued(world: World, kind: str, by: str) -> None:
    submission = world.typical(kind, PASSPORT, by)
    world.refuse(submission, "sequence", f"a passport starts with PassportIssued, not {kind}")


def test_sequence_passport_issued_on_an_existing_passport(issued: World) -> None:
    submission = issued.issue(PASSPORT)  # at the head's successor position
    issued.refuse(submission, "sequence", "PassportIssued starts a passport; this one exists")


# status -----------------------------------------------------------------------------------

STATUSES = ("original", "repurposed", "re-used", "remanufactured", "waste")
ALLOWED = [
    ("original", "re-used"),
    ("original", "waste"),
    ("re-used", "waste"),
    ("repurposed", "re-used"),
    ("repurposed", "waste"),
    ("remanufactured", "re-used"),
    ("remanufactured", "waste"),
]
"""docs/ledger.md: original -> re-used | waste; re-used -> waste; repurposed |
remanufactured -> re-used | waste."""
FORBIDDEN = [pair for pair in itertools.product(STATUSES, STATUSES) if pair not in ALLOWED]


def transition_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-to-{pair[1]}"


@pytest.mark.parametrize("transition", ALLOWED, ids=transition_id)
def test_status_allowed_transition(world: World, transition: tuple[str, str]) -> None:
    before, after = transition
    passport, custodian = passport_in(world, before)
    assert world.view.heads[passport].status == before
    head = world.accept(world.status_change(passport, custodian, after)).head
    assert (head.status, head.custodian) == (after, did(custodian))


@pytest.mark.parametrize("transition", FORBIDDEN, ids=transition_id)
def test_status_forbidden_transition(world: World, transition: tuple[str, str]) -> None:
    before, after = transition
    passport, custodian = passport_in(world, before)
    submission = world.status_change(passport, custodian, after)
    world.refuse(submission, "status", f"status {before} cannot become {after}")


@pytest.mark.parametrize(
    ("case", "by", "predecessors", "status"),
    [
        ("original-successor", "repurposer", [PASSPORT], "original"),
        ("successor-without-status", "repurposer", [PASSPORT], None),
        ("new-battery-not-original", "maker", [], "repurposed"),
    ],
)
def test_status_a_new_passport_s_first_status(
    issued: World, case: str, by: str, predecessors: list[str], status: str | None
) -> None:
    issued.accept(issued.transfer(PASSPORT, "maker", "repurposer"))
    submission = issued.issue(SUCCESSOR, by, predecessors=predecessors, status=status)
    issued.refuse(submission, "status", "a new battery's passport starts as original")


@pytest.mark.parametrize("status", ["repurposed", "re-used", "remanufactured"])
def test_status_a_successor_starts_in_its_status(issued: World, status: str) -> None:
    issued.accept(issued.transfer(PASSPORT, "maker", "remanufacturer"))
    head = issued.accept(issued.successor(SUCCESSOR, "remanufacturer", [PASSPORT], status)).head
    assert (head.status, head.custodian, head.predecessors) == (
        status,
        did("remanufacturer"),
        (PASSPORT,),
    )


# closed -----------------------------------------------------------------------------------


def close(world: World, closing: str) -> str:
    """PASSPORT closed by ``closing``; returns its custodian's name."""
    if closing == "Recycled":
        world.accept(world.transfer(PASSPORT, "maker", "recycler"))
        head = world.accept(world.recycled(PASSPORT)).head
        custodian = "recycler"
    else:
        world.accept(world.transfer(PASSPORT, "maker", "repurposer"))
        world.accept(world.successor(SUCCESSOR, "repurposer", [PASSPORT]))
        head = world.accept(world.succeeded(PASSPORT, "repurposer")).head
        custodian = "repurposer"
    assert (head.kind, head.closed) == (closing, True)
    return custodian


@pytest.mark.parametrize("closing", ["Recycled", "PassportSucceeded"])
@pytest.mark.parametrize("following", ["DocumentAttached", "StatusChange", "CustodyTransfer"])
def test_closed_nothing_follows(issued: World, closing: str, following: str) -> None:
    custodian = close(issued, closing)
    by = "authority" if following == "DocumentAttached" else custodian
    submission = issued.typical(following, PASSPORT, by)
    issued.refuse(
        submission, "closed", f"passport {PASSPORT} is closed by {closing}: nothing follows it"
    )


# successor --------------------------------------------------------------------------------


def test_successor_predecessor_does_not_exist(world: World) -> None:
    submission = world.successor(SUCCESSOR, "repurposer", [NOWHERE])
    world.refuse(submission, "successor", f"predecessor {NOWHERE} does not exist")


def test_successor_predecessor_is_closed(issued: World) -> None:
    close(issued, "Recycled")
    submission = issued.successor(SUCCESSOR, "repurposer", [PASSPORT])
    issued.refuse(submission, "successor", f"predecessor {PASSPORT} is closed")


def test_successor_of_several_predecessors_is_accepted(issued: World) -> None:
    issued.accept(issued.issue(OTHER))
    issued.accept(issued.transfer(PASSPORT, "maker", "dismantler"))
    issued.accept(issued.transfer(OTHER, "maker", "dismantler"))
    head = issued.accept(issued.successor(SUCCESSOR, "dismantler", [PASSPORT, OTHER])).head
    assert head.predecessors == (PASSPORT, OTHER)


def test_successor_passport_succeeded_by_a_passport_that_does_not_exist(issued: World) -> None:
    issued.accept(issued.transfer(PASSPORT, "maker", "repurposer"))
    submission = issued.succeeded(PASSPORT, "repurposer", successor=NOWHERE)
    issued.refuse(submission, "successor", f"successor {NOWHERE} does not exist")


def test_successor_passport_succeeded_by_one_that_does_not_list_it(issued: World) -> None:
    issued.accept(issued.issue(OTHER))
    issued.accept(issued.transfer(PASSPORT, "maker", "repurposer"))
    issued.accept(issued.transfer(OTHER, "maker", "repurposer"))
    issued.accept(issued.successor(SUCCESSOR, "repurposer", [OTHER]))
    submission = issued.succeeded(PASSPORT, "repurposer")
    issued.refuse(submission, "successor", f"{SUCCESSOR} does not name {PASSPORT} as predecessor")
    head = issued.accept(issued.succeeded(OTHER, "repurposer")).head
    assert (head.kind, head.closed) == ("PassportSucceeded", True)


# shipment ---------------------------------------------------------------------------------


def test_shipment_second_with_an_open_id(issued: World) -> None:
    issued.accept(issued.shipment(PASSPORT, "maker", "SHP-1"))
    submission = issued.shipment(PASSPORT, "maker", "SHP-1", consignee="dismantler")
    issued.refuse(submission, "shipment", "shipment SHP-1 is already open")
    head = issued.accept(issued.shipment(PASSPORT, "maker", "SHP-2", consignee="dismantler")).head
    assert head.open_shipments == {"SHP-1": did("recycler"), "SHP-2": did("dismantler")}


@pytest.mark.parametrize("case", ["never-shipped", "received-already", "another-id"])
def test_shipment_received_for_no_open_shipment(issued: World, case: str) -> None:
    if case != "never-shipped":
        issued.accept(issued.shipment(PASSPORT, "maker", "SHP-1"))
    if case == "received-already":
        issued.accept(issued.received(PASSPORT, "recycler", "SHP-1"))
    shipment = "SHP-2" if case == "another-id" else "SHP-1"
    submission = issued.received(PASSPORT, "recycler", shipment)
    issued.refuse(submission, "shipment", f"no open shipment {shipment} on this passport")


# policy -----------------------------------------------------------------------------------


def test_policy_registered_by_the_operator(world: World) -> None:
    submission = world.policy()
    effects = world.accept(submission)
    registration = Registration(
        "acme-strict",
        "2025.1",
        policy_digest(POLICY),
        submission.hash,
        jcs.canonicalize(POLICY),
        VALID_FROM,
    )
    assert effects.policies == [registration]
    assert effects.head.subject_id == records.policy_chain("acme-strict")
    assert world.view.policy(("acme-strict", "2025.1")) == registration
    # Another version of the same policy: the next record of its chain.
    assert world.accept(world.policy(version="2025.2")).head.sequence == 1


@pytest.mark.parametrize("registered", ["on-the-log", "off-the-log"])
def test_policy_version_registered_with_other_content(world: World, registered: str) -> None:
    if registered == "on-the-log":
        world.accept(world.policy())
    else:
        world.view.policies["acme-strict", "2025.1"] = Registration(
            "acme-strict", "2025.1", policy_digest(POLICY), None
        )
    submission = world.policy(description="reuse from 80 % SoH")
    new_digest = submission.record["credentialSubject"]["digest"]
    world.refuse(
        submission,
        "policy",
        f"grading policy acme-strict version 2025.1 is registered with digest "
        f"{policy_digest(POLICY)}; this one has digest {new_digest}",
    )


def test_policy_version_registered_again(world: World) -> None:
    first = world.policy()
    world.accept(first)
    submission = world.policy()
    world.refuse(
        submission,
        "policy",
        f"grading policy acme-strict version 2025.1 is registered already (record {first.hash})",
    )


def test_policy_registered_off_the_log_is_put_on_it(world: World) -> None:
    """A registration from before registrations were records: the same content again is
    accepted, and the registration gets its record."""
    world.view.policies["acme-strict", "2025.1"] = Registration(
        "acme-strict", "2025.1", policy_digest(POLICY), None
    )
    submission = world.policy()
    effects = world.accept(submission)
    assert effects.policies[0].record_hash == submission.hash
    assert world.view.policy(("acme-strict", "2025.1")) == effects.policies[0]

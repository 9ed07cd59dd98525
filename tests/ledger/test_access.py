"""Who reads which disclosure: every group of every record version against every reader
role (Art. 77(2), Annex XIII), parties reading their business data, and nobody else.

The expected table is written out here from the regulation, not read from the module."""

from __future__ import annotations

from typing import Any

import pytest

import schemas
from ledger.core import access
from ledger.core.access import Reader

OPERATOR = "did:key:z6MkOperator"
DISMANTLER = "did:key:z6MkDismantler"
RECYCLER = "did:key:z6MkRecycler"
STRANGER = "did:key:z6MkStranger"

# group (version) -> the roles that read it. Annex XIII point 2 (circularity): persons
# with a legitimate interest and the authorities; point 3 (compliance): notified bodies,
# market surveillance, the Commission; point 4 (performance): legitimate interest only.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("v2", "circularity"): {
        "legitimate-interest",
        "notified-body",
        "market-surveillance",
        "commission",
        "operator",
    },
    ("v2", "compliance"): {"notified-body", "market-surveillance", "commission", "operator"},
    ("v2", "performance"): {"legitimate-interest", "operator"},
    ("v2", "business"): {"market-surveillance", "commission", "operator"},
    ("v1", "legitimate-interest"): {"legitimate-interest", "operator"},
    ("v1", "authority"): {"notified-body", "market-surveillance", "commission", "operator"},
}


def record(version: str, kind: str = "CustodyTransfer", **subject: Any) -> dict[str, Any]:
    return {
        "@context": schemas.context_of(version),
        "type": ["VerifiableCredential", kind],
        "issuer": OPERATOR if kind == "ActorRegistered" else DISMANTLER,
        "credentialSubject": {"id": "urn:bpl:passport:x", "sequence": 1, **subject},
    }


def test_the_table_covers_every_restricted_group_of_every_version() -> None:
    every = {(v, g) for v in schemas.VERSIONS for g in schemas.restricted_groups(v)}
    assert set(EXPECTED) == every


@pytest.mark.parametrize("role", access.READER_ROLES)
@pytest.mark.parametrize(("version", "group"), sorted(EXPECTED))
def test_each_role_reads_exactly_the_groups_the_law_gives_it(
    version: str, group: str, role: str
) -> None:
    reader = Reader(frozenset({role}), did=STRANGER)
    disclosed = {group: {"group": group}}
    shown = access.readable(reader, record(version), disclosed)
    assert (group in shown) == (role in EXPECTED[(version, group)])


@pytest.mark.parametrize(("version", "group"), sorted(EXPECTED))
def test_the_public_reads_no_restricted_group(version: str, group: str) -> None:
    assert access.readable(access.PUBLIC, record(version), {group: {"group": group}}) == {}


def test_roles_add_up() -> None:
    reader = Reader(frozenset({"legitimate-interest", "notified-body"}))
    disclosed = {g: {"group": g} for g in schemas.restricted_groups("v2")}
    assert set(access.readable(reader, record("v2"), disclosed)) == {
        "circularity",
        "compliance",
        "performance",
    }


@pytest.mark.parametrize(
    ("subject", "disclosure", "party"),
    [
        ({"from": DISMANTLER, "to": RECYCLER}, {}, RECYCLER),  # the receiving party
        ({"from": RECYCLER, "to": STRANGER}, {}, DISMANTLER),  # the issuer
        ({"carrier": RECYCLER}, {}, RECYCLER),
        ({}, {"consignee": RECYCLER}, RECYCLER),
        ({}, {"consignor": RECYCLER}, RECYCLER),
    ],
)
def test_a_party_reads_its_records_business_data(
    subject: dict[str, str], disclosure: dict[str, str], party: str
) -> None:
    disclosed = {"business": {"group": "business", **disclosure}}
    shown = access.readable(Reader(did=party), record("v2", **subject), disclosed)
    assert set(shown) == {"business"}


def test_a_stranger_reads_no_business_data_and_a_party_nothing_else() -> None:
    disclosed = {
        "business": {"group": "business"},
        "performance": {"group": "performance"},
    }
    rec = record("v2", **{"from": DISMANTLER, "to": RECYCLER})
    assert access.readable(Reader(did=STRANGER), rec, disclosed) == {}
    assert set(access.readable(Reader(did=RECYCLER), rec, disclosed)) == {"business"}


def test_an_actor_reads_its_own_registration() -> None:
    rec = record("v2", "ActorRegistered", id=RECYCLER)
    disclosed = {"business": {"group": "business", "name": "A. Person"}}
    assert set(access.readable(Reader(did=RECYCLER), rec, disclosed)) == {"business"}
    assert access.readable(Reader(did=STRANGER), rec, disclosed) == {}


def test_a_v1_public_profile_is_read_by_anyone() -> None:
    rec = record("v1", "ActorRegistered", id=RECYCLER, publicProfile=True)
    disclosed = {"legitimate-interest": {"group": "legitimate-interest", "name": "Recycler"}}
    assert set(access.readable(access.PUBLIC, rec, disclosed)) == {"legitimate-interest"}
    private = record("v1", "ActorRegistered", id=RECYCLER, publicProfile=False)
    assert access.readable(access.PUBLIC, private, disclosed) == {}


def test_an_actor_reads_with_its_registered_roles() -> None:
    reader = Reader.of_actor(RECYCLER, {"recycler", "legitimate-interest"})
    assert reader.roles == {"legitimate-interest"}
    assert reader.did == RECYCLER
    # v1 had one "authority" role: it reads as market surveillance.
    assert Reader.of_actor(STRANGER, {"authority"}).roles == {"market-surveillance"}


def test_unknown_reader_roles_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown reader roles"):
        Reader(frozenset({"authority"}))


def test_an_unknown_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a restricted group"):
        access.readers("v2", "legitimate-interest")

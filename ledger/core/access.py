"""Who may read which disclosure (Art. 77(2) and Annex XIII of Regulation (EU) 2023/1542).

A record's public part is on the public log; each restricted group travels as a
disclosure that the ledger serves only to the readers this module names (ADR 0016):

========================  =========================================================
group (record version)    readers
========================  =========================================================
circularity (v2)          Annex XIII point 2: legitimate interest, notified bodies,
                          market surveillance, the Commission
compliance (v2)           Annex XIII point 3: notified bodies, market surveillance,
                          the Commission
performance (v2)          Annex XIII point 4: legitimate interest
business (v2)             not Annex XIII (custody reasons and places, consignors,
                          consignees, prices, private persons' names): the record's
                          parties, market surveillance and the Commission
legitimate-interest (v1)  v1 merged points 2 and 4: legitimate interest only (point 4
                          is not the authorities' to read)
authority (v1)            point 3: notified bodies, market surveillance, the Commission
========================  =========================================================

The ``operator`` role (who runs the ledger and holds every disclosure anyway) reads every
group. Who counts as having a legitimate interest is not defined by the Commission yet: it
is a role the operator grants to registered actors, not a rule written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import schemas

LEGITIMATE_INTEREST = "legitimate-interest"
NOTIFIED_BODY = "notified-body"
MARKET_SURVEILLANCE = "market-surveillance"
COMMISSION = "commission"
OPERATOR = "operator"
AUTHORITIES = frozenset({NOTIFIED_BODY, MARKET_SURVEILLANCE, COMMISSION})
READER_ROLES: tuple[str, ...] = (
    LEGITIMATE_INTEREST,
    NOTIFIED_BODY,
    MARKET_SURVEILLANCE,
    COMMISSION,
    OPERATOR,
)
"""The roles that widen what a reader sees; anyone reads the public part."""

_READERS: Mapping[tuple[str, str], frozenset[str]] = {
    ("v1", "legitimate-interest"): frozenset({LEGITIMATE_INTEREST, OPERATOR}),
    ("v1", "authority"): AUTHORITIES | {OPERATOR},
    ("v2", "circularity"): AUTHORITIES | {LEGITIMATE_INTEREST, OPERATOR},
    ("v2", "compliance"): AUTHORITIES | {OPERATOR},
    ("v2", "performance"): frozenset({LEGITIMATE_INTEREST, OPERATOR}),
    ("v2", "business"): frozenset({MARKET_SURVEILLANCE, COMMISSION, OPERATOR}),
}
PARTY_GROUPS = frozenset({("v2", "business")})
"""Groups the record's own parties read too, whatever their roles."""
_PARTY_FIELDS = ("from", "to", "carrier", "consignor", "consignee")
_ACTOR_ROLE_READS: Mapping[str, frozenset[str]] = {
    # A v1 actor registered as "authority" reads as a market surveillance authority: the
    # one v1 meant; notified bodies and the Commission are registered as such from v2.
    "authority": frozenset({MARKET_SURVEILLANCE}),
}


@dataclass(frozen=True)
class Reader:
    """Who asks: the reader roles they hold and, when known, their DID (a party to a
    record reads that record's business data)."""

    roles: frozenset[str] = frozenset()
    did: str | None = None

    def __post_init__(self) -> None:
        unknown = self.roles - set(READER_ROLES)
        if unknown:
            raise ValueError(
                f"unknown reader roles {sorted(unknown)} (known: {', '.join(READER_ROLES)})"
            )

    @classmethod
    def of_actor(cls, did: str, actor_roles: frozenset[str] | set[str]) -> Reader:
        """The reader a registered actor is: its reader roles (v1's ``authority`` reads as
        market surveillance) and its DID."""
        roles = set(actor_roles) & set(READER_ROLES)
        for role in actor_roles:
            roles |= _ACTOR_ROLE_READS.get(role, frozenset())
        return cls(frozenset(roles), did)


PUBLIC = Reader()
"""Anyone: the public part of every record, and nothing else."""


def readers(version: str, group: str) -> frozenset[str]:
    """The reader roles that may read ``group`` of a record of ``version``."""
    try:
        return _READERS[(version, group)]
    except KeyError:
        raise ValueError(f"{group!r} is not a restricted group of version {version}") from None


def parties(
    record: Mapping[str, Any], disclosed: Mapping[str, Mapping[str, Any]]
) -> frozenset[str]:
    """The DIDs a record is about or made by: its issuer, the parties it names (custody
    giver and taker, carrier, consignor, consignee) and, for an actor's record, the actor."""
    subject = record.get("credentialSubject", {})
    found = {record.get("issuer")}
    subject_id = subject.get("id")
    if isinstance(subject_id, str) and subject_id.startswith("did:"):
        found.add(subject_id)
    for source in (subject, *disclosed.values()):
        found.update(source.get(name) for name in _PARTY_FIELDS)
    return frozenset(did for did in found if isinstance(did, str))


def may_read(
    reader: Reader,
    record: Mapping[str, Any],
    group: str,
    disclosed: Mapping[str, Mapping[str, Any]],
) -> bool:
    """Whether ``reader`` may read the ``group`` disclosure of ``record`` (whose stored
    disclosures are ``disclosed``)."""
    version = schemas.version_of(record)
    if not reader.roles.isdisjoint(readers(version, group)):
        return True
    if version == "v1" and group == "legitimate-interest" and _public_profile(record):
        return True
    if (version, group) in PARTY_GROUPS and reader.did is not None:
        return reader.did in parties(record, disclosed)
    return False


def readable(
    reader: Reader,
    record: Mapping[str, Any],
    disclosed: Mapping[str, Mapping[str, Any]],
) -> dict[str, Mapping[str, Any]]:
    """The disclosures of ``record`` that ``reader`` may read, by group."""
    return {
        group: body
        for group, body in disclosed.items()
        if may_read(reader, record, group, disclosed)
    }


def _public_profile(record: Mapping[str, Any]) -> bool:
    """A v1 actor that asked for a public profile: its name, address and contact (the
    legitimate-interest disclosure of its ActorRegistered) are served to anyone."""
    types = record.get("type")
    subject = record.get("credentialSubject", {})
    return (
        isinstance(types, list)
        and "ActorRegistered" in types
        and subject.get("publicProfile") is True
    )


OPERATOR_READER = Reader(frozenset({OPERATOR}))
"""The ledger's operator: every disclosure (the operator stores them all)."""

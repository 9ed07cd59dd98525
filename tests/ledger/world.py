"""A small world for ledger tests: an operator, actors with keys, and helpers that build,
sign and submit records the way a dismantler's tools do. Its battery records are in
record format v1 (still admitted: ADR 0016); test_passports_v2.py covers v2 end to end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.core import contexts, grading, records
from ledger.facade import Ledger, Receipt
from signing import keys, proofs

MANUFACTURED = {
    "batteryId": "https://id.example.com/01/09506000134352/21/SN-0001",
    "category": "EV",
    "chemistry": "NMC811",
    "manufacturer": "",  # filled with the manufacturer's DID
    "manufacturedAt": "Gliwice, PL",
    "manufacturedOn": "2024-03-14",
    "mass": 450.0,
    "ratedCapacity": 200.0,
    "ratedEnergy": 75.0,
}
TEST_MEASURES = {
    "method": "bms-readout",
    "soce": 84.5,
    "damaged": False,
    "accidents": 0,
    "overchargeEvents": 0,
    "cellSohSpread": 2.0,
    "grade": "reuse",
    "gradingPolicy": grading.policy_ref(grading.load_policy()),  # bpl-default version 1
}

STRICT_POLICY: dict[str, Any] = {
    "id": "acme-strict",
    "version": "2025.1",
    "description": "reuse only from 85 % SoH",
    "stateOfHealth": ["soce", "remainingCapacity/ratedCapacity"],
    "grades": [
        {"grade": "reuse", "minSoh": 85},
        {"grade": "repurpose", "minSoh": 65},
        {"grade": "recycle"},
    ],
    "knockOuts": [
        {"measure": "damaged", "op": "==", "value": True, "excludes": ["reuse", "repurpose"]}
    ],
}
"""A ledger's own grading policy: TEST_MEASURES (soce 84.5) are repurpose under it."""


def policy_ref(document: Mapping[str, Any]) -> dict[str, str]:
    """The ``gradingPolicy`` value naming the policy ``document``: id, version, digest."""
    return grading.policy_ref(grading.parse_policy(json.dumps(document).encode(), "test"))


STRICT_MEASURES = dict(TEST_MEASURES, grade="repurpose", gradingPolicy=policy_ref(STRICT_POLICY))


def policy_file(directory: Path, document: Mapping[str, Any] = STRICT_POLICY) -> Path:
    """``document`` written as a policy file in ``directory`` (named by its id and version)."""
    path = directory / f"{document['id']}-{document['version']}.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


@dataclass
class World:
    ledger: Ledger
    operator: keys.KeyPair
    actors: dict[str, keys.KeyPair] = field(default_factory=dict)

    def add(self, name: str, *roles: str) -> keys.KeyPair:
        key = keys.generate()
        self.ledger.register_actor(self.operator, key.did, roles, name=name.title())
        self.actors[name] = key
        return key

    def record(
        self,
        kind: str,
        subject_id: str,
        signer: str | keys.KeyPair,
        public: Mapping[str, Any] | None = None,
        restricted: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        cosigners: Sequence[str] = (),
        position: tuple[int, str | None] | None = None,
    ) -> dict[str, Any]:
        """A signed submission (record and disclosures) at the chain's next position."""
        key = self.actors[signer] if isinstance(signer, str) else signer
        sequence, previous = position or self.ledger.next_position(subject_id)
        record, disclosures = records.build(
            kind, subject_id, sequence, previous, key.did, public or {}, restricted, version="v1"
        )
        signed = proofs.sign(record, key, loader=contexts.loader())
        for name in cosigners:
            signed = proofs.sign(signed, self.actors[name], loader=contexts.loader())
        return {"record": signed, "disclosures": disclosures}

    def submit(self, *args: Any, **kwargs: Any) -> Receipt:
        return self.ledger.append(self.record(*args, **kwargs))

    def issue(self, passport: str, manufacturer: str = "maker") -> Receipt:
        return self.ledger.append(self.issued_record(passport, manufacturer))

    def issued_record(self, passport: str, manufacturer: str = "maker") -> dict[str, Any]:
        """A signed PassportIssued of a new battery, not appended."""
        public = dict(MANUFACTURED, manufacturer=self.actors[manufacturer].did)
        return self.record(
            "PassportIssued",
            passport,
            manufacturer,
            public,
            {"legitimate-interest": {"status": "original"}},
        )

    def transfer(self, passport: str, giver: str, taker: str, reason: str = "sale") -> Receipt:
        return self.ledger.append(self.transfer_record(passport, giver, taker, reason))

    def transfer_record(
        self,
        passport: str,
        giver: str,
        taker: str,
        reason: str = "sale",
        *,
        position: tuple[int, str | None] | None = None,
    ) -> dict[str, Any]:
        """A CustodyTransfer signed by both parties, not appended."""
        return self.record(
            "CustodyTransfer",
            passport,
            giver,
            {"from": self.actors[giver].did, "to": self.actors[taker].did},
            {"legitimate-interest": {"reason": reason}},
            cosigners=[taker],
            position=position,
        )

    def diagnostic(
        self, passport: str, measures: Mapping[str, Any], lab: str = "lab"
    ) -> dict[str, Any]:
        """A signed DiagnosticTest of ``passport`` with ``measures`` (not submitted)."""
        return self.record(
            "DiagnosticTest",
            passport,
            lab,
            {"testedOn": "2031-05-02"},
            {"legitimate-interest": measures},
        )


def document_hash(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()

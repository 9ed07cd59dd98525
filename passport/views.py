"""What a passport shows a reader: its state derived from its chain, its model's data, the
disclosures the reader may read, its predecessors and successors (ADR 0017).

Everything restricted comes from ``Ledger.disclosures(hash, reader)``, which returns only
the groups the reader's roles (and, for business data, its DID) may read. The one
restricted value the ledger also keeps outside a disclosure is a chain head's ``status``
(Annex XIII point 4, read by persons with a legitimate interest only): it is shown only
to a reader who may read the record's performance group (v1: legitimate-interest).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ledger.core import access
from ledger.core.access import Reader
from ledger.errors import LedgerError
from ledger.facade import Ledger
from ledger.log import checkpoint
from signing import proofs
from signing.errors import SigningError

V1_CONTEXT = "https://w3id.org/bpl/v1"
VIEW_VOCAB = "https://w3id.org/bpl/view#"
PASSPORT_PREFIX = "urn:bpl:passport:"
MAX_CHAIN_RECORDS = 10_000
"""Records a passport page reads (in pages of 1,000); a longer chain is cut, and says so."""
_PAGE = 1000
_SKIP = frozenset({"id", "sequence", "previous", "disclosures"})


def version_of(record: Mapping[str, Any]) -> str:
    context = record.get("@context")
    return "v1" if isinstance(context, list) and V1_CONTEXT in context else "v2"


def kind_of(record: Mapping[str, Any]) -> str:
    types = record.get("type")
    if isinstance(types, list):
        named = [t for t in types if t != "VerifiableCredential"]
        if named and isinstance(named[0], str):
            return named[0]
    return "Unknown"


def subject(record: Mapping[str, Any]) -> dict[str, Any]:
    found = record.get("credentialSubject")
    return dict(found) if isinstance(found, dict) else {}


def may_read_status(reader: Reader, issued: Mapping[str, Any]) -> bool:
    """Whether ``reader`` may see a passport's status: Annex XIII point 4."""
    group = "legitimate-interest" if version_of(issued) == "v1" else "performance"
    return access.may_read(reader, issued, group, {})


@dataclass
class ChainEntry:
    record: dict[str, Any]
    record_hash: str
    disclosures: dict[str, dict[str, Any]]

    @property
    def kind(self) -> str:
        return kind_of(self.record)

    @property
    def digests(self) -> dict[str, str]:
        found = subject(self.record).get("disclosures")
        return dict(found) if isinstance(found, dict) else {}

    def summary(self) -> dict[str, Any]:
        """The record as a passport lists it: public fields, the disclosures shown and
        the groups withheld (present, proven by their digests)."""
        public = {k: v for k, v in subject(self.record).items() if k not in _SKIP}
        return {
            "recordHash": self.record_hash,
            "kind": self.kind,
            "sequence": subject(self.record).get("sequence"),
            "issuer": self.record.get("issuer"),
            "validFrom": self.record.get("validFrom"),
            "public": public,
            "disclosures": self.disclosures,
            "withheld": sorted(set(self.digests) - set(self.disclosures)),
        }


@dataclass
class PassportView:
    passport_id: str
    issued: dict[str, Any]
    chain: list[ChainEntry]
    head: Any
    show_status: bool
    truncated: bool
    model: dict[str, Any] | None
    successors: list[str] = field(default_factory=list)

    @property
    def lifecycle(self) -> str:
        if self.successors:
            return "succeeded"
        return "closed" if self.head.closed else "live"

    @property
    def battery_id(self) -> str | None:
        value = subject(self.issued).get("batteryId")
        return value if isinstance(value, str) else None

    def state(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "lifecycle": self.lifecycle,
            "closed": bool(self.head.closed),
            "sequence": self.head.sequence,
            "head": self.head.record_hash,
            "custodian": self.head.custodian,
            "predecessors": list(self.head.predecessors),
            "successors": self.successors,
        }
        if self.show_status:
            found["status"] = self.head.status
        return found

    def document(self, base: str) -> dict[str, Any]:
        """The JSON-LD view (``base``: the service's URL, no trailing slash)."""
        pid = self.passport_id
        issued = {k: v for k, v in subject(self.issued).items() if k not in _SKIP}
        return {
            "@context": [
                *records_context(self.issued),
                {"@vocab": VIEW_VOCAB},
            ],
            "id": pid,
            "type": "BatteryPassport",
            "batteryId": self.battery_id,
            "recordFormat": version_of(self.issued),
            "issued": {
                "recordHash": self.chain[0].record_hash,
                "issuer": self.issued.get("issuer"),
                "validFrom": self.issued.get("validFrom"),
                **issued,
                "disclosures": self.chain[0].disclosures,
            },
            "state": self.state(),
            "model": self.model,
            "records": [entry.summary() for entry in self.chain],
            "truncated": self.truncated,
            "links": {
                "self": f"{base}/passports/{pid}",
                "records": f"{base}/passports/{pid}/records",
                "verify": f"{base}/passports/{pid}/verify",
                "successors": [f"{base}/passports/{s}" for s in self.successors],
                "predecessors": [f"{base}/passports/{p}" for p in self.head.predecessors],
            },
        }


def records_context(record: Mapping[str, Any]) -> list[str]:
    context = record.get("@context")
    return [c for c in context if isinstance(c, str)] if isinstance(context, list) else []


def read_chain(ledger: Ledger, subject_id: str) -> tuple[list[dict[str, Any]], bool]:
    """A chain's records (at most :data:`MAX_CHAIN_RECORDS`) and whether it was cut."""
    found: list[dict[str, Any]] = []
    after = -1
    while len(found) < MAX_CHAIN_RECORDS:
        page = ledger.chain_page(subject_id, after=after, limit=_PAGE)
        found += page
        if len(page) < _PAGE:
            return found, False
        after += len(page)
    return found, True


def read_entries(ledger: Ledger, subject_id: str, reader: Reader) -> tuple[list[ChainEntry], bool]:
    """A chain's records (at most :data:`MAX_CHAIN_RECORDS`) with what ``reader`` may read
    of each, a page of the ledger's at a time, and whether the chain was cut."""
    found: list[ChainEntry] = []
    after = -1
    while len(found) < MAX_CHAIN_RECORDS:
        page = ledger.chain_page_as(subject_id, reader, after=after, limit=_PAGE)
        found += [ChainEntry(r.record, r.record_hash, r.disclosures) for r in page]
        if len(page) < _PAGE:
            return found, False
        after += len(page)
    return found, True


def successors_of(chain: list[ChainEntry]) -> list[str]:
    found: list[str] = []
    for entry in chain:
        if entry.kind != "PassportSucceeded":
            continue
        fields = subject(entry.record)
        listed = fields.get("successors")
        if isinstance(listed, list):
            found += [s for s in listed if isinstance(s, str)]
        one = fields.get("successor")
        if isinstance(one, str):
            found.append(one)
    return found


def model_view(ledger: Ledger, issued: Mapping[str, Any], reader: Reader) -> dict[str, Any] | None:
    """The model the passport names: the record it names (public data and the disclosures
    the reader may read), and whether the model was revised since."""
    named = subject(issued).get("model")
    if not isinstance(named, dict):
        return None
    model_id, record_hash = named.get("id"), named.get("record")
    if not isinstance(model_id, str) or not isinstance(record_hash, str):
        return None
    stored = ledger.record(record_hash)
    current = ledger.model(model_id)
    data = subject(stored.record) if stored else {}
    shown = ledger.disclosures(record_hash, reader) if stored else {}
    return {
        "id": model_id,
        "record": record_hash,
        "publisher": stored.record.get("issuer") if stored else None,
        "current": current.head.record_hash if current else None,
        "revised": bool(current and current.head.record_hash != record_hash),
        "gtin": current.gtin if current else data.get("gtin"),
        "data": {k: v for k, v in data.items() if k not in _SKIP},
        "disclosures": shown,
        "withheld": sorted(set(data.get("disclosures") or {}) - set(shown)),
    }


def passport_view(ledger: Ledger, passport_id: str, reader: Reader) -> PassportView | None:
    """The passport ``passport_id`` as ``reader`` may see it; None if there is none."""
    if not passport_id.startswith(PASSPORT_PREFIX):
        return None
    head = ledger.head(passport_id)
    if head is None:
        return None
    listed, truncated = read_entries(ledger, passport_id, reader)
    if not listed or listed[0].kind != "PassportIssued":
        return None
    issued = listed[0].record
    return PassportView(
        passport_id=passport_id,
        issued=issued,
        chain=listed,
        head=head,
        show_status=may_read_status(reader, issued),
        truncated=truncated,
        model=model_view(ledger, issued, reader),
        successors=successors_of(listed),
    )


# -- the HTML pages ----------------------------------------------------------------------
# What passport.html and model.html show beyond the JSON-LD document: each record's proof
# result, the battery's health over its graded tests, its shipments and documents, and
# the seal of the checkpoint it was checked against. Restricted values come only from the
# ChainEntry disclosures (Ledger.disclosures), as in the JSON view.

MAX_PROOF_CACHE = 100_000
MAX_ANCESTORS = 16
"""Predecessor passports read for a battery's health trend (a longer ancestry is cut)."""
_PROOFS: dict[str, bool] = {}


def proof_verified(record_hash: str, record: dict[str, Any]) -> bool:
    """Whether every proof of the record verifies. A record's bytes never change, so the
    result is kept by its hash: a page verifies each record once, not on every view."""
    known = _PROOFS.get(record_hash)
    if known is not None:
        return known
    from ledger.core.contexts import loader  # noqa: PLC0415 (loaded once, then cached)

    try:
        results = proofs.verify_each(record, loader=loader())
        verified = bool(results) and all(result.ok for result in results)
    except SigningError:
        verified = False
    if len(_PROOFS) >= MAX_PROOF_CACHE:
        _PROOFS.clear()
    _PROOFS[record_hash] = verified
    return verified


@dataclass(frozen=True)
class Seal:
    """The checkpoint a page was checked against, with what a reader can re-check:
    origin, tree size and root, whether its signature verifies with the log's key, and
    whether the passport's head record is included in its tree."""

    origin: str
    size: int
    root_hex: str
    root_base64: str
    signature_ok: bool
    head_leaf: int | None
    head_included: bool

    @property
    def ok(self) -> bool:
        return self.signature_ok and self.head_included


def seal(ledger: Ledger, head_hash: str) -> Seal:
    """Checks the latest signed checkpoint with the log's key and the head record's
    inclusion proof against its root (what ``/passports/{id}/verify`` reports in full)."""
    stored = ledger.record(head_hash)
    note = stored.checkpoint if stored else ledger.log.checkpoint()
    try:
        head = checkpoint.verify(note, ledger.verifier_key, ledger.log.origin)
        signature_ok = True
    except LedgerError:
        head = checkpoint.parse(note.split("\n\n")[0] + "\n")
        signature_ok = False
    included = False
    if stored is not None and signature_ok and stored.inclusion.size == head.size:
        try:
            stored.inclusion.verify(head.root)
            included = True
        except LedgerError:
            included = False
    return Seal(
        origin=head.origin,
        size=head.size,
        root_hex=head.root.hex(),
        root_base64=base64.b64encode(head.root).decode("ascii"),
        signature_ok=signature_ok,
        head_leaf=stored.leaf_index if stored else None,
        head_included=included,
    )


def state_of_health(measures: Mapping[str, Any]) -> float | None:
    """A test's state of health in %: its SoCE, else remaining over rated capacity."""
    soce = measures.get("soce")
    if isinstance(soce, int | float) and not isinstance(soce, bool):
        return float(soce)
    remaining, rated = measures.get("remainingCapacity"), measures.get("ratedCapacity")
    if isinstance(remaining, int | float) and isinstance(rated, int | float) and rated > 0:
        return round(100.0 * remaining / rated, 1)
    return None


def health_tests(
    ledger: Ledger, view: PassportView, reader: Reader
) -> tuple[list[dict[str, Any]], int]:
    """The battery's diagnostic tests whose measures ``reader`` may read, oldest first,
    over this passport and its predecessors (a successor's battery carries its history),
    and how many tests were withheld."""
    chains: list[list[ChainEntry]] = [view.chain]
    queue, seen = list(view.head.predecessors), {view.passport_id}
    while queue and len(seen) <= MAX_ANCESTORS:
        pid = queue.pop(0)
        if pid in seen:
            continue
        seen.add(pid)
        chains.append(read_entries(ledger, pid, reader)[0])
        head = ledger.head(pid)
        queue += list(head.predecessors) if head else []
    tests: list[dict[str, Any]] = []
    withheld = 0
    for chain in chains:
        for entry in chain:
            if entry.kind != "DiagnosticTest":
                continue
            measures = entry.disclosures.get("performance") or entry.disclosures.get(
                "legitimate-interest"
            )
            if measures is None:
                withheld += 1
                continue
            tests.append(
                {
                    "testedOn": subject(entry.record).get("testedOn")
                    or entry.record.get("validFrom"),
                    "passport": subject(entry.record).get("id"),
                    "soh": state_of_health(measures),
                    "grade": measures.get("grade"),
                    "remainingCapacity": measures.get("remainingCapacity"),
                    "fullCycles": measures.get("fullCycles"),
                    "recordHash": entry.record_hash,
                }
            )
    tests.sort(key=lambda t: str(t["testedOn"]))
    return tests, withheld


def sparkline(values: list[float], width: int = 160, height: int = 40) -> list[tuple[float, float]]:
    """The points of a state-of-health line (0 to 100 % bottom to top) in an SVG box."""
    if not values:
        return []
    pad = 4.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return [
        (
            round(pad + i * step if len(values) > 1 else width / 2, 1),
            round(height - pad - (height - 2 * pad) * min(max(v, 0.0), 100.0) / 100.0, 1),
        )
        for i, v in enumerate(values)
    ]


def shipments(view: PassportView) -> list[dict[str, Any]]:
    """Each shipment of the chain: its public dangerous-goods marks, carrier and crates,
    its business data when the reader may read it, and its receipt if there is one."""
    received: dict[str, ChainEntry] = {}
    for entry in view.chain:
        if entry.kind == "ShipmentReceived":
            shipment_id = subject(entry.record).get("shipmentId")
            if isinstance(shipment_id, str):
                received[shipment_id] = entry
    found = []
    for entry in view.chain:
        if entry.kind != "Shipment":
            continue
        fields = subject(entry.record)
        receipt = received.get(str(fields.get("shipmentId")))
        found.append(
            {
                "entry": entry,
                "shipmentId": fields.get("shipmentId"),
                "carrier": fields.get("carrier"),
                "dangerousGoods": fields.get("dangerousGoods") or {},
                "crateIds": fields.get("crateIds") or [],
                "business": entry.disclosures.get("business"),
                "received": receipt,
                "receivedBusiness": receipt.disclosures.get("business") if receipt else None,
            }
        )
    return found


def documents(view: PassportView) -> list[dict[str, Any]]:
    """The documents the chain names, by content hash: attached documents (their type and
    title in clear, or from the disclosure the reader may read, or withheld) and the
    shipment papers of the business disclosures the reader may read."""
    found: list[dict[str, Any]] = []
    for entry in view.chain:
        fields = subject(entry.record)
        if entry.kind == "DocumentAttached":
            shown: Mapping[str, Any] = fields
            withheld = None
            if "documentType" not in fields:
                group = next(iter(entry.digests), None)
                readable = entry.disclosures.get(group) if group else None
                shown, withheld = (readable, None) if readable else ({}, group)
            found.append(
                {
                    "hash": fields.get("documentHash"),
                    "type": shown.get("documentType"),
                    "title": shown.get("title"),
                    "mediaType": fields.get("mediaType"),
                    "withheld": withheld,
                    "recordHash": entry.record_hash,
                }
            )
        elif entry.kind == "Shipment":
            business = entry.disclosures.get("business") or {}
            for paper in business.get("documents") or []:
                if isinstance(paper, dict):
                    found.append(
                        {
                            "hash": paper.get("hash"),
                            "type": paper.get("type"),
                            "title": None,
                            "mediaType": None,
                            "withheld": None,
                            "recordHash": entry.record_hash,
                        }
                    )
    return found


def model_digests(ledger: Ledger, model: Mapping[str, Any] | None) -> dict[str, str]:
    """The digests of the model record's withheld groups (present, proven by them)."""
    if not model or not model.get("withheld"):
        return {}
    stored = ledger.record(str(model["record"]))
    digests = subject(stored.record).get("disclosures") if stored else None
    if not isinstance(digests, dict):
        return {}
    return {g: str(d) for g, d in digests.items() if g in model["withheld"]}


def passport_page(ledger: Ledger, view: PassportView, reader: Reader, base: str) -> dict[str, Any]:
    """What passport.html renders, beyond the JSON-LD document."""
    tests, tests_withheld = health_tests(ledger, view, reader)
    measured = [t["soh"] for t in tests if t["soh"] is not None]
    return {
        "seal": seal(ledger, view.head.record_hash),
        "verified": {e.record_hash: proof_verified(e.record_hash, e.record) for e in view.chain},
        "withheld": {
            e.record_hash: {g: d for g, d in e.digests.items() if g not in e.disclosures}
            for e in view.chain
        },
        "tests": tests,
        "tests_withheld": tests_withheld,
        "trend": sparkline(measured),
        "latest": tests[-1] if tests else None,
        "shipments": shipments(view),
        "documents": documents(view),
        "model_digests": model_digests(ledger, view.model),
        "qr": f"{base}/passports/{quote(view.passport_id, safe=':')}/qr.svg",
    }


def models_page(ledger: Ledger, gtin: str, reader: Reader) -> list[dict[str, Any]]:
    """Each battery model published under ``gtin`` as model.html shows it: its current
    record's public data, the disclosures ``reader`` may read, the others' digests."""
    found = []
    for model in ledger.models_by_gtin(gtin):
        stored = ledger.record(model.head.record_hash)
        fields = subject(stored.record) if stored else {}
        digests = fields.get("disclosures") if isinstance(fields.get("disclosures"), dict) else {}
        shown = ledger.disclosures(model.head.record_hash, reader)
        found.append(
            {
                "id": model.model_id,
                "record": model.head.record_hash,
                "publisher": stored.record.get("issuer") if stored else None,
                "validFrom": stored.record.get("validFrom") if stored else None,
                "verified": proof_verified(model.head.record_hash, stored.record)
                if stored
                else False,
                "revision": model.head.sequence,
                "data": {k: v for k, v in fields.items() if k not in _SKIP},
                "disclosures": shown,
                "withheld": {g: d for g, d in (digests or {}).items() if g not in shown},
            }
        )
    return found

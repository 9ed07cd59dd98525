"""What a passport shows a reader: its state derived from its chain, its model's data, the
disclosures the reader may read, its predecessors and successors (ADR 0017).

Everything restricted comes from ``Ledger.disclosures(hash, reader)``, which returns only
the groups the reader's roles (and, for business data, its DID) may read. The one
restricted value the ledger also keeps outside a disclosure is a chain head's ``status``
(Annex XIII point 4, read by persons with a legitimate interest only): it is shown only
to a reader who may read the record's performance group (v1: legitimate-interest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.core import access, records
from ledger.core.access import Reader
from ledger.facade import Ledger

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


def entries(ledger: Ledger, chain: list[dict[str, Any]], reader: Reader) -> list[ChainEntry]:
    result = []
    for record in chain:
        record_hash = records.record_hash(record)
        result.append(ChainEntry(record, record_hash, ledger.disclosures(record_hash, reader)))
    return result


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
    chain, truncated = read_chain(ledger, passport_id)
    if not chain or kind_of(chain[0]) != "PassportIssued":
        return None
    listed = entries(ledger, chain, reader)
    issued = chain[0]
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

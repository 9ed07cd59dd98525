"""What the tests read off the public log: every record, by chain."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ledger.core import records
from ledger.facade import Ledger


def logged(ledger: Ledger) -> list[dict[str, Any]]:
    """Every record on the log, in log order."""
    return [json.loads(leaf) for leaf in ledger.log.leaves(0, ledger.log.size())]


def chains(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    """The passport chains, by passport id, each in order."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in logged(ledger):
        subject_id = record["credentialSubject"]["id"]
        if subject_id.startswith("urn:bpl:passport:"):
            found[subject_id].append(record)
    return dict(found)


def kind(record: dict[str, Any]) -> str:
    return str(record["type"][1])


def hash_of(record: dict[str, Any]) -> str:
    return records.record_hash(record)

"""A separate process appending to one passport, for the concurrency test.

Usage: ``python -m tests.ledger.ledger_writer DATA_DIR KEY_FILE PASSPORT LABEL COUNT``
(``$DATABASE_URL`` selects PostgreSQL). Builds each record on the head it sees, retries
on a stale head, and prints how many records it got accepted.
"""

from __future__ import annotations

import hashlib
import sys

from ledger.core import contexts, records
from ledger.errors import StaleRecord
from ledger.facade import Ledger
from signing import keys, proofs


def main(data_dir: str, key_file: str, passport: str, label: str, count: int) -> None:
    ledger = Ledger.open(data_dir)
    key = keys.load(key_file)
    accepted = 0
    for attempt in range(count):
        content = f"{label}-{attempt}".encode()
        sequence, previous = ledger.next_position(passport)
        record, disclosures = records.build(
            "DocumentAttached",
            passport,
            sequence,
            previous,
            key.did,
            {
                "documentHash": "sha256:" + hashlib.sha256(content).hexdigest(),
                "mediaType": "application/pdf",
            },
            {"legitimate-interest": {"documentType": "invoice"}},
            version="v1",
        )
        try:
            signed = proofs.sign(record, key, loader=contexts.loader())
            ledger.append({"record": signed, "disclosures": disclosures})
            accepted += 1
        except StaleRecord:
            continue
    print(accepted)


if __name__ == "__main__":
    data_dir, key_file, passport, label, count = sys.argv[1:6]
    main(data_dir, key_file, passport, label, int(count))

"""A separate appending process for the concurrency and crash tests.

Usage: ``python -m tests.ledger.appender URL ORIGIN LABEL BATCHES BATCH_SIZE``; the signer
key comes in ``$BPL_TEST_SIGNER_KEY`` (never on a command line). Prints ``begin K`` before
and ``done K SIZE`` after each batch, flushed, so a test can kill it mid-batch.
"""

from __future__ import annotations

import os
import sys

from ledger.log import TransparencyLog


def main(url: str, origin: str, label: str, batches: int, batch_size: int) -> None:
    log = TransparencyLog.open(url, origin, os.environ["BPL_TEST_SIGNER_KEY"])
    for number in range(batches):
        batch = [f"{label}-{number}-{i}".encode().ljust(100, b".") for i in range(batch_size)]
        print(f"begin {number}", flush=True)
        result = log.append(batch)
        print(f"done {number} {result.size}", flush=True)


if __name__ == "__main__":
    url, origin, label, batches, batch_size = sys.argv[1:6]
    main(url, origin, label, int(batches), int(batch_size))

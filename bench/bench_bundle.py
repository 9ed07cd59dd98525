"""Offline verification of an evidence bundle (ledger.bundle.verify): records per second
on one core, against raw Ed25519 verifies of as many signatures in the same run.

A ledger (SQLite, in a temporary directory) gets a manufacturer, a test lab, the bench's
battery model (bench_ledger.py: the demo's full Annex XIII data) and one passport whose
chain holds ``--records`` DiagnosticTests graded by the bundled policy (the demo's measures
and use history, the state of health varying): a long-lived battery tested often. Its
bundle is exported as the operator reads it (every disclosure: each grade is re-checked),
written as JSON and parsed again, as a regulator would receive it. Each run then times
``verify`` of the parsed bundle (everything: checkpoint, inclusion, proofs, schemas,
disclosures, the replayed rules) and, right after, pynacl's verify of as many 64-byte
messages (the hash data a Data Integrity proof signs): the baseline of the same load.
Issue 17's target is 5,000 records/s.

    .venv/bin/python bench/bench_bundle.py [--records 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path
from typing import Any

import nacl.signing

sys.path.insert(0, str(Path(__file__).parent))

from bench_ledger import chained_tests, issued, new_ledger

from ledger import bundle
from ledger.core import access

TARGET = 5_000
BATCH = 500


def exported(location: Path, count: int) -> tuple[dict[str, Any], str, int]:
    """The parsed bundle of a passport with ``count`` tests, the log key, its size in bytes."""
    ledger, maker, lab, model_record = new_ledger(location)
    try:
        passport = f"urn:bpl:passport:{uuid.uuid4()}"
        genesis = issued(passport, 0, maker, model_record)
        ledger.append(genesis)
        made = chained_tests(genesis, lab, count)
        for first in range(0, len(made), BATCH):
            ledger.append_many(made[first : first + BATCH])
        text = json.dumps(bundle.build(ledger, passport, access.OPERATOR_READER))
        return json.loads(text), ledger.verifier_key, len(text)
    finally:
        ledger.close()


def baseline(count: int) -> float:
    """Seconds of pynacl's Ed25519 verify of ``count`` signatures over 64-byte messages."""
    key = nacl.signing.SigningKey(bytes(32))
    message = bytes(range(64))
    signature = key.sign(message).signature
    verify = key.verify_key.verify
    return timeit.timeit(lambda: verify(message, signature), number=count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="tests on the passport")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        document, key, size = exported(Path(directory) / "data", options.records)
        built = time.perf_counter() - started
    count = len(document["records"])
    print(
        f"bundle: {count} records ({options.records} tests), {size / 1e6:.1f} MB of JSON; "
        f"ledger and export {built:.1f} s"
    )
    rates, ratios = [], []
    for run in range(1, options.runs + 1):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            verdict = bundle.verify(document, key)
            seconds = time.perf_counter() - started
            bare = baseline(count)
        finally:
            gc.enable()
        assert verdict.verified, verdict.failures[:3]
        rate, bare_rate = count / seconds, count / bare
        rates.append(rate)
        ratios.append(rate / bare_rate)
        print(
            f"run {run}: verify {rate:,.0f} records/s ({seconds * 1e6 / count:.0f} us a record); "
            f"raw Ed25519 {bare_rate:,.0f}/s; ratio {rate / bare_rate:.2f}"
        )
    verdict_line = "meets" if min(rates) >= TARGET else "misses"
    print(
        f"range: {min(rates):,.0f} to {max(rates):,.0f} records/s (ratio to raw Ed25519 "
        f"{min(ratios):.2f} to {max(ratios):.2f}); {verdict_line} the target of {TARGET:,}/s"
    )


if __name__ == "__main__":
    main()

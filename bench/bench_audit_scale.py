"""A full audit of a large ledger (default 1,000,000 records), timed end to end.

Issue 4 asks for ``audit`` at 10,000 records/s or more and for the time of a
1,000,000-record audit. ``bench_ledger.py`` audits a few tens of thousands of records,
where starting the audit's worker processes is a visible share; this script builds the
real size (on SQLite, with ``append_many``; half PassportIssued, half DiagnosticTest
records, every one signed and carrying a disclosure) and times ``Ledger.audit()`` on it,
log audit and worker start-up included. Building takes several minutes.

Run: ``.venv/bin/python bench/bench_audit_scale.py [--records 1000000] [--workers N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench_ledger import BareVerify, issued, new_ledger, tested

from ledger.facade import Ledger

AUDIT_TARGET = 10_000
CHUNK = 5_000


def build(location: Path, count: int) -> Ledger:
    """A ledger of ``count`` records (plus its actors): passports issued, then tested."""
    ledger, maker, lab, model_record = new_ledger(location)
    half = count // 2
    for first in range(0, half, CHUNK):
        passports = [f"urn:bpl:passport:{n:012d}" for n in range(first, min(first + CHUNK, half))]
        genesis = [issued(p, n, maker, model_record) for n, p in enumerate(passports, first)]
        tests = [
            tested(passport, record, lab, n)
            for n, (passport, record) in enumerate(zip(passports, genesis, strict=True), first)
        ]
        for batch in (genesis, tests):
            for start in range(0, len(batch), 500):
                ledger.append_many(batch[start : start + 500])
        print(f"  built {2 * min(first + CHUNK, half):,} records", file=sys.stderr)
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    args = parser.parse_args()
    os.environ.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        ledger = build(Path(tmp) / "ledger", args.records)
        print(f"built {ledger.log.size():,} records in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        report = ledger.audit(workers=args.workers)
        elapsed = time.perf_counter() - started
        assert report.ok, report
        rate = report.records / elapsed
        baseline = BareVerify()
        for _ in range(8):
            baseline.slice()
        bare = baseline.rate
        print(f"bare Ed25519 verify (64 B, pynacl): {bare:,.0f} ops/s on one core")
        print(
            f"audit of {report.records:,} records: {elapsed:.1f} s = {elapsed / 60:.1f} min, "
            f"{rate:,.0f} records/s (target {AUDIT_TARGET:,}/s: "
            f"{'met' if rate >= AUDIT_TARGET else 'NOT met'}; {os.cpu_count()} CPUs)"
        )
        ledger.engine.dispose()


if __name__ == "__main__":
    main()

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

import orjson
from bench_ledger import MEASURES, MODEL, bare_verify_rate

from ledger import records
from ledger.service import Ledger
from signing import keys, proofs

AUDIT_TARGET = 10_000
CHUNK = 5_000


def build(location: Path, count: int) -> Ledger:
    """A ledger of ``count`` records (plus its actors): passports issued, then tested."""
    operator, maker, lab = keys.generate(), keys.generate(), keys.generate()
    ledger = Ledger.init(location, operator, origin="bench.bpl.example/log")
    ledger.register_actor(operator, maker.did, ["manufacturer"], name="Maker")
    ledger.register_actor(operator, lab.did, ["test-lab"], name="Lab")
    half = count // 2
    for first in range(0, half, CHUNK):
        issued, tests = [], []
        for n in range(first, min(first + CHUNK, half)):
            passport = f"urn:bpl:passport:{n:012d}"
            record, disclosures = records.build(
                "PassportIssued",
                passport,
                0,
                None,
                maker.did,
                dict(MODEL, manufacturer=maker.did),
                {"legitimate-interest": {"status": "original"}},
            )
            signed = proofs.sign(record, maker)
            issued.append(orjson.dumps({"record": signed, "disclosures": disclosures}))
            record, disclosures = records.build(
                "DiagnosticTest",
                passport,
                1,
                records.record_hash(signed),
                lab.did,
                {"testedOn": "2031-05-02"},
                {"legitimate-interest": dict(MEASURES, soce=80 + (n % 200) / 10)},
            )
            tests.append(
                orjson.dumps({"record": proofs.sign(record, lab), "disclosures": disclosures})
            )
        for batch in (issued, tests):
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
        bare = bare_verify_rate()
        print(f"bare Ed25519 verify (64 B, pynacl): {bare:,.0f} ops/s on one core")
        print(
            f"audit of {report.records:,} records: {elapsed:.1f} s = {elapsed / 60:.1f} min, "
            f"{rate:,.0f} records/s (target {AUDIT_TARGET:,}/s: "
            f"{'met' if rate >= AUDIT_TARGET else 'NOT met'}; {os.cpu_count()} CPUs)"
        )
        ledger.engine.dispose()


if __name__ == "__main__":
    main()

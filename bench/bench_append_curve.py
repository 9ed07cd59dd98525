"""``append_many``'s time per record as a ledger grows, against bare Ed25519 verify.

Issue 15 asks that a record cost the same, within 10 %, whether the ledger holds 10,000 or
1,000,000 records. This script grows one ledger with realistic batches (500 graded
DiagnosticTest submissions on passports issued beforehand, each with its disclosure, as
JSON bytes) and prints, at each size on the way, the microseconds a record took over the
last stretch and the ratio to bare pynacl verify timed in slices between the batches (the
same statistic as ``bench_ledger.py``). Records are signed before the timed batches, a
stretch at a time, so the curve is the ledger's alone.

Run: ``.venv/bin/python bench/bench_append_curve.py [--records 1000000] [--database
sqlite|postgresql] [--postgres URL]``. A million records take about ten minutes here.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import orjson
from bench_ledger import BATCH, BareVerify, issued, new_ledger, tested

STRETCH = 10_000
"""Records appended (and timed) between two points of the curve."""


def grow(location: Path, total: int) -> None:
    ledger, maker, lab, model_record = new_ledger(location)
    ledger.admission.start(wait=True)  # as a service would (ADR 0018)
    baseline = BareVerify()
    first_rate = None
    print(f"{'records':>10}  {'us a record':>11}  {'of bare verify':>14}  {'vs the first':>12}")
    size = 0
    while size < total:
        count = min(STRETCH, total - size) // 2
        passports = [f"urn:bpl:passport:{uuid.UUID(int=size + n)}" for n in range(count)]
        genesis = [issued(p, size + n, maker, model_record) for n, p in enumerate(passports)]
        tests = [
            tested(passport, record, lab, n)
            for n, (passport, record) in enumerate(zip(passports, genesis, strict=True))
        ]
        # As JSON bytes, as clients and files send them (and as the ledger shares the
        # admission of a large batch with its workers, ADR 0018).
        submissions: list[bytes] = [*map(orjson.dumps, genesis), *tests]
        gc.collect()
        spent = 0.0
        for first in range(0, len(submissions), BATCH):
            baseline.slice()
            started = time.perf_counter()
            ledger.append_many(submissions[first : first + BATCH])
            spent += time.perf_counter() - started
        size += len(submissions)
        per_record = spent / len(submissions) * 1e6
        first_rate = first_rate or per_record
        ratio = (1e6 / per_record) / baseline.rate
        print(
            f"{size:>10,}  {per_record:>11.1f}  {ratio:>13.1%}  {per_record / first_rate:>11.2f}x"
            f"  load {Path('/proc/loadavg').read_text().split()[0]}",
            flush=True,
        )
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BPL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        if args.database == "postgresql":
            import psycopg  # noqa: PLC0415

            name = f"bpl_curve_{os.getpid()}"
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            os.environ["DATABASE_URL"] = f"{args.postgres.rsplit('/', 1)[0]}/{name}"
            try:
                grow(Path(directory) / "data", args.records)
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            os.environ.pop("DATABASE_URL", None)
            grow(Path(directory) / "data", args.records)


if __name__ == "__main__":
    main()

"""End-to-end ledger throughput against bare Ed25519 verify, measured in one run.

Targets (issue 4), one core: ``append_many`` (parse, schema, disclosures, every proof,
rules, chain, log, commit) at least 40 % of bare pynacl verify ops/s on SQLite and on
PostgreSQL; single-record ``append`` at least 2,000/s (from concurrent callers, which group
commit serves together; one caller alone waits for a disk sync per record); ``audit`` at
least 10,000 records/s (and the time a 1,000,000-record audit would take at that rate).
The ledger holds ``2 * --records`` records when audited: by default more than
``ledger.audit.PARALLEL_FROM``, so the audit runs as it does on a large ledger, with one
admission worker process per CPU (their start-up included in the time).

Records: DiagnosticTest records on many passports (each with a disclosure), signed
beforehand and handed to the ledger as JSON bytes, as they arrive from a client or a file:
the timed part is the ledger's, parsing included.

The baseline: bare pynacl verify of a 64-byte message, timed in a slice of
``SLICE`` verifies just before each ``append_many`` batch, so that both are measured over
the same minutes of the machine (whose speed drifts by 10-30 % here) and with the same
statistic, a mean. The best slice is printed too: the ratio to it is the stricter figure.

Each database runs in a process of its own (``--database``), started afresh: the second
run in one process inherited the first's heap and fork server. The storage code (the
ledger service, psycopg) is imported where it is used, not when this script starts, as
``bpl`` does (when the audit's fork server still imported the main program, this script
importing it all first made the first audit of a process run at 10,300-10,400 records/s,
against 14,100-14,300; since ADR 0015 the workers import ``ledger.core.admission`` alone).

Admission: a batch of 500 JSON submissions is shared between the ledger's thread and its
admission worker processes (one per CPU but one; ADR 0018); ``--admission-workers 0``
admits in the ledger's thread alone, as before ADR 0018 (one core).

Run: ``.venv/bin/python bench/bench_ledger.py [--records 12000] [--postgres URL]
[--database both|sqlite|postgresql] [--admission-workers N]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).parents[1]))

import nacl.signing
import orjson

from ledger.core import admission, contexts, grading, records
from signing import keys, proofs
from signing.keys import KeyPair

if TYPE_CHECKING:
    from ledger.facade import Ledger

APPEND_TARGET = 0.40
SINGLE_TARGET = 2_000
AUDIT_TARGET = 10_000
BATCH = 500
SLICE = 250
"""Bare verifies timed before each batch (about a fifth of the batch's time)."""
CALLERS = 32
_TEMPLATE_SEED = 2027


def _templates() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Realistic v2 content, taken from the demo (ledger/demo.py): a battery model's full
    Annex XIII data (public fields and their disclosures, by group), a passport's public
    fields, and a graded DiagnosticTest's measures (a dozen and the Annex VII part B use
    history)."""
    from ledger.demo import demo_batches  # noqa: PLC0415 (imports the storage-free demo)

    found: dict[str, dict[str, Any]] = {}
    for batch in demo_batches(keys.generate(), batteries=2, seed=_TEMPLATE_SEED):
        for submission in batch:
            found.setdefault(submission["record"]["type"][1], submission)
    model = found["BatteryModelPublished"]
    content = {
        "public": _fields(model["record"]["credentialSubject"]),
        "restricted": {d["group"]: _fields(d) for d in model["disclosures"]},
    }
    passport = _fields(found["PassportIssued"]["record"]["credentialSubject"])
    measures = _fields(found["DiagnosticTest"]["disclosures"][0])
    return content, passport, measures


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A subject's or disclosure's own fields, without the chain's and envelope's."""
    bookkeeping = {"id", "sequence", "previous", "disclosures", "salt", "group"}
    return {k: v for k, v in fields.items() if k not in bookkeeping}


MODEL, PASSPORT, MEASURES = _templates()
POLICY = grading.load_policy()


class BareVerify:
    """The baseline: pynacl's Ed25519 verify of a 64-byte message (the hash data a Data
    Integrity proof signs), timed slice by slice between the ledger's batches."""

    def __init__(self) -> None:
        key = nacl.signing.SigningKey(bytes(32))
        message = bytes(range(64))
        signature = key.sign(message).signature
        verify = key.verify_key.verify
        self._call = lambda: verify(message, signature)
        self.seconds = 0.0
        self.verifies = 0
        self.best = 0.0
        """The fastest slice's rate, verifies/s."""

    def slice(self) -> None:
        """Time ``SLICE`` verifies (with the collector off, as ``timeit`` does)."""
        seconds = timeit.timeit(self._call, number=SLICE)
        self.seconds += seconds
        self.verifies += SLICE
        self.best = max(self.best, SLICE / seconds)

    @property
    def rate(self) -> float:
        """Verifies/s over all the slices."""
        return self.verifies / self.seconds


def new_ledger(location: Path) -> tuple[Ledger, KeyPair, KeyPair, str]:
    """A ledger with a manufacturer and a test lab registered and the manufacturer's
    battery model published; their keys and the model's record hash."""
    operator, maker, lab = keys.generate(), keys.generate(), keys.generate()
    from ledger.facade import Ledger  # noqa: PLC0415 (see the module doc)

    ledger = Ledger.init(location, operator, origin="bench.bpl.example/log")
    ledger.register_actor(operator, maker.did, ["manufacturer"], name="Maker")
    ledger.register_actor(operator, lab.did, ["test-lab"], name="Lab")
    public = dict(MODEL["public"], manufacturer=dict(MODEL["public"]["manufacturer"], id=maker.did))
    record, disclosures = records.build(
        "BatteryModelPublished", MODEL_ID, 0, None, maker.did, public, MODEL["restricted"]
    )
    signed = proofs.sign(record, maker, loader=contexts.loader())
    receipt = ledger.append({"record": signed, "disclosures": disclosures})
    return ledger, maker, lab, receipt.record_hash


MODEL_ID = "https://id.bench.example/01/" + MODEL["public"]["gtin"]


def issued(passport: str, n: int, maker: KeyPair, model_record: str) -> dict[str, Any]:
    """A signed v2 PassportIssued submission: battery ``n`` of the bench's model."""
    public = dict(
        PASSPORT,
        batteryId=f"{MODEL_ID}/21/B{n:08d}",
        model={"id": MODEL_ID, "record": model_record},
        manufacturer=maker.did,
    )
    record, disclosures = records.build(
        "PassportIssued",
        passport,
        0,
        None,
        maker.did,
        public,
        {"performance": {"status": "original", "puttingIntoServiceOn": "2024-05-02"}},
    )
    signed = proofs.sign(record, maker, loader=contexts.loader())
    return {"record": signed, "disclosures": disclosures}


def tested(passport: str, genesis: dict[str, Any], lab: KeyPair, n: int) -> bytes:
    """A signed DiagnosticTest submission after ``genesis``, as JSON bytes: the demo's
    measures with ``n`` varying the state of health, graded by the bundled policy."""
    measures = dict(MEASURES, soce=70 + (n % 300) / 10)
    measures["grade"] = grading.check(measures, POLICY)
    record, disclosures = records.build(
        "DiagnosticTest",
        passport,
        1,
        records.record_hash(genesis["record"]),
        lab.did,
        {"testedOn": "2031-05-02"},
        {"performance": measures},
    )
    signed = proofs.sign(record, lab, loader=contexts.loader())
    return orjson.dumps({"record": signed, "disclosures": disclosures})


def chained_tests(genesis: dict[str, Any], lab: KeyPair, count: int) -> list[dict[str, Any]]:
    """``count`` signed DiagnosticTests chained after ``genesis`` on its passport (one
    battery's long life), the state of health varying, each graded by the bundled policy."""
    passport = genesis["record"]["credentialSubject"]["id"]
    previous = records.record_hash(genesis["record"])
    made = []
    for n in range(count):
        measures = dict(MEASURES, soce=70 + (n % 300) / 10)
        measures["grade"] = grading.check(measures, POLICY)
        record, disclosures = records.build(
            "DiagnosticTest",
            passport,
            n + 1,
            previous,
            lab.did,
            {"testedOn": "2031-05-02"},
            {"performance": measures},
        )
        signed = proofs.sign(record, lab, loader=contexts.loader())
        previous = records.record_hash(signed)
        made.append({"record": signed, "disclosures": disclosures})
    return made


def setup(location: Path, count: int) -> tuple[Ledger, list[bytes]]:
    """A ledger with a manufacturer and a test lab, ``count`` passports issued, and
    ``count`` signed DiagnosticTest submissions (one per passport, JSON) ready to append."""
    ledger, maker, lab, model_record = new_ledger(location)
    passports = [f"urn:bpl:passport:{uuid.UUID(int=n)}" for n in range(count)]
    genesis = [issued(passport, n, maker, model_record) for n, passport in enumerate(passports)]
    for first in range(0, count, BATCH):
        ledger.append_many(genesis[first : first + BATCH])
    tests = [
        tested(passport, first, lab, n)
        for n, (passport, first) in enumerate(zip(passports, genesis, strict=True))
    ]
    return ledger, tests


def run(label: str, location: Path, count: int, workers: int | None = None) -> None:
    ledger, tests = setup(location, count)
    if workers is not None:
        ledger.admission.workers = workers
    # Warm-up, as in a running service: the first DiagnosticTest compiles its schema's
    # validator and loads the grading policy (3 ms, once per process). Admission stores
    # nothing.
    admission.check_submission(tests[0])
    # Likewise the ledger's admission workers, which a service starts once (ADR 0018):
    # started here, not by the first timed batch (which would admit alone meanwhile).
    ledger.admission.start(wait=True)
    # The set-up (signing 2 * count records, issuing count passports) leaves the cyclic
    # collector a full collection due, which otherwise fell in the timed batches (34 ms,
    # measured with gc.callbacks): collected here. A running service pays it once after
    # start-up; the batches themselves leave no long-lived objects (no full collection in
    # 12,000 records). timeit, which times the baseline, turns the collector off.
    gc.collect()
    half = count // 2
    baseline = BareVerify()
    appending = 0.0
    for first in range(0, half, BATCH):
        baseline.slice()
        started = time.perf_counter()
        ledger.append_many(tests[first : min(first + BATCH, half)])
        appending += time.perf_counter() - started
    batched = half / appending
    bare = baseline.rate
    singles = tests[half:]
    sequential = singles[:200]
    started = time.perf_counter()
    for submission in sequential:
        ledger.append(submission)
    one_by_one = len(sequential) / (time.perf_counter() - started)
    concurrent = singles[200:]
    started = time.perf_counter()
    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(ledger.append, concurrent))
    single = len(concurrent) / (time.perf_counter() - started)
    started = time.perf_counter()
    report = ledger.audit()
    audited = report.records / (time.perf_counter() - started)
    assert report.ok, report
    ledger.close()
    verdict = "met" if batched / bare >= APPEND_TARGET else "NOT met"
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(
        f"{label}: append_many   {batched:>8,.0f} records/s  {batched / bare:6.1%} of bare "
        f"verify at {bare:,.0f}/s (target {APPEND_TARGET:.0%}: {verdict}); "
        f"{1e6 / batched:.1f} us a record, the target allows {1e6 / (APPEND_TARGET * bare):.1f}; "
        f"{batched / baseline.best:.1%} of the best slice ({baseline.best:,.0f}/s); "
        f"{ledger.admission.workers} admission workers; load {load}"
    )
    print(
        f"{label}: append (one)  {single:>8,.0f} records/s  from {CALLERS} concurrent callers, "
        f"group commit (target {SINGLE_TARGET:,}/s: "
        f"{'met' if single >= SINGLE_TARGET else 'NOT met'}); one caller: {one_by_one:,.0f}/s"
    )
    print(
        f"{label}: audit         {audited:>8,.0f} records/s  (target {AUDIT_TARGET:,}/s: "
        f"{'met' if audited >= AUDIT_TARGET else 'NOT met'}); 1,000,000 records: "
        f"{1_000_000 / audited / 60:.1f} min"
    )


def run_sqlite(records: int, workers: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("DATABASE_URL", None)
        run("SQLite    ", Path(tmp) / "sqlite", records, workers)


def run_postgres(records: int, admin_url: str, workers: int | None = None) -> None:
    import psycopg  # noqa: PLC0415 (see the module doc)

    name = f"bpl_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + name
        with tempfile.TemporaryDirectory() as tmp:
            run("PostgreSQL", Path(tmp) / "pg", records, workers)
    finally:
        os.environ.pop("DATABASE_URL", None)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=12_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BPL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; the benchmark creates and drops its own database",
    )
    parser.add_argument(
        "--database",
        choices=["both", "sqlite", "postgresql"],
        default="both",
        help="both (default): each in a process of its own, one after the other",
    )
    parser.add_argument(
        "--admission-workers",
        type=int,
        default=None,
        help="the ledger's admission worker processes (default: one per CPU but one; "
        "0: admission in the ledger's thread alone)",
    )
    args = parser.parse_args()
    if args.database == "sqlite":
        run_sqlite(args.records, args.admission_workers)
        return
    if args.database == "postgresql":
        run_postgres(args.records, args.postgres, args.admission_workers)
        return
    print(
        f"bare Ed25519 verify (64 B, pynacl): {SLICE} timed before each batch of {BATCH} "
        "records, the mean over the run's slices"
    )
    # A process per database: the second run in one process inherited the first's heap
    # (and its audit's fork server), and measured 1-3 points lower, whichever database
    # it was. Output goes straight through.
    for database in ("sqlite", "postgresql"):
        command = [sys.executable, __file__, "--database", database]
        command += ["--records", str(args.records), "--postgres", args.postgres]
        if args.admission_workers is not None:
            command += ["--admission-workers", str(args.admission_workers)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()

"""Throughput of the stored log's appends and the cost of its proofs, with baselines.

Targets (issue 3), one core, SQLite:

* appends in batches: at least 50,000 leaves/s, printed with the ratio to a bare SQLite
  ``executemany`` of the same leaf rows (same table, same pragmas, one commit per batch)
  measured in the same run;
* proofs from the store at 1,000,000 leaves: an inclusion proof under 2 ms and at most
  2x its time at 10,000 leaves; the same for consistency proofs;
* pymerkle (``SqliteTree``) side by side on the same leaves: appends/s and proof time.

Run: ``.venv/bin/python bench/bench_log.py [--leaves 1000000]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from pymerkle import SqliteTree

from ledger.log import TransparencyLog
from signing import note

BATCH = 10_000
LEAF_BYTES = 200
SMALL = 10_000
PROOFS = 300
ORIGIN = "bench.bpl.example/log"


def make_leaves(count: int, start: int = 0) -> list[bytes]:
    """Distinct leaves of LEAF_BYTES bytes, like a small record's canonical bytes."""
    return [f"record {i} ".encode().ljust(LEAF_BYTES, b"x") for i in range(start, start + count)]


def bare_sqlite(path: Path, leaves: list[bytes]) -> float:
    """Leaves/s of a plain executemany of (index, leaf hash, data) rows, batch by batch."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA cache_size = -65536")
    connection.execute(
        "CREATE TABLE log_leaves (idx BIGINT PRIMARY KEY, leaf_hash BLOB NOT NULL, data BLOB)"
    )
    connection.execute("CREATE INDEX ix_leaf_hash ON log_leaves (leaf_hash)")
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for first in range(0, len(leaves), BATCH):
        batch = leaves[first : first + BATCH]
        rows = [(first + i, sha256(b"\0" + leaf).digest(), leaf) for i, leaf in enumerate(batch)]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO log_leaves VALUES (?, ?, ?)", rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(leaves) / elapsed


def our_appends(log: TransparencyLog, leaves: list[bytes]) -> float:
    started = time.perf_counter()
    for first in range(0, len(leaves), BATCH):
        log.append(leaves[first : first + BATCH])
    return len(leaves) / (time.perf_counter() - started)


def pymerkle_appends(tree: SqliteTree, leaves: list[bytes]) -> float:
    started = time.perf_counter()
    for first in range(0, len(leaves), BATCH):
        tree.append_entries(leaves[first : first + BATCH], chunksize=BATCH)
    return len(leaves) / (time.perf_counter() - started)


def median_ms(call: Callable[[int], object], arguments: list[int]) -> float:
    """Median wall time of ``call(argument)`` over the arguments, in milliseconds."""
    times = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def proof_times(log: TransparencyLog, size: int, rng: random.Random) -> tuple[float, float]:
    indexes = [rng.randrange(size) for _ in range(PROOFS)]
    olds = [rng.randrange(1, size) for _ in range(PROOFS)]
    inclusion = median_ms(lambda i: log.inclusion_proof(i, size), indexes)
    consistency = median_ms(lambda old: log.consistency_proof(old, size), olds)
    return inclusion, consistency


def pymerkle_proof_times(tree: SqliteTree, size: int, rng: random.Random) -> tuple[float, float]:
    # pymerkle numbers leaves from 1; a tenth as many samples: its proofs are slow.
    indexes = [rng.randrange(1, size + 1) for _ in range(PROOFS // 10)]
    olds = [rng.randrange(1, size) for _ in range(PROOFS // 10)]
    inclusion = median_ms(lambda i: tree.prove_inclusion(i, size), indexes)
    consistency = median_ms(lambda old: tree.prove_consistency(old, size), olds)
    return inclusion, consistency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000, help="size of the big tree")
    parser.add_argument(
        "--pymerkle-leaves", type=int, default=200_000, help="leaves appended to pymerkle"
    )
    args = parser.parse_args()
    rng = random.Random(9162)
    signer, _ = note.generate(ORIGIN)
    leaves = make_leaves(args.leaves)
    print(
        f"leaves of {LEAF_BYTES} bytes, batches of {BATCH:,}; "
        "SQLite WAL, synchronous=FULL, 64 MiB cache"
    )

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        bare = bare_sqlite(directory / "bare.db", leaves[: args.pymerkle_leaves])

        log = TransparencyLog.open(f"sqlite:///{directory / 'log.db'}", ORIGIN, signer)
        log.append([])
        ours_small = our_appends(log, leaves[:SMALL])
        small = proof_times(log, SMALL, rng)
        ours = our_appends(log, leaves[SMALL:])
        big = proof_times(log, args.leaves, rng)

        tree = SqliteTree(str(directory / "pymerkle.db"))
        theirs = pymerkle_appends(tree, leaves[:SMALL])
        theirs_small = pymerkle_proof_times(tree, SMALL, rng)
        theirs += pymerkle_appends(tree, leaves[SMALL : args.pymerkle_leaves])
        theirs /= 2  # the mean of the two runs' rates
        theirs_big = pymerkle_proof_times(tree, args.pymerkle_leaves, rng)
        tree.close()

    print(f"{'bare SQLite executemany (baseline)':<44} {bare:>10,.0f} leaves/s")
    print(
        f"{'bpl TransparencyLog.append':<44} {ours:>10,.0f} leaves/s  "
        f"{ours / bare:6.1%} of bare  (target 50,000/s: {'met' if ours >= 50_000 else 'NOT met'})"
    )
    print(f"{'  (first 10,000 leaves)':<44} {ours_small:>10,.0f} leaves/s")
    print(
        f"{'pymerkle SqliteTree.append_entries':<44} {theirs:>10,.0f} leaves/s  "
        f"bpl is {ours / theirs:.1f}x"
    )
    print()
    print(f"proofs (median of {PROOFS}, ms)      {'inclusion':>10} {'consistency':>12}")
    print(f"bpl at {SMALL:>9,} leaves             {small[0]:>10.3f} {small[1]:>12.3f}")
    print(f"bpl at {args.leaves:>9,} leaves             {big[0]:>10.3f} {big[1]:>12.3f}")
    for name, at_small, at_big in (
        ("inclusion", small[0], big[0]),
        ("consistency", small[1], big[1]),
    ):
        ratio = at_big / at_small
        verdict = "met" if at_big < 2.0 and ratio <= 2.0 else "NOT met"
        print(
            f"  {name}: {at_big:.3f} ms at {args.leaves:,}, {ratio:.2f}x the time at "
            f"{SMALL:,} (target < 2 ms and <= 2x: {verdict})"
        )
    print(
        f"pymerkle at {SMALL:>9,} leaves        {theirs_small[0]:>10.3f} {theirs_small[1]:>12.3f}"
    )
    print(
        f"pymerkle at {args.pymerkle_leaves:>9,} leaves        "
        f"{theirs_big[0]:>10.3f} {theirs_big[1]:>12.3f}"
    )


if __name__ == "__main__":
    main()

"""Throughput of the stored log's appends and the cost of its proofs, with baselines.

Targets (issue 3), one core, SQLite:

* appends in batches: at least 50,000 leaves/s, printed with the ratio to a bare SQLite
  ``executemany`` of the same leaf rows (same table, same pragmas, one commit per batch)
  measured in the same run;
* proofs from the store at 1,000,000 leaves: an inclusion proof under 2 ms and at most
  2x its time at 10,000 leaves; the same for consistency proofs;
* pymerkle (``SqliteTree``) side by side on the same leaves: appends/s and proof time
  (pymerkle's in-memory cache of subtree roots is cleared before each of its proofs).

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
PROOFS = 200
ROUNDS = 5
ORIGIN = "bench.bpl.example/log"


def make_leaves(count: int, start: int = 0) -> list[bytes]:
    """Distinct leaves of LEAF_BYTES bytes, like a small record's canonical bytes."""
    return [f"record {i} ".encode().ljust(LEAF_BYTES, b"x") for i in range(start, start + count)]


def bare_sqlite(path: Path, leaves: list[bytes]) -> float:
    """Leaves/s of a plain executemany of (index, leaf hash, data) rows, batch by batch."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA page_size = 16384")
    connection.execute("PRAGMA wal_autocheckpoint = 16384")
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


def proof_rounds(
    cases: dict[str, Callable[[random.Random], object]], samples: int
) -> dict[str, float]:
    """Median ms of each case, best of ROUNDS interleaved rounds of ``samples`` calls each,
    so that a slow spell of a shared machine hits every case alike."""
    best = dict.fromkeys(cases, float("inf"))
    rng = random.Random(9162)
    for _ in range(ROUNDS):
        for name, case in cases.items():
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                case(rng)
                times.append(time.perf_counter() - started)
            best[name] = min(best[name], statistics.median(times) * 1000)
    return best


def log_cases(log: TransparencyLog, size: int) -> dict[str, Callable[[random.Random], object]]:
    return {
        "inclusion": lambda rng: log.inclusion_proof(rng.randrange(size), size),
        "consistency": lambda rng: log.consistency_proof(rng.randrange(1, size), size),
    }


def pymerkle_cases(tree: SqliteTree, size: int) -> dict[str, Callable[[random.Random], object]]:
    """pymerkle's proofs from a cold start: it caches subtree roots in memory, so repeated
    rounds over one tree would time its cache; bpl keeps no cache beyond SQLite's pages."""

    def inclusion(rng: random.Random) -> object:
        tree.cache_clear()
        return tree.prove_inclusion(rng.randrange(1, size + 1), size)  # numbered from 1

    def consistency(rng: random.Random) -> object:
        tree.cache_clear()
        return tree.prove_consistency(rng.randrange(1, size), size)

    return {"inclusion": inclusion, "consistency": consistency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000, help="size of the big tree")
    parser.add_argument(
        "--pymerkle-leaves", type=int, default=200_000, help="leaves appended to pymerkle"
    )
    args = parser.parse_args()
    signer, _ = note.generate(ORIGIN)
    leaves = make_leaves(args.leaves)
    print(
        f"leaves of {LEAF_BYTES} bytes, batches of {BATCH:,}; "
        "SQLite WAL, synchronous=FULL, 16 KiB pages, 64 MiB cache (bpl and the bare baseline)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        compared = leaves[: args.pymerkle_leaves]
        bare = bare_sqlite(directory / "bare.db", compared)

        small = TransparencyLog.open(f"sqlite:///{directory / 'small.db'}", ORIGIN, signer)
        small.append([])
        our_appends(small, leaves[:SMALL])
        big = TransparencyLog.open(f"sqlite:///{directory / 'big.db'}", ORIGIN, signer)
        big.append([])
        ours_compared = our_appends(big, compared)
        rest = leaves[args.pymerkle_leaves :]
        ours = ours_compared
        if rest:  # the rate over all leaves: time for the first ones plus the rest's
            ours_rest = our_appends(big, rest)
            ours = args.leaves / (len(compared) / ours_compared + len(rest) / ours_rest)

        tree = SqliteTree(str(directory / "pymerkle.db"))
        theirs = pymerkle_appends(tree, compared)
        tree_small = SqliteTree(str(directory / "pymerkle-small.db"))
        pymerkle_appends(tree_small, leaves[:SMALL])

        cases = {
            **{f"bpl small {k}": v for k, v in log_cases(small, SMALL).items()},
            **{f"bpl big {k}": v for k, v in log_cases(big, args.leaves).items()},
        }
        times = proof_rounds(cases, PROOFS)
        slow_cases = {
            **{f"pymerkle small {k}": v for k, v in pymerkle_cases(tree_small, SMALL).items()},
            **{
                f"pymerkle big {k}": v
                for k, v in pymerkle_cases(tree, args.pymerkle_leaves).items()
            },
        }
        times |= proof_rounds(slow_cases, PROOFS // 10)
        tree.close()
        tree_small.close()

    print(f"{'bare SQLite executemany (baseline)':<46} {bare:>9,.0f} leaves/s")
    print(
        f"{'bpl TransparencyLog.append, first ' + format(len(compared), ','):<46} "
        f"{ours_compared:>9,.0f} leaves/s  {ours_compared / bare:6.1%} of bare"
    )
    print(
        f"{'pymerkle SqliteTree.append_entries, same':<46} {theirs:>9,.0f} leaves/s  "
        f"bpl is {ours_compared / theirs:.2f}x"
    )
    print(
        f"{'bpl TransparencyLog.append, all ' + format(args.leaves, ','):<46} {ours:>9,.0f} "
        f"leaves/s  (target 50,000/s: {'met' if ours >= 50_000 else 'NOT met'})"
    )
    print()
    print(
        f"proofs, ms (best of {ROUNDS} interleaved medians)  {'inclusion':>10} {'consistency':>12}"
    )
    for who, size in (
        ("bpl", SMALL),
        ("bpl", args.leaves),
        ("pymerkle", SMALL),
        ("pymerkle", args.pymerkle_leaves),
    ):
        kind = "small" if size == SMALL else "big"
        print(
            f"{who + ' at ' + format(size, ',') + ' leaves':<46} "
            f"{times[f'{who} {kind} inclusion']:>10.3f} {times[f'{who} {kind} consistency']:>12.3f}"
        )
    for name in ("inclusion", "consistency"):
        at_big, at_small = times[f"bpl big {name}"], times[f"bpl small {name}"]
        ratio = at_big / at_small
        verdict = "met" if at_big < 2.0 and ratio <= 2.0 else "NOT met"
        print(
            f"  {name}: {at_big:.3f} ms at {args.leaves:,}, {ratio:.2f}x the time at "
            f"{SMALL:,} (target < 2 ms and <= 2x: {verdict})"
        )


if __name__ == "__main__":
    main()

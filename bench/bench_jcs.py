"""Benchmark RFC 8785 canonicalization against an Ed25519 signature.

JCS runs on every sign and every verify (eddsa-jcs-2022), so its cost is compared with
the reference implementation (``rfc8785.dumps``) and with the bare signature it precedes.
Run from the repository root: ``python bench/bench_jcs.py``.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

import nacl.signing
import orjson
import rfc8785
from battery_record import sample_record

from signing.jcs import canonicalize

REPEATS = 7


def best_seconds(func: Callable[[], object]) -> float:
    """Best per-call time over REPEATS runs of about 0.2 s each."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=REPEATS, number=number)) / number


def report(label: str, seconds: float) -> None:
    print(f"  {label:44} {seconds * 1e6:9.2f} µs/op {1 / seconds:12,.0f} ops/s")


def main() -> None:
    record = sample_record()
    canonical = canonicalize(record)
    assert canonical == rfc8785.dumps(record), "signing.jcs disagrees with rfc8785"
    with_null = sample_record()
    with_null["credentialSubject"]["lastService"] = None
    assert canonicalize(with_null) == rfc8785.dumps(with_null)

    key = nacl.signing.SigningKey.generate()
    message = bytes(range(64))

    print(f"battery record: {len(canonical)} bytes of JCS")
    reference = best_seconds(lambda: rfc8785.dumps(record))
    ours = best_seconds(lambda: canonicalize(record))
    ours_null = best_seconds(lambda: canonicalize(with_null))
    floor = best_seconds(lambda: orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    sign = best_seconds(lambda: key.sign(message))
    report("rfc8785.dumps", reference)
    report("signing.jcs.canonicalize", ours)
    report("signing.jcs.canonicalize (record with a null)", ours_null)
    report("orjson.dumps, sorted keys (floor; not JCS)", floor)
    report("nacl SigningKey.sign (64-byte message)", sign)
    print(f"canonicalize ops/s : sign ops/s = {sign / ours:.2f}")
    print(f"speed-up over rfc8785: {reference / ours:.1f}x")


if __name__ == "__main__":
    main()

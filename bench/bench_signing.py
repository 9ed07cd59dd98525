"""Throughput of Data Integrity sign/verify against bare Ed25519, measured in one run.

Targets (issue 2), one core, ~1.7 KB battery record: ``proofs.sign`` (eddsa-jcs-2022) at
least 50 % of bare pynacl sign ops/s on a 64-byte message, ``proofs.verify`` at least
60 % of bare verify ops/s. eddsa-rdfc-2022 is printed for information (JSON-LD is slow).

Run: ``.venv/bin/python bench/bench_signing.py`` (or ``make bench``).
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

import nacl.signing
from battery_record import sample_record

from signing import jcs, keys, proofs, suites

SIGN_TARGET = 0.50
VERIFY_TARGET = 0.60


def ops_per_second(func: Callable[[], object], min_time: float = 0.4, repeats: int = 5) -> float:
    """Best of ``repeats`` runs, each long enough to last ``min_time`` seconds."""
    number, _ = timeit.Timer(func).autorange()
    number = max(number, int(number * min_time / 0.2))
    best = min(timeit.repeat(func, number=number, repeat=repeats))
    return number / best


def line(name: str, ops: float, baseline: float | None = None, target: float | None = None) -> None:
    text = f"{name:<42} {ops:>10,.0f} ops/s {1e6 / ops:>9.1f} us"
    if baseline is not None:
        ratio = ops / baseline
        text += f"   {ratio:6.1%} of baseline"
        if target is not None:
            text += f" (target {target:.0%}: {'met' if ratio >= target else 'NOT met'})"
    print(text)


def main() -> None:
    record = sample_record()
    key = keys.generate()
    print(f"record: {len(jcs.canonicalize(record))} bytes of JCS")

    raw = nacl.signing.SigningKey(bytes(32))
    message = bytes(range(64))
    raw_signature = raw.sign(message).signature
    bare_sign = ops_per_second(lambda: raw.sign(message))
    bare_verify = ops_per_second(lambda: raw.verify_key.verify(message, raw_signature))
    line("bare Ed25519 sign (64 B, pynacl)", bare_sign)
    line("bare Ed25519 verify (64 B, pynacl)", bare_verify)

    signed = proofs.sign(record, key, suites.JCS)
    line(
        "proofs.sign eddsa-jcs-2022",
        ops_per_second(lambda: proofs.sign(record, key, suites.JCS)),
        bare_sign,
        SIGN_TARGET,
    )
    line(
        "proofs.verify eddsa-jcs-2022",
        ops_per_second(lambda: proofs.verify(signed)),
        bare_verify,
        VERIFY_TARGET,
    )

    # Under RDFC every term must be defined: use the project's context (its @vocab).
    record = {
        **record,
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/bpl/v1"],
    }
    signed_rdfc = proofs.sign(record, key, suites.RDFC)
    quick = {"min_time": 0.2, "repeats": 3}
    line(
        "proofs.sign eddsa-rdfc-2022 (info)",
        ops_per_second(lambda: proofs.sign(record, key, suites.RDFC), **quick),
        bare_sign,
    )
    line(
        "proofs.verify eddsa-rdfc-2022 (info)",
        ops_per_second(lambda: proofs.verify(signed_rdfc), **quick),
        bare_verify,
    )


if __name__ == "__main__":
    main()

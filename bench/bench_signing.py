"""Throughput of Data Integrity sign/verify against bare Ed25519, measured in one run.

Targets (issue 2), one core, ~1.7 KB battery record: ``proofs.sign`` (eddsa-jcs-2022) at
least 50 % of bare pynacl sign ops/s on a 64-byte message, ``proofs.verify`` at least
60 % of bare verify ops/s. eddsa-rdfc-2022 is printed for information (JSON-LD is slow).

The cases are measured in interleaved rounds and each keeps its best round, so a slow
spell of a shared machine hits the baseline and the case alike instead of skewing the ratio.

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

from ledger.core import contexts
from signing import jcs, keys, proofs, suites

SIGN_TARGET = 0.50
VERIFY_TARGET = 0.60
ROUNDS = 15
ROUND_SECONDS = 0.1


def best_ops_per_second(cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Ops/s of each case: the best of ROUNDS interleaved rounds of ~ROUND_SECONDS each."""
    numbers = {}
    for name, func in cases.items():
        number, elapsed = timeit.Timer(func).autorange()
        numbers[name] = max(1, int(number * ROUND_SECONDS / elapsed))
    best = dict.fromkeys(cases, 0.0)
    for _ in range(ROUNDS):
        for name, func in cases.items():
            elapsed = timeit.timeit(func, number=numbers[name])
            best[name] = max(best[name], numbers[name] / elapsed)
    return best


def line(name: str, ops: float, baseline: float | None = None, target: float | None = None) -> None:
    text = f"{name:<40} {ops:>10,.0f} ops/s {1e6 / ops:>9.1f} us"
    if baseline is not None:
        ratio = ops / baseline
        text += f"  {ratio:6.1%} of bare"
        if target is not None:
            text += f" (target {target:.0%}: {'met' if ratio >= target else 'NOT met'})"
    print(text)


def main() -> None:
    record = sample_record()
    key = keys.generate()
    print(f"record: {len(jcs.canonicalize(record))} bytes of JCS; best of {ROUNDS} rounds")

    raw = nacl.signing.SigningKey(bytes(32))
    message = bytes(range(64))
    raw_signature = raw.sign(message).signature
    signed = proofs.sign(record, key, suites.JCS)
    ops = best_ops_per_second(
        {
            "bare sign": lambda: raw.sign(message),
            "bare verify": lambda: raw.verify_key.verify(message, raw_signature),
            "sign": lambda: proofs.sign(record, key, suites.JCS),
            "verify": lambda: proofs.verify(signed),
        }
    )
    line("bare Ed25519 sign (64 B, pynacl)", ops["bare sign"])
    line("bare Ed25519 verify (64 B, pynacl)", ops["bare verify"])
    line("proofs.sign eddsa-jcs-2022", ops["sign"], ops["bare sign"], SIGN_TARGET)
    line("proofs.verify eddsa-jcs-2022", ops["verify"], ops["bare verify"], VERIFY_TARGET)

    # Under RDFC every term must be defined: use the project's context (its @vocab), which
    # the ledger hands to signing.
    rdfc_record = {
        **record,
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/bpl/v1"],
    }
    loader = contexts.loader()
    signed_rdfc = proofs.sign(rdfc_record, key, suites.RDFC, loader=loader)
    slow = best_ops_per_second(
        {
            "sign": lambda: proofs.sign(rdfc_record, key, suites.RDFC, loader=loader),
            "verify": lambda: proofs.verify(signed_rdfc, loader=loader),
        }
    )
    line("proofs.sign eddsa-rdfc-2022 (info)", slow["sign"], ops["bare sign"])
    line("proofs.verify eddsa-rdfc-2022 (info)", slow["verify"], ops["bare verify"])


if __name__ == "__main__":
    main()

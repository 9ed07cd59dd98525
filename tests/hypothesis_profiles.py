"""Hypothesis profiles: how many examples the property tests draw.

- ``default`` (Hypothesis's own, on a developer's machine): random examples, the example
  database in ``.hypothesis/`` (safe for parallel workers: each example is one file,
  written to a temporary name and renamed), a 200 ms deadline.
- ``ci`` (Hypothesis's own, loaded when ``$CI`` is set, as on CI): the same numbers of
  examples, derandomized (the same examples on every run), no deadline, no database.
- ``nightly``: ten times the examples of every property test, fresh random ones on each
  run, no deadline. ``BPL_HYPOTHESIS_PROFILE=nightly make test`` (or ``pytest
  --hypothesis-profile=nightly``) runs it; ``make test-nightly`` is the first.

A test that sets its own ``max_examples`` says ``examples(n)``: ``n`` in the default and
ci profiles, ten times ``n`` in the nightly one. A test that sets none draws Hypothesis's
100 examples, 1,000 in the nightly profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

NIGHTLY_FACTOR = 10
PROFILE_ENV = "BPL_HYPOTHESIS_PROFILE"

settings.register_profile(
    "nightly",
    parent=settings.get_profile("default"),
    max_examples=100 * NIGHTLY_FACTOR,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def load_profile_from_environment() -> None:
    """Load ``$BPL_HYPOTHESIS_PROFILE`` if it is set (``--hypothesis-profile`` still wins:
    Hypothesis's plugin loads that one later)."""
    name = os.environ.get(PROFILE_ENV)
    if name:
        settings.load_profile(name)


def examples(n: int) -> int:
    """``max_examples`` for a test that draws ``n`` examples on CI."""
    if settings.get_current_profile_name() == "nightly":
        return n * NIGHTLY_FACTOR
    return n

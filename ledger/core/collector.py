"""Pausing CPython's cyclic garbage collector while a batch of records is processed.

A batch allocates tens of thousands of dicts, lists and objects that live until it ends.
Their allocation counts towards the collector's thresholds, so one batch set off several
collections of the oldest generation, each walking every live object of the process (the
batch's, and all that the imported libraries hold) only to find no cyclic garbage: the
batch's objects are freed by reference counting when it ends. Measured on
``bench/bench_ledger.py``: 11 % of ``append_many``'s time was the collector's (py-spy),
and pausing it made ``append_many`` 10 % faster. It runs again afterwards; cyclic garbage
made meanwhile is collected then. Pauses nest and may overlap across threads: the collector
is re-enabled when the last one ends, and only if it was enabled before the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """The process's pause count and whether the collector was enabled before them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_pauses = _Pauses()


@contextmanager
def paused() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block (see the module doc)."""
    with _pauses.lock:
        if _pauses.count == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.count += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.count -= 1
            if _pauses.count == 0 and _pauses.was_enabled:
                gc.enable()

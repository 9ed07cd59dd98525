"""Group commit: single appends from many callers, committed together.

Each caller queues its item and waits; one committer thread takes everything queued as one
group, hands it to a ``commit`` function (one transaction, one disk sync for the group)
that gives each item its own outcome, and wakes each caller with its own. While a group
commits, the next queues up. So single appends scale with concurrent callers, not with the
disk's sync rate (ADR 0008). The thread ends after an idle spell; the next item starts a
new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ledger.core import collector

Item = TypeVar("Item")
Result = TypeVar("Result")

IDLE_SECONDS = 0.5
"""How long the committer thread waits for work before it ends."""


@dataclass
class _Slot(Generic[Item, Result]):
    """One caller's item waiting for its group, and its outcome."""

    item: Item
    finished: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None


class GroupCommitter(Generic[Item, Result]):
    """Commits what callers :meth:`submit`, a group at a time, in a thread of its own.

    ``commit`` gets a group's items, in the order they were queued, and returns an outcome
    for each: its result, or the exception its caller gets. Should it raise, every caller
    of the group gets that exception. It runs with the cyclic garbage collector paused
    (:mod:`ledger.core.collector`): a group's short-lived objects are freed as it returns.
    """

    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        *,
        name: str,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._commit = commit
        self._name = name
        self._idle_seconds = idle_seconds
        self._changed = threading.Condition()
        self._queue: list[_Slot[Item, Result]] = []
        self._thread: threading.Thread | None = None

    def submit(self, item: Item) -> Result:
        """Queue ``item``, wait for its group's commit, and return its result (or raise
        its exception)."""
        slot: _Slot[Item, Result] = _Slot(item)
        with self._changed:
            self._queue.append(slot)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._changed.notify()
        slot.finished.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set when error is None

    def _serve(self) -> None:
        """The thread: commit whatever is queued, group after group, and end after an idle
        spell. It never raises: every failure goes to the waiting callers."""
        group: list[_Slot[Item, Result]] = []
        try:
            while True:
                with self._changed:
                    if not self._queue:
                        self._changed.wait(self._idle_seconds)
                    if not self._queue:
                        self._thread = None
                        return
                    group, self._queue = self._queue, []
                self._commit_group(group)
                group = []
        except BaseException as exc:  # pragma: no cover - _commit_group catches Exception
            with self._changed:
                self._thread = None
                group += self._queue
                self._queue = []
            _release(group, exc)

    def _commit_group(self, group: list[_Slot[Item, Result]]) -> None:
        try:
            with collector.paused():
                outcomes = self._commit([slot.item for slot in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"{len(outcomes)} outcomes for a group of {len(group)}")
        except Exception as exc:  # the commit failed: every caller of the group hears it
            _release(group, exc)
            return
        for slot, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                slot.error = outcome
            else:
                slot.result = outcome
            slot.finished.set()


def _release(group: list[_Slot[Item, Result]], error: BaseException) -> None:
    """Wake every caller of ``group`` with ``error``."""
    for slot in group:
        slot.error = error
        slot.finished.set()

"""``ledger.committer.GroupCommitter``: callers' items committed a group at a time, each
caller woken with its own outcome; a failing commit reaches the callers of its group only;
the thread ends when idle and a new one serves the next item."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.committer import GroupCommitter


class Recorder:
    """A commit function that records its groups; ``gate`` holds the first group until set,
    so that the next callers queue up behind it."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.gate.wait(5)
        return [ValueError(f"odd {item}") if item % 2 else item * 10 for item in items]


def test_items_queued_during_a_commit_form_the_next_group_each_with_its_outcome() -> None:
    commit = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(commit, name="test-committer")
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(committer.submit, 0)
        while not commit.groups:
            time.sleep(0.001)
        rest = [pool.submit(committer.submit, item) for item in range(1, 8)]
        time.sleep(0.05)  # they queue behind the first group
        commit.gate.set()
        assert first.result() == 0
        for item, future in zip(range(1, 8), rest, strict=True):
            if item % 2:
                with pytest.raises(ValueError, match=f"odd {item}"):
                    future.result()
            else:
                assert future.result() == item * 10
    assert commit.groups[0] == [0]
    assert sorted(item for group in commit.groups[1:] for item in group) == list(range(1, 8))
    assert len(commit.groups) < 8  # they were committed in groups, not one by one


def test_a_failing_commit_reaches_its_group_only_and_the_committer_goes_on() -> None:
    calls: list[list[str]] = []

    def commit(items: Sequence[str]) -> list[str | BaseException]:
        calls.append(list(items))
        if "boom" in items:
            raise RuntimeError("the database went away")
        return [item.upper() for item in items]

    committer: GroupCommitter[str, str] = GroupCommitter(commit, name="test-committer")
    with pytest.raises(RuntimeError, match="went away"):
        committer.submit("boom")
    assert committer.submit("fine") == "FINE"


def test_a_commit_giving_the_wrong_number_of_outcomes_is_an_error_for_its_group() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [], name="test-committer")
    with pytest.raises(RuntimeError, match="0 outcomes for a group of 1"):
        committer.submit(1)


def test_the_thread_ends_when_idle_and_a_new_one_serves_the_next_item() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(
        list, name="test-idle-committer", idle_seconds=0.01
    )
    assert committer.submit(1) == 1
    deadline = time.monotonic() + 5
    while any(t.name == "test-idle-committer" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the committer thread never ended"
        time.sleep(0.01)
    assert committer.submit(2) == 2

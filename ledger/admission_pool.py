"""Admission of large batches shared with worker processes (ADR 0018).

A :class:`~ledger.facade.Ledger` owns one :class:`AdmissionPool`. Below :data:`POOL_FROM`
submissions, or for submissions that are not JSON bytes, it admits in its own thread as
before. From there, the batch is cut into chunks of :data:`CHUNK` that the calling thread
and the pool's worker processes take in turn, the caller admitting chunks itself while the
workers admit others, until none is left; each record's outcome is put back at its place.
The workers run :func:`ledger.core.admission.admit_in_worker`: the same checks over the
same bytes under the same grading policies, so the same verdicts and messages; they send
back each Checked record pickled (its parsed values with their own types) or a refusal as
three values.

The pool is started by the first batch that would use it, in a thread of its own: that
batch and any other until the workers answer are admitted in the caller's thread alone
(starting the fork server and the workers blocked the caller for about a second on a
loaded machine, which cost a benchmark of 12 batches 200 us a record). It stops with
:meth:`AdmissionPool.close` (``Ledger.close``). A worker that dies (killed, out of memory)
breaks the pool: the batch raises :class:`AdmissionWorkerError`, nothing of it having been
stored (admission comes before the transaction), and the next batch starts a new pool.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ledger import worker_pool
from ledger.core import admission
from ledger.core.admission import Checked, Policies, Refusal
from ledger.errors import LedgerError, RecordRejected

POOL_FROM = 256
"""Submissions in a batch from which a ledger admits it with its pool: below, the chunks
are too few to share (a chunk's round trip costs about what admitting a few records does)."""
CHUNK = 32
"""Records a chunk: small enough that the caller, which finishes with the chunks the
workers still hold, waits little at the end of a batch."""
AHEAD = 2
"""Chunks held by each worker at a time (one being admitted, one waiting): a worker that
finishes one starts the next at once, without waiting for this process to send it."""


class AdmissionWorkerError(LedgerError):
    """An admission worker process ended while admitting a batch (killed, out of memory).
    Nothing of the batch was stored; the next batch starts new workers."""


def default_workers() -> int:
    """Worker processes for a ledger's admission: one per CPU this process may run on
    besides the one its own thread uses; none on a single CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    return max(0, cpus - 1)


class AdmissionPool:
    """A ledger's admission worker processes, started when a batch first needs them.

    ``workers``: how many (0: every batch is admitted in the caller's thread). May be
    changed while the pool is stopped (for example to compare with admission in one
    process)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        """The workers, once they answered."""
        self._starting: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pickled: tuple[Policies, bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether worker processes are started."""
        return self._executor is not None

    def wants(self, submissions: Sequence[Any]) -> bool:
        """Whether ``submissions`` are admitted with the pool: a batch of at least
        :data:`POOL_FROM` JSON submissions (bytes, as clients and files send them; parsed
        mappings would cost more to send than to admit here), and workers allowed."""
        return (
            self.workers > 0
            and len(submissions) >= POOL_FROM
            and all(submission.__class__ is bytes for submission in submissions)
        )

    def admit(
        self, submissions: Sequence[bytes], policies: Policies
    ) -> list[Checked | RecordRejected]:
        """:func:`admission.check_submissions` of ``submissions`` under ``policies``, shared
        between this thread and the workers: the same outcome for each, in order. Raises
        :class:`AdmissionWorkerError` if a worker dies meanwhile; any other error a worker
        raised is raised as it is. Until the workers have started (:meth:`start`), this
        thread admits alone."""
        executor = self._ready()
        if executor is None:
            return admission.check_submissions(submissions, policies)
        pickled = self._policies_pickled(policies)
        chunks = [submissions[start : start + CHUNK] for start in range(0, len(submissions), CHUNK)]
        results: list[list[Checked | RecordRejected] | None] = [None] * len(chunks)
        sharing = _Sharing(len(chunks))

        def send(index: int) -> None:
            try:
                future = executor.submit(admission.admit_in_worker, chunks[index], pickled)
            except BaseException as exc:  # the pool broke (or shut down) meanwhile
                sharing.failed(exc)
                return
            future.add_done_callback(lambda done: returned(index, done))

        def returned(index: int, done: Future[list[Checked | Refusal]]) -> None:
            # In the pool's own thread (or this one, if it was done already).
            error = done.exception()
            if error is not None:
                sharing.failed(error)
                return
            results[index] = [
                outcome if outcome.__class__ is Checked else admission.rejected(outcome)  # type: ignore[arg-type]
                for outcome in done.result()
            ]
            following = sharing.claim()
            if following is not None:
                send(following)
            sharing.finished()

        for _ in range(self.workers * AHEAD):
            first = sharing.claim()
            if first is None:
                break
            send(first)
        while (here := sharing.claim()) is not None:
            results[here] = admission.check_submissions(chunks[here], policies)
            sharing.finished()
        error = sharing.wait()
        if error is not None:
            if isinstance(error, BrokenProcessPool):
                self._stop(executor)
                raise AdmissionWorkerError(
                    "an admission worker process ended while admitting the batch; nothing "
                    "of it was stored"
                ) from error
            raise error
        return [outcome for chunk in results for outcome in chunk]  # type: ignore[union-attr]

    def start(self, *, wait: bool = False) -> None:
        """Start the workers in a thread of their own, if not started or starting; ``wait``:
        until they answer (a service may start them before its first batch, as the
        benchmark does)."""
        with self._lock:
            starting = self._starting
            if self._executor is None and starting is None and self.workers > 0:
                starting = self._starting = threading.Thread(
                    target=self._start, name="bpl-admission-pool-start", daemon=True
                )
                starting.start()
        if wait and starting is not None:
            starting.join()

    def close(self) -> None:
        """Stop the worker processes (started again by the next batch that needs them)."""
        with self._lock:
            starting = self._starting
        if starting is not None:
            starting.join()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _ready(self) -> ProcessPoolExecutor | None:
        """The workers if they answered; else None, their start begun."""
        executor = self._executor
        if executor is None:
            self.start()
        return executor

    def _start(self) -> None:
        """The start thread: the fork server (importing ``ledger.core.admission``), each
        worker, and an answer from each, before the pool is used."""
        # Workers that import ledger.core.admission alone, never the caller's __main__
        # (ADR 0015).
        context = worker_pool.context([admission.__name__])
        executor = ProcessPoolExecutor(self.workers, mp_context=context)
        try:
            for answer in [executor.submit(os.getpid) for _ in range(self.workers)]:
                answer.result()
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            executor = None  # type: ignore[assignment]  # the next batch tries again
        with self._lock:
            self._executor = executor
            self._starting = None

    def _stop(self, executor: ProcessPoolExecutor) -> None:
        """A broken pool is dropped (the next batch starts another)."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def _policies_pickled(self, policies: Policies) -> bytes:
        """``policies`` pickled once per set (a ledger replaces its set, never changes it in
        place), and sent with each chunk as bytes; each worker unpickles a set once."""
        cached = self._pickled
        if cached is not None and cached[0] is policies:
            return cached[1]
        pickled = pickle.dumps(dict(policies), protocol=pickle.HIGHEST_PROTOCOL)
        self._pickled = (policies, pickled)
        return pickled


class _Sharing:
    """Which chunks of a batch are claimed, how many are admitted, and the first error."""

    def __init__(self, chunks: int) -> None:
        self._chunks = chunks
        self._claimed = 0
        self._done = 0
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def claim(self) -> int | None:
        """The next chunk to admit, None when all are claimed or one failed."""
        with self._changed:
            if self._error is not None or self._claimed == self._chunks:
                return None
            self._claimed += 1
            return self._claimed - 1

    def finished(self) -> None:
        with self._changed:
            self._done += 1
            self._changed.notify_all()

    def failed(self, error: BaseException) -> None:
        with self._changed:
            if self._error is None:
                self._error = error
            self._done += 1
            self._changed.notify_all()

    def wait(self) -> BaseException | None:
        """Once every claimed chunk is admitted or failed: the first error, or None."""
        with self._changed:
            while self._done < self._claimed:
                self._changed.wait()
            return self._error

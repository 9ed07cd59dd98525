"""Worker processes for CPU-bound checks that never import the caller's main program.

multiprocessing has each new process import the caller's ``__main__`` (as
``__mp_main__``): for a program read from stdin that breaks the pool (there is no file to
import), and a script without a main guard runs again in every worker. A library call must
not depend on how its caller was started, and the workers need nothing of it, so their
processes are launched as if the main module had no file.

Standard library only: the worker processes unpickle :class:`_WorkerProcess` by importing
this module, and anything it imported would slow every worker's start (ADR 0008: the
audit's workers import :mod:`ledger.core.admission` alone).
"""

from __future__ import annotations

import multiprocessing
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing import context as mp_context
from typing import Any


def context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """How worker processes start: not by forking this process, which may hold threads and
    database connections, and without the caller's main program. Where it exists, a fork
    server: started once per process, it imports ``preload`` (and this module) and forks
    each worker ready to work, where spawning made every worker import everything again.
    Elsewhere, spawned."""
    try:
        multiprocessing.get_context("forkserver")
    except ValueError:  # pragma: no cover - platforms without fork servers
        return multiprocessing.get_context("spawn")
    server = _WorkerContext()
    server.set_forkserver_preload([__name__, *preload])
    return server


class _WorkerProcess(mp_context.ForkServerProcess):
    """A fork server's process, launched without the caller's ``__main__``."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 (multiprocessing's name)
        with _main_module_hidden():
            return mp_context.ForkServerProcess._Popen(process_obj)


class _WorkerContext(mp_context.ForkServerContext):
    """The fork server context, its processes launched by :class:`_WorkerProcess`."""

    Process = _WorkerProcess


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While a worker process is launched: ``__main__`` replaced by an empty module, so that
    the launch data multiprocessing sends names no main module to import."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main

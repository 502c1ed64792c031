"""Independent tasks (the zones, once the global zone is planned) in forked
worker processes.

Zones depend on the global zone's plan and on nothing else, and every stage
of the objective is a canonical optimum (resolver.objective), so a zone's
plan is the same whichever process solves it, in whichever order: the output
does not depend on the number of workers. Workers are forked after encoding,
so they inherit the formulas and solvers; a task is an index, and its result
comes back pickled (small: FMRIs, not packages).

Forking needs the "fork" start method (illumos, Solaris, Linux, the BSDs).
Where it is missing, tasks run in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

from resolver.errors import ZonesolveError
from resolver.progress import Progress

T = TypeVar("T")

#: below this many tasks, forking costs more than it saves
MIN_PARALLEL_TASKS = 16

_task: Callable[[int], object] | None = None  # set in the parent, inherited by the workers


def default_jobs() -> int:
    """Worker processes when none are asked for: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity (illumos, macOS)
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def run_all(
    task: Callable[[int], T],
    count: int,
    jobs: int | None,
    progress: Progress | None = None,
    phase: str = "solving zones",
) -> list[T]:
    """``[task(0), ..., task(count - 1)]``, in ``jobs`` worker processes (None:
    as many as CPUs, and only for enough tasks to pay for it). If tasks raise
    ZonesolveError, the one of the lowest index is raised, as in a serial run."""
    workers = _workers(count, jobs)
    if workers <= 1:
        out = []
        for i in range(count):
            out.append(task(i))
            if progress:
                progress(phase, i + 1, count)
        return out
    return _forked(task, count, workers, progress, phase)


def _workers(count: int, jobs: int | None) -> int:
    if count < 2 or not can_fork():
        return 1
    if jobs is None:
        return min(default_jobs(), count) if count >= MIN_PARALLEL_TASKS else 1
    return min(jobs, count)


def _call(i: int) -> tuple[bool, object]:
    """In a worker: run task i; a ZonesolveError is a result, not a crash."""
    assert _task is not None
    try:
        return True, _task(i)
    except ZonesolveError as err:
        return False, err


def _forked(
    task: Callable[[int], T], count: int, workers: int, progress: Progress | None, phase: str
) -> list[T]:
    global _task
    _task = task
    results: dict[int, object] = {}
    failed: dict[int, ZonesolveError] = {}
    try:
        # no cyclic GC in workers: a collection would touch every inherited
        # object and copy their pages; a worker's own garbage is small
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=gc.disable) as pool:
            pending: dict[Future[tuple[bool, object]], int] = {pool.submit(_call, i): i for i in range(count)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    ok, value = future.result()
                    if ok:
                        results[i] = value
                    else:
                        assert isinstance(value, ZonesolveError)
                        failed[i] = value
                        _cancel_after(pending, i)  # a serial run would not get past i
                    if progress:
                        progress(phase, len(results) + len(failed), count)
    finally:
        _task = None
    if failed:
        raise failed[min(failed)]
    return [results[i] for i in range(count)]  # type: ignore[misc]


def _cancel_after(pending: dict[Future[tuple[bool, object]], int], index: int) -> None:
    for future, i in list(pending.items()):
        if i > index and future.cancel():
            del pending[future]

"""Independent work in forked worker processes.

Zones depend on the global zone's plan and on nothing else, and every stage
of the objective is a canonical optimum (resolver.objective), so a zone's
plan is the same whichever process solves it, in whichever order: the output
does not depend on the number of workers. Workers are forked after encoding,
so they inherit the formulas and solvers; they send back small results
(package variables, cores, error objects), never packages.

- ``Pool``: workers that each own a fixed share of the zones for several
  rounds (the joint oracle's checks, then the zones' plans), so a zone's
  assumptions are built once, in its worker;
- ``run_all``: one-off tasks by index (verifying images, parsing manifests).

Forking needs the "fork" start method (illumos, Solaris, Linux, the BSDs).
Where it is missing, everything runs in this process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TypeVar

from resolver.errors import InternalError, ZonesolveError
from resolver.limits import check_deadline
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
    phase: str = "",
    deadline: float | None = None,
) -> list[T]:
    """``[task(0), ..., task(count - 1)]``, in ``jobs`` worker processes (None:
    as many as CPUs, and only for enough tasks to pay for it). If tasks raise
    ZonesolveError, the one of the lowest index is raised, as in a serial run.

    ``deadline`` (``time.monotonic()``): past it, SolveTimeout, without waiting
    for running tasks (their workers are stopped). Tasks that can take long
    should check it themselves too, to stop at a clean point."""
    workers = _workers(count, jobs)
    if workers <= 1:
        out = []
        for i in range(count):
            check_deadline(deadline, phase or "working")
            out.append(task(i))
            if progress:
                progress(phase, i + 1, count)
        return out
    return _forked(task, count, workers, progress, phase, deadline)


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
    task: Callable[[int], T],
    count: int,
    workers: int,
    progress: Progress | None,
    phase: str,
    deadline: float | None,
) -> list[T]:
    global _task
    _task = task
    results: dict[int, object] = {}
    failed: dict[int, ZonesolveError] = {}
    try:
        # no cyclic GC in workers: a collection would touch every inherited
        # object and copy their pages; a worker's own garbage is small
        context = multiprocessing.get_context("fork")
        executor = ProcessPoolExecutor(workers, mp_context=context, initializer=gc.disable)
        with _abandoned_on_error(executor) as pool:
            pending: dict[Future[tuple[bool, object]], int] = {pool.submit(_call, i): i for i in range(count)}
            while pending:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                done, _ = wait_futures(pending, timeout=left, return_when=FIRST_COMPLETED)
                if not done:
                    check_deadline(deadline, phase or "working")
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


@contextlib.contextmanager
def _abandoned_on_error(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """The pool, shut down when done; after an exception in this process (a
    timeout, an interrupt) without waiting: queued tasks are cancelled and
    running ones stopped, so that giving up is not delayed by work nobody
    will read."""
    try:
        yield pool
    except BaseException:
        # ProcessPoolExecutor has no public way to stop running tasks
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(OSError, ValueError):
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        raise
    pool.shutdown(wait=True)


def _cancel_after(pending: dict[Future[tuple[bool, object]], int], index: int) -> None:
    for future, i in list(pending.items()):
        if i > index and future.cancel():
            del pending[future]


#: A pool task: ``(kind, argument, indices, tick) -> {index: result}``, run in
#: the worker that owns those indices; ``tick()`` reports one unit of progress.
Handler = Callable[[str, object, list[int], Callable[[], None]], dict[int, object]]


class Pool:
    """Worker processes that each own a fixed share of ``count`` indices
    (index i goes to worker i mod n) and serve several rounds: what a worker
    builds for its indices in one round (a zone's assumptions) serves it in
    the next. Forked on entry; with one worker, rounds run in this process."""

    def __init__(self, handler: Handler, count: int, jobs: int | None) -> None:
        self.handler = handler
        self.count = count
        self.size = _workers(count, jobs)
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []

    def __enter__(self) -> Pool:
        if self.size > 1:
            context = multiprocessing.get_context("fork")
            for k in range(self.size):
                parent, child = context.Pipe()
                share = list(range(k, self.count, self.size))
                proc = context.Process(target=_serve, args=(child, self.handler, share), daemon=True)
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()

    def run(
        self, kind: str, arg: object, progress: Progress | None = None, phase: str = ""
    ) -> dict[int, object]:
        """One round: every index's result, from whichever worker owns it."""
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(phase, done, self.count)

        if not self._conns:
            return self.handler(kind, arg, list(range(self.count)), tick)
        for conn in self._conns:
            conn.send((kind, arg))
        results: dict[int, object] = {}
        waiting = list(self._conns)
        while waiting:
            for ready in wait(waiting):
                assert isinstance(ready, Connection)
                message = ready.recv()
                if message == _TICK:
                    tick()
                    continue
                waiting.remove(ready)
                ok, value = message
                if not ok:
                    assert isinstance(value, BaseException)
                    raise value
                assert isinstance(value, dict)
                results.update(value)
        return results


_TICK = "tick"


def _serve(conn: Connection, handler: Handler, share: list[int]) -> None:
    """A worker's loop: one round per message, until None."""
    gc.disable()  # see _forked
    try:
        while (message := conn.recv()) is not None:
            kind, arg = message
            try:
                conn.send((True, handler(kind, arg, share, lambda: conn.send(_TICK))))
            except ZonesolveError as err:
                conn.send((False, err))
            except Exception as exc:  # a bug: report it, never hang the parent
                conn.send((False, InternalError(f"worker failed: {type(exc).__name__}: {exc}")))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        os._exit(0)

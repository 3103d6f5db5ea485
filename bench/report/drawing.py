"""Charts drawn in worker processes: the same bytes, in the same order, as drawn here.

A report's figures are independent pure functions of its studies, and drawing them (matplotlib,
one core) is most of a report's time. Section builders hand over ``Draw`` jobs; the report
draws them all at once, in ``Workers`` where the caller started them (the commands start them
as they launch, a report alone, or beside a sweep, its report), else in a pool where there are
enough of them to pay for it (``build_report(..., parallel=True)``), else here.
Workers come from a fork server (a fresh process that imported the figures once, started ahead
so that its imports overlap the caller's work), never from a fork of the caller, which may
hold torch's or Arrow's threads.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

from bench.report import figures
from bench.report.figures import Chart

__all__ = ["MIN_PARALLEL", "Draw", "Workers", "draw_all"]

#: Fewer jobs than this are drawn in this process: a worker's start costs about one figure.
MIN_PARALLEL = 12
#: The most worker processes a report starts.
MAX_WORKERS = 8
#: How often a worker looks whether the process that started it still runs, in seconds.
WATCH_SECONDS = 0.2


class Draw(NamedTuple):
    """A chart still to draw: a figure (``figures.Lazy``) or a module-level function (a worker
    imports either by name), and its arguments."""

    figure: Callable[..., Chart | None]
    args: tuple[Any, ...]


def draw_all(jobs: Sequence[Draw], workers: int | None = None) -> list[Chart | None]:
    """Each job's chart (None where it has nothing to draw), in the order of ``jobs``.

    ``workers``: processes to draw in; by default one per CPU (at most ``MAX_WORKERS``) where
    there are ``MIN_PARALLEL`` jobs or more, else none (this process draws). Where no worker
    can start, this process draws them all.
    """
    if workers is None:
        workers = min(_cpus(), MAX_WORKERS) if len(jobs) >= MIN_PARALLEL else 1
    with Workers(min(workers, len(jobs))) as pool:
        return pool.draw(jobs)


class Workers:
    """Drawing processes whose fork server starts as this is made: its start-up (importing the
    figures and matplotlib, about a second) overlaps what the caller does before it has jobs to
    hand over, and each worker is then a fork of it. A context manager that stops them; where
    none can start, or one dies, the caller draws.
    """

    def __init__(self, count: int | None = None) -> None:
        """``count`` processes (by default one per CPU, at most ``MAX_WORKERS``); under two,
        none: the caller draws."""
        count = min(_cpus(), MAX_WORKERS) if count is None else count
        self._pool: ProcessPoolExecutor | None = None
        # Jobs handed over ahead of ``draw`` (``prefetch``), by identity, with their futures.
        self._early: dict[int, tuple[Draw, Future]] = {}
        if count < 2:
            return
        with contextlib.suppress(OSError):  # a locked-down host without semaphores: draw here
            self._pool = _start_pool(count)

    def prefetch(self, jobs: Sequence[Draw]) -> None:
        """Start drawing ``jobs`` now, ahead of the ``draw`` that will ask for them (the same
        objects): the workers draw while the caller still prepares the others."""
        if self._pool is None:
            return
        with contextlib.suppress(OSError, BrokenProcessPool):  # ``draw`` then draws them here
            for job in jobs:
                self._early[id(job)] = (job, self._pool.submit(_draw, job))

    def draw(self, jobs: Sequence[Draw]) -> list[Chart | None]:
        """Each job's chart (None where it has nothing to draw), in the order of ``jobs``."""
        if self._pool is not None:
            try:
                futures = [
                    self._early[id(job)][1]
                    if id(job) in self._early and self._early[id(job)][0] is job
                    else self._pool.submit(_draw, job)
                    for job in jobs
                ]
                return [future.result() for future in futures]
            except (OSError, BrokenProcessPool):
                self.close(cancel=True)  # a worker died (the OOM killer): draw them here
        return [_draw(job) for job in jobs]

    def close(self, cancel: bool = False) -> None:
        """Stop the processes (``cancel``: without waiting for what they were given)."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None
        self._early.clear()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(cancel=kind is not None)


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose processes start at its first job: forks of a fork server that is starting
    now (its imports take a second), or fresh interpreters where there is no fork server."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        from multiprocessing import forkserver  # a module of POSIX systems only

        context.set_forkserver_preload(
            ["bench.report.server_exit", "bench.report.sections", *figures.MODULES]
        )
        # Returns at once; a worker's start waits for the server's imports, a command that
        # stops before it has jobs does not (the server exits once this process has).
        forkserver.ensure_running()
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )


def _draw(job: Draw) -> Chart | None:
    return job.figure(*job.args)


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _start_worker(caller: int) -> None:
    # Ctrl-C reaches the whole process group: the report's process handles it, once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(caller,), daemon=True).start()


def _exit_with(caller: int) -> None:
    """Exit once the process that started this one is gone: killed (``kill -9``), it can stop
    no worker, and a worker (a child of the fork server, which lives as long as its children)
    would wait for jobs forever, holding the caller's stdout and stderr open."""
    while True:
        time.sleep(WATCH_SECONDS)
        try:
            os.kill(caller, 0)
        except (ProcessLookupError, PermissionError):  # gone (or its number reused by another user)
            os._exit(0)

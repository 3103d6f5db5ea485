"""Charts drawn in worker processes where a report has many: the same bytes, in the same order.

A report's figures are independent pure functions of its studies, and drawing them (matplotlib,
one core) is most of a large report's time. Section builders hand over ``Draw`` jobs; the
report draws them all at once, in a process pool where there are enough of them to pay for it
and the caller asked for one (the commands do: ``build_report(..., parallel=True)``).
Workers come from a fork server (a fresh process that imported the figures once), never from a
fork of the caller, which may hold torch's or Arrow's threads.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

from bench.report.figures import Chart

__all__ = ["MIN_PARALLEL", "Draw", "draw_all"]

#: Fewer jobs than this are drawn in this process: a worker's start costs about one figure.
MIN_PARALLEL = 12
#: The most worker processes a report starts.
MAX_WORKERS = 8


class Draw(NamedTuple):
    """A chart still to draw: a module-level figure function (a worker imports it by name) and
    its arguments."""

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
    workers = min(workers, len(jobs))
    if workers < 2:
        return [_draw(job) for job in jobs]
    try:
        return _draw_in_pool(jobs, workers)
    except (OSError, BrokenProcessPool):
        # No worker could start or one died (a locked-down host, the OOM killer): draw here.
        return [_draw(job) for job in jobs]


def _draw_in_pool(jobs: Sequence[Draw], workers: int) -> list[Chart | None]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload(["bench.report.sections"])
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    try:
        charts = list(pool.map(_draw, jobs))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return charts


def _draw(job: Draw) -> Chart | None:
    return job.figure(*job.args)


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the report's process handles it, once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

"""Charts drawn in worker processes are the charts drawn in this one, in order."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from bench.report import drawing, figures
from bench.report.drawing import Draw, draw_all
from bench.report.sections import TASK_FIGURES


@pytest.fixture(scope="module")
def jobs(rows: dict) -> list[Draw]:
    return [
        Draw(draw, (row, figures.palette(sorted(row))))
        for row in rows.values()
        for draw in TASK_FIGURES
    ]


def test_workers_draw_the_same_bytes_in_the_same_order(jobs: list[Draw]) -> None:
    here = draw_all(jobs, workers=1)
    assert any(chart is None for chart in here) and any(chart is not None for chart in here)
    assert draw_all(jobs, workers=2) == here


def test_an_error_in_a_worker_reaches_the_caller() -> None:
    broken = [Draw(figures.importance_bars, (None,)), Draw(figures.importance_bars, ({},))]
    with pytest.raises(AttributeError):
        draw_all(broken, workers=2)


def test_where_no_worker_can_start_the_caller_draws(jobs: list[Draw], monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError("no semaphores here")

    monkeypatch.setattr(drawing, "ProcessPoolExecutor", refuse)
    assert draw_all(jobs, workers=2) == draw_all(jobs, workers=1)


def test_workers_draw_what_this_process_draws(jobs: list[Draw]) -> None:
    with drawing.Workers(2) as workers:
        assert workers.draw(jobs) == draw_all(jobs, workers=1)


def test_jobs_handed_over_early_are_drawn_once_and_returned_in_order(jobs: list[Draw]) -> None:
    with drawing.Workers(2) as workers:
        submitted = []
        submit = workers._pool.submit
        workers._pool.submit = lambda *args: submitted.append(args) or submit(*args)
        workers.prefetch(jobs[2:5])
        assert workers.draw(jobs) == draw_all(jobs, workers=1)
        assert len(submitted) == len(jobs)


def test_workers_of_a_killed_process_exit(tmp_path) -> None:
    # `kill -9` of the command leaves its drawing processes without a caller: they must not
    # wait for jobs forever (holding its stdout open, so that a shell pipe never ends).

    code = (
        "from bench.report.drawing import Workers\n"
        "if __name__ == '__main__':\n"
        "    import time\n"
        "    workers = Workers(2)\n"
        "    list(workers._pool.map(time.sleep, [0.5, 0.5]))  # two workers at work\n"
        "    print(*workers._pool._processes, flush=True)\n"
        "    import time; time.sleep(60)\n"
    )
    script = tmp_path / "draws.py"
    script.write_text(code)
    caller = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in caller.stdout.readline().split()]
    assert len(pids) == 2
    caller.send_signal(signal.SIGKILL)
    caller.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
    assert caller.stdout.read() == ""  # every holder of the pipe is gone: it ends


def _alive(pid: int) -> bool:
    """Whether the process runs (Linux: a zombie has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False

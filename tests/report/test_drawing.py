"""Charts drawn in worker processes are the charts drawn in this one, in order."""

from __future__ import annotations

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


def test_workers_start_as_they_are_made_and_draw_what_this_process_draws(
    jobs: list[Draw],
) -> None:
    with drawing.Workers(2) as workers:
        workers._started.join()  # the processes start before any job is handed over
        assert len(workers._pool._processes) == 2
        assert workers.draw(jobs) == draw_all(jobs, workers=1)

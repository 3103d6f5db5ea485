"""Tasks: losses with their data and what is known about them, looked up by name."""

from __future__ import annotations

from typing import Any

from bench.tasks.base import DataOrder, Task
from bench.tasks.convex import LinearRegression, Quadratic
from bench.tasks.digits import CNNDigits, DigitsTask, LogRegDigits, MLPDigits
from bench.tasks.multimodal import Ackley, DoubleWell, Rastrigin, StyblinskiTang
from bench.tasks.synthetic import SyntheticTask
from bench.tasks.valleys import Rosenbrock

__all__ = ["TASKS", "DataOrder", "DigitsTask", "SyntheticTask", "Task", "make_task"]

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        Quadratic,
        LinearRegression,
        Rosenbrock,
        Rastrigin,
        Ackley,
        StyblinskiTang,
        DoubleWell,
        LogRegDigits,
        MLPDigits,
        CNNDigits,
    )
}


def make_task(name: str, **options: Any) -> Task:
    """The task ``name`` built with its ``options`` (``device``, ``dtype`` and task keys)."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; allowed: {sorted(TASKS)}") from None
    return cls(**options)

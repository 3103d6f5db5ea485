"""Tasks: losses with their data and what is known about them, looked up by name.

A task's options are the keyword arguments of its constructor (the config schema is read from
them); every module of this package is imported here, and each concrete ``Task`` subclass with a
``name`` registers itself in ``TASKS``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from bench.tasks.base import TASKS, DataOrder, Task
from bench.tasks.digits import DigitsTask
from bench.tasks.synthetic import SyntheticTask

__all__ = ["TASKS", "DataOrder", "DigitsTask", "SyntheticTask", "Task", "make_task"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def make_task(name: str, **options: Any) -> Task:
    """The task ``name`` built with its ``options`` (``device``, ``dtype`` and task keys)."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; allowed: {sorted(TASKS)}") from None
    return cls(**options)

"""The Optuna side: studies, storages, samplers, search spaces, trials and their export.

The only package that imports Optuna; the engine, the tasks, the rules and the report do not.
"""

from __future__ import annotations

import warnings

import optuna

from bench.sweep.loop import PRUNERS, run_sweep, validate_sweep
from bench.sweep.single import run_single
from bench.sweep.storage import STORAGE_ERRORS, error_line

__all__ = [
    "PRUNERS",
    "STORAGE_ERRORS",
    "error_line",
    "quiet_optuna",
    "run_single",
    "run_sweep",
    "validate_sweep",
]


def quiet_optuna() -> None:
    """Optuna's info logs and its warnings about what bench does on purpose, off."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # bench drives heartbeats itself (ask-and-tell), which Optuna does not expect.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")

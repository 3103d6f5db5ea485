"""Optuna samplers for a sweep, chosen by ``sweep.sampler``."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import optuna
from optuna.exceptions import ExperimentalWarning

from bench.config import ConfigError
from bench.sweep.space import ParamSpec, grid

__all__ = ["SAMPLERS", "grid_size", "make_sampler", "resume_seed"]

SAMPLERS = ("tpe", "random", "qmc", "grid", "cmaes")


def make_sampler(
    name: str,
    seed: int | None,
    specs: Sequence[ParamSpec],
    *,
    grid_points: int = 5,
    batch_size: int = 1,
) -> optuna.samplers.BaseSampler:
    """The seeded sampler ``name`` for the space ``specs``, trials asked ``batch_size`` at once."""
    if name not in SAMPLERS:
        raise ConfigError(f"sweep.sampler={name!r} is unknown; allowed: {', '.join(SAMPLERS)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size!r}; allowed: an integer >= 1")
    # QMC (and some options of the others) are marked experimental; say so here, not globally.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if name == "tpe":
            # A whole batch is asked before any is told: constant_liar scores the running trials
            # as bad so that TPE spreads the batch instead of proposing one point for all of it.
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, constant_liar=batch_size > 1
            )
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "qmc":
            # Categorical parameters fall back to a seeded random sampler, by design, quietly.
            return optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
            )
        if name == "grid":
            return _GridSampler(grid(specs, grid_points), seed=seed)
        # CMA-ES handles float and int parameters; categorical ones fall back to random sampling.
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


class _QuietRepeats(logging.Filter):
    """Drops Optuna's warning that a grid is exhausted: the sweep drops such repeats itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "re-evaluating a configuration" not in record.getMessage()


logging.getLogger("optuna.samplers._grid").addFilter(_QuietRepeats())


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its ``study.stop()``, which only works inside ``optimize``.

    The sweep caps ``n_trials`` at the grid's size instead.
    """

    def after_trial(self, study, trial, state, values) -> None:  # noqa: ANN001 - Optuna's hook
        """Nothing: the sweep stops at the grid's size."""


def resume_seed(seed: int | None, trials_so_far: int) -> int | None:
    """The sampler seed for a study that already holds ``trials_so_far`` trials.

    A fresh study uses ``seed`` itself, so a sweep is reproducible; a resumed one derives a new
    seed, or a seeded sampler would replay the configurations of the interrupted run.
    """
    if seed is None or trials_so_far == 0:
        return seed
    return (seed * 1_000_003 + trials_so_far) % 2**32


def grid_size(specs: Sequence[ParamSpec], points: int) -> int:
    """The number of configurations in the grid of ``specs`` with ``points`` per range."""
    return math.prod(len(values) for values in grid(specs, points).values())

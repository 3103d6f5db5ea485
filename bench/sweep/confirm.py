"""Confirmation: a finished study's best configuration re-run on fresh seeds.

The best trial is the one whose mean over its seeds came out lowest; on those same seeds its
outcomes are biased in its favour (the winner's curse). So the study re-runs it once on seeds
it was not picked on, numbered after the search seeds, as a trial of its own that the sampler,
the trial count and the choice of the best never see (``phase=confirm``); the report takes
every "at best" figure from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import optuna
from omegaconf import DictConfig
from optuna.trial import FrozenTrial, TrialState

from bench.sweep.mirror import SamplingMirror
from bench.sweep.study import CONFIRM, is_confirm
from bench.sweep.trials import run_trials
from bench.tasks.base import Task

__all__ = ["confirm_best", "confirm_seeds"]


def confirm_seeds(cfg: DictConfig) -> list[int]:
    """The fresh seeds: ``sweep.confirm_seeds`` of them (default ``seeds``) after the search's."""
    count = cfg.sweep.confirm_seeds if cfg.sweep.confirm_seeds is not None else cfg.seeds
    first = cfg.seed_offset + cfg.seeds
    return list(range(first, first + count))


def confirm_best(
    mirror: SamplingMirror,
    task: Task,
    best: FrozenTrial,
    cfg: DictConfig,
    *,
    optimizer: str,
    objective_name: str,
    aggregate_how: str,
    progress: Callable[[int], None] | None = None,
) -> float:
    """Re-run ``best`` on the fresh seeds, unless that was done already; the engine's seconds."""
    seeds = confirm_seeds(cfg)
    if not seeds:
        return 0.0
    with mirror.storing():
        done = _done(mirror.study, best.number, seeds)
    if done:
        return 0.0
    settings: Mapping[str, Any] = best.user_attrs["hyperparameters"]
    trial = mirror.create_unsampled(
        {"phase": CONFIRM, "confirm_of": best.number, "confirm_seeds": seeds}
    )
    return run_trials(
        mirror,
        task,
        [trial],
        [settings],
        cfg,
        optimizer=optimizer,
        objective_name=objective_name,
        aggregate_how=aggregate_how,
        progress=progress,
        seeds=seeds,
    )


def _done(study: optuna.Study, number: int, seeds: list[int]) -> bool:
    return any(
        is_confirm(t)
        and t.user_attrs.get("confirm_of") == number
        and t.user_attrs.get("confirm_seeds") == seeds
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    )

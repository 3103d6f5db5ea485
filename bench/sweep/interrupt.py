"""Ctrl-C during a run: the trials this process was running are failed at once, so that other
workers and the next run see them as failed (and retry them) instead of waiting on them."""

from __future__ import annotations

import contextlib

import optuna
from omegaconf import DictConfig
from optuna.trial import TrialState

from bench.sweep.storage import opened_storage
from bench.sweep.study import study_name, worker_id

__all__ = ["fail_own_trials"]


def fail_own_trials(cfg: DictConfig) -> int:
    """Mark this process's running trials of the command's study failed; return how many."""
    with opened_storage(cfg.storage, cfg.results_dir) as storage:
        return _fail_own_trials(cfg, storage)


def _fail_own_trials(cfg: DictConfig, storage: optuna.storages.BaseStorage) -> int:
    try:
        study = optuna.load_study(study_name=study_name(cfg), storage=storage)
    except KeyError:  # interrupted before the study was created
        return 0
    me, failed = worker_id(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") == me:
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
                failed += 1
    return failed

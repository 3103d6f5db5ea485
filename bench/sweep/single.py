"""One configuration over the seeds: ``python -m bench task=… optimizer=…`` without a sweep."""

from __future__ import annotations

import optuna
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from bench.config import optimizer_options, task_options, validate
from bench.progress import progress_bar
from bench.sweep.export import environment, export_study, study_dir, summary_text
from bench.sweep.mirror import SamplingMirror
from bench.sweep.storage import opened_storage
from bench.sweep.study import open_study, study_name
from bench.sweep.trials import run_trials
from bench.tasks import Task, make_task

__all__ = ["run_single"]


def run_single(cfg: DictConfig) -> pd.DataFrame:
    """Run the configured optimizer over the seeds as one more trial of the study
    ``single-<optimizer>-<task>``; store, export and summarise it. Returns this run's rows."""
    validate(cfg)
    task = make_task(cfg.task.name, **task_options(cfg))
    with opened_storage(cfg.storage, cfg.results_dir) as storage:
        return _run(cfg, task, storage)


def _run(cfg: DictConfig, task: Task, storage: optuna.storages.BaseStorage) -> pd.DataFrame:
    optimizer = cfg.optimizer.name
    hparams = optimizer_options(cfg)
    name = study_name(cfg)
    directory = study_dir(cfg.results_dir, name)
    identity = {"task": task.name, "optimizer": optimizer, "kind": "single"}
    study = open_study(storage, name, None, identity, check_identity=False)

    mirror = SamplingMirror(study, optuna.samplers.RandomSampler())
    (trial,) = mirror.ask({}, 1)
    with progress_bar(cfg, total=cfg.seeds * cfg.steps, desc=name, unit="member-step") as bar:
        run_trials(mirror, task, [trial], [hparams], cfg, optimizer=optimizer, progress=bar.update)

    runs = export_study(
        study, directory, OmegaConf.to_container(cfg, resolve=True), environment(task.device)
    )
    number = study._storage.get_trial_number_from_id(trial.trial_id)
    mine = runs[runs.trial == number]
    setting = ", ".join(f"{k}={v}" for k, v in hparams.items())
    print(
        f"{optimizer}({setting}) on {task.name} ({task.target_text}), "
        f"{cfg.steps} steps × {cfg.seeds} seeds, {task.device}/{cfg.dtype}"
    )
    print(summary_text(mine))
    print(f"trial {number} of study {name!r}; runs in {directory}/")
    return mine

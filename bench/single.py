"""One configuration over the seeds: ``python -m bench task=… optimizer=…`` without a sweep."""

from __future__ import annotations

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from bench import engine
from bench.config import ConfigError, optimizer_options, task_options, validate
from bench.optim import make_rule
from bench.results import environment, study_dir, write_tables
from bench.runs import curves_table, runs_table, summarize
from bench.tasks import make_task

__all__ = ["engine_config", "run_single"]


def engine_config(cfg: DictConfig) -> engine.EngineConfig:
    """The engine's settings from the top-level keys."""
    return engine.EngineConfig(
        steps=cfg.steps,
        n_records=cfg.n_records,
        divergence_factor=cfg.divergence_factor,
        chunk_size=cfg.chunk_size,
        grad=cfg.grad,
    )


def run_single(cfg: DictConfig) -> pd.DataFrame:
    """Run the configured optimizer on the task over ``seeds`` seeds, store and summarise it."""
    validate(cfg)
    task = make_task(cfg.task.name, **task_options(cfg))
    seeds = list(range(cfg.seed_offset, cfg.seed_offset + cfg.seeds))
    hparams = optimizer_options(cfg)
    rule = make_rule(cfg.optimizer.name, len(seeds), **hparams)
    study = cfg.study_name or f"{cfg.optimizer.name}-{task.name}"
    try:
        directory = study_dir(cfg.results_dir, study)
    except ValueError as error:
        raise ConfigError(str(error)) from None

    with tqdm(
        total=len(seeds) * cfg.steps,
        desc=f"{study}",
        unit=" member-steps",
        unit_scale=True,
        disable=None if cfg.progress else True,
        leave=False,
    ) as bar:
        result = engine.run(
            task, rule, torch.tensor(seeds), engine_config(cfg), progress=bar.update
        )

    trials = [0] * len(seeds)
    runs = runs_table(
        result,
        study=study,
        trials=trials,
        seeds=seeds,
        task=task,
        optimizer=cfg.optimizer.name,
        hparams={k: [v] * len(seeds) for k, v in hparams.items()},
        steps=cfg.steps,
    )
    curves = curves_table(result, study=study, trials=trials, seeds=seeds)
    write_tables(
        directory,
        runs,
        curves,
        OmegaConf.to_container(cfg, resolve=True),
        environment(task.device),
    )
    setting = ", ".join(f"{k}={v}" for k, v in hparams.items())
    print(
        f"{cfg.optimizer.name}({setting}) on {task.name} ({task.target_text}), "
        f"{cfg.steps} steps × {len(seeds)} seeds, {task.device}/{cfg.dtype}"
    )
    print(summarize(runs))
    print(f"runs written to {directory}/")
    return runs

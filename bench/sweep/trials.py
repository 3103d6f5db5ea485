"""Runs a batch of trials × seeds as one population and stores every run in the study."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from bench import engine
from bench.metrics import aggregate, objective, run_metrics
from bench.optim import make_rule
from bench.sweep.bulk import record_heartbeats
from bench.sweep.mirror import Asked, SamplingMirror, Told
from bench.sweep.study import Curves, batch_blobs
from bench.tasks.base import Task

__all__ = ["engine_config", "run_trials"]


def engine_config(cfg: DictConfig, task: Task, seeds: int | None = None) -> engine.EngineConfig:
    """The engine's settings; chunks hold whole trials (all seeds), so pruning sees them whole."""
    seeds = seeds or cfg.seeds
    base = cfg.chunk_size or engine.default_chunk_size(task, cfg.steps)
    return engine.EngineConfig(
        steps=cfg.steps,
        n_records=cfg.n_records,
        divergence_factor=cfg.divergence_factor,
        chunk_size=max(seeds, base // seeds * seeds),
        grad=cfg.grad,
    )


@contextmanager
def _heartbeat(mirror: SamplingMirror, trials: Sequence[Asked]):  # noqa: ANN202
    """Record the trials' heartbeats while they run, so that other workers see them alive."""
    storage = mirror.study._storage
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            for trial in trials:
                storage.record_heartbeat(trial.trial_id)

    with mirror.storing():
        record_heartbeats(storage, [trial.trial_id for trial in trials], mirror.sql)
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_trials(
    mirror: SamplingMirror,
    task: Task,
    trials: Sequence[Asked],
    hyperparameters: Sequence[Mapping[str, Any]],
    cfg: DictConfig,
    *,
    optimizer: str,
    objective_name: str = "final_loss",
    aggregate_how: str = "mean",
    prune: bool = False,
    progress: Callable[[int], None] | None = None,
    seeds: Sequence[int] | None = None,
) -> float:
    """Run each trial over the seeds as one population, store its runs, tell its objective.

    ``seeds``: the search seeds (``seed_offset`` …) when None. Returns the engine's wall time
    in seconds.
    """
    if seeds is None:
        seeds = range(cfg.seed_offset, cfg.seed_offset + cfg.seeds)
    seeds = list(seeds)
    n_seeds = len(seeds)
    size = len(trials) * n_seeds
    keys = hyperparameters[0].keys()
    rule = make_rule(
        optimizer, size, **{k: [hp[k] for hp in hyperparameters for _ in seeds] for k in keys}
    )
    on_record = _pruning_hook(trials, n_seeds) if prune else None
    with _heartbeat(mirror, trials):
        result = engine.run(
            task,
            rule,
            torch.tensor(seeds * len(trials)),
            engine_config(cfg, task, n_seeds),
            progress=progress,
            on_record=on_record,
        )
    runs = run_metrics(result, task)
    trial_ids = np.repeat([trial.trial_id for trial in trials], n_seeds)
    runs.insert(0, "seed", seeds * len(trials))
    runs.insert(0, "trial_id", trial_ids)
    pruned = (result.pruned_step >= 0).numpy()
    values = objective(runs, objective_name, cfg.steps)
    runs = runs.assign(steps=cfg.steps, target=task.target, f_star=task.f_star)
    # The engine's losses in its own precision: float32 values are exact in float32.
    precision = np.float32 if torch.finfo(task.dtype).bits <= 32 else np.float64
    curves = Curves(
        trial_ids,
        runs["seed"].to_numpy(),
        result.record_steps.numpy(),
        result.curves.numpy().astype(precision, copy=False),
    )
    # The batch's runs and curves go in bulk, as Parquet blobs on its first trial (told first);
    # a reader keeps the runs of finished trials only (see study.runs_frame).
    with mirror.storing():
        batch = batch_blobs(runs, curves)
    told = []
    for i, trial in enumerate(trials):
        block = slice(i * n_seeds, (i + 1) * n_seeds)
        attrs = {"hyperparameters": dict(hyperparameters[i]), **(batch if i == 0 else {})}
        value = aggregate(values[block], aggregate_how)
        told.append(Told(trial, value, bool(pruned[block].any()), attrs))
    mirror.tell(told)
    return float(result.seconds.sum())


def _pruning_hook(trials: Sequence[Asked], n_seeds: int) -> engine.RecordHook:
    """Report each trial's mean loss over its seeds; stop the members of trials to prune."""

    def hook(step: int, losses: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        values = losses.double().cpu().numpy()
        index = members.numpy() // n_seeds
        stop = np.zeros(len(values), dtype=bool)
        for trial_index in np.unique(index):
            mine = index == trial_index
            value = float(np.mean(values[mine]))
            twin = trials[trial_index].twin
            twin.report(value if np.isfinite(value) else float("inf"), step)
            stop[mine] = twin.should_prune()
        return torch.from_numpy(stop)

    return hook

"""``python -m bench +sweep=…``: an Optuna study driven by ask-and-tell, a batch at a time."""

from __future__ import annotations

import math
import time

import optuna
from omegaconf import DictConfig, OmegaConf

from bench.config import ConfigError, optimizer_options, task_options, validate
from bench.metrics import AGGREGATES, OBJECTIVES
from bench.progress import progress_bar
from bench.sweep.confirm import confirm_best
from bench.sweep.export import environment, export_study, study_dir
from bench.sweep.mirror import SamplingMirror
from bench.sweep.samplers import grid_size, make_sampler, resume_seed
from bench.sweep.space import distributions, hyperparameters, parse_space
from bench.sweep.storage import opened_storage
from bench.sweep.study import (
    counts,
    is_confirm,
    live_reader,
    open_study,
    recover_stale_trials,
    study_name,
    surplus,
)
from bench.sweep.trials import run_trials
from bench.tasks import Task, make_task

__all__ = ["PRUNERS", "run_sweep", "validate_sweep"]

PRUNERS = ("none", "median", "successive_halving")
#: Seconds between looks at other workers' trials once none is left to ask.
WAIT_SECONDS = 1.0
#: Batches in a row whose every trial was a repeat, before giving up.
MAX_IDLE_BATCHES = 50


def validate_sweep(cfg: DictConfig) -> None:
    """Refuse a bad sweep configuration in one line, before any work."""
    sweep = cfg.sweep
    if sweep.n_trials < 1:
        raise ConfigError(f"sweep.n_trials={sweep.n_trials} is invalid; allowed: an integer >= 1")
    if sweep.batch_size < 1:
        raise ConfigError(
            f"sweep.batch_size={sweep.batch_size} is invalid; allowed: an integer >= 1"
        )
    if sweep.seed is not None and not 0 <= sweep.seed < 2**32:
        raise ConfigError(
            f"sweep.seed={sweep.seed} is invalid; allowed: 0 <= seed < 2**32, or null"
        )
    if sweep.confirm_seeds is not None and sweep.confirm_seeds < 0:
        raise ConfigError(
            f"sweep.confirm_seeds={sweep.confirm_seeds} is invalid; allowed: an integer >= 0 "
            f"(0: no confirmation) or null (as many as seeds)"
        )
    for key, allowed in (
        ("objective", OBJECTIVES),
        ("aggregate", AGGREGATES),
        ("pruner", PRUNERS),
    ):
        if sweep[key] not in allowed:
            raise ConfigError(
                f"sweep.{key}={sweep[key]!r} is unknown; allowed: {', '.join(allowed)}"
            )
    specs = parse_space(OmegaConf.to_container(sweep.space, resolve=True), cfg.optimizer.name)
    make_sampler(sweep.sampler, sweep.seed, specs, grid_points=sweep.grid_points)


def _pruner(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=8, n_warmup_steps=1)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def run_sweep(cfg: DictConfig) -> optuna.Study:
    """Run the sweep's remaining trials (``sweep.n_trials`` is the study's total), then export."""
    validate(cfg)
    validate_sweep(cfg)
    task = make_task(cfg.task.name, **task_options(cfg))
    with opened_storage(cfg.storage, cfg.results_dir) as storage:
        return _sweep(cfg, task, storage)


def _sweep(cfg: DictConfig, task: Task, storage: optuna.storages.BaseStorage) -> optuna.Study:
    sweep = cfg.sweep
    optimizer = cfg.optimizer.name
    space = OmegaConf.to_container(sweep.space, resolve=True)
    specs = parse_space(space, optimizer)
    name = study_name(cfg)
    directory = study_dir(cfg.results_dir, name)
    n_trials = sweep.n_trials
    if sweep.sampler == "grid":
        n_trials = min(n_trials, grid_size(specs, sweep.grid_points))
    identity = {
        "kind": "sweep",
        "task": task.name,
        "task_options": {
            k: v for k, v in task_options(cfg).items() if k not in ("device", "dtype")
        },
        "optimizer": optimizer,
        "optimizer_options": {
            k: v for k, v in optimizer_options(cfg).items() if k not in {s.target for s in specs}
        },
        "dtype": cfg.dtype,
        "steps": cfg.steps,
        "seeds": cfg.seeds,
        "seed_offset": cfg.seed_offset,
        "objective": f"{sweep.aggregate} {sweep.objective}",
        "space": space,
    }
    study = open_study(storage, name, None, identity, check_identity=True)
    fixed = optimizer_options(cfg)
    dists = distributions(specs)
    retries = recover_stale_trials(study, dists)
    sampler = make_sampler(
        sweep.sampler,
        resume_seed(sweep.seed, len(study.get_trials(deepcopy=False))),
        specs,
        grid_points=sweep.grid_points,
        batch_size=sweep.batch_size,
    )
    mirror = SamplingMirror(study, sampler, _pruner(sweep.pruner))
    mirror.add_retries(retries)

    live = live_reader(study, mirror.sql) if mirror.sql is not None else None
    finished, _ = counts(study, mirror.sql)
    storing = mirror.storing
    trial_work = cfg.seeds * cfg.steps
    started, started_at, engine_seconds, idle = time.perf_counter(), time.time(), 0.0, 0
    with progress_bar(cfg, total=n_trials, initial=finished, desc=name, unit="trial") as bar:
        while True:
            with storing():
                finished, running = counts(study, mirror.sql)
            todo = n_trials - finished - running
            if todo <= 0:
                if finished >= n_trials or running == 0:
                    break
                # Other workers' trials are in flight: wait, and take over those of the dead.
                time.sleep(WAIT_SECONDS)
                with storing():
                    mirror.add_retries(recover_stale_trials(study, dists))
                continue
            mirror.sync()
            trials = mirror.ask(dists, min(sweep.batch_size, todo))
            with storing():
                extra = surplus(study, [t.trial_id for t in trials], n_trials, live)
            for trial in trials:
                if trial.trial_id in extra:
                    mirror.abandon(trial)
            if extra:
                # A repeat (another worker with the same seed and history, or a sampler that has
                # seen it all): draw differently from now on.
                mirror.memory.sampler.reseed_rng()
            trials = [t for t in trials if t.trial_id not in extra]
            idle = 0 if trials else idle + 1
            if idle > MAX_IDLE_BATCHES and not counts(study, mirror.sql)[1]:
                raise ConfigError(
                    f"study {name!r}: every configuration the sampler proposes has run "
                    f"already (or runs in another worker); allowed: a larger sweep.space or a "
                    f"smaller sweep.n_trials"
                )
            if not trials:
                continue
            settings = [{**fixed, **hyperparameters(specs, t.params)} for t in trials]
            engine_seconds += run_trials(
                mirror,
                task,
                trials,
                settings,
                cfg,
                optimizer=optimizer,
                objective_name=sweep.objective,
                aggregate_how=sweep.aggregate,
                prune=sweep.pruner != "none",
                progress=lambda work: bar.update(work / trial_work),
            )
            best = _best_value(mirror.memory)
            bar.set_postfix_str(f"best {sweep.objective} {best:.4g}")

    with storing():
        best = _best_trial(study)
    if best is not None and math.isfinite(best.value):
        engine_seconds += confirm_best(
            mirror,
            task,
            best,
            cfg,
            optimizer=optimizer,
            objective_name=sweep.objective,
            aggregate_how=sweep.aggregate,
        )

    seconds = time.perf_counter() - started
    sampling_seconds, storage_seconds = mirror.sampling_seconds, mirror.storage_seconds
    # Clock times (Unix seconds) of the loop's start and end: what a process spent before and
    # after it (start-up; export and report) is measured from them.
    timing = {
        "seconds": seconds,
        "engine_seconds": engine_seconds,
        "sampling_seconds": sampling_seconds,
        "storage_seconds": storage_seconds,
        "started_at": started_at,
        "ended_at": started_at + seconds,
    }
    study.set_user_attr("last_session", timing)
    export_study(
        study, directory, OmegaConf.to_container(cfg, resolve=True), environment(task.device)
    )
    finished, _ = counts(study)
    print(
        f"study {name!r}: {finished}/{n_trials} trials finished "
        f"({sweep.sampler}, {sweep.aggregate} {sweep.objective} over {cfg.seeds} seeds); "
        f"best {best.value if best is not None else math.inf:.6g}"
    )
    if best is not None and not math.isfinite(best.value):
        print("every trial diverged: no best configuration (see runs.parquet, diverged_step)")
    elif best is not None:
        values = {**best.params, **best.user_attrs["hyperparameters"]}
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in values.items()
            if k in best.params or k not in fixed
        )
        print(f"best trial {best.number}: {shown}")
        confirmed = _confirmation(study, best.number)
        if confirmed is not None:
            seeds = confirmed.user_attrs["confirm_seeds"]
            print(
                f"confirmed on {len(seeds)} fresh seeds ({seeds[0]}–{seeds[-1]}), trial "
                f"{confirmed.number}: {sweep.aggregate} {sweep.objective} {confirmed.value:.6g}"
            )
    if engine_seconds > 0:  # some trial ran in this session
        other = seconds - engine_seconds - sampling_seconds - storage_seconds
        print(
            f"time {seconds:.1f} s: engine {engine_seconds:.1f} s, {sweep.sampler} sampling "
            f"{sampling_seconds:.1f} s, storage {storage_seconds:.1f} s "
            f"({1000 * storage_seconds / max(1, mirror.told):.1f} ms per trial), "
            f"other {other:.1f} s"
        )
    print(f"runs in {directory}/")
    return study


def _best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The searched trial with the lowest objective (confirmation runs are no candidates)."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return min((t for t in complete if not is_confirm(t)), key=lambda t: t.value, default=None)


def _confirmation(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial | None:
    """The first complete confirmation run of trial ``number``, if any."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return next(
        (t for t in complete if is_confirm(t) and t.user_attrs.get("confirm_of") == number), None
    )


def _best_value(study: optuna.Study) -> float:
    best = _best_trial(study)
    return best.value if best is not None else math.inf

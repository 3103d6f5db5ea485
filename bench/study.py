"""A study in the storage: its identity, its workers' trials, and the runs read back from it."""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from bench.config import ConfigError

__all__ = [
    "SCHEMA_VERSION",
    "ask_trials",
    "counts",
    "curves_frame",
    "open_study",
    "record_trial",
    "recover_stale_trials",
    "runs_frame",
    "worker_id",
]

#: Bumped whenever what a trial stores changes; older studies are refused, not misread.
SCHEMA_VERSION = 1
#: Study keys that must match for a run to continue a study (the rest may change).
#: A running trial without an owner this long after it started belongs to a dead worker.
ORPHAN_AFTER = timedelta(seconds=30)
IDENTITY = ("task", "optimizer", "steps", "seeds", "seed_offset", "objective", "space")


def worker_id() -> str:
    """``host:pid`` of this process, stored on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    sampler: optuna.samplers.BaseSampler | None,
    identity: Mapping[str, Any],
    *,
    check_identity: bool,
) -> optuna.Study:
    """Create or load the study; refuse to continue one that was run with another setup."""
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        direction="minimize",
        load_if_exists=True,
    )
    stored = study.user_attrs.get("bench")
    if stored is None:
        study.set_user_attr("bench", {"schema": SCHEMA_VERSION, **identity})
        return study
    if stored.get("schema") != SCHEMA_VERSION:
        raise ConfigError(
            f"study_name={name!r} was written by bench schema {stored.get('schema')}, this is "
            f"schema {SCHEMA_VERSION}; allowed: a new study_name= (or an older bench to read it)"
        )
    if check_identity:
        for key in IDENTITY:
            if key in identity and stored.get(key) != identity[key]:
                raise ConfigError(
                    f"study_name={name!r} was run with {key}={stored.get(key)!r}, not "
                    f"{identity[key]!r}; allowed: the same setup to resume it, or a new study_name="
                )
    return study


def ask_trials(
    study: optuna.Study, distributions: Mapping[str, BaseDistribution], count: int
) -> list[optuna.Trial]:
    """Ask ``count`` trials; waiting retries first, new trials created already owned by this
    worker, so that a worker killed at any moment leaves no running trial without an owner."""
    worker = worker_id()
    trials = []
    for _ in range(count):
        if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            trial = study.ask(dict(distributions))
            trial.set_user_attr("worker", worker)
        else:
            template = FrozenTrial(
                number=-1,
                state=TrialState.RUNNING,
                value=None,
                datetime_start=datetime.now(),
                datetime_complete=None,
                params={},
                distributions={},
                user_attrs={"worker": worker},
                system_attrs={},
                intermediate_values={},
                trial_id=-1,
            )
            trial_id = study._storage.create_new_trial(study._study_id, template_trial=template)
            trial = optuna.Trial(study, trial_id)
            for name, distribution in distributions.items():
                _suggest(trial, name, distribution)
        trials.append(trial)
    return trials


def _suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> None:
    if isinstance(distribution, FloatDistribution):
        trial.suggest_float(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    elif isinstance(distribution, IntDistribution):
        trial.suggest_int(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    else:
        trial.suggest_categorical(name, distribution.choices)


def counts(study: optuna.Study) -> tuple[int, int]:
    """(finished trials: complete or pruned, trials running now)."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    finished = sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states)
    return finished, sum(s == TrialState.RUNNING for s in states)


def _alive(trial: FrozenTrial) -> bool:
    """False where the trial's worker ran on this host and its process is gone, or where a
    retry popped by ``study.ask`` never got its owner (a worker sets it within milliseconds)."""
    worker = trial.user_attrs.get("worker")
    if not worker:
        return datetime.now() - trial.datetime_start < ORPHAN_AFTER
    if ":" not in worker:
        return True
    host, pid = worker.rsplit(":", 1)
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def recover_stale_trials(study: optuna.Study, names: Collection[str]) -> list[int]:
    """Fail the trials of dead workers and enqueue their configurations again, once each.

    A worker on this host is dead when its process is gone; elsewhere, when its heartbeat is
    older than the storage's grace period. Only trials that had all the parameters ``names``
    ran, so only those are retried; one killed while being asked is just failed. Returns the
    numbers of the trials failed now.
    """
    storage = study._storage
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _alive(trial):
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            failed.append(trial.number)
    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
    optuna.storages.fail_stale_trials(study)  # trials whose heartbeat stopped, where enabled
    after = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    failed += [t.number for t in after if t.number not in before]
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    for trial in trials:
        if (
            trial.state == TrialState.FAIL
            and trial.number not in retried
            and set(trial.params) == set(names)
        ):
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return failed


def record_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    *,
    hyperparameters: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    record_steps: Sequence[int],
    curves: Sequence[Sequence[float]],
    value: float,
    pruned: bool,
) -> None:
    """Store a trial's runs and curves, then tell the study its objective (or that it was pruned).

    Everything a report needs is written before the trial is finished, so a trial is either
    complete with all its runs, or unfinished and retried.
    """
    trial.set_user_attr("hyperparameters", dict(hyperparameters))
    trial.set_user_attr("runs", [_jsonable(run) for run in runs])
    trial.set_user_attr("curves", {"steps": list(record_steps), "loss": [list(c) for c in curves]})
    if pruned:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, value)


def _jsonable(run: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in run.items():
        if value is pd.NA or value is None:
            out[key] = None
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def runs_frame(study: optuna.Study) -> pd.DataFrame:
    """Every stored run (trial × seed) as one table; failed trials appear as ``failed``."""
    meta = study.user_attrs.get("bench", {})
    rows = []
    for trial in study.get_trials(deepcopy=False):
        rows.extend(_trial_rows(study.study_name, meta, trial))
    frame = pd.DataFrame(rows)
    for column in ("steps_to_target", "diverged_step", "seed", "trial"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def _trial_rows(name: str, meta: Mapping[str, Any], trial: FrozenTrial) -> list[dict[str, Any]]:
    base = {
        "study": name,
        "trial": trial.number,
        "task": meta.get("task"),
        "optimizer": meta.get("optimizer"),
        **trial.user_attrs.get("hyperparameters", {}),
    }
    if trial.state == TrialState.FAIL:
        return [{**base, "seed": None, "status": "failed"}]
    if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED):
        return []
    rows = []
    for run in trial.user_attrs.get("runs", []):
        row = {**base, **run}
        if trial.state == TrialState.PRUNED and row["status"] == "complete":
            row["status"] = "pruned"
        row["objective"] = trial.value if trial.value is not None else math.nan
        rows.append(row)
    return rows


def curves_frame(study: optuna.Study) -> pd.DataFrame:
    """Every stored loss curve, long format: study, trial, seed, step, loss."""
    parts = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        curves = trial.user_attrs.get("curves")
        runs = trial.user_attrs.get("runs", [])
        if not curves:
            continue
        for run, losses in zip(runs, curves["loss"], strict=True):
            parts.append(
                pd.DataFrame(
                    {
                        "study": study.study_name,
                        "trial": trial.number,
                        "seed": run["seed"],
                        "step": curves["steps"],
                        "loss": losses,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["study", "trial", "seed", "step", "loss"])
    return pd.concat(parts, ignore_index=True)

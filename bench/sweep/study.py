"""A study in the storage: its identity, its workers' trials, and the runs read back from it."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import socket
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from omegaconf import DictConfig
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from bench.config import ConfigError, is_sweep
from bench.results import CURVE_COLUMNS
from bench.sweep.reads import LiveTrials, state_counts

__all__ = [
    "study_name",
    "SCHEMA_VERSION",
    "CONFIRM",
    "Curves",
    "batch_blobs",
    "counts",
    "curve_pieces",
    "curves_from_blob",
    "curves_to_blob",
    "from_blob",
    "is_confirm",
    "live_reader",
    "open_study",
    "recover_stale_trials",
    "runs_frame",
    "surplus",
    "to_blob",
    "worker_id",
    "write_curves",
]

_LIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
#: Trials whose runs a reader keeps: a batch's blob also holds the runs of its failed trials.
KEPT = (TrialState.COMPLETE, TrialState.PRUNED)
#: ``curves.parquet`` (the results contract's ``CURVE_COLUMNS``): trial and step as int32, the
#: study one dictionary entry, to keep millions of rows small.
CURVE_SCHEMA = pa.schema(
    zip(
        CURVE_COLUMNS,
        (pa.dictionary(pa.int8(), pa.string()), pa.int32(), pa.int64(), pa.int32(), pa.float64()),
        strict=True,
    )
)
#: Runs per piece of ``curve_pieces``: 20k runs of 50 records are 1M rows, 25 MB.
CURVE_PIECE = 20_000
#: The most bytes of a batch's runs or curves (as the engine holds them) one stored value takes:
#: a larger batch is stored in parts (``batch_blobs``). SQLite and PostgreSQL refuse a value over
#: 1 GB ("string or blob too big"), which one batch's curves reach near 4M runs.
PART_BYTES = 1 << 27
#: A trial's ``phase`` user attribute: searched (sampled; the default) or a confirmation run.
SEARCH, CONFIRM = "search", "confirm"
#: Bumped whenever what a trial stores changes; older studies are refused, not misread.
#: 2: runs and curves in bulk, one Parquet frame each per batch (``to_blob``); 3: the curves
#: frame long (trial_id, seed, step, loss), not one column per record step; 4: the curves one
#: row per run, its losses one binary value in the engine's precision (``curves_to_blob``);
#: 5: a batch's runs and curves in parts of at most ``PART_BYTES`` each (``batch_blobs``).
SCHEMA_VERSION = 5
#: Study keys that must match for a run to continue a study (the rest may change).
IDENTITY = (
    "task",
    "task_options",
    "optimizer",
    "optimizer_options",
    "steps",
    "seeds",
    "seed_offset",
    "dtype",
    "objective",
    "space",
)


def is_confirm(trial: FrozenTrial) -> bool:
    """Whether ``trial`` re-runs a best configuration on fresh seeds (not part of the search)."""
    return trial.user_attrs.get("phase") == CONFIRM


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


def study_name(cfg: DictConfig) -> str:
    """The study a command runs: ``study_name``, else the sweep's or the single run's default."""
    if cfg.study_name:
        return cfg.study_name
    if is_sweep(cfg):
        return f"{cfg.sweep.name}-{cfg.task.name}"
    return f"single-{cfg.optimizer.name}-{cfg.task.name}"


def surplus(
    study: optuna.Study,
    trial_ids: Collection[int],
    n_trials: int,
    live: LiveTrials | None = None,
) -> set[int]:
    """Which of ``trial_ids`` (just created) are one too many: beyond the study's ``n_trials``,
    a configuration another live trial already has, or a second retry of a failed trial.

    Workers that asked at the same moment may together overshoot, and workers whose samplers
    share a seed propose the same configurations; ordering the live trials by number, every
    worker agrees on which ones are too many, and drops its own. ``live``: the SQL storage's
    reader of them (``live_reader``), else whole trials are read.
    """
    if live is not None:
        trials = [(t.trial_id, t.params, t.user_attrs) for t in live.read()]
    else:
        found = study.get_trials(deepcopy=False, states=_LIVE)
        trials = [(t._trial_id, t.params, t.user_attrs) for t in found if not is_confirm(t)]
    # A configuration run again gives the same runs (same seeds, same draws): pure waste.
    seen: set[tuple] = set()  # configurations, and failed trials being retried
    repeats: set[int] = set()
    for trial_id, params, user_attrs in trials:
        keys = {("params", *sorted(params.items()))} if params else set()
        if "retry_of" in user_attrs:
            keys.add(("retry_of", user_attrs["retry_of"]))
        if keys & seen:
            repeats.add(trial_id)
        seen |= keys
    kept = [trial_id for trial_id, *_ in trials if trial_id not in repeats]
    beyond = set(kept[n_trials:])
    return (beyond | repeats) & set(trial_ids)


def live_reader(study: optuna.Study, rdb: RDBStorage) -> LiveTrials:
    """What ``surplus`` reads of the SQL storage ``rdb`` behind the study, poll after poll."""
    return LiveTrials(study, rdb, _LIVE, ("phase", CONFIRM), ("retry_of",))


def counts(study: optuna.Study, rdb: RDBStorage | None = None) -> tuple[int, int]:
    """(finished trials: complete or pruned, trials running now), confirmation runs left out.

    ``rdb``: the SQL storage behind the study, counted in one query (``bulk.sql_backend``).
    """
    if rdb is not None:
        states = state_counts(study, rdb, ("phase", CONFIRM))
    else:
        states = Counter(t.state for t in study.get_trials(deepcopy=False) if not is_confirm(t))
    finished = states.get(TrialState.COMPLETE, 0) + states.get(TrialState.PRUNED, 0)
    return finished, states.get(TrialState.RUNNING, 0)


def _alive(trial: FrozenTrial) -> bool:
    """False only where the trial's worker ran on this host and its process is gone."""
    worker = trial.user_attrs.get("worker")
    if not worker or ":" not in worker:
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


def recover_stale_trials(
    study: optuna.Study, names: Collection[str]
) -> list[tuple[int, dict[str, Any]]]:
    """Fail the trials of dead workers; return the configurations to run again, once each.

    A worker on this host is dead when its process is gone; elsewhere, when its heartbeat is
    older than the storage's grace period. Only trials that had all the parameters ``names``
    ran, so only those are retried; one killed while being asked is just failed. Returns
    (failed trial number, params) for every failed trial that no trial retries yet.
    """
    storage = study._storage
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _alive(trial):
            # Another worker may fail it first.
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    optuna.storages.fail_stale_trials(study)  # trials whose heartbeat stopped, where enabled
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    return [
        (trial.number, dict(trial.params))
        for trial in trials
        if trial.state == TrialState.FAIL
        and trial.number not in retried
        and not trial.user_attrs.get("surplus")
        and set(trial.params) == set(names)
    ]


def to_blob(frame: pd.DataFrame) -> str:
    """A frame as text for a storage attribute: Parquet bytes in base64."""
    return _encode(pa.Table.from_pandas(frame, preserve_index=False))


def from_blob(text: str) -> pd.DataFrame:
    """The frame ``to_blob`` stored."""
    return pd.read_parquet(io.BytesIO(base64.b64decode(text)))


class Curves(NamedTuple):
    """A batch's curves: each run's ``trial_id`` and ``seed`` (``[N]``), the record ``steps``
    (``[R]``), and the runs' ``losses`` at them (``[N, R]``)."""

    trial_id: np.ndarray
    seed: np.ndarray
    steps: np.ndarray
    losses: np.ndarray


def curves_to_blob(curves: Curves) -> str:
    """A batch's curves as text for a storage attribute: one row per run, its losses one binary
    value (little-endian, in their own dtype: float32 runs store half), the steps and the dtype
    in the schema's metadata.

    At 300k runs × 50 records a row per (run, step) made a blob of 15M rows, its trial, seed
    and step columns twice the size of the losses; a Parquet list of the losses took 0.5 s to
    write and to read, this 0.05 and 0.15 s.
    """
    losses = np.ascontiguousarray(curves.losses, dtype=curves.losses.dtype.newbyteorder("<"))
    runs, width = losses.shape
    rows = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width * losses.itemsize), runs, [None, pa.py_buffer(losses)]
    )
    table = pa.table(
        {
            "trial_id": pa.array(curves.trial_id, pa.int64()),
            "seed": pa.array(curves.seed, pa.int64()),
            "loss": rows,
        }
    )
    steps = json.dumps([int(step) for step in curves.steps])
    return _encode(table.replace_schema_metadata({"steps": steps, "dtype": losses.dtype.str}))


def curves_from_blob(text: str) -> Curves:
    """The curves ``curves_to_blob`` stored."""
    table = pq.read_table(io.BytesIO(base64.b64decode(text)))
    metadata = table.schema.metadata
    steps = np.asarray(json.loads(metadata[b"steps"]), dtype=np.int32)
    dtype = np.dtype(metadata[b"dtype"].decode())
    rows = table.column("loss").combine_chunks()
    width = len(steps) * dtype.itemsize
    losses = np.frombuffer(
        rows.buffers()[1], dtype, count=len(rows) * len(steps), offset=rows.offset * width
    )
    return Curves(
        table.column("trial_id").to_numpy(),
        table.column("seed").to_numpy(),
        steps,
        losses.reshape(len(rows), len(steps)),
    )


def batch_blobs(runs: pd.DataFrame, curves: Curves) -> dict[str, str]:
    """A batch's runs and curves as storage attributes: ``batch_runs`` and ``batch_curves``,
    then ``batch_runs.1``, ``batch_curves.1``, … where a batch is cut in parts of whole runs."""
    width = curves.losses.shape[1] * curves.losses.itemsize + 16
    row_bytes = max(runs.memory_usage(index=False).sum() // max(len(runs), 1), width)
    per_part = max(1, PART_BYTES // row_bytes)
    blobs = {}
    for part, start in enumerate(range(0, max(len(runs), 1), per_part)):
        rows = slice(start, start + per_part)
        suffix = f".{part}" if part else ""
        blobs[f"batch_runs{suffix}"] = to_blob(runs.iloc[rows])
        part_curves = curves._replace(
            trial_id=curves.trial_id[rows], seed=curves.seed[rows], losses=curves.losses[rows]
        )
        blobs[f"batch_curves{suffix}"] = curves_to_blob(part_curves)
    return blobs


def _parts(attrs: Mapping[str, Any], key: str) -> Iterator[str]:
    """The parts ``batch_blobs`` stored under ``key``, in order; none where it stored none."""
    part, name = 0, key
    while name in attrs:
        yield attrs[name]
        part += 1
        name = f"{key}.{part}"


def _encode(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    # Without per-page statistics and dictionaries: nothing reads a blob by parts, and they
    # cost a third of the writing.
    pq.write_table(table, sink, use_dictionary=False, write_statistics=False)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


def _batches(study: optuna.Study, key: str) -> tuple[list[FrozenTrial], list[pd.DataFrame]]:
    """(the study's trials, each stored batch frame under ``key`` cut to finished trials)."""
    trials = study.get_trials(deepcopy=False)
    finished = [t._trial_id for t in trials if t.state in KEPT]
    frames = []
    for trial in trials:
        for part in _parts(trial.user_attrs, key):
            frame = from_blob(part)
            frames.append(frame[frame["trial_id"].isin(finished)])
    return trials, frames


def runs_frame(study: optuna.Study) -> pd.DataFrame:
    """Every stored run (trial × seed) as one table; failed trials appear as ``failed``."""
    meta = study.user_attrs.get("bench", {})
    trials, batches = _batches(study, "batch_runs")
    rows, failed = [], []
    for trial in trials:
        base = {
            "trial_id": trial._trial_id,
            "study": study.study_name,
            "trial": trial.number,
            "task": meta.get("task"),
            "optimizer": meta.get("optimizer"),
            "phase": trial.user_attrs.get("phase", SEARCH),
            "confirm_of": trial.user_attrs.get("confirm_of"),
            **trial.user_attrs.get("hyperparameters", {}),
        }
        if trial.state == TrialState.FAIL and not trial.user_attrs.get("surplus"):
            failed.append({**base, "seed": None, "status": "failed"})
        elif trial.state in KEPT:
            pruned = trial.state == TrialState.PRUNED
            value = trial.value if trial.value is not None else math.nan
            rows.append({**base, "_pruned": pruned, "_objective": value})
    frame = pd.DataFrame(rows, columns=["trial_id", "_pruned", "_objective"] if not rows else None)
    if batches:
        frame = frame.merge(pd.concat(batches, ignore_index=True), on="trial_id")
        frame.loc[frame["_pruned"] & (frame["status"] == "complete"), "status"] = "pruned"
    frame = frame.rename(columns={"_objective": "objective"}).drop(columns="_pruned")
    objective = frame.pop("objective")
    frame["objective"] = objective
    frame = pd.concat([frame, pd.DataFrame(failed)], ignore_index=True).drop(columns="trial_id")
    for column in (
        "steps_to_target",
        "diverged_step",
        "escape_step",
        "seed",
        "trial",
        "confirm_of",
    ):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    # A failed trial has no hyperparameters stored: a flag such as amsgrad is missing there, and
    # stays a nullable boolean (not objects mixing False with NaN, which Parquet reads back as
    # None).
    for column in frame.columns[frame.dtypes == "object"]:
        present = frame[column].dropna()
        if len(present) and present.map(lambda value: isinstance(value, bool)).all():
            frame[column] = frame[column].astype("boolean")
    return frame


def curve_pieces(study: optuna.Study) -> Iterator[pa.Table]:
    """Every stored loss curve, long format (``CURVE_SCHEMA``: study, trial, seed, step, loss),
    in pieces of at most ``CURVE_PIECE`` runs: a million runs never sit in memory at once."""
    trials = study.get_trials(deepcopy=False)
    finished = {t._trial_id: t.number for t in trials if t.state in KEPT}
    names = pa.array([study.study_name])
    parts = (part for trial in trials for part in _parts(trial.user_attrs, "batch_curves"))
    for part in parts:
        curves = curves_from_blob(part)
        kept = np.flatnonzero(np.isin(curves.trial_id, list(finished)))
        ids, trial_of_run = np.unique(curves.trial_id[kept], return_inverse=True)
        numbers = np.array([finished[i] for i in ids], dtype=np.int32)[trial_of_run]
        width = len(curves.steps)
        for start in range(0, len(kept), CURVE_PIECE):
            rows = kept[start : start + CURVE_PIECE]
            study_codes = np.zeros(len(rows) * width, dtype=np.int8)
            columns = {
                "study": pa.DictionaryArray.from_arrays(study_codes, names),
                "trial": np.repeat(numbers[start : start + CURVE_PIECE], width),
                "seed": np.repeat(curves.seed[rows].astype(np.int64), width),
                "step": np.tile(curves.steps, len(rows)),
                "loss": curves.losses[rows].reshape(-1).astype(np.float64),
            }
            yield pa.table(columns, schema=CURVE_SCHEMA)


def write_curves(study: optuna.Study, path: Path) -> None:
    """Write the study's curves to the Parquet file ``path``, piece by piece."""
    with pq.ParquetWriter(path, CURVE_SCHEMA) as writer:
        for piece in curve_pieces(study):
            writer.write_table(piece)

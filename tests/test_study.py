"""A stored study read back as tables: runs and curves, failed trials included."""

from __future__ import annotations

import base64
import io
import sqlite3

import numpy as np
import optuna
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from optuna.trial import TrialState

from bench.sweep import run_sweep
from bench.sweep import storage as storage_module
from bench.sweep import study as study_module
from bench.sweep.study import (
    Curves,
    curve_pieces,
    curves_from_blob,
    curves_to_blob,
    runs_frame,
    write_curves,
)


def test_a_failed_trial_reads_back_from_parquet_as_stored(small_config, tmp_path) -> None:
    cfg = small_config("+sweep=adam", "sweep.n_trials=3", "sweep.confirm_seeds=0")
    study = run_sweep(cfg)
    # A worker killed mid-trial leaves one without runs or hyperparameters, failed on rerun.
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))
    stored = runs_frame(study)
    assert stored.status.tolist().count("failed") == 1
    assert stored.amsgrad.dtype == "boolean" and stored.amsgrad.isna().sum() == 1
    stored.to_parquet(tmp_path / "runs.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "runs.parquet"), stored)


def test_curves_blob_keeps_each_run_and_its_precision() -> None:
    for dtype in (np.float32, np.float64):
        losses = np.array([[3.0, 0.1, np.nan], [2.0, np.inf, 1e-30]], dtype=dtype)
        stored = Curves(np.array([7, 8]), np.array([0, 2**40]), np.array([0, 5, 10]), losses)
        back = curves_from_blob(curves_to_blob(stored))
        assert back.losses.dtype == dtype
        np.testing.assert_array_equal(back.losses, losses)
        for name in ("trial_id", "seed", "steps"):
            np.testing.assert_array_equal(getattr(back, name), getattr(stored, name))


def test_curves_blob_reads_back_across_row_groups() -> None:
    """A batch of millions of runs spans several Parquet row groups: one array per group."""
    losses = np.arange(21, dtype=np.float32).reshape(7, 3)
    stored = Curves(np.arange(7), np.arange(7) * 3, np.array([0, 5, 10]), losses)
    table = pq.read_table(io.BytesIO(base64.b64decode(curves_to_blob(stored))))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=2)
    back = curves_from_blob(base64.b64encode(sink.getvalue().to_pybytes()).decode())
    np.testing.assert_array_equal(back.losses, losses)
    np.testing.assert_array_equal(back.seed, stored.seed)


def test_curves_file_holds_every_run_at_every_record(small_config, tmp_path, monkeypatch) -> None:
    cfg = small_config("+sweep=adam", "sweep.n_trials=3", "n_records=4")
    study = run_sweep(cfg)
    write_curves(study, tmp_path / "curves.parquet")
    runs, curves = runs_frame(study), pd.read_parquet(tmp_path / "curves.parquet")
    assert curves.dtypes.astype(str).tolist() == ["category", "int32", "int64", "int32", "float64"]
    assert len(curves) == 4 * len(runs) and curves.step.nunique() == 4
    # The last record of each run is its final loss, bit for bit (float32 runs stored as such).
    last = curves[curves.step == curves.step.max()].sort_values(["trial", "seed"])
    final = runs.sort_values(["trial", "seed"])
    for key in ("trial", "seed"):
        np.testing.assert_array_equal(last[key].to_numpy(), final[key].to_numpy(np.int64))
    np.testing.assert_array_equal(last.loss.to_numpy(), final.final_loss.to_numpy())
    # Written a few runs at a time, the file is the same.
    monkeypatch.setattr(study_module, "CURVE_PIECE", 3)
    assert len(list(curve_pieces(study))) > 2
    write_curves(study, tmp_path / "pieces.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pieces.parquet"), curves)


class _CappedSQLite(sqlite3.Connection):
    """A SQLite connection that refuses a value over 40 kB, as every one refuses it over 1 GB."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - sqlite3's own
        super().__init__(*args, **kwargs)
        self.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 40_000)


def test_a_batch_over_the_storage_value_limit_is_stored_in_parts(
    small_config, tmp_path, monkeypatch
) -> None:
    overrides = ("task=quadratic", "+sweep=adam", "sweep.n_trials=2", "seeds=200", "n_records=20")
    whole = run_sweep(small_config(*overrides, f"results_dir={tmp_path / 'whole'}"))
    capped = {"connect_args": {"timeout": 60, "factory": _CappedSQLite}}
    monkeypatch.setattr(storage_module, "_engine_kwargs", lambda url: capped)
    with pytest.raises(optuna.exceptions.StorageInternalError, match="string or blob too big"):
        run_sweep(small_config(*overrides, f"results_dir={tmp_path / 'refused'}"))

    monkeypatch.setattr(study_module, "PART_BYTES", 10_000)
    parts = run_sweep(small_config(*overrides, f"results_dir={tmp_path / 'parts'}"))
    stored = parts.trials[0].user_attrs
    assert {"batch_runs.3", "batch_curves.3"} <= stored.keys()
    assert max(len(text) for text in stored.values() if isinstance(text, str)) < 40_000
    # The same runs and curves as the sweep that stored each batch whole.
    timed = ["wall_time"]
    pd.testing.assert_frame_equal(
        runs_frame(parts).drop(columns=timed), runs_frame(whole).drop(columns=timed)
    )
    write_curves(whole, tmp_path / "whole.parquet")
    write_curves(parts, tmp_path / "parts.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "parts.parquet"), pd.read_parquet(tmp_path / "whole.parquet")
    )

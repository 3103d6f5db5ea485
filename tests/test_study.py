"""A stored study read back as tables: runs and curves, failed trials included."""

from __future__ import annotations

import optuna
import pandas as pd
from optuna.trial import TrialState

from bench.sweep import run_sweep
from bench.sweep.study import runs_frame


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

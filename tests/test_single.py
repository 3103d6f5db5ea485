"""A single configuration over the seeds, for every task and every update rule."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import CONF_DIR
from bench.optim import RULES
from bench.sweep.single import run_single

TASK_NAMES = sorted(p.stem for p in (CONF_DIR / "task").glob("*.yaml"))
RUN_COLUMNS = {
    "study",
    "trial",
    "seed",
    "task",
    "optimizer",
    "status",
    "steps",
    "final_loss",
    "best_loss",
    "target",
    "f_star",
    "reached",
    "steps_to_target",
    "diverged_step",
    "wall_time",
}


@pytest.mark.parametrize("optimizer", sorted(RULES))
@pytest.mark.parametrize("task", TASK_NAMES)
def test_every_task_runs_with_every_rule(small_config, task, optimizer, capsys) -> None:
    cfg = small_config(f"task={task}", f"optimizer={optimizer}", "optimizer.lr=0.001")
    runs = run_single(cfg)
    assert RUN_COLUMNS <= set(runs.columns)
    assert len(runs) == 2 and runs.seed.tolist() == [0, 1]
    assert (runs.status == "complete").all()
    assert "final loss" in capsys.readouterr().out
    directory = Path(cfg.results_dir) / f"single-{optimizer}-{task}"
    stored = pd.read_parquet(directory / "runs.parquet")
    pd.testing.assert_frame_equal(stored, runs, check_dtype=False)
    curves = pd.read_parquet(directory / "curves.parquet")
    assert set(curves.columns) == {"study", "trial", "seed", "step", "loss"}
    assert curves.step.max() == 20
    assert json.loads((directory / "config.json").read_text())["task"]["name"] == task
    assert "torch" in json.loads((directory / "environment.json").read_text())


def test_basin_tasks_record_where_runs_start_and_end(small_config, capsys) -> None:
    runs = run_single(small_config("task=double_well", "task.x0=0.96", "optimizer=sgd"))
    assert not runs.start_in_basin.any() and not runs.end_in_basin.any()
    assert "escaped         0/2 runs that started outside" in capsys.readouterr().out


def test_unreached_targets_are_censored_not_dropped(small_config) -> None:
    runs = run_single(small_config("task=quadratic", "optimizer=sgd", "optimizer.lr=1e-6"))
    assert len(runs) == 2 and not runs.reached.any()
    assert runs.steps_to_target.isna().all()


def test_study_name_and_seed_offset(small_config) -> None:
    runs = run_single(small_config("study_name=mine", "seed_offset=10", "seeds=3"))
    assert runs.study.unique().tolist() == ["mine"] and runs.seed.tolist() == [10, 11, 12]

"""Sweeps: Optuna studies run a batch of trials at a time, stored, resumable and reproducible."""

from __future__ import annotations

import math
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from processes import bench_process

from bench.cli import check_arguments, main
from bench.config import ConfigError
from bench.sweep import run_sweep
from bench.sweep.mirror import SamplingMirror
from bench.sweep.study import SCHEMA_VERSION

RUN_FIELDS = {
    "study",
    "trial",
    "seed",
    "task",
    "optimizer",
    "lr",
    "beta1",
    "beta2",
    "eps",
    "status",
    "final_loss",
    "best_loss",
    "steps_to_target",
    "diverged_step",
    "wall_time",
    "objective",
}


def _load(results: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{results / 'bench.db'}")


def _searched(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's trials, its best's confirmation runs left out."""
    return [t for t in study.get_trials(deepcopy=False) if "phase" not in t.user_attrs]


def _states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in _searched(study)]


def test_sweep_command_completes_and_exports_every_run(tmp_path: Path) -> None:
    launched = time.time()
    process = bench_process("+sweep=adam", "sweep.n_trials=8", "task=quadratic", cwd=tmp_path)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    ended = time.time()
    assert "8/8 trials finished" in out and "best trial" in out
    assert "\r" not in out + err, "no progress bar when output is not a terminal"
    results = tmp_path / "results"
    study = _load(results, "adam-quadratic")
    assert _states(study) == ["COMPLETE"] * 8
    # The loop's clock times: what came before it (start-up) and after it is measured by them.
    timing = study.user_attrs["last_session"]
    assert launched < timing["started_at"] < timing["ended_at"] < ended
    assert timing["ended_at"] - timing["started_at"] == pytest.approx(timing["seconds"])
    parts = ("engine_seconds", "sampling_seconds", "storage_seconds")
    assert all(timing[part] > 0 for part in parts)
    assert sum(timing[part] for part in parts) <= timing["seconds"]
    assert re.search(r"storage [\d.]+ s \([\d.]+ ms per trial\), other [\d.]+ s", out)
    runs = pd.read_parquet(results / "adam-quadratic" / "runs.parquet")
    assert RUN_FIELDS <= set(runs.columns)
    assert sorted(runs[runs.phase == "confirm"].seed) == [3, 4, 5]
    runs = runs[runs.phase == "search"]
    assert len(runs) == 8 * 3 and sorted(runs.trial.unique()) == list(range(8))
    assert all(sorted(seeds) == [0, 1, 2] for _, seeds in runs.groupby("trial").seed)
    assert (1 - runs.beta1).between(1e-3, 1).all() and (1 - runs.beta2).between(1e-5, 0.1).all()
    curves = pd.read_parquet(results / "adam-quadratic" / "curves.parquet")
    assert len(curves.groupby(["trial", "seed"])) == 24 + 3
    assert curves.step.max() == 2000  # the sweep file's default
    assert (results / "adam-quadratic" / "environment.json").exists()


def _finished(db: Path) -> tuple[int, int]:
    """(complete trials, running trials with all 4 parameters), read straight from the SQLite
    file while a sweep writes it."""
    query = (
        "SELECT t.state, COUNT(p.param_id) FROM trials t "
        "LEFT JOIN trial_params p ON p.trial_id = t.trial_id GROUP BY t.trial_id"
    )
    try:
        with sqlite3.connect(db, timeout=10) as connection:
            rows = connection.execute(query).fetchall()
    except sqlite3.OperationalError:
        return 0, 0
    complete = sum(state == "COMPLETE" for state, _ in rows)
    return complete, sum(state == "RUNNING" and n == 4 for state, n in rows)


# Behind slow: the fault loop's short form (test_faults.py) kills and reruns a sweep in CI.
@pytest.mark.slow
def test_a_killed_sweep_resumes_to_exactly_n_trials(tmp_path: Path) -> None:
    args = (
        "+sweep=adam",
        "sweep.n_trials=10",
        "sweep.batch_size=2",
        "sweep.sampler=random",
        "task=rosenbrock",
        "steps=3000",
        "seeds=2",
    )
    process = bench_process(*args, cwd=tmp_path)
    db = tmp_path / "results" / "bench.db"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        complete, running = _finished(db)
        if complete >= 2 and running > 0:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _load(tmp_path / "results", "adam-rosenbrock")
    kept = {
        t.number: t.params for t in before.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    }
    orphans = {
        t.number: t.params for t in before.get_trials(states=[optuna.trial.TrialState.RUNNING])
    }
    assert len(kept) >= 2 and orphans

    rerun = bench_process(*args, cwd=tmp_path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    study = _load(tmp_path / "results", "adam-rosenbrock")
    trials = _searched(study)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(complete) == 10
    assert sorted(t.number for t in failed) == sorted(orphans)
    # None lost: every trial finished before the kill is still there, unchanged.
    assert {t.number: t.params for t in complete if t.number in kept} == kept
    # Each orphan that had its configuration was retried exactly once (one killed while being
    # asked never ran); nothing else ran twice.
    retries = [t for t in complete if "retry_of" in t.user_attrs]
    whole = [n for n, params in orphans.items() if len(params) == 4]
    assert whole and sorted(t.user_attrs["retry_of"] for t in retries) == sorted(whole)
    for retry in retries:
        assert retry.params == orphans[retry.user_attrs["retry_of"]]
    configurations = [tuple(sorted(t.params.items())) for t in complete]
    assert len(set(configurations)) == len(configurations)
    runs = pd.read_parquet(tmp_path / "results" / "adam-rosenbrock" / "runs.parquet")
    runs = runs[runs.phase == "search"]
    assert (runs.status == "complete").sum() + (runs.status == "diverged").sum() == 10 * 2
    assert (runs.status == "failed").sum() == len(orphans)


def test_rerunning_a_finished_sweep_runs_nothing_more(small_config) -> None:
    cfg = small_config("+sweep=adam", "sweep.n_trials=4", "sweep.batch_size=4")
    run_sweep(cfg)
    study = run_sweep(cfg)
    assert _states(study) == ["COMPLETE"] * 4


def test_raising_n_trials_runs_only_the_difference(small_config) -> None:
    run_sweep(small_config("+sweep=sgd", "sweep.n_trials=3", "sweep.batch_size=2"))
    study = run_sweep(small_config("+sweep=sgd", "sweep.n_trials=5", "sweep.batch_size=2"))
    assert _states(study) == ["COMPLETE"] * 5


def _trials_and_runs(cfg) -> tuple[list[dict], pd.DataFrame]:
    study = run_sweep(cfg)
    runs = pd.read_parquet(Path(cfg.results_dir) / study.study_name / "runs.parquet")
    return [t.params for t in _searched(study)], runs.drop(columns="wall_time")


@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc", "grid", "cmaes"])
def test_same_sampler_seed_gives_the_same_trials_and_results(small_config, sampler) -> None:
    overrides = ("+sweep=adam", f"sweep.sampler={sampler}", "sweep.n_trials=6", "sweep.seed=3")
    first = _trials_and_runs(small_config(*overrides, "study_name=first"))
    second = _trials_and_runs(small_config(*overrides, "study_name=second"))
    assert first[0] == second[0] and len(first[0]) == 6
    pd.testing.assert_frame_equal(first[1].drop(columns="study"), second[1].drop(columns="study"))
    other = _trials_and_runs(small_config(*overrides[:-1], "sweep.seed=4", "study_name=third"))
    assert other[0] != first[0]


def test_grid_sweep_stops_at_the_grid_size(small_config) -> None:
    cfg = small_config(
        "+sweep=sgd", "sweep.sampler=grid", "sweep.grid_points=2", "sweep.n_trials=100"
    )
    trials = _searched(run_sweep(cfg))
    assert len(trials) == 4
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4


def test_diverging_trials_are_recorded_and_never_best(small_config) -> None:
    cfg = small_config(
        "+sweep=sgd",
        "task=rosenbrock",
        "sweep.sampler=random",
        "sweep.n_trials=12",
        "sweep.space.lr.low=1e-4",
        "sweep.space.lr.high=10",
        "steps=100",
    )
    study = run_sweep(cfg)
    runs = pd.read_parquet(Path(cfg.results_dir) / "sgd-rosenbrock" / "runs.parquet")
    diverged = runs[runs.status == "diverged"]
    assert len(diverged) > 0 and diverged.diverged_step.notna().all()
    assert (diverged.objective == math.inf).all()
    trials = _searched(study)
    assert len(trials) == 12
    best = min(trials, key=lambda t: t.value)
    assert (runs[runs.trial == best.number].status == "complete").all()
    assert math.isfinite(best.value)


def test_median_pruning_stops_trials_at_record_points(small_config) -> None:
    cfg = small_config(
        "+sweep=adam",
        "task=rosenbrock",
        "sweep.sampler=random",
        "sweep.pruner=median",
        "sweep.n_trials=24",
        "sweep.batch_size=12",
        "steps=200",
        "n_records=10",
    )
    study = run_sweep(cfg)
    states = _states(study)
    assert states.count("PRUNED") > 0 and states.count("COMPLETE") > 0
    runs = pd.read_parquet(Path(cfg.results_dir) / "adam-rosenbrock" / "runs.parquet")
    pruned = runs[runs.status == "pruned"]
    assert len(pruned) == 2 * states.count("PRUNED")


def test_a_study_resumed_with_another_setup_is_refused(small_config) -> None:
    run_sweep(small_config("+sweep=adam", "sweep.n_trials=2"))
    with pytest.raises(ConfigError, match="was run with steps=20, not 30"):
        run_sweep(small_config("+sweep=adam", "sweep.n_trials=4", "steps=30"))
    with pytest.raises(ConfigError, match="was run with task_options=.*'noise': 0.0"):
        run_sweep(small_config("+sweep=adam", "sweep.n_trials=4", "task.noise=0.1"))
    with pytest.raises(ConfigError, match="was run with optimizer_options="):
        run_sweep(small_config("+sweep=adam", "sweep.n_trials=4", "optimizer.weight_decay=0.1"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["+sweep=nosuch"], "sweep='nosuch' is unknown; allowed: adagrad, adam, adamax"),
        (
            ["+sweep=adam", "sweep.space.lr.low=2", "sweep.space.lr.high=1"],
            "sweep.space.lr: low=2.0 > high=1.0; allowed: low <= high",
        ),
        (
            ["+sweep=adam", "sweep.space.lr.low=0"],
            "sweep.space.lr: low=0.0 on a log scale; allowed: low > 0",
        ),
        (
            [
                "+sweep=adam",
                "~sweep.space.one_minus_beta1",
                "+sweep.space.beta1={distribution: uniform, low: 0.5, high: 1.0}",
            ],
            "sweep.space.beta1: high=1.0 is out of range; allowed: 0 <= beta1 < 1",
        ),
        (
            [
                "+sweep=adam",
                "sweep.space.one_minus_beta2.distribution=uniform",
                "sweep.space.one_minus_beta2.low=0",
            ],
            "sweep.space.one_minus_beta2: low=0.0 is out of range",
        ),
        (
            ["+sweep=adam", "sweep.n_trials=0"],
            "sweep.n_trials=0 is invalid; allowed: an integer >= 1",
        ),
        (["+sweep=adam", "sweep.sampler=bayes"], "sweep.sampler='bayes' is unknown; allowed: tpe"),
        (
            ["+sweep=adam", "sweep.objective=accuracy"],
            "sweep.objective='accuracy' is unknown; allowed: final_loss",
        ),
        (
            ["+sweep=sgd", "optimizer=adam"],
            "sweep.space.one_minus_momentum: unknown hyperparameter",
        ),
        (
            ["+sweep=adam", "results_dir=/etc/hostname/results"],
            "results_dir='/etc/hostname/results' is not writable",
        ),
    ],
)
def test_bad_sweeps_are_refused_in_one_line_before_any_work(
    tmp_path: Path, monkeypatch, capsys, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["bench", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], captured.err
    assert not (tmp_path / "results").exists()


def test_every_sweep_of_a_multirun_is_checked() -> None:
    with pytest.raises(ConfigError, match="sweep='nope' is unknown"):
        check_arguments(["--multirun", "+sweep=adam,nope"])
    check_arguments(["--multirun", "+sweep=adam,sgd,sgd_nesterov", "task=quadratic,rosenbrock"])


def test_multirun_gives_each_combination_its_own_study(tmp_path: Path) -> None:
    process = bench_process(
        "--multirun",
        "+sweep=adam,sgd",
        "task=quadratic,rosenbrock",
        "sweep.n_trials=2",
        "steps=20",
        cwd=tmp_path,
    )
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    names = optuna.get_all_study_names(storage=f"sqlite:///{tmp_path / 'results' / 'bench.db'}")
    assert sorted(names) == ["adam-quadratic", "adam-rosenbrock", "sgd-quadratic", "sgd-rosenbrock"]
    for name in names:
        runs = pd.read_parquet(tmp_path / "results" / name / "runs.parquet")
        assert len(runs[runs.phase == "search"]) == 2 * 3


def test_a_study_from_another_schema_is_refused_and_left_intact(small_config) -> None:
    cfg = small_config("+sweep=adam", "sweep.n_trials=2")
    study = run_sweep(cfg)
    stored = dict(study.user_attrs["bench"], schema=0)
    study.set_user_attr("bench", stored)
    with pytest.raises(
        ConfigError, match=f"written by bench schema 0, this is schema {SCHEMA_VERSION}"
    ):
        run_sweep(small_config("+sweep=adam", "sweep.n_trials=4"))
    assert _states(study) == ["COMPLETE"] * 2


def test_the_best_configuration_is_confirmed_once_on_fresh_seeds(small_config) -> None:
    # Outcomes on the seeds a configuration was picked on flatter it (issue 12): once the study
    # ends, its best is re-run on new seeds, stored as a trial the search never sees.
    cfg = small_config(
        "+sweep=sgd", "task=quadratic", "sweep.n_trials=4", "sweep.batch_size=4", "seed_offset=10"
    )
    study = run_sweep(cfg)
    runs = pd.read_parquet(Path(cfg.results_dir) / study.study_name / "runs.parquet")
    search, confirm = runs[runs.phase == "search"], runs[runs.phase == "confirm"]
    assert search.trial.nunique() == 4 and sorted(search.seed.unique()) == [10, 11]
    best = search.loc[search.objective.idxmin()]
    assert sorted(confirm.seed) == [12, 13]
    assert (confirm.confirm_of == best.trial).all() and (confirm.lr == best.lr).all()
    assert confirm.trial.nunique() == 1 and search.confirm_of.isna().all()
    confirm_trial = study.trials[int(confirm.trial.iloc[0])]
    assert confirm_trial.params == {} and confirm_trial.user_attrs["phase"] == "confirm"
    sampler_view = SamplingMirror(study, optuna.samplers.RandomSampler()).memory.trials
    assert len(sampler_view) == 4

    again = run_sweep(cfg)  # idempotent: nothing more to search or confirm
    assert len(again.trials) == 5
    more = run_sweep(
        small_config(
            "+sweep=sgd",
            "task=quadratic",
            "sweep.n_trials=6",
            "sweep.batch_size=4",
            "seed_offset=10",
            "sweep.confirm_seeds=3",
        )
    )
    searched = [t for t in more.trials if "phase" not in t.user_attrs]
    assert len(searched) == 6  # the confirmation run took no search slot
    latest = [t for t in more.trials if t.user_attrs.get("confirm_seeds") == [12, 13, 14]]
    assert len(latest) == 1


def test_confirmation_can_be_turned_off(small_config) -> None:
    cfg = small_config("+sweep=sgd", "sweep.n_trials=2", "sweep.confirm_seeds=0")
    assert len(run_sweep(cfg).trials) == 2

"""The sampler's in-memory mirror: trials live in the storage, sampling happens in memory."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from bench.sweep.mirror import SamplingMirror, Told
from bench.sweep.study import worker_id

DISTS = {"lr": FloatDistribution(1e-5, 1.0, log=True), "x": FloatDistribution(0.0, 1.0)}


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    return optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 'bench.db'}")


def test_asked_trials_are_stored_running_owned_and_with_their_parameters(study) -> None:
    mirror = SamplingMirror(study, optuna.samplers.RandomSampler(seed=0))
    asked = mirror.ask(DISTS, 3)
    stored = study.get_trials()
    assert [t.state for t in stored] == [TrialState.RUNNING] * 3
    for trial, mine in zip(stored, asked, strict=True):
        assert trial.user_attrs["worker"] == worker_id()
        assert trial.params == mine.params == mine.twin.params
        assert set(trial.params) == set(DISTS)


def test_told_trials_are_finished_in_the_storage_and_in_memory(study) -> None:
    mirror = SamplingMirror(study, optuna.samplers.RandomSampler(seed=0))
    first, second = mirror.ask(DISTS, 2)
    mirror.tell([Told(first, 0.5, False, {"runs": [{"seed": 0}]}), Told(second, 9.0, True, {})])
    stored = study.get_trials()
    assert [t.state for t in stored] == [TrialState.COMPLETE, TrialState.PRUNED]
    assert stored[0].value == 0.5 and stored[0].user_attrs["runs"] == [{"seed": 0}]
    assert [t.state for t in mirror.memory.trials] == [TrialState.COMPLETE, TrialState.PRUNED]
    mirror.sync()
    assert len(mirror.memory.trials) == 2, "a trial told here is not copied twice"


def test_sync_copies_other_workers_finished_trials(study) -> None:
    mirror = SamplingMirror(study, optuna.samplers.TPESampler(seed=0))
    other = optuna.load_study(study_name="s", storage=study._storage)
    other.optimize(lambda t: t.suggest_float("lr", 1e-5, 1.0, log=True), n_trials=3)
    assert mirror.memory.trials == []
    mirror.sync()
    values = sorted(t.value for t in mirror.memory.trials)
    assert values == sorted(t.value for t in other.trials)


def test_retries_run_the_failed_configuration_again(study) -> None:
    mirror = SamplingMirror(study, optuna.samplers.RandomSampler(seed=0))
    mirror.retries = [(7, {"lr": 0.01, "x": 0.25})]
    retry, fresh = mirror.ask(DISTS, 2)
    assert retry.params == {"lr": 0.01, "x": 0.25}
    assert fresh.params != retry.params
    stored = study.get_trials()
    assert stored[0].user_attrs["retry_of"] == 7 and "retry_of" not in stored[1].user_attrs
    assert mirror.retries == []


def test_same_seed_asks_the_same_configurations(tmp_path: Path) -> None:
    asked = []
    for name in ("a", "b"):
        study = optuna.create_study(study_name=name, storage=f"sqlite:///{tmp_path / 'x.db'}")
        mirror = SamplingMirror(study, optuna.samplers.TPESampler(seed=3))
        asked.append([t.params for t in mirror.ask(DISTS, 4)])
    assert asked[0] == asked[1]

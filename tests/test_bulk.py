"""Trials written a batch at a time read back exactly as those Optuna's own API writes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from bench.sweep.bulk import Finished, create_trials, finish_trials, sql_backend

DISTS = {
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "n": IntDistribution(1, 9),
    "kind": CategoricalDistribution(["a", "b"]),
}


def _template(i: int) -> FrozenTrial:
    return FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.now(),
        datetime_complete=None,
        params={"lr": 10.0 ** -(i % 5), "n": i % 9 + 1, "kind": "ab"[i % 2]},
        distributions=DISTS,
        user_attrs={"worker": "host:1", "i": i},
        system_attrs={"fixed_params": {"n": i % 9 + 1}},
        intermediate_values={},
        trial_id=-1,
    )


def _finished(i: int, trial_id: int) -> Finished:
    if i % 3 == 2:
        return Finished(trial_id, TrialState.PRUNED, None, {"note": [i]})
    return Finished(trial_id, TrialState.COMPLETE, [0.5, math.inf, -1e-300][i % 3], {"i2": i})


def _api(study: optuna.Study, templates: list[FrozenTrial]) -> list[int]:
    """The same trials written by Optuna's API, one call at a time."""
    storage = study._storage
    ids = [storage.create_new_trial(study._study_id, template_trial=t) for t in templates]
    for i, trial_id in enumerate(ids):
        done = _finished(i, trial_id)
        for key, value in done.user_attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
        values = None if done.value is None else [done.value]
        storage.set_trial_state_values(trial_id, done.state, values)
    return ids


def _seen(trial: FrozenTrial) -> tuple:
    return (
        trial.number,
        trial.state,
        trial.values,
        trial.params,
        trial.distributions,
        trial.user_attrs,
        trial.system_attrs,
        trial.intermediate_values,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    return request.getfixturevalue("postgres")


def test_a_batch_reads_back_as_optuna_writes_it(url: str) -> None:
    name = f"bulk-{datetime.now().timestamp()}"
    bulk = optuna.create_study(study_name=name, storage=url)
    api = optuna.create_study(study_name=name + "-api", storage=url)
    rdb = sql_backend(bulk._storage)
    assert rdb is not None
    templates = [_template(i) for i in range(7)]
    started = datetime.now()
    ids = create_trials(bulk, templates, rdb)
    assert [t.state for t in bulk.get_trials()] == [TrialState.RUNNING] * 7
    finish_trials(bulk, [_finished(i, trial_id) for i, trial_id in enumerate(ids)], rdb)
    _api(api, templates)
    # Read back by a fresh process's view of the storage, not through any cache.
    fresh = optuna.storages.RDBStorage(url)
    written = fresh.get_all_trials(fresh.get_study_id_from_name(name))
    reference = fresh.get_all_trials(fresh.get_study_id_from_name(name + "-api"))
    assert [_seen(t) for t in written] == [_seen(t) for t in reference]
    assert [t._trial_id for t in written] == ids
    for trial in written:
        assert abs(trial.datetime_start - started) < timedelta(minutes=1)
        assert trial.datetime_complete >= trial.datetime_start


def test_numbers_stay_dense_between_batches_and_optuna_s_own_trials(tmp_path: Path) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'bench.db'}")
    rdb = sql_backend(study._storage)
    create_trials(study, [_template(i) for i in range(3)], rdb)
    study.ask()
    create_trials(study, [_template(i) for i in range(2)], rdb)
    assert [t.number for t in study.get_trials()] == list(range(6))


def test_a_trial_another_worker_failed_is_not_finished_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'bench.db'}")
    rdb = sql_backend(study._storage)
    first, second = create_trials(study, [_template(0), _template(1)], rdb)
    study._storage.set_trial_state_values(second, TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        finish_trials(study, [_finished(0, first), _finished(1, second)], rdb)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.RUNNING, TrialState.FAIL]
    assert "i2" not in trials[0].user_attrs


def test_the_journal_goes_through_optuna_s_api(tmp_path: Path) -> None:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "journal.log"))
    )
    study = optuna.create_study(storage=storage)
    assert sql_backend(study._storage) is None
    ids = create_trials(study, [_template(i) for i in range(3)], None)
    finish_trials(study, [_finished(i, trial_id) for i, trial_id in enumerate(ids)], None)
    assert [t.state for t in study.get_trials()] == [
        TrialState.COMPLETE,
        TrialState.COMPLETE,
        TrialState.PRUNED,
    ]

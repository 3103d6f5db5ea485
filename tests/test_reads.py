"""An SQL storage read past Optuna's ORM gives what Optuna's own reader gives."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState

from bench.sweep.bulk import sql_backend
from bench.sweep.reads import HEAD, FastRDBStorage, _frozen_trials
from bench.sweep.study import CONFIRM, counts, live_reader, surplus

DISTS = {
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "n": IntDistribution(1, 9, step=2),
    "kind": CategoricalDistribution(["a", None, 3]),
}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    return request.getfixturevalue("postgres")


def _fill(study: optuna.Study) -> None:
    """Trials in every state, with every kind of value, attribute and intermediate value."""
    values = [0.5, math.inf, -math.inf, -1e-300, 3.0]
    for i in range(12):
        trial = study.ask(DISTS)
        trial.set_user_attr("i", {"list": [i, None], "text": "é\n"})
        study._storage.set_trial_system_attr(trial._trial_id, "fixed", i)
        if i % 4 == 1:
            trial.report(math.nan if i == 5 else float(i), 3)
            trial.report(math.inf, 0)
        state = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING]
        if state[i % 4] == TrialState.COMPLETE:
            study.tell(trial, values[i % 5])
        elif state[i % 4] != TrialState.RUNNING:
            study.tell(trial, state=state[i % 4])


def _fields(trial: FrozenTrial) -> str:
    """Every field, trial id included, dictionaries in key order (Optuna's reader leaves their
    order to the database); as text, since a NaN is not equal to itself."""
    return repr(
        {k: sorted(v.items()) if isinstance(v, dict) else v for k, v in vars(trial).items()}
    )


def test_trials_read_as_optuna_reads_them(url: str) -> None:
    name = f"reads-{datetime.now().timestamp()}"
    fast = FastRDBStorage(url)
    _fill(optuna.create_study(study_name=name, storage=fast))
    study_id = fast.get_study_id_from_name(name)
    reference = optuna.storages.RDBStorage(url)
    read = 0
    for states in (None, (TrialState.RUNNING,), (TrialState.COMPLETE, TrialState.PRUNED)):
        for included, greater in ((set(), -1), ({2, 4, 11}, 6), ({3}, 100)):
            mine = fast._get_trials(study_id, states, included, greater)
            theirs = reference._get_trials(study_id, states, included, greater)
            assert [_fields(t) for t in mine] == [_fields(t) for t in theirs]
            read += len(mine)
    assert len(fast.get_all_trials(study_id)) == 12
    assert read > 24


def test_fresh_trials_are_read_through_optuna_s_cache(tmp_path: Path) -> None:
    study = optuna.create_study(storage=FastRDBStorage(f"sqlite:///{tmp_path / 'bench.db'}"))
    trial = study.ask(DISTS)
    assert study.get_trials()[0].state == TrialState.RUNNING
    study.tell(trial, 1.5)
    assert [t.value for t in study.get_trials()] == [1.5]


def _counts_and_surplus(study: optuna.Study, rdb, live) -> tuple:  # noqa: ANN001
    ids = [t._trial_id for t in study.get_trials()]
    return counts(study, rdb), {n: surplus(study, ids, n, live) for n in (0, 2, 4, 100)}


def test_polls_read_in_one_query_agree_with_whole_trials(url: str) -> None:
    study = optuna.create_study(study_name=f"polls-{datetime.now().timestamp()}", storage=url)
    storage = study._storage
    params = [{"lr": 0.1, "n": 3, "kind": None}, {"lr": 0.2, "n": 3, "kind": "a"}]
    for i, p in enumerate([params[0], params[1], params[0], params[1], params[0]]):
        study.enqueue_trial(p)
        trial = study.ask(DISTS)
        if i == 1:
            trial.set_user_attr("retry_of", 0)
        if i == 3:
            storage.set_trial_user_attr(trial._trial_id, "retry_of", 0)
            continue
        if i < 3:
            study.tell(trial, float(i))
    confirm = study.ask()
    confirm.set_user_attr("phase", CONFIRM)
    study.tell(confirm, 0.0)
    running = study.ask()
    rdb = sql_backend(storage)
    assert rdb is not None
    live = live_reader(study, rdb)
    found = _counts_and_surplus(study, rdb, live)
    assert found == _counts_and_surplus(study, None, None)
    assert found[0] == (3, 3)
    assert found[1][100] == {t._trial_id for t in study.trials[2:5]}
    # Read again by the same reader: finished trials from its memory, the rest afresh.
    study.tell(running, state=TrialState.FAIL)
    study.tell(4, 1.0)
    study.enqueue_trial(params[1])
    study.ask(DISTS)
    found = _counts_and_surplus(study, rdb, live)
    assert found == _counts_and_surplus(study, None, None)
    assert found[0] == (4, 2)


def test_rows_of_a_trial_created_after_the_first_query_are_left_for_the_next_read(
    tmp_path: Path,
) -> None:
    # Under READ COMMITTED, the queries after the trials' own see trials committed since: the
    # read keeps to the trials it listed first (this failed a PostgreSQL worker once).
    fast = FastRDBStorage(f"sqlite:///{tmp_path / 'bench.db'}")
    study = optuna.create_study(study_name="s", storage=fast)
    study.ask(DISTS)
    trials = models.TrialModel.__table__
    with fast.scoped_session() as session:
        heads = session.execute(sqlalchemy.select(*(trials.c[c] for c in HEAD))).all()
    later = {
        "params": [(99, "lr", 0.1, '{"name": "FloatDistribution", "attributes": {}}')],
        "values": [(99, 0, 1.0, None)],
        "user_attrs": [(99, "k", "1")],
        "system_attrs": [(99, "k", "1")],
        "intermediate_values": [(99, 0, 1.0, None)],
    }
    (read,) = _frozen_trials(heads, later)
    assert read.number == 0 and read.params == {} and read.user_attrs == {}

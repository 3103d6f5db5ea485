"""A batch's trials created, and finished, in one transaction each on an SQL storage.

Optuna's RDB storage spends 10 to 20 ms per trial in its ORM: a transaction per call and a few
queries per parameter and attribute. Written a batch at a time, with the same rows Optuna writes,
a trial costs well under a millisecond. Every other storage (the journal file) goes through
Optuna's API one trial at a time, as does an SQL database whose schema is not the one this Optuna
writes (then a row written here could differ from Optuna's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna
import sqlalchemy
from optuna.distributions import distribution_to_json
from optuna.storages import RDBStorage
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import orm

__all__ = [
    "Finished",
    "create_trials",
    "finish_trials",
    "record_heartbeats",
    "sql_backend",
    "transaction",
]


@dataclass(frozen=True)
class Finished:
    """What finishing a trial writes: its attributes first, then its state and value."""

    trial_id: int
    state: TrialState
    value: float | None
    user_attrs: dict[str, Any]


def sql_backend(storage: optuna.storages.BaseStorage) -> RDBStorage | None:
    """The RDB storage behind ``storage`` (Optuna caches it) where its schema is this Optuna's."""
    backend = getattr(storage, "_backend", storage)
    if not isinstance(backend, RDBStorage):
        return None
    return backend if backend.get_current_version() == backend.get_head_version() else None


@contextmanager
def transaction(rdb: RDBStorage) -> Iterator[orm.Session]:
    """One session committed at the end; a database error reads as Optuna's storage error."""
    session = rdb.scoped_session()
    try:
        yield session
        session.commit()
    except sqlalchemy.exc.SQLAlchemyError as error:
        session.rollback()
        raise optuna.exceptions.StorageInternalError(f"a batch write failed: {error}") from error
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def create_trials(
    study: optuna.Study, templates: Sequence[FrozenTrial], rdb: RDBStorage | None
) -> list[int]:
    """Create a trial per template (state, start, parameters, attributes); return their ids."""
    if rdb is None:
        storage = study._storage
        return [storage.create_new_trial(study._study_id, template_trial=t) for t in templates]
    with transaction(rdb) as session:
        # The study's row locked as Optuna locks it, so that trial numbers are dense and unique.
        models.StudyModel.find_or_raise_by_id(study._study_id, session, for_update=True)
        trials = models.TrialModel.__table__
        session.execute(
            sqlalchemy.insert(trials),
            [
                {
                    "study_id": study._study_id,
                    "number": None,
                    "state": template.state,
                    "datetime_start": template.datetime_start,
                }
                for template in templates
            ],
        )
        # Only this transaction's trials are still unnumbered (Optuna numbers a trial in the
        # transaction that creates it), and their ids follow the order they were inserted in.
        ids = (
            session.execute(
                sqlalchemy.select(trials.c.trial_id)
                .where(trials.c.study_id == study._study_id, trials.c.number.is_(None))
                .order_by(trials.c.trial_id)
            )
            .scalars()
            .all()
        )
        # Numbered as Optuna numbers a trial: by the study's trials created before it.
        past = session.scalar(
            sqlalchemy.select(sqlalchemy.func.count(trials.c.trial_id)).where(
                trials.c.study_id == study._study_id, trials.c.trial_id < min(ids)
            )
        )
        session.execute(
            sqlalchemy.update(trials)
            .where(trials.c.trial_id == sqlalchemy.bindparam("created_id"))
            .values(number=sqlalchemy.bindparam("created_number")),
            [
                {"created_id": trial_id, "created_number": past + rank}
                for rank, trial_id in enumerate(ids)
            ],
        )
        pairs = list(zip(ids, templates, strict=True))
        # A batch's trials share their distributions: each written to JSON once.
        texts = {
            id(dist): distribution_to_json(dist)
            for t in templates
            for dist in t.distributions.values()
        }
        _insert(
            session,
            models.TrialParamModel,
            [
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": template.distributions[name].to_internal_repr(value),
                    "distribution_json": texts[id(template.distributions[name])],
                }
                for trial_id, template in pairs
                for name, value in template.params.items()
            ],
        )
        for model, attrs in (
            (models.TrialUserAttributeModel, "user_attrs"),
            (models.TrialSystemAttributeModel, "system_attrs"),
        ):
            _insert(
                session,
                model,
                [
                    {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
                    for trial_id, template in pairs
                    for key, value in getattr(template, attrs).items()
                ],
            )
        return list(ids)


def _insert(session: orm.Session, model: type[models.BaseModel], rows: list[dict]) -> None:
    """Insert ``rows`` into ``model``'s table in one statement (executemany), past the ORM."""
    if rows:
        session.execute(sqlalchemy.insert(model.__table__), rows)


def finish_trials(
    study: optuna.Study, finished: Sequence[Finished], rdb: RDBStorage | None
) -> None:
    """Write each trial's attributes, then finish it with its value: all in one transaction, or
    (without ``rdb``) trial by trial, attributes first, through Optuna's API.

    Raises Optuna's ``UpdateFinishedTrialError`` where a trial is no longer running (another
    worker failed it), as Optuna's API does; then nothing of the batch is written.
    """
    if rdb is None:
        storage = study._storage
        for trial in finished:
            for key, value in trial.user_attrs.items():
                storage.set_trial_user_attr(trial.trial_id, key, value)
            values = None if trial.value is None else [trial.value]
            storage.set_trial_state_values(trial.trial_id, state=trial.state, values=values)
        return
    ids = [trial.trial_id for trial in finished]
    trials = models.TrialModel.__table__
    with transaction(rdb) as session:
        states = dict(
            session.execute(
                sqlalchemy.select(trials.c.trial_id, trials.c.state)
                .where(trials.c.trial_id.in_(ids))
                .with_for_update()
            ).all()
        )
        for trial in finished:
            rdb.check_trial_is_updatable(trial.trial_id, states[trial.trial_id])
        keys = {key for trial in finished for key in trial.user_attrs}
        attrs = models.TrialUserAttributeModel.__table__
        session.execute(
            sqlalchemy.delete(attrs).where(attrs.c.trial_id.in_(ids), attrs.c.key.in_(keys))
        )
        _insert(
            session,
            models.TrialUserAttributeModel,
            [
                {"trial_id": trial.trial_id, "key": key, "value_json": json.dumps(value)}
                for trial in finished
                for key, value in trial.user_attrs.items()
            ],
        )
        values = [
            (trial.trial_id, models.TrialValueModel.value_to_stored_repr(trial.value))
            for trial in finished
            if trial.value is not None
        ]
        _insert(
            session,
            models.TrialValueModel,
            [
                {"trial_id": trial_id, "objective": 0, "value": stored, "value_type": kind}
                for trial_id, (stored, kind) in values
            ],
        )
        now = datetime.now()
        session.execute(
            sqlalchemy.update(trials)
            .where(trials.c.trial_id == sqlalchemy.bindparam("finished_id"))
            .values(state=sqlalchemy.bindparam("finished_state"), datetime_complete=now),
            [{"finished_id": t.trial_id, "finished_state": t.state} for t in finished],
        )


def record_heartbeats(
    storage: optuna.storages.BaseStorage, trial_ids: Sequence[int], rdb: RDBStorage | None
) -> None:
    """A first heartbeat for each of the new trials ``trial_ids``: in one transaction on SQL."""
    if rdb is None:
        for trial_id in trial_ids:
            storage.record_heartbeat(trial_id)
        return
    with transaction(rdb) as session:
        _insert(session, models.TrialHeartbeatModel, [{"trial_id": i} for i in trial_ids])

"""What the sweep reads of an SQL storage, past Optuna's ORM.

Optuna's RDB storage loads a trial as ORM objects, about 0.7 ms each: a sweep that polls its
study between batches, and reads it whole to export it, spends more time there than in writing
it. The polls here read only the columns they need in one query; ``FastRDBStorage`` builds the
same trials as Optuna's storage from plain rows. Both read the schema this Optuna writes
(``bulk.sql_backend``, ``FastRDBStorage`` falls back to Optuna's reader otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Container
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.storages import RDBStorage
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import orm

from bench.sweep.bulk import transaction

__all__ = ["HEAD", "FastRDBStorage", "LiveTrial", "LiveTrials", "state_counts", "trial_ids"]


class LiveTrial(NamedTuple):
    """What ``LiveTrials`` reads of a trial: no values, runs or curves."""

    trial_id: int
    number: int
    #: Parameters in the storage's internal representation (floats; a choice's index).
    params: dict[str, float]
    #: The user attributes asked for, where the trial has them.
    user_attrs: dict[str, Any]


def _study_trials(
    study_id: int, states: Collection[TrialState], skip: tuple[str, Any]
) -> sqlalchemy.Select:
    """The ids of the study's trials in ``states``, leaving out those whose user attribute
    ``skip[0]`` is ``skip[1]``."""
    trials = models.TrialModel.__table__
    attrs = models.TrialUserAttributeModel.__table__
    skipped = (
        sqlalchemy.select(attrs.c.trial_id)
        .where(attrs.c.key == skip[0], attrs.c.value_json == json.dumps(skip[1]))
        .scalar_subquery()
    )
    return sqlalchemy.select(trials.c.trial_id).where(
        trials.c.study_id == study_id,
        trials.c.state.in_(list(states)),
        trials.c.trial_id.not_in(skipped),
    )


def state_counts(
    study: optuna.Study, rdb: RDBStorage, skip: tuple[str, Any]
) -> dict[TrialState, int]:
    """How many of the study's trials are in each state, those with user attribute ``skip``
    left out."""
    trials = models.TrialModel.__table__
    ids = _study_trials(study._study_id, list(TrialState), skip).scalar_subquery()
    with transaction(rdb) as session:
        rows = session.execute(
            sqlalchemy.select(trials.c.state, sqlalchemy.func.count())
            .where(trials.c.trial_id.in_(ids))
            .group_by(trials.c.state)
        ).all()
    return dict(rows)


def trial_ids(
    study: optuna.Study, rdb: RDBStorage, states: Collection[TrialState], skip: tuple[str, Any]
) -> list[int]:
    """The ids of the study's trials in ``states``, those with user attribute ``skip`` left out."""
    with transaction(rdb) as session:
        return list(session.execute(_study_trials(study._study_id, states, skip)).scalars())


class LiveTrials:
    """The study's trials in ``states`` by number, with their parameters and the user attributes
    ``keys``, those with user attribute ``skip`` left out: read again at each ``read``, a
    finished trial's parameters and attributes only once (they no longer change)."""

    #: Ids per query (SQLite allows at least 999 parameters).
    CHUNK = 900

    def __init__(
        self,
        study: optuna.Study,
        rdb: RDBStorage,
        states: Collection[TrialState],
        skip: tuple[str, Any],
        keys: Collection[str],
    ) -> None:
        self.study, self.rdb = study, rdb
        self.states, self.skip, self.keys = list(states), skip, list(keys)
        self._finished: dict[int, LiveTrial] = {}

    def read(self) -> list[LiveTrial]:
        """The trials as stored now."""
        trials = models.TrialModel.__table__
        ids = _study_trials(self.study._study_id, self.states, self.skip).scalar_subquery()
        with transaction(self.rdb) as session:
            heads = session.execute(
                sqlalchemy.select(trials.c.trial_id, trials.c.number, trials.c.state)
                .where(trials.c.trial_id.in_(ids))
                .order_by(trials.c.number)
            ).all()
            fresh = {
                trial_id: LiveTrial(trial_id, number, {}, {})
                for trial_id, number, _ in heads
                if trial_id not in self._finished
            }
            for start in range(0, len(fresh), self.CHUNK):
                self._read_details(session, list(fresh)[start : start + self.CHUNK], fresh)
        for trial_id, _, state in heads:
            if state.is_finished() and trial_id in fresh:
                self._finished[trial_id] = fresh[trial_id]
        return [fresh.get(trial_id) or self._finished[trial_id] for trial_id, *_ in heads]

    def _read_details(
        self, session: orm.Session, chosen: list[int], into: dict[int, LiveTrial]
    ) -> None:
        params = models.TrialParamModel.__table__
        attrs = models.TrialUserAttributeModel.__table__
        for trial_id, name, value in session.execute(
            sqlalchemy.select(params.c.trial_id, params.c.param_name, params.c.param_value).where(
                params.c.trial_id.in_(chosen)
            )
        ):
            into[trial_id].params[name] = value
        for trial_id, key, value in session.execute(
            sqlalchemy.select(attrs.c.trial_id, attrs.c.key, attrs.c.value_json).where(
                attrs.c.trial_id.in_(chosen), attrs.c.key.in_(self.keys)
            )
        ):
            into[trial_id].user_attrs[key] = json.loads(value)


#: The columns of a trial's own row that its ``FrozenTrial`` takes.
HEAD = ("trial_id", "number", "state", "datetime_start", "datetime_complete")
#: The tables a trial's rows live in: (its part of the trial, model, columns after trial_id,
#: the column its rows are ordered by).
_CHILDREN = (
    (
        "params",
        models.TrialParamModel,
        ("param_name", "param_value", "distribution_json"),
        "param_id",
    ),
    ("values", models.TrialValueModel, ("objective", "value", "value_type"), "objective"),
    ("user_attrs", models.TrialUserAttributeModel, ("key", "value_json"), "key"),
    ("system_attrs", models.TrialSystemAttributeModel, ("key", "value_json"), "key"),
    (
        "intermediate_values",
        models.TrialIntermediateValueModel,
        ("step", "intermediate_value", "intermediate_value_type"),
        "step",
    ),
)


@lru_cache(maxsize=4096)
def _distribution(text: str) -> BaseDistribution:
    """A stored distribution, parsed once per distinct text (a study stores the same few)."""
    return json_to_distribution(text)


class FastRDBStorage(RDBStorage):
    """Optuna's RDB storage whose trials are read as plain rows: the same ``FrozenTrial``s as
    Optuna builds, several times sooner."""

    #: This Optuna's schema version, once read (from its migration scripts: 40 ms a time).
    _head: ClassVar[str | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Whether the database's schema is the one this Optuna writes (else Optuna reads it).
        self.same_schema = self.get_current_version() == self.get_head_version()

    def get_head_version(self) -> str:
        """The schema version this Optuna writes, read once per process."""
        if FastRDBStorage._head is None:
            FastRDBStorage._head = super().get_head_version()
        return FastRDBStorage._head

    def _get_trials(
        self,
        study_id: int,
        states: Container[TrialState] | None,
        included_trial_ids: set[int],
        trial_id_greater_than: int,
    ) -> list[FrozenTrial]:
        if not self.same_schema:
            return super()._get_trials(study_id, states, included_trial_ids, trial_id_greater_than)
        trials = models.TrialModel.__table__
        chosen = sqlalchemy.select(trials.c.trial_id).where(trials.c.study_id == study_id)
        if states is not None:
            chosen = chosen.where(trials.c.state.in_(list(states)))
        if trial_id_greater_than > -1:
            # Where Optuna's query would send every id, the same rows come from a range:
            # included ids at or below the bound, or any id above it.
            included = [i for i in included_trial_ids if i <= trial_id_greater_than]
            chosen = chosen.where(
                sqlalchemy.or_(
                    trials.c.trial_id.in_(included), trials.c.trial_id > trial_id_greater_than
                )
            )
        ids = chosen.scalar_subquery()
        with transaction(self) as session:
            models.StudyModel.find_or_raise_by_id(study_id, session)
            heads = session.execute(
                sqlalchemy.select(*(trials.c[column] for column in HEAD))
                .where(trials.c.trial_id.in_(ids))
                .order_by(trials.c.trial_id)
            ).all()
            children = {
                part: session.execute(
                    sqlalchemy.select(*(model.__table__.c[c] for c in ("trial_id", *columns)))
                    .where(model.__table__.c.trial_id.in_(ids))
                    .order_by(model.__table__.c.trial_id, model.__table__.c[order])
                ).all()
                for part, model, columns, order in _CHILDREN
            }
        return _frozen_trials(heads, children)


def _frozen_trials(heads: list, children: dict[str, list]) -> list[FrozenTrial]:
    """FrozenTrials from the rows, as ``RDBStorage._build_frozen_trial_from_trial_model``."""
    parts: dict[int, dict[str, Any]] = {
        row.trial_id: {
            "values": {},
            "params": {},
            "distributions": {},
            "user_attrs": {},
            "system_attrs": {},
            "intermediate_values": {},
        }
        for row in heads
    }
    # Each query sees the latest commits (READ COMMITTED; SQLite outside a write): a trial
    # created after the first query is left for the next read, as Optuna's reader leaves it.
    mine = {key: [row for row in rows if row[0] in parts] for key, rows in children.items()}
    for trial_id, name, value, text in mine["params"]:
        distribution = _distribution(text)
        parts[trial_id]["params"][name] = distribution.to_external_repr(value)
        parts[trial_id]["distributions"][name] = distribution
    for trial_id, objective, value, kind in mine["values"]:
        parts[trial_id]["values"][objective] = models.TrialValueModel.stored_repr_to_value(
            value, kind
        )
    for key in ("user_attrs", "system_attrs"):
        for trial_id, name, text in mine[key]:
            parts[trial_id][key][name] = json.loads(text)
    for trial_id, step, value, kind in mine["intermediate_values"]:
        parts[trial_id]["intermediate_values"][step] = (
            models.TrialIntermediateValueModel.stored_repr_to_intermediate_value(value, kind)
        )
    trials = []
    for row in heads:
        part = parts[row.trial_id]
        values = part.pop("values")
        trials.append(
            FrozenTrial(
                number=row.number,
                state=row.state,
                value=None,
                values=[values[i] for i in range(len(values))] if values else None,
                datetime_start=row.datetime_start,
                datetime_complete=row.datetime_complete,
                trial_id=row.trial_id,
                **part,
            )
        )
    return trials

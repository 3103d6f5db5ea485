"""The sampler's in-memory copy of a stored study, so that asking costs no database round trips.

The storage stays the single source of truth: every trial is created there (owned by its worker,
with its parameters, in one transaction) and finished there with all its runs. The mirror holds
copies of the stored trials that finished, its own running trials, and nothing else; it is
rebuilt from the storage whenever a sweep starts, and synced with other workers' finished trials
before each batch. The sampler and the pruner work on the mirror: Optuna's ask-and-tell against
SQLite costs 10 to 20 ms per trial, against memory well under 1 ms; the storage is written a
batch at a time (``bench.sweep.bulk``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from bench.sweep.bulk import Finished, create_trials, finish_trials, sql_backend
from bench.sweep.reads import trial_ids
from bench.sweep.study import CONFIRM, is_confirm, worker_id

__all__ = ["Asked", "SamplingMirror", "Told"]

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass
class Asked:
    """A trial asked through the mirror: its row in the storage and its twin in memory."""

    trial_id: int
    params: dict[str, Any]
    #: None for a trial the sampler never sees (a confirmation run).
    twin: optuna.Trial | None


class Told(NamedTuple):
    """A trial run to its end: its objective, whether it was pruned, and its attributes."""

    trial: Asked
    value: float
    pruned: bool
    user_attrs: Mapping[str, Any]


class SamplingMirror:
    """Ask, prune and tell through memory; create and finish trials in the stored ``study``."""

    def __init__(
        self,
        study: optuna.Study,
        sampler: optuna.samplers.BaseSampler,
        pruner: optuna.pruners.BasePruner | None = None,
    ) -> None:
        self.study = study
        #: The SQL storage behind the study, written a batch at a time (None: trial by trial).
        self.sql = sql_backend(study._storage)
        self.memory = optuna.create_study(
            direction="minimize", sampler=sampler, pruner=pruner or optuna.pruners.NopPruner()
        )
        #: Configurations of dead workers' trials to run again: (failed trial number, params).
        self.retries: list[tuple[int, dict[str, Any]]] = []
        #: Seconds spent in the sampler and pruner (in memory), apart from the storage's.
        self.sampling_seconds = 0.0
        #: Seconds spent reading and writing the storage (``storing``), runs encoded included.
        self.storage_seconds = 0.0
        #: Trials finished through this mirror.
        self.told = 0
        self._mirrored: set[int] = set()  # stored trial ids
        self.sync()

    def sync(self) -> None:
        """Copy into memory the stored trials that finished since the last sync (any worker's)."""
        with self.storing():
            new = self._unmirrored()
        self._mirrored.update(trial._trial_id for trial in new)
        with self._sampling():
            self.memory.add_trials([_for_sampler(trial) for trial in new])

    def _unmirrored(self) -> list[FrozenTrial]:
        """The stored trials that finished and are not in memory yet, confirmations left out."""
        if self.sql is None:
            return [
                trial
                for trial in self.study.get_trials(deepcopy=False, states=FINISHED)
                if trial._trial_id not in self._mirrored and not is_confirm(trial)
            ]
        # Only the trials not yet mirrored are loaded (other workers'), never the rest.
        ids = trial_ids(self.study, self.sql, FINISHED, ("phase", CONFIRM))
        storage = self.study._storage
        return [storage.get_trial(i) for i in ids if i not in self._mirrored]

    def ask(self, distributions: Mapping[str, BaseDistribution], count: int) -> list[Asked]:
        """Sample ``count`` trials (retries first) and create them in the storage, owned."""
        worker = worker_id()
        twins, templates = [], []
        for _ in range(count):
            user_attrs: dict[str, Any] = {"worker": worker}
            if self.retries:
                retry_of, params = self.retries.pop(0)
                user_attrs["retry_of"] = retry_of
                with self._sampling():
                    self.memory.enqueue_trial(params, skip_if_exists=False)
            with self._sampling():
                twin = self.memory.ask(dict(distributions))
            # The twin's parameters were drawn from ``distributions`` (Optuna's accessors copy
            # them deeply, 0.1 ms a trial).
            params = twin.params
            twins.append((twin, params))
            templates.append(
                _running(
                    params,
                    {name: distributions[name] for name in params},
                    user_attrs,
                    self.memory._storage.get_trial_system_attrs(twin._trial_id),
                )
            )
        with self.storing():
            trial_ids = create_trials(self.study, templates, self.sql)
        return [
            Asked(trial_id, params, twin)
            for trial_id, (twin, params) in zip(trial_ids, twins, strict=True)
        ]

    def create_unsampled(self, user_attrs: Mapping[str, Any]) -> Asked:
        """Create, owned, a trial without parameters that the sampler never sees."""
        template = _running({}, {}, {"worker": worker_id(), **user_attrs}, {})
        with self.storing():
            (trial_id,) = create_trials(self.study, [template], self.sql)
        return Asked(trial_id, {}, None)

    def tell(self, told: Sequence[Told]) -> None:
        """Finish the trials in the storage (one transaction on SQL), then in memory.

        Everything a report needs is written with its trial's state, so that a stored trial is
        either finished with all its runs, or unfinished and retried.
        """
        finished = [
            Finished(
                trial.trial_id,
                TrialState.PRUNED if pruned else TrialState.COMPLETE,
                None if pruned else value,
                dict(user_attrs),
            )
            for trial, value, pruned, user_attrs in told
        ]
        with self.storing():
            finish_trials(self.study, finished, self.sql)
        with self._sampling():
            for trial, value, pruned, _ in told:
                if trial.twin is None:
                    continue
                if pruned:
                    self.memory.tell(trial.twin, state=TrialState.PRUNED)
                else:
                    self.memory.tell(trial.twin, value)
        self._mirrored.update(trial.trial_id for trial, *_ in told)
        self.told += len(told)

    def abandon(self, trial: Asked) -> None:
        """Fail a trial asked beyond the study's total (another worker asked the same slot)."""
        storage = self.study._storage
        with self.storing():
            storage.set_trial_user_attr(trial.trial_id, "surplus", True)
            storage.set_trial_state_values(trial.trial_id, state=TrialState.FAIL)
        self.memory.tell(trial.twin, state=TrialState.FAIL)
        self._mirrored.add(trial.trial_id)

    def _sampling(self) -> AbstractContextManager[None]:
        return self._clocked("sampling_seconds")

    def storing(self) -> AbstractContextManager[None]:
        """Count the time of the block as the storage's (``storage_seconds``)."""
        return self._clocked("storage_seconds")

    @contextmanager
    def _clocked(self, seconds: str) -> Iterator[None]:
        """Add the block's wall time to the attribute ``seconds``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, seconds, getattr(self, seconds) + time.perf_counter() - started)

    def add_retries(self, retries: list[tuple[int, dict[str, Any]]]) -> None:
        """Queue configurations to run again, each failed trial once."""
        queued = {number for number, _ in self.retries}
        self.retries += [(n, params) for n, params in retries if n not in queued]


def _running(
    params: dict[str, Any],
    distributions: dict[str, BaseDistribution],
    user_attrs: dict[str, Any],
    system_attrs: dict[str, Any],
) -> FrozenTrial:
    """A running trial's template, for the storage to number."""
    return FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.now(),
        datetime_complete=None,
        params=params,
        distributions=distributions,
        user_attrs=user_attrs,
        system_attrs=system_attrs,
        intermediate_values={},
        trial_id=-1,
    )


def _for_sampler(trial: FrozenTrial) -> FrozenTrial:
    """What the sampler and pruner read of a stored trial (its runs and curves left out)."""
    return optuna.trial.create_trial(
        state=trial.state,
        values=trial.values if trial.state == TrialState.COMPLETE else None,
        params=trial.params,
        distributions=trial.distributions,
        system_attrs=trial.system_attrs,
        intermediate_values=trial.intermediate_values,
    )

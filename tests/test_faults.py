"""Fault loop: a sweep killed (SIGKILL) at random moments, during its trials, its export and its
report, and rerun each time; and one Ctrl-C. Per storage: SQLite, journal and PostgreSQL."""

from __future__ import annotations

import fcntl
import random
import signal
import time
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from processes import bench_process

from bench.sweep.study import runs_frame

NAME = "faults"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
ARGS = (
    "+sweep=adam",
    # The search's trials only: confirmation runs are tested in test_sweep.py.
    "sweep.confirm_seeds=0",
    "task=quadratic",
    f"study_name={NAME}",
    "steps=300",
    "seeds=2",
    "sweep.batch_size=2",
    "sweep.sampler=random",
    "progress=false",
)
STORAGES = ["sqlite", "journal", "postgres"]


def _storage(kind: str, cwd: Path, request: pytest.FixtureRequest) -> tuple[dict, object]:
    """(environment for the worker, what optuna.load_study opens) for a storage kind."""
    if kind == "postgres":
        url = request.getfixturevalue("postgres")
        # One database per test: drop what an earlier test of this server left.
        if NAME in optuna.get_all_study_names(storage=url):
            optuna.delete_study(study_name=NAME, storage=url)
        return {"BENCH_STORAGE_URL": url}, url
    if kind == "journal":
        return {}, cwd / "results" / "journal.log"
    return {}, f"sqlite:///{cwd / 'results' / 'bench.db'}"


def _load(target: object) -> optuna.Study:
    if isinstance(target, Path):
        backend = optuna.storages.journal.JournalFileBackend(str(target))
        return optuna.load_study(study_name=NAME, storage=optuna.storages.JournalStorage(backend))
    if str(target).startswith("sqlite:///"):
        # Take turns with a worker creating the database's tables, as workers do (storage.py).
        with open(str(target).removeprefix("sqlite:///") + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            storage = optuna.storages.RDBStorage(str(target))
        return optuna.load_study(study_name=NAME, storage=storage)
    return optuna.load_study(study_name=NAME, storage=target)


def _finished(study: optuna.Study) -> dict[int, tuple]:
    return {
        t.number: (
            t.state,
            t.value,
            tuple(sorted(t.params.items())),
            str(sorted(t.user_attrs.items())),
        )
        for t in study.get_trials(deepcopy=False, states=FINISHED)
    }


def _check(study: optuna.Study, n_trials: int, before: dict[int, tuple], cwd: Path) -> None:
    """Exactly n_trials finished, none changed, no configuration twice, exports match."""
    after = _finished(study)
    assert len(after) == n_trials
    assert {n: after[n] for n in before} == before, "a finished trial changed"
    configurations = Counter(params for _, _, params, _ in after.values())
    assert max(configurations.values()) == 1, "a configuration finished twice"
    exported = pd.read_parquet(cwd / "results" / NAME / "runs.parquet")
    stored = runs_frame(study)
    keys = ["trial", "seed"]
    pd.testing.assert_frame_equal(
        exported.sort_values(keys, ignore_index=True)[stored.columns],
        stored.sort_values(keys, ignore_index=True),
        check_dtype=False,
    )


def _kill_at(worker, moment: str, delay: float, cwd: Path) -> str:
    """SIGKILL ``worker`` at ``moment``: after ``delay`` seconds, or once its export (a partial
    file in the study's directory) or its report (a partial file under reports/) has begun."""
    study_dir, reports = cwd / "results" / NAME, cwd / "reports"
    start = time.monotonic()
    while worker.poll() is None:
        if moment == "time" and time.monotonic() - start >= delay:
            break
        if moment == "export" and study_dir.is_dir() and any(study_dir.glob(".*.*")):
            break
        if moment == "report" and reports.is_dir() and any(reports.rglob("*")):
            break
        time.sleep(0.002)
    if worker.poll() is not None:
        return "ended"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    return moment


def _fault_loop(kind: str, kills: int, tmp_path: Path, request: pytest.FixtureRequest) -> Counter:
    env, target = _storage(kind, tmp_path, request)
    rng = random.Random(f"{kind}-{kills}")
    # A few kills once the export or the report has begun, the rest at random times.
    moments = (["export", "report"] * (1 + kills // 6))[:kills]
    moments += ["time"] * (kills - len(moments))
    rng.shuffle(moments)
    seen: Counter = Counter()
    duration = 8.0
    for i, moment in enumerate(moments):
        n_trials = 2 * (i + 1)  # the study grows, so that every kill can land among trials
        args = (*ARGS, f"storage={kind}", f"sweep.n_trials={n_trials}")
        worker = bench_process(*args, cwd=tmp_path, env=env)
        moment = _kill_at(worker, moment, rng.uniform(0.5, duration), tmp_path)
        seen[moment] += 1
        worker.communicate()
        killed = _maybe(target)
        before = _finished(killed) if killed is not None else {}
        started = time.monotonic()
        rerun = bench_process(*args, cwd=tmp_path, env=env)
        _, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err
        # How long a run of this study takes now: the next kill lands within one.
        duration = time.monotonic() - started
        _check(_load(target), n_trials, before, tmp_path)
        print(f"{kind} cycle {i + 1}: killed at {moment}, rerun ok ({n_trials} trials)", flush=True)
    return seen


def _maybe(target: object) -> optuna.Study | None:
    """The study, or None before a worker has created it."""
    if isinstance(target, Path) and not target.exists():
        return None
    if str(target).startswith("sqlite:///") and not Path(str(target)[10:]).parent.is_dir():
        return None
    try:
        return _load(target)
    except KeyError:
        return None


def test_a_sweep_killed_during_its_export_and_report_reruns_to_exactly_n_trials(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seen = _fault_loop("sqlite", 2, tmp_path, request)
    assert sum(seen.values()) == 2


@pytest.mark.slow
@pytest.mark.parametrize("kind", STORAGES)
def test_a_sweep_killed_at_20_random_moments_reruns_to_exactly_n_trials(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seen = _fault_loop(kind, 20, tmp_path, request)
    print(f"{kind}: 20 kills, each rerun checked; kills by moment {dict(seen)}")
    assert seen["export"] + seen["report"] + seen["time"] >= 15, seen


@pytest.mark.parametrize(
    "kind", ["sqlite", *(pytest.param(k, marks=pytest.mark.slow) for k in STORAGES[1:])]
)
def test_ctrl_c_fails_the_running_trials_at_once_and_the_rerun_finishes_them(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env, target = _storage(kind, tmp_path, request)
    # Long enough trials (a batch takes seconds) that the interrupt lands in the middle of some,
    # even on a loaded machine.
    args = (*[a for a in ARGS if not a.startswith("steps=")], "steps=12000")
    args = (*args, f"storage={kind}", "sweep.n_trials=4", "auto_report=false")
    worker = bench_process(*args, cwd=tmp_path, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        study = _maybe(target)
        running = study.get_trials(states=(TrialState.RUNNING,)) if study is not None else []
        if any(len(t.params) == 4 for t in running):
            break
        time.sleep(0.05)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    trials = _load(target).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed, "the interrupted trials are marked failed"
    rerun = bench_process(*args, cwd=tmp_path, env=env)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    study = _load(target)
    done = {tuple(sorted(t.params.items())) for t in study.get_trials(states=FINISHED)}
    assert len(done) == 4
    assert all(tuple(sorted(t.params.items())) in done for t in failed if len(t.params) == 4)

"""Storages beyond one process: journal files and a real PostgreSQL server, with workers killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import optuna
import pytest
from optuna.trial import TrialState
from processes import bench_process

from bench.config import ConfigError
from bench.sweep.storage import check_storage, open_storage

REPO = Path(__file__).resolve().parent.parent


def _kill_one_worker_mid_population(tmp_path: Path, storage: list[str], env: dict) -> None:
    """4 workers on one study; one is SIGKILLed once it holds running trials."""
    args = (
        "+sweep=adam",
        *storage,
        "study_name=shared",
        "task=rosenbrock",
        "steps=3000",
        "seeds=2",
        "sweep.n_trials=24",
        "sweep.confirm_seeds=0",
        "sweep.batch_size=3",
        "sweep.sampler=random",
        "progress=false",
        "auto_report=false",
    )
    workers = [bench_process(*args, cwd=tmp_path, env=env) for _ in range(4)]
    victim = workers[0]
    deadline = time.monotonic() + 120
    study = None
    while time.monotonic() < deadline:
        # One storage, opened once the study exists, read every 0.1 s: opening one per look
        # (a journal replayed, an engine and schema check) took a core from the workers.
        study = study or _open(storage, env, tmp_path)
        trials = study.get_trials(deepcopy=False) if study else []
        mine = [
            t
            for t in trials
            if t.state == TrialState.RUNNING
            and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")
            and len(t.params) == 4
        ]
        if mine and sum(t.state == TrialState.COMPLETE for t in trials) >= 3:
            break
        time.sleep(0.1)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for worker in workers[1:]:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err


def _open(storage: list[str], env: dict, cwd: Path) -> optuna.Study | None:
    """The shared study, or None while no worker has created it."""
    if "storage=journal" in storage:
        from optuna.storages.journal import JournalFileBackend

        path = cwd / "results" / "journal.log"
        if not path.exists():
            return None
        backend = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    else:
        backend = env["BENCH_STORAGE_URL"]
    try:
        return optuna.load_study(study_name="shared", storage=backend)
    except KeyError:
        return None


def _study(storage: list[str], env: dict, cwd: Path) -> list[optuna.trial.FrozenTrial]:
    study = _open(storage, env, cwd)
    return study.get_trials() if study else []


def _assert_exact(trials: list[optuna.trial.FrozenTrial], n_trials: int) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n_trials
    configurations = Counter(tuple(sorted(t.params.items())) for t in complete)
    assert max(configurations.values()) == 1, "a configuration completed twice"
    orphans = [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("surplus")]
    assert orphans, "the killed worker left running trials"
    retried = Counter(t.user_attrs["retry_of"] for t in complete if "retry_of" in t.user_attrs)
    assert all(n == 1 for n in retried.values())
    # Each orphan that had its configuration ran it exactly once more: retried, or (killed
    # before it dropped a repeat) already run by another trial.
    done = {tuple(sorted(t.params.items())) for t in complete}
    for orphan in (t for t in orphans if len(t.params) == 4):
        assert tuple(sorted(orphan.params.items())) in done, orphan.number


def test_journal_four_workers_one_killed_complete_exactly_n_trials(tmp_path: Path) -> None:
    _kill_one_worker_mid_population(tmp_path, ["storage=journal"], {})
    _assert_exact(_study(["storage=journal"], {}, tmp_path), 24)


def test_postgres_four_workers_one_killed_complete_exactly_n_trials(
    tmp_path: Path, postgres: str
) -> None:
    env = {"BENCH_STORAGE_URL": postgres}
    _kill_one_worker_mid_population(tmp_path, ["storage=postgres"], env)
    _assert_exact(_study(["storage=postgres"], env, tmp_path), 24)


def test_the_password_is_in_no_output_result_or_report(tmp_path: Path, postgres: str) -> None:
    password = urlsplit(postgres).password
    env = {"BENCH_STORAGE_URL": postgres}
    args = ("+sweep=sgd", "storage=postgres", "study_name=secret", "sweep.n_trials=3", "steps=20")
    done = bench_process(*args, cwd=tmp_path, env=env)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert password not in out + err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in written) and any(
        p.suffix == ".json" for p in written
    )
    for path in written:
        assert password.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://bench:wrong@127.0.0.1:{port}/postgres", "password authentication"),
        ("postgresql://bench:wrong@127.0.0.1:1/postgres", "cannot be opened"),
    ],
)
def test_a_wrong_password_or_unreachable_server_is_one_line(
    tmp_path: Path, postgres: str, url: str, expected: str
) -> None:
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    env = {"BENCH_STORAGE_URL": url.format(port=port)}
    done = bench_process(
        "+sweep=adam", "storage=postgres", "sweep.n_trials=2", cwd=tmp_path, env=env
    )
    _, err = done.communicate(timeout=120)
    assert done.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "wrong" not in lines[0], err
    assert "***" in lines[0]


def test_postgres_without_its_url_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BENCH_STORAGE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "+sweep=adam", "storage=postgres"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "bench: storage=postgres needs its URL in $BENCH_STORAGE_URL; allowed: "
        "export BENCH_STORAGE_URL=postgresql://user:password@host/db"
    )


def test_a_postgres_restart_mid_sweep_loses_nothing(tmp_path: Path, postgres_server) -> None:
    env = {"BENCH_STORAGE_URL": postgres_server.url}
    args = (
        "+sweep=adam",
        "storage=postgres",
        "study_name=restarted",
        "task=rosenbrock",
        "steps=2000",
        "sweep.n_trials=16",
        "sweep.confirm_seeds=0",
        "sweep.batch_size=2",
        "progress=false",
        "auto_report=false",
    )
    # One storage for the looks below (its tables made before the worker starts): opening one
    # per look took a core from the worker.
    storage = optuna.storages.RDBStorage(postgres_server.url)
    worker = bench_process(*args, cwd=tmp_path, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        trials = (
            optuna.load_study(study_name="restarted", storage=storage).trials
            if "restarted" in [s.study_name for s in storage.get_all_studies()]
            else []
        )
        if sum(t.state == TrialState.COMPLETE for t in trials) >= 2:
            break
        time.sleep(0.1)
    before = {
        t.number: t.params
        for t in optuna.load_study(study_name="restarted", storage=storage).trials
        if t.state == TrialState.COMPLETE
    }
    storage.engine.dispose()
    postgres_server.restart()
    _, err = worker.communicate(timeout=300)
    # The worker either rode over the restart or stopped with one clear line.
    assert worker.returncode == 0 or len(err.strip().splitlines()) == 1, err
    rerun = bench_process(*args, cwd=tmp_path, env=env)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    study = optuna.load_study(study_name="restarted", storage=postgres_server.url)
    complete = {t.number: t.params for t in study.trials if t.state == TrialState.COMPLETE}
    assert len(complete) == 16
    assert {n: complete[n] for n in before} == before


def test_a_full_results_directory_is_one_line(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): no full disk to test with")
    try:
        done = bench_process("+sweep=adam", f"results_dir={tiny / 'results'}", cwd=tmp_path)
        _, err = done.communicate(timeout=120)
    finally:
        subprocess.run(["umount", str(tiny)], capture_output=True)
    assert done.returncode in (2, 3)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "full" in lines[0], err


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["grid", "qmc"])
def test_workers_sharing_a_study_repeat_no_configuration(tmp_path: Path, sampler: str) -> None:
    args = (
        "+sweep=sgd",
        "storage=journal",
        "study_name=shared",
        f"sweep.sampler={sampler}",
        "sweep.grid_points=4",
        "sweep.n_trials=16",
        "sweep.confirm_seeds=0",
        "sweep.batch_size=1",
        "steps=8000",  # slow enough that every worker is up before the study is done
        "progress=false",
        "auto_report=false",
    )
    workers = [bench_process(*args, cwd=tmp_path) for _ in range(3)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    trials = _study(["storage=journal"], {}, tmp_path)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 16
    configurations = Counter(tuple(sorted(t.params.items())) for t in complete)
    assert max(configurations.values()) == 1
    assert len({t.user_attrs["worker"] for t in complete}) > 1, "the workers shared the work"


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg", "postgresql+psycopg2"])
def test_every_postgresql_url_form_opens_with_its_driver(
    postgres: str, tmp_path: Path, scheme: str, compose_config
) -> None:
    url = postgres.replace("postgresql://", f"{scheme}://", 1)
    cfg = compose_config("storage=postgres")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_STORAGE_URL", url)
        storage = open_storage(cfg.storage, tmp_path)
    study = optuna.create_study(study_name=f"form-{scheme}", storage=storage)
    assert optuna.load_study(study_name=study.study_name, storage=postgres).study_name


@pytest.mark.parametrize(
    ("scheme", "module", "package"),
    [
        ("postgresql", "psycopg", "'psycopg[binary]'"),
        ("postgresql+psycopg", "psycopg", "'psycopg[binary]'"),
        ("postgresql+psycopg2", "psycopg2", "psycopg2-binary"),
    ],
)
def test_a_missing_driver_is_one_line_naming_it(
    tmp_path: Path, compose_config, monkeypatch: pytest.MonkeyPatch, scheme, module, package
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import psycopg raises ImportError
    monkeypatch.setenv("BENCH_STORAGE_URL", f"{scheme}://bench:pw@127.0.0.1:1/db")
    with pytest.raises(ConfigError) as refused:
        check_storage(compose_config("storage=postgres").storage, tmp_path)
    line = str(refused.value)
    assert f"needs the database driver {module!r}" in line and f"pip install {package}" in line
    assert "\n" not in line and ":pw@" not in line and "***" in line
    assert not list(tmp_path.iterdir())

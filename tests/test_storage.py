"""Storages beyond one process: journal files and a real PostgreSQL server, with workers killed."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-pw"


def _bench(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=environment,
    )


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on loopback in a temporary directory, run by an unprivileged user."""
    initdb, pg_ctl = _postgres_binary("initdb"), _postgres_binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (Debian's postgresql); .ci/run installs them")
    # Not under pytest's root-only temporary directory: the server's user must reach it.
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data, password_file = root / "data", root / "password"
    password_file.write_text(PASSWORD + "\n")
    user = [] if os.getuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if os.getuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(password_file, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*user, *cmd], capture_output=True, text=True)  # noqa: E731
    done = run(
        initdb, "-D", data, "-U", "bench", "-A", "scram-sha-256", f"--pwfile={password_file}"
    )
    if done.returncode != 0:
        pytest.skip(f"initdb failed: {done.stderr.strip().splitlines()[-1]}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    start = (pg_ctl, "-D", data, "-o", options, "-l", root / "log", "-w", "start")
    done = run(*start)
    if done.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {done.stderr.strip()}")
    url = f"postgresql+psycopg2://bench:{PASSWORD}@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        run(pg_ctl, "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
        "sweep.batch_size=3",
        "sweep.sampler=random",
        "progress=false",
        "auto_report=false",
    )
    workers = [_bench(*args, cwd=tmp_path, env=env) for _ in range(4)]
    victim = workers[0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        trials = _study(storage, env, tmp_path)
        mine = [
            t
            for t in trials
            if t.state == TrialState.RUNNING
            and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")
            and len(t.params) == 4
        ]
        if mine and sum(t.state == TrialState.COMPLETE for t in trials) >= 3:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for worker in workers[1:]:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err


def _study(storage: list[str], env: dict, cwd: Path) -> list[optuna.trial.FrozenTrial]:
    if "storage=journal" in storage:
        from optuna.storages.journal import JournalFileBackend

        path = cwd / "results" / "journal.log"
        if not path.exists():
            return []
        backend = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    else:
        backend = env["BENCH_STORAGE_URL"]
    try:
        return optuna.load_study(study_name="shared", storage=backend).get_trials()
    except KeyError:
        return []


def _assert_exact(trials: list[optuna.trial.FrozenTrial], n_trials: int) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == n_trials
    configurations = Counter(tuple(sorted(t.params.items())) for t in complete)
    assert max(configurations.values()) == 1, "a configuration completed twice"
    orphans = [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("surplus")]
    assert orphans, "the killed worker left running trials"
    retried = Counter(t.user_attrs["retry_of"] for t in complete if "retry_of" in t.user_attrs)
    whole = {t.number for t in orphans if len(t.params) == 4}
    assert set(retried) == whole and all(n == 1 for n in retried.values())


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
    env = {"BENCH_STORAGE_URL": postgres}
    args = ("+sweep=sgd", "storage=postgres", "study_name=secret", "sweep.n_trials=3", "steps=20")
    done = _bench(*args, cwd=tmp_path, env=env)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert PASSWORD not in out + err
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in written) and any(
        p.suffix == ".json" for p in written
    )
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://bench:wrong@127.0.0.1:{port}/postgres", "password authentication"),
        ("postgresql+psycopg2://bench:wrong@127.0.0.1:1/postgres", "cannot be opened"),
    ],
)
def test_a_wrong_password_or_unreachable_server_is_one_line(
    tmp_path: Path, postgres: str, url: str, expected: str
) -> None:
    port = postgres.rsplit(":", 1)[1].split("/")[0]
    env = {"BENCH_STORAGE_URL": url.format(port=port)}
    done = _bench("+sweep=adam", "storage=postgres", "sweep.n_trials=2", cwd=tmp_path, env=env)
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
        "export BENCH_STORAGE_URL=postgresql+psycopg2://user:password@host/db"
    )

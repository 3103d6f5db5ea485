"""Shared fixtures: composed configurations writing to temporary directories, and a PostgreSQL
server of the tests' own."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from bench.cli import CONF_DIR
from bench.config import register


@pytest.fixture(scope="session")
def compose_config() -> Callable[..., DictConfig]:
    """Compose ``conf/config.yaml`` with overrides, as the command line would."""

    def _compose(*overrides: str) -> DictConfig:
        register()  # again: a report's check registers open task and optimizer schemas
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=list(overrides))

    return _compose


@pytest.fixture
def small_config(
    compose_config: Callable[..., DictConfig], tmp_path: Path
) -> Callable[..., DictConfig]:
    """A shrunken configuration (few steps, no progress bar) writing under ``tmp_path``."""

    def _compose(*overrides: str) -> DictConfig:
        return compose_config(
            "steps=20",
            "seeds=2",
            "progress=false",
            f"results_dir={tmp_path / 'results'}",
            f"reports_dir={tmp_path / 'reports'}",
            *overrides,
        )

    return _compose


@pytest.fixture(scope="session")
def torch_optim_run() -> Callable[..., tuple]:
    """One member trained alone by a ``torch.optim`` optimizer: (losses [T+1], final params).

    ``losses[t]`` is the loss step ``t`` computes (on its minibatch, where the task has data);
    ``losses[T]`` the monitored loss at the end (full batch).

    The independent reference for the engine: autograd on the task's one-member loss, the same
    start, minibatches and gradient noise for the member's seed, and ``torch.optim`` itself.
    """
    import torch

    def _run(task, make_optimizer, seed: int, steps: int) -> tuple:
        seeds = torch.tensor([seed], device=task.device)
        x = torch.nn.Parameter(task.init(seeds)[0].clone())
        optimizer = make_optimizer([x])
        order = task.data_order(seeds, steps)
        losses = []
        for t in range(steps):
            batch = [b[0] for b in task.batch(order, t)]
            optimizer.zero_grad()
            loss = task.member_loss(x, *batch)
            loss.backward()
            noise = task.grad_noise(seeds, t)
            if noise is not None:
                x.grad.add_(noise[0])
            losses.append(loss.detach().double())
            optimizer.step()
        with torch.no_grad():
            final = task.evaluate(x.detach()[None])[0].double()
        return torch.stack([*losses, final]), x.detach().clone()

    return _run


@pytest.fixture(scope="session")
def minibatch_records() -> Callable[..., object]:
    """The engine's records of a minibatch task from a reference run's losses [T+1].

    A record at 0 < t < T is the mean step loss since the previous record; at T the full-batch
    loss; at 0 the first step's loss.
    """
    import torch

    def _records(losses, record_steps: list[int]):  # noqa: ANN001, ANN202
        out, previous = [], -1
        for step in record_steps:
            out.append(
                losses[step] if step == record_steps[-1] else losses[previous + 1 : step + 1].mean()
            )
            previous = step
        return torch.stack(out)

    return _records


PASSWORD = "s3cret-pw"


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[SimpleNamespace]:
    """A PostgreSQL server on loopback in a temporary directory, run by an unprivileged user:
    ``.url`` (with its password) and ``.restart()``."""
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
    url = f"postgresql://bench:{PASSWORD}@127.0.0.1:{port}/postgres"

    def restart() -> None:
        done = run(
            pg_ctl, "-D", data, "-o", options, "-l", root / "log", "-m", "fast", "-w", "restart"
        )
        assert done.returncode == 0, done.stderr

    try:
        yield SimpleNamespace(url=url, restart=restart)
    finally:
        run(pg_ctl, "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres(postgres_server: SimpleNamespace) -> str:
    """The URL of the tests' PostgreSQL server, password included."""
    return postgres_server.url

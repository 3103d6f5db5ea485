"""Shared fixtures: a composed configuration whose outputs go to a temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from bench.cli import CONF_DIR
from bench.config import register


@pytest.fixture(scope="session")
def compose_config() -> Callable[..., DictConfig]:
    """Compose ``conf/config.yaml`` with overrides, as the command line would."""
    register()

    def _compose(*overrides: str) -> DictConfig:
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
            if task.exact_step_loss:
                losses.append(loss.detach().double())
            optimizer.step()
        with torch.no_grad():
            final = task.evaluate(x.detach()[None])[0].double()
        return torch.stack([*losses, final]), x.detach().clone()

    return _run

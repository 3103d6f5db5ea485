"""The population engine against one torch.optim run per member, on the same work."""

from __future__ import annotations

import pytest
import torch

from bench.engine import EngineConfig, run
from bench.optim import Adam
from bench.tasks import make_task

from .conftest import DEVICE, member_steps, plain_optimizer_options, synchronize

STEPS = 1000
MEMBERS = 16384
SEQUENTIAL = 16  # members the torch.optim loop runs per round; compared per member-step


def _rastrigin():  # noqa: ANN202
    return make_task("rastrigin", dim=2, dtype=torch.float32, device=DEVICE)


def _sequential(task, seeds: list[int], steps: int) -> torch.Tensor:  # noqa: ANN001
    """The plain way: one parameter and one torch.optim.Adam per member, run one after another."""
    finals = []
    for seed in seeds:
        x = torch.nn.Parameter(task.init(torch.tensor([seed]))[0].clone())
        optimizer = torch.optim.Adam([x], lr=0.01, **plain_optimizer_options(task.device))
        for _ in range(steps):
            optimizer.zero_grad()
            task.member_loss(x).backward()
            optimizer.step()
        finals.append(x.detach().clone())
    synchronize(task.device)
    return torch.stack(finals).cpu()


@pytest.mark.benchmark(group="rastrigin-2d: 1000 Adam steps")
def test_rastrigin_population(benchmark) -> None:
    task = _rastrigin()
    seeds = torch.arange(MEMBERS)
    config = EngineConfig(steps=STEPS)
    check = run(task, Adam(SEQUENTIAL, lr=0.01), seeds[:SEQUENTIAL], config)
    expected = _sequential(task, list(range(SEQUENTIAL)), STEPS)
    torch.testing.assert_close(check.final_params, expected, rtol=1e-4, atol=1e-5)
    member_steps(benchmark, MEMBERS * STEPS)
    benchmark.pedantic(run, (task, Adam(MEMBERS, lr=0.01), seeds, config), rounds=3)


@pytest.mark.benchmark(group="rastrigin-2d: 1000 Adam steps")
def test_rastrigin_torch_optim_loop(benchmark) -> None:
    task = _rastrigin()
    _sequential(task, [0], 10)  # the first torch.optim use imports torch._dynamo
    member_steps(benchmark, SEQUENTIAL * STEPS, baseline=True)
    benchmark.pedantic(_sequential, (task, list(range(SEQUENTIAL)), STEPS), rounds=3)

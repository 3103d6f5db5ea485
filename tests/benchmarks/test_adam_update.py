"""The per-member-hyperparameter Adam update against torch.optim.Adam on as many parameters."""

from __future__ import annotations

import pytest
import torch

from bench.optim import Adam

from .conftest import member_steps

MEMBERS, DIM = 32, 9610  # a block of 32 members of the 64-128-10 MLP
STEPS = 100


def _ours():  # noqa: ANN202
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(MEMBERS, DIM, generator=gen)
    grad = torch.randn(MEMBERS, DIM, generator=gen)
    rule = Adam(MEMBERS, lr=torch.logspace(-4, -1, MEMBERS, dtype=torch.float64), beta1=0.9)
    state = rule.init_state(x, STEPS)
    scratch = grad.clone()

    def steps() -> None:
        for t in range(STEPS):
            scratch.copy_(grad)  # the engine hands over a fresh gradient every step
            rule.step(x, scratch, state, t)  # no member stopped: the engine passes no mask

    return steps


def _torch_optim(**options):  # noqa: ANN003, ANN202
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(MEMBERS * DIM, generator=gen))
    p.grad = torch.randn(MEMBERS * DIM, generator=gen)
    optimizer = torch.optim.Adam([p], lr=1e-3, **options)
    fresh = p.grad.clone()

    def steps() -> None:
        for _ in range(STEPS):
            p.grad.copy_(fresh)
            optimizer.step()

    return steps


@pytest.mark.benchmark(group="Adam update: 32 x 9610 parameters, 100 steps")
def test_update_population_rule(benchmark) -> None:
    fn = _ours()
    member_steps(benchmark, MEMBERS * STEPS)
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("variant", ["fused", "foreach", "single-tensor"])
@pytest.mark.benchmark(group="Adam update: 32 x 9610 parameters, 100 steps")
def test_update_torch_optim(benchmark, variant: str) -> None:
    options = {"fused": {"fused": True}, "foreach": {"foreach": True}}.get(
        variant, {"foreach": False}
    )
    fn = _torch_optim(**options)
    member_steps(benchmark, MEMBERS * STEPS, baseline=variant == "fused")
    benchmark.pedantic(fn, rounds=5, warmup_rounds=1)

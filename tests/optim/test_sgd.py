"""SGD for a population equals torch.optim.SGD run alone, every variant, to the letter."""

from __future__ import annotations

import re

import pytest
import torch

from bench.engine import EngineConfig, run
from bench.optim import SGD
from bench.tasks import make_task

# torch.optim.SGD keywords; ours are the same names.
VARIANTS = [
    {"lr": 1e-3},
    {"lr": 1e-3, "momentum": 0.9},
    {"lr": 1e-3, "momentum": 0.9, "dampening": 0.5},
    {"lr": 1e-3, "momentum": 0.8, "nesterov": True},
    {"lr": 1e-3, "weight_decay": 0.1},
    {"lr": 5e-4, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
    {"lr": 1e-3, "momentum": 0.0, "dampening": 0.3},
]


def _population_rule(variants: list[dict]) -> SGD:
    defaults = SGD(1).hparams
    return SGD(
        len(variants),
        **{k: [v.get(k, defaults[k][0].item()) for v in variants] for k in defaults},
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [2, 1000])
def test_update_is_bit_identical_to_torch_optim(dtype: torch.dtype, dim: int) -> None:
    gen = torch.Generator().manual_seed(1)
    steps, size = 25, len(VARIANTS)
    x0 = torch.randn(size, dim, generator=gen, dtype=dtype)
    grads = torch.randn(steps, size, dim, generator=gen, dtype=dtype)
    rule = _population_rule(VARIANTS)
    x, state = x0.clone(), rule.init_state(x0, steps)
    for t in range(steps):
        rule.step(x, grads[t].clone(), state, t)
    for i, variant in enumerate(VARIANTS):
        p = torch.nn.Parameter(x0[i].clone())
        optimizer = torch.optim.SGD([p], foreach=False, **variant)
        for t in range(steps):
            p.grad = grads[t, i].clone()
            optimizer.step()
        assert torch.equal(x[i], p.detach()), f"variant {i}: {variant}"


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_population_trajectories_equal_torch_optim_on_rosenbrock(torch_optim_run, noise) -> None:
    task = make_task("rosenbrock", dim=4, noise=noise, dtype=torch.float64)
    steps = 150
    seeds = torch.arange(len(VARIANTS)) % 3
    config = EngineConfig(steps=steps, n_records=steps + 1, grad="vmap")
    result = run(task, _population_rule(VARIANTS), seeds, config)
    for i, variant in enumerate(VARIANTS):
        losses, params = torch_optim_run(
            task,
            lambda p, kw=variant: torch.optim.SGD(p, foreach=False, **kw),
            int(seeds[i]),
            steps,
        )
        torch.testing.assert_close(result.curves[i], losses, rtol=1e-9, atol=0)
        torch.testing.assert_close(result.final_params[i], params, rtol=1e-9, atol=1e-300)


def test_population_trajectories_equal_torch_optim_on_mlp_digits(
    torch_optim_run, minibatch_records
) -> None:
    # The task's fast path (a hand-written batched backward) against autograd of the one-member
    # loss and torch.optim alone. Records are the mean step losses since the previous record and
    # the full training loss at the end: both checked against the reference run's losses.
    task = make_task("mlp_digits", hidden=16, dtype=torch.float64)
    steps = 150
    # The file's rates, scaled up so that 150 steps move the network well off its start.
    variants = [{**v, "lr": 100 * v["lr"]} for v in VARIANTS]
    seeds = torch.arange(len(variants)) % 3
    config = EngineConfig(steps=steps, n_records=4, grad="task")
    result = run(task, _population_rule(variants), seeds, config)
    assert result.record_steps.tolist() == [0, 50, 100, 150]
    assert not result.diverged.any()
    assert (result.final_loss < 0.8 * result.curves[:, 0]).all()
    for i, variant in enumerate(variants):
        losses, params = torch_optim_run(
            task,
            lambda p, kw=variant: torch.optim.SGD(p, foreach=False, **kw),
            int(seeds[i]),
            steps,
        )
        expected = minibatch_records(losses, result.record_steps.tolist())
        torch.testing.assert_close(result.curves[i], expected, rtol=1e-9, atol=0)
        torch.testing.assert_close(result.final_params[i], params, rtol=1e-9, atol=1e-300)
        torch.testing.assert_close(result.final_loss[i], losses[-1], rtol=1e-9, atol=0)


@pytest.mark.parametrize(
    ("hparams", "message"),
    [
        ({"lr": -0.1}, "Invalid lr: -0.1; allowed: >= 0"),
        ({"momentum": -0.5}, "Invalid momentum: -0.5; allowed: >= 0"),
        ({"dampening": 1.5}, "Invalid dampening: 1.5; allowed: 0 <= dampening <= 1"),
        ({"weight_decay": -1.0}, "Invalid weight_decay: -1.0; allowed: >= 0"),
        ({"nesterov": True}, "Invalid nesterov: True with momentum=0.0 and dampening=0.0"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Invalid nesterov: True"),
    ],
)
def test_invalid_hyperparameters_are_refused_naming_the_value(hparams, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SGD(1, **hparams)

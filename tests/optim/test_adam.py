"""Adam for a population equals torch.optim.Adam run alone, every variant, to the letter."""

from __future__ import annotations

import re

import pytest
import torch

from bench.engine import EngineConfig, run
from bench.optim import Adam
from bench.tasks import make_task

# (torch.optim.Adam keywords, ours): plain, AMSGrad, L2 weight decay, AdamW, and extremes.
VARIANTS = [
    ({"lr": 1e-2}, {"lr": 1e-2}),
    (
        {"lr": 3e-2, "betas": (0.5, 0.9), "eps": 1e-3},
        {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
    ),
    ({"lr": 1e-2, "amsgrad": True}, {"lr": 1e-2, "amsgrad": True}),
    ({"lr": 1e-2, "weight_decay": 0.1}, {"lr": 1e-2, "weight_decay": 0.1}),
    (
        {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
        {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    (
        {"lr": 5e-3, "betas": (0.0, 0.5), "eps": 0.0, "amsgrad": True, "weight_decay": 0.01},
        {"lr": 5e-3, "beta1": 0.0, "beta2": 0.5, "eps": 0.0, "amsgrad": True, "weight_decay": 0.01},
    ),
]


def _population_rule(variants: list[dict]) -> Adam:
    keys = ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay")
    defaults = Adam(1).hparams
    return Adam(
        len(variants),
        **{k: [v.get(k, defaults[k][0].item()) for v in variants] for k in keys},
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [2, 1000])
def test_update_is_bit_identical_to_torch_optim(dtype: torch.dtype, dim: int) -> None:
    gen = torch.Generator().manual_seed(0)
    steps, size = 25, len(VARIANTS)
    x0 = torch.randn(size, dim, generator=gen, dtype=dtype)
    grads = torch.randn(steps, size, dim, generator=gen, dtype=dtype)
    rule = _population_rule([ours for _, ours in VARIANTS])
    x, state = x0.clone(), rule.init_state(x0, steps)
    for t in range(steps):
        rule.step(x, grads[t].clone(), state, t)
    for i, (theirs, _) in enumerate(VARIANTS):
        p = torch.nn.Parameter(x0[i].clone())
        optimizer = torch.optim.Adam([p], foreach=False, **theirs)
        for t in range(steps):
            p.grad = grads[t, i].clone()
            optimizer.step()
        assert torch.equal(x[i], p.detach()), f"variant {i}: {theirs}"


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_population_trajectories_equal_torch_optim_on_rosenbrock(torch_optim_run, noise) -> None:
    task = make_task("rosenbrock", dim=4, noise=noise, dtype=torch.float64)
    steps = 150
    rule = _population_rule([ours for _, ours in VARIANTS])
    seeds = torch.arange(len(VARIANTS)) % 3
    config = EngineConfig(steps=steps, n_records=steps + 1, grad="vmap")
    result = run(task, rule, seeds, config)
    for i, (theirs, _) in enumerate(VARIANTS):
        losses, params = torch_optim_run(
            task,
            lambda p, kw=theirs: torch.optim.Adam(p, foreach=False, **kw),
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
    rule = _population_rule([ours for _, ours in VARIANTS])
    seeds = torch.arange(len(VARIANTS)) % 3
    result = run(task, rule, seeds, EngineConfig(steps=steps, n_records=4, grad="task"))
    assert result.record_steps.tolist() == [0, 50, 100, 150]
    assert not result.diverged.any()
    for i, (theirs, _) in enumerate(VARIANTS):
        losses, params = torch_optim_run(
            task,
            lambda p, kw=theirs: torch.optim.Adam(p, foreach=False, **kw),
            int(seeds[i]),
            steps,
        )
        expected = minibatch_records(losses, result.record_steps.tolist())
        torch.testing.assert_close(result.curves[i], expected, rtol=1e-9, atol=0)
        torch.testing.assert_close(result.final_params[i], params, rtol=1e-9, atol=1e-300)
        torch.testing.assert_close(result.final_loss[i], losses[-1], rtol=1e-9, atol=0)


def test_mixed_flags_equal_each_member_run_alone() -> None:
    task = make_task("rastrigin", dim=3, dtype=torch.float64)
    variants = [ours for _, ours in VARIANTS]
    seeds = torch.zeros(len(variants), dtype=torch.int64)
    together = run(task, _population_rule(variants), seeds, EngineConfig(steps=100))
    for i, ours in enumerate(variants):
        alone = run(task, _population_rule([ours]), seeds[:1], EngineConfig(steps=100))
        assert torch.equal(together.final_params[i], alone.final_params[0])


@pytest.mark.parametrize(
    ("hparams", "message"),
    [
        ({"lr": -1.0}, "Invalid lr: -1.0; allowed: >= 0"),
        ({"beta1": 1.0}, "Invalid beta1: 1.0; allowed: 0 <= beta1 < 1"),
        ({"beta2": -0.1}, "Invalid beta2: -0.1; allowed: 0 <= beta2 < 1"),
        ({"eps": -1e-8}, "Invalid eps: -1e-08; allowed: >= 0"),
        ({"weight_decay": float("nan")}, "Invalid weight_decay: nan"),
        ({"lr": [0.1, -2.0]}, "Invalid lr: -2.0 (member 1)"),
        ({"momentum": 0.9}, "Unknown hyperparameter(s) ['momentum']"),
    ],
)
def test_invalid_hyperparameters_are_refused_naming_the_value(hparams, message) -> None:
    size = max(len(v) if isinstance(v, list) else 1 for v in hparams.values())
    with pytest.raises(ValueError, match=re.escape(message)):
        Adam(size, **hparams)

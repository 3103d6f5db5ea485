"""What every closed-form task promises: f* at its minimiser, its gradient, starts and noise."""

from __future__ import annotations

import pytest
import torch

from bench.tasks import TASKS, SyntheticTask, make_task

SYNTHETIC = sorted(name for name, cls in TASKS.items() if issubclass(cls, SyntheticTask))
DIMS = {"double_well": 1, "linreg": 3}


def _task(name: str, **options) -> SyntheticTask:
    options.setdefault("dim", DIMS.get(name, 3))
    return make_task(name, dtype=torch.float64, **options)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_minimiser_has_the_stated_value_and_zero_gradient(name: str) -> None:
    task = _task(name)
    point = task.minimizer()
    value, grad = task.loss_and_grad(point[None])
    assert value.item() == pytest.approx(task.f_star, abs=1e-12)
    assert grad.abs().max().item() < 1e-10
    autograd = torch.func.grad(task.member_loss)(point)
    assert autograd.abs().max().item() < 1e-10


@pytest.mark.parametrize("name", SYNTHETIC)
def test_analytic_gradient_equals_autograd(name: str) -> None:
    task = _task(name)
    x = task.init(torch.arange(16))
    value, grad = task.loss_and_grad(x)
    ref_value, ref_grad = task.vmap_loss_and_grad(x)
    torch.testing.assert_close(value, ref_value, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_starts_are_drawn_from_the_seed_over_the_domain(name: str) -> None:
    task = _task(name)
    low, high = task.domain
    starts = task.init(torch.tensor([0, 1, 2, 0]))
    assert ((starts >= low) & (starts <= high)).all()
    assert torch.equal(starts[0], starts[3])
    assert not torch.equal(starts[0], starts[1])
    assert torch.equal(task.init(torch.tensor([2]))[0], starts[2])


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_fixed_start_is_every_members_start(name: str) -> None:
    task = _task(name, x0=0.25)
    assert (task.init(torch.arange(5)) == 0.25).all()


def test_gradient_noise_comes_from_the_seed_with_the_stated_std() -> None:
    assert _task("quadratic").grad_noise(torch.arange(3), 0) is None
    task = _task("quadratic", noise=0.3, dim=50)
    noise = task.grad_noise(torch.tensor([4, 5, 4] * 100), 7)
    assert torch.equal(noise[0], noise[2])
    assert not torch.equal(noise[0], noise[1])
    assert not torch.equal(noise[0], task.grad_noise(torch.tensor([4]), 8)[0])
    assert noise.std().item() == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize(
    ("name", "options", "key"),
    [
        ("quadratic", {"dim": 0}, "task.dim"),
        ("quadratic", {"noise": -1.0}, "task.noise"),
        ("quadratic", {"tol": 0.0}, "task.tol"),
        ("quadratic", {"x0": [1.0, 2.0]}, "task.x0"),
        ("rosenbrock", {"dim": 1}, "task.dim"),
    ],
)
def test_invalid_options_are_refused_naming_the_key(name, options, key) -> None:
    with pytest.raises(ValueError, match=key):
        _task(name, **options)

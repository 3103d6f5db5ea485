"""Multimodal tasks: known minima, and basins that tell global from local."""

from __future__ import annotations

import pytest
import torch

from bench.tasks.multimodal import Ackley, DoubleWell, Rastrigin, StyblinskiTang

TASKS = [Rastrigin, Ackley, StyblinskiTang, DoubleWell]


def _task(cls):  # noqa: ANN001, ANN202
    return cls(dim=1 if cls is DoubleWell else 3, dtype=torch.float64)


@pytest.mark.parametrize("cls", TASKS)
def test_basin_is_global_at_the_minimiser_and_not_at_a_local_minimiser(cls) -> None:
    task = _task(cls)
    local = task.local_minimizer()
    assert task.in_global_basin(task.minimizer()[None]).item()
    assert not task.in_global_basin(local[None]).item()
    value, grad = task.loss_and_grad(local[None])
    assert grad.abs().max().item() < 1e-8
    assert value.item() > task.f_star + 1e-3


@pytest.mark.parametrize("cls", TASKS)
def test_no_sampled_point_is_below_the_stated_minimum(cls) -> None:
    task = _task(cls)
    x = task.init(torch.arange(4096))
    assert task.f(x).min().item() >= task.f_star - 1e-12


def test_known_minimum_values() -> None:
    assert StyblinskiTang(dim=2, dtype=torch.float64).f_star == pytest.approx(-78.33233, abs=1e-5)
    well = DoubleWell(dtype=torch.float64)
    assert well.minimizer().item() < -1.0 < 0.0 < well.ridge < 1.0 < 1.1 > well.roots[2] > 0.9


@pytest.mark.parametrize("cls", [Rastrigin, StyblinskiTang, DoubleWell])
def test_gradient_descent_ends_in_the_basin_it_starts_in(cls) -> None:
    task = _task(cls)
    x = task.init(torch.arange(256))
    start = task.in_global_basin(x)
    for _ in range(3000):
        x = x - 1e-3 * task.loss_and_grad(x)[1]
    assert torch.equal(task.in_global_basin(x), start)

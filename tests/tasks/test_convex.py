"""The quadratic and the seed article's linear regression, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.tasks.convex import LinearRegression, Quadratic


def test_quadratic_spectrum_spans_one_to_the_condition_number() -> None:
    task = Quadratic(dim=5, condition_number=1e4, dtype=torch.float64)
    assert task.eigenvalues[0].item() == pytest.approx(1.0)
    assert task.eigenvalues[-1].item() == pytest.approx(1e4)
    x = torch.ones(1, 5, dtype=torch.float64)
    assert task.f(x).item() == pytest.approx(0.5 * task.eigenvalues.sum().item())


def test_linreg_minimum_is_the_least_squares_solution() -> None:
    task = LinearRegression(dtype=torch.float64)
    design = task.design64.numpy()
    theta, *_ = np.linalg.lstsq(design, task.targets64.numpy(), rcond=None)
    np.testing.assert_allclose(task.minimizer().numpy(), theta, rtol=1e-10)
    mse = np.mean((design @ theta - task.targets64.numpy()) ** 2)
    assert task.f_star == pytest.approx(mse, rel=1e-12)
    # The article's data: y = 2 x1 - 3 x2 + 0.5 + noise, recovered up to the noise.
    np.testing.assert_allclose(theta, [2.0, -3.0, 0.5], atol=0.2)


def test_linreg_gradient_points_uphill_through_the_features() -> None:
    # The seed article's gradient ignores X and has the wrong sign; this one is -2/n Xᵀ(y - Xθ).
    task = LinearRegression(dtype=torch.float64)
    x = torch.zeros(1, 3, dtype=torch.float64)
    _, grad = task.loss_and_grad(x)
    expected = -2.0 / task.n_samples * task.design64.T @ (task.targets64 - task.design64 @ x[0])
    torch.testing.assert_close(grad[0], expected, rtol=1e-12, atol=1e-12)
    assert task.f(x - 1e-3 * grad).item() < task.f(x).item()


def test_linreg_refuses_another_dimension() -> None:
    with pytest.raises(ValueError, match="task.dim"):
        LinearRegression(dim=2)

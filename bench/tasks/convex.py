"""Convex tasks: an ill-conditioned quadratic and the seed article's linear regression."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.rng import Stream, normal, uniform
from bench.tasks.synthetic import SyntheticTask

__all__ = ["LinearRegression", "Quadratic"]


class Quadratic(SyntheticTask):
    """f(x) = ½ Σ λᵢ xᵢ², λ log-spaced from 1 to the condition number κ; f* = 0 at 0."""

    name = "quadratic"
    domain = (-1.0, 1.0)

    def __init__(self, *, condition_number: float = 100.0, **kwargs) -> None:
        if not condition_number >= 1:
            raise ValueError(
                f"Invalid task.condition_number: {condition_number}; allowed: a number >= 1"
            )
        self.condition_number = float(condition_number)
        super().__init__(**kwargs)

    def _build(self) -> None:
        exponents = torch.linspace(0.0, 1.0, self.dim, dtype=torch.float64, device=self.device)
        self.eigenvalues64 = self.condition_number ** (exponents if self.dim > 1 else 0 * exponents)
        self.eigenvalues = self.eigenvalues64.to(self.dtype)

    def f(self, x: Tensor) -> Tensor:
        return 0.5 * (self.eigenvalues64.to(x.dtype) * x * x).sum(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        scaled = self.eigenvalues * x
        return 0.5 * (scaled * x).sum(-1), scaled

    def minimizer(self) -> Tensor:
        return torch.zeros(self.dim, dtype=torch.float64, device=self.device)


class LinearRegression(SyntheticTask):
    """The seed article's example: MSE of y = X w + b on y = X θ + noise, 2 input features.

    Parameters are (w₁, w₂, b), as the article's ``Dense(1)`` on 2 inputs; the data are drawn
    once from ``data_seed``; f* is the least-squares optimum's MSE, solved in float64.
    """

    name = "linreg"
    domain = (-3.0, 3.0)

    def __init__(
        self,
        *,
        n_samples: int = 200,
        true_theta: tuple[float, float, float] = (2.0, -3.0, 0.5),
        data_noise: float = 0.5,
        data_seed: int = 0,
        **kwargs,
    ) -> None:
        if n_samples < 3:
            raise ValueError(f"Invalid task.n_samples: {n_samples}; allowed: an integer >= 3")
        if len(true_theta) != 3:
            raise ValueError("Invalid task.true_theta: allowed: 3 values (w1, w2, b)")
        self.n_samples = n_samples
        self.true_theta = tuple(float(v) for v in true_theta)
        self.data_noise = float(data_noise)
        self.data_seed = data_seed
        kwargs.setdefault("dim", 3)
        if kwargs["dim"] != 3:
            raise ValueError(f"Invalid task.dim: {kwargs['dim']}; allowed: 3 (w1, w2, b)")
        super().__init__(**kwargs)

    def _build(self) -> None:
        seed = torch.tensor([self.data_seed], device=self.device)
        features = 2.0 * uniform(seed, Stream.DATA, 0, 2 * self.n_samples) - 1.0
        design = torch.ones(self.n_samples, 3, dtype=torch.float64, device=self.device)
        design[:, :2] = features.reshape(self.n_samples, 2)
        theta = torch.tensor(self.true_theta, dtype=torch.float64, device=self.device)
        eps = self.data_noise * normal(seed, Stream.DATA, 1, self.n_samples).reshape(-1)
        self.design64, self.targets64 = design, design @ theta + eps
        self.design, self.targets = design.to(self.dtype), self.targets64.to(self.dtype)
        self.solution = torch.linalg.lstsq(design.cpu(), self.targets64.cpu()[:, None]).solution
        self.solution = self.solution.reshape(3).to(self.device)

    def f(self, x: Tensor) -> Tensor:
        residual = x @ self.design64.to(x.dtype).T - self.targets64.to(x.dtype)
        return (residual * residual).mean(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        residual = x @ self.design.T - self.targets
        value = (residual * residual).mean(-1)
        return value, (2.0 / self.n_samples) * (residual @ self.design)

    def minimizer(self) -> Tensor:
        return self.solution

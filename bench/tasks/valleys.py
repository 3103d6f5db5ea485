"""Valleys: the Rosenbrock function, a curved, narrow, flat-bottomed valley."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.tasks.synthetic import SyntheticTask

__all__ = ["Rosenbrock"]


class Rosenbrock(SyntheticTask):
    """f(x) = Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²; f* = 0 at (1, …, 1)."""

    name = "rosenbrock"
    domain = (-2.0, 2.0)

    def __init__(self, *, dim: int = 2, **kwargs) -> None:
        if dim < 2:
            raise ValueError(f"Invalid task.dim: {dim}; allowed: an integer >= 2")
        super().__init__(dim=dim, **kwargs)

    def f(self, x: Tensor) -> Tensor:
        head, tail = x[..., :-1], x[..., 1:]
        return (100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2).sum(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        head, tail = x[:, :-1], x[:, 1:]
        valley = tail - head * head
        slope = 1.0 - head
        value = (100.0 * valley * valley + slope * slope).sum(-1)
        grad = torch.zeros_like(x)
        grad[:, :-1] = -400.0 * head * valley - 2.0 * slope
        grad[:, 1:] += 200.0 * valley
        return value, grad

    def minimizer(self) -> Tensor:
        return torch.ones(self.dim, dtype=torch.float64, device=self.device)

"""Multimodal tasks with known basins: Rastrigin, Ackley, Styblinski–Tang and a double well."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from bench.tasks.synthetic import SyntheticTask

__all__ = ["Ackley", "DoubleWell", "Rastrigin", "StyblinskiTang"]


def _bisect(fn, low: float, high: float) -> float:  # noqa: ANN001 - a scalar function
    """The root of ``fn`` between ``low`` and ``high`` (signs differ), to float64 precision."""
    f_low = fn(low)
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if (fn(mid) > 0) == (f_low > 0):
            low, f_low = mid, fn(mid)
        else:
            high = mid
    return 0.5 * (low + high)


class Rastrigin(SyntheticTask):
    """f(x) = 10 d + Σ (xᵢ² − 10 cos 2πxᵢ); f* = 0 at 0, a local minimum near every integer point.

    The function is separable, so gradient flow from x reaches 0 exactly when every |xᵢ| lies
    below the 1-D ridge r ≈ 0.5025 between 0 and the minimum near 1.
    """

    name = "rastrigin"
    domain = (-5.12, 5.12)
    has_basins = True

    def _build(self) -> None:
        # The ridge solves f'(x) = 2x + 20π sin 2πx = 0 between 0.3 and 0.7.
        self.ridge = _bisect(lambda x: 2 * x + 20 * math.pi * math.sin(2 * math.pi * x), 0.3, 0.7)

    def f(self, x: Tensor) -> Tensor:
        return 10.0 * x.shape[-1] + (x * x - 10.0 * torch.cos((2.0 * math.pi) * x)).sum(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        angle = (2.0 * math.pi) * x
        value = 10.0 * self.dim + (x * x - 10.0 * torch.cos(angle)).sum(-1)
        return value, 2.0 * x + (20.0 * math.pi) * torch.sin(angle)

    def minimizer(self) -> Tensor:
        return torch.zeros(self.dim, dtype=torch.float64, device=self.device)

    def local_minimizer(self) -> Tensor:
        # The 1-D local minimum near 1 solves f'(x) = 0 between the ridge and 1.5.
        root = _bisect(lambda x: 2 * x + 20 * math.pi * math.sin(2 * math.pi * x), 0.8, 1.2)
        point = torch.zeros(self.dim, dtype=torch.float64, device=self.device)
        point[0] = root
        return point

    def in_global_basin(self, x: Tensor) -> Tensor:
        return (x.abs() < self.ridge).all(-1)


class Ackley(SyntheticTask):
    """f(x) = −20 exp(−0.2 √(mean xᵢ²)) − exp(mean cos 2πxᵢ) + 20 + e; f* = 0 at 0.

    Local minima sit near the integer lattice; a point counts as in the global basin when it
    rounds to the origin (every |xᵢ| < ½). At 0 the function has a kink; its gradient there is
    taken as 0, the minimal-norm subgradient.
    """

    name = "ackley"
    domain = (-32.768, 32.768)
    has_basins = True

    def f(self, x: Tensor) -> Tensor:
        mean_sq = (x * x).mean(-1)
        positive = mean_sq > 0
        # The inner where keeps sqrt's derivative finite at 0, so autograd gives 0 there too.
        radius = torch.where(positive, torch.sqrt(torch.where(positive, mean_sq, 1.0)), 0.0)
        wave = torch.cos((2.0 * math.pi) * x).mean(-1)
        return -20.0 * torch.exp(-0.2 * radius) - torch.exp(wave) + 20.0 + math.e

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        d = self.dim
        mean_sq = (x * x).mean(-1, keepdim=True)
        radius = torch.sqrt(mean_sq)
        angle = (2.0 * math.pi) * x
        wave = torch.exp(torch.cos(angle).mean(-1, keepdim=True))
        bowl = torch.exp(-0.2 * radius)
        value = (-20.0 * bowl - wave + 20.0 + math.e).squeeze(-1)
        # d/dx of -20 exp(-0.2 r) is 4 exp(-0.2 r) x / (d r); zero at r = 0.
        pull = torch.where(radius > 0, (4.0 / d) * bowl / radius.clamp_min(1e-300), 0.0) * x
        ripple = wave * ((2.0 * math.pi / d) * torch.sin(angle))
        return value, pull + ripple

    def minimizer(self) -> Tensor:
        return torch.zeros(self.dim, dtype=torch.float64, device=self.device)

    def minimum_value(self) -> float:
        return 0.0  # f(0) rounds to 4e-16 in float64: -20 - e + 20 + e

    def local_minimizer(self) -> Tensor:
        # Gradient descent from the lattice point (1, 0, ..., 0) settles in its local minimum.
        x = torch.zeros(1, self.dim, dtype=torch.float64)
        x[0, 0] = 1.0
        for _ in range(2000):
            _, grad = self.value_and_grad(x)
            x = x - 0.01 * grad
        return x[0].to(self.device)

    def in_global_basin(self, x: Tensor) -> Tensor:
        return (x.abs() < 0.5).all(-1)


class StyblinskiTang(SyntheticTask):
    """f(x) = ½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ); f* ≈ −39.166 d at xᵢ ≈ −2.9035.

    Separable, with a 1-D local minimum near 2.7468 beyond a ridge near 0.1567: gradient flow
    reaches the global minimum exactly when every xᵢ lies below that ridge.
    """

    name = "styblinski_tang"
    domain = (-5.0, 5.0)
    has_basins = True

    def _build(self) -> None:
        # Critical points of the 1-D term: 4x³ − 32x + 5 = 0.
        low, ridge, high = sorted(float(r.real) for r in np.roots([4.0, 0.0, -32.0, 5.0]))
        self.roots = (low, ridge, high)
        self.ridge = ridge

    def f(self, x: Tensor) -> Tensor:
        sq = x * x
        return 0.5 * (sq * sq - 16.0 * sq + 5.0 * x).sum(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        sq = x * x
        value = 0.5 * (sq * sq - 16.0 * sq + 5.0 * x).sum(-1)
        return value, 2.0 * sq * x - 16.0 * x + 2.5

    def minimizer(self) -> Tensor:
        return torch.full((self.dim,), self.roots[0], dtype=torch.float64, device=self.device)

    def local_minimizer(self) -> Tensor:
        point = self.minimizer().clone()
        point[0] = self.roots[2]
        return point

    def in_global_basin(self, x: Tensor) -> Tensor:
        return (x < self.ridge).all(-1)


class DoubleWell(SyntheticTask):
    """f(x) = (x² − 1)² + a x, 1-D: a global minimum near −1 and a local one near +1 (a > 0).

    The ridge between them is the middle root of f'(x) = 4x³ − 4x + a.
    """

    name = "double_well"
    domain = (-2.0, 2.0)
    has_basins = True

    def __init__(self, *, tilt: float = 0.3, dim: int = 1, **kwargs) -> None:
        if dim != 1:
            raise ValueError(f"Invalid task.dim: {dim}; allowed: 1")
        if not 0 < tilt < 1.5:
            raise ValueError(f"Invalid task.tilt: {tilt}; allowed: 0 < tilt < 1.5 (two wells)")
        self.tilt = float(tilt)
        super().__init__(dim=1, **kwargs)

    def _build(self) -> None:
        low, ridge, high = sorted(float(r.real) for r in np.roots([4.0, 0.0, -4.0, self.tilt]))
        self.roots = (low, ridge, high)
        self.ridge = ridge

    def f(self, x: Tensor) -> Tensor:
        well = x * x - 1.0
        return (well * well + self.tilt * x).sum(-1)

    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        well = x * x - 1.0
        return (well * well + self.tilt * x).sum(-1), 4.0 * x * well + self.tilt

    def minimizer(self) -> Tensor:
        return torch.tensor([self.roots[0]], dtype=torch.float64, device=self.device)

    def local_minimizer(self) -> Tensor:
        return torch.tensor([self.roots[2]], dtype=torch.float64, device=self.device)

    def in_global_basin(self, x: Tensor) -> Tensor:
        return (x < self.ridge).all(-1)

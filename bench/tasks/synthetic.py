"""The shared machinery of synthetic tasks: a closed-form loss with a known minimum."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from bench.rng import Stream, normal, uniform
from bench.tasks.base import Task

__all__ = ["SyntheticTask"]


class SyntheticTask(Task):
    """A closed-form function of ``dim`` variables with a known minimum ``f_star``.

    ``x0`` fixes every member's start (``None``: uniform over ``domain`` from the seed);
    ``noise`` is the std of Gaussian noise added to each gradient, drawn from the seed's stream.
    """

    #: Box from which starts are drawn when ``x0`` is None.
    domain: tuple[float, float]

    def __init__(
        self,
        *,
        dim: int,
        x0: float | Sequence[float] | None = None,
        noise: float = 0.0,
        tol: float = 1e-6,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if dim < 1:
            raise ValueError(f"Invalid task.dim: {dim}; allowed: an integer >= 1")
        if not noise >= 0:
            raise ValueError(f"Invalid task.noise: {noise}; allowed: a std >= 0")
        if not tol > 0:
            raise ValueError(f"Invalid task.tol: {tol}; allowed: a tolerance > 0")
        self.dim = dim
        self.noise = float(noise)
        self.tol = float(tol)
        self.device = torch.device(device)
        self.dtype = dtype
        self._build()
        self.x0 = None if x0 is None else self._start(x0)
        self.f_star = self.minimum_value()
        self.target = self.f_star + self.tol
        self.target_text = f"f - f* <= {self.tol:g}"

    def _start(self, x0: float | Sequence[float]) -> Tensor:
        start = torch.as_tensor(x0, dtype=torch.float64).reshape(-1)
        if start.numel() == 1:
            start = start.expand(self.dim)
        if start.numel() != self.dim:
            raise ValueError(
                f"Invalid task.x0: {start.numel()} values for dim={self.dim}; "
                f"allowed: one number, a list of {self.dim}, or null"
            )
        return start.to(self.dtype).to(self.device)

    def _build(self) -> None:
        """Make the task's constants once ``dim``, ``device`` and ``dtype`` are set."""

    @abstractmethod
    def f(self, x: Tensor) -> Tensor:
        """The function over the last dimension of ``x`` (``[..., dim] -> [...]``)."""

    @abstractmethod
    def value_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Values ``[P]`` and analytic gradients ``[P, dim]`` at the points ``x``."""

    @abstractmethod
    def minimizer(self) -> Tensor:
        """The global minimiser (float64, ``[dim]``, on the task's device)."""

    def minimum_value(self) -> float:
        """f* = f(global minimiser), in float64."""
        return float(self.f(self.minimizer()))

    def local_minimizer(self) -> Tensor | None:
        """A local, non-global minimiser (float64, ``[dim]``, on the task's device), if any."""
        return None

    def init(self, seeds: Tensor) -> Tensor:
        """The fixed start ``x0`` for every member, or a uniform draw over ``domain``."""
        if self.x0 is not None:
            return self.x0.expand(len(seeds), self.dim).clone()
        low, high = self.domain
        u = uniform(seeds.to(self.device), Stream.INIT, 0, self.dim)
        return (low + (high - low) * u).to(self.dtype)

    def member_loss(self, x: Tensor) -> Tensor:
        """f at one point."""
        return self.f(x)

    def loss_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Values and analytic gradients for the population."""
        return self.value_and_grad(x)

    def grad_noise(self, seeds: Tensor, step: int | Tensor) -> Tensor | None:
        """``noise`` times standard normal draws from each member's seed and the step."""
        if self.noise == 0:
            return None
        draws = normal(seeds.to(self.device), Stream.NOISE, step, self.dim)
        return (self.noise * draws).to(self.dtype)

    def evaluate(self, x: Tensor) -> Tensor:
        """The exact objective."""
        return self.f(x)

    def final_metrics(self, x: Tensor) -> dict[str, Tensor]:
        """``distance_to_minimizer``: the Euclidean distance to the global minimiser, per member."""
        gap = x.to(torch.float64) - self.minimizer().to(x.device)
        return {"distance_to_minimizer": gap.norm(dim=-1)}

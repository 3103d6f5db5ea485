"""What every task provides to the engine: a loss for one member, its data, and what is known."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import torch
from torch import Tensor
from torch.func import grad_and_value, vmap

__all__ = ["TASKS", "DataOrder", "Task"]

#: Every concrete task by its name, filled as task modules are imported (``bench.tasks`` imports
#: them all): adding a task is adding a module (and its ``conf/task/<name>.yaml``).
TASKS: dict[str, type[Task]] = {}


class DataOrder(NamedTuple):
    """Minibatch sample indices ``table[row[p], step]`` (``[B]``) for member ``p``.

    One table row per distinct seed keeps memory at ``seeds x steps x B`` however many
    configurations share those seeds.
    """

    table: Tensor
    row: Tensor


class Task(ABC):
    """A loss over a flat parameter vector of ``dim`` values, with its data and known facts.

    Populations are ``[P, dim]`` tensors; ``seeds`` (``[P]`` int64) give each member its draws:
    a member's initial point, gradient noise and minibatch order depend on its seed alone.
    """

    name: str
    dim: int
    dtype: torch.dtype
    device: torch.device
    #: The known global minimum value, or None where it is unknown.
    f_star: float | None = None
    #: A run has converged once its monitored loss is at or below this value.
    target: float
    #: What ``target`` means, for reports (e.g. "f - f* <= 1e-06").
    target_text: str
    #: True where the loss of each step is the objective itself (no minibatches), so targets and
    #: best values are tracked at every step; otherwise at the record points via ``evaluate``.
    exact_step_loss: bool = True
    #: True where the task can say whether a point lies in the global minimum's basin.
    has_basins: bool = False
    #: Members per engine chunk on the CPU: large for cheap tasks; 32–768 for the digits tasks.
    chunk_size: int = 16384

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in vars(cls):  # families (SyntheticTask, DigitsTask) declare no name
            TASKS[cls.name] = cls

    @abstractmethod
    def init(self, seeds: Tensor) -> Tensor:
        """Initial points ``[P, dim]`` for the members' seeds."""

    def data_order(self, seeds: Tensor, steps: int) -> DataOrder | None:
        """The sample indices of every member's minibatches for a run; None without data."""
        return None

    def batch(self, order: DataOrder | None, step: int | Tensor) -> tuple[Tensor, ...]:
        """Each member's data for ``step`` (an int or a 0-dim device tensor); empty without data."""
        return ()

    @abstractmethod
    def member_loss(self, x: Tensor, *batch: Tensor) -> Tensor:
        """The training loss of one member ``x`` (``[dim]``) on its ``batch``; differentiable."""

    def loss_and_grad(self, x: Tensor, *batch: Tensor) -> tuple[Tensor, Tensor]:
        """Training losses ``[P]`` and gradients ``[P, dim]`` of a population (``vmap`` here)."""
        return self.vmap_loss_and_grad(x, *batch)

    def vmap_loss_and_grad(self, x: Tensor, *batch: Tensor) -> tuple[Tensor, Tensor]:
        """``loss_and_grad`` by ``torch.func.vmap`` of the single-member loss."""
        grad, loss = vmap(grad_and_value(self.member_loss))(x, *batch)
        return loss, grad

    def grad_noise(self, seeds: Tensor, step: int | Tensor) -> Tensor | None:
        """Noise ``[P, dim]`` added to the gradients at ``step``, or None."""
        return None

    def member_bytes(self, steps: int) -> int:
        """Device memory one member takes in a run of ``steps`` (an estimate, for chunk sizes).

        Parameters, gradient, up to four state tensors, scratch and the gradient-noise draws.
        """
        return 12 * self.dim * torch.finfo(self.dtype).bits // 8

    @abstractmethod
    def evaluate(self, x: Tensor) -> Tensor:
        """The monitored loss ``[P]`` (exact objective, or full-batch training loss)."""

    def in_global_basin(self, x: Tensor) -> Tensor:
        """Whether each point ``[P, dim]`` lies in the global minimum's basin (``[P]`` bool)."""
        raise NotImplementedError(f"task {self.name!r} has no known basins")

    def final_metrics(self, x: Tensor) -> dict[str, Tensor]:
        """Task-specific results ``{name: [P]}`` at the end of a run (e.g. test accuracy)."""
        return {}

"""Wilson et al. 2017's separable least-squares problem (§3.3 of "The Marginal Value of Adaptive
Gradient Methods in Machine Learning"), on which adaptive methods generalise worse than GD.

Labels yᵢ ∈ {−1, +1} with P(+1) = p. Sample i has xᵢ₁ = yᵢ, xᵢ₂ = xᵢ₃ = 1 and its own unique
features: xᵢⱼ = 1 for j = 4 + 5(i−1), …, 4 + 5(i−1) + 2(1 − yᵢ) (one for a positive sample, five
for a negative one), zero elsewhere; so d = 3 + 5n. The loss is ½ · mean over the training set
of (xᵢᵀw − yᵢ)². A test point's unique features are new dimensions, on which every trained w is
0, so it is predicted sign(w₁y + w₂ + w₃); a prediction of exactly 0 counts as wrong.

Each seed draws its own data set (training labels and test labels from the seed's DATA stream),
so seeds are independent replications and every configuration sees the same data sets.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.rng import Stream, uniform
from bench.tasks.base import DataOrder, Task

__all__ = ["WilsonSeparable"]

#: Unique-feature slots per training sample (a positive sample uses the first only).
SLOTS = 5
#: The DATA-stream counters of the training and the test labels.
_TRAIN, _TEST = 0, 1


class WilsonSeparable(Task):
    """The separable least-squares problem, full batch, every member started at w = 0.

    ``data_order`` draws the labels of each distinct seed; its table holds them (training then
    test labels, ±1) instead of sample indices, and the task keeps that order so that
    ``evaluate`` and ``final_metrics`` — which the engine calls on the population it drew the
    order for — read the same data sets.
    """

    name = "wilson_separable"
    f_star = 0.0
    exact_step_loss = True
    has_basins = False

    def __init__(
        self,
        *,
        n_train: int = 50,
        n_test: int = 1000,
        p: float = 0.75,
        tol: float = 1e-6,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        for key, value in (("n_train", n_train), ("n_test", n_test)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid task.{key}: {value!r}; allowed: an integer >= 1")
        if not (isinstance(p, int | float) and 0.5 < p < 1):
            raise ValueError(f"Invalid task.p: {p}; allowed: a probability in (0.5, 1)")
        if not (isinstance(tol, int | float) and tol > 0):
            raise ValueError(f"Invalid task.tol: {tol}; allowed: a tolerance > 0")
        self.n_train, self.n_test, self.p = n_train, n_test, float(p)
        self.dim = 3 + SLOTS * n_train
        self.device = torch.device(device)
        self.dtype = dtype
        self.target = float(tol)
        self.target_text = f"f - f* <= {self.target:g}"
        self._order: DataOrder | None = None

    # -- data ---------------------------------------------------------------------------------

    def labels(self, seeds: Tensor) -> tuple[Tensor, Tensor]:
        """Each seed's training labels ``[S, n_train]`` and test labels ``[S, n_test]`` (±1)."""
        seeds = seeds.to(self.device)

        def draw(counter: int, n: int) -> Tensor:
            return torch.where(uniform(seeds, Stream.DATA, counter, n) < self.p, 1.0, -1.0)

        return draw(_TRAIN, self.n_train).to(self.dtype), draw(_TEST, self.n_test).to(self.dtype)

    def features(self, y: Tensor) -> Tensor:
        """The paper's training inputs ``[n_train, dim]`` for one data set's labels ``y``."""
        n = len(y)
        unique = self._unique_mask(y)  # [n, SLOTS]
        eye = torch.eye(n, dtype=y.dtype, device=y.device)
        block = (eye.unsqueeze(2) * unique.unsqueeze(0)).reshape(n, SLOTS * n)
        ones = torch.ones(n, 1, dtype=y.dtype, device=y.device)
        return torch.cat([y.unsqueeze(1), ones, ones, block], 1)

    @staticmethod
    def _unique_mask(y: Tensor) -> Tensor:
        """Which unique-feature slots each sample uses (``[..., n, SLOTS]``): 1 or all 5."""
        negative = (y < 0).to(y.dtype).unsqueeze(-1)
        first = torch.ones_like(negative)
        return torch.cat([first, negative.expand(*negative.shape[:-1], SLOTS - 1)], -1)

    def data_order(self, seeds: Tensor, steps: int) -> DataOrder:
        """Each distinct seed's labels (training then test) as the table's row; kept for
        ``evaluate`` and ``final_metrics``."""
        unique, row = torch.unique(seeds.to(self.device), return_inverse=True)
        train, test = self.labels(unique)
        self._order = DataOrder(torch.cat([train, test], 1), row)
        return self._order

    def batch(self, order: DataOrder | None, step: int) -> tuple[Tensor]:
        """Each member's training labels ``[P, n_train]`` (full batch: the same every step)."""
        return (order.table[:, : self.n_train].index_select(0, order.row),)

    def _labels_of(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The training and test labels of the population ``x`` last given to ``data_order``."""
        order = self._order
        if order is None or len(order.row) != len(x):
            raise RuntimeError("wilson_separable: draw the population's data_order first")
        table = order.table.index_select(0, order.row)
        return table[:, : self.n_train], table[:, self.n_train :]

    # -- losses -------------------------------------------------------------------------------

    def init(self, seeds: Tensor) -> Tensor:
        """w = 0 for every member."""
        return torch.zeros(len(seeds), self.dim, dtype=self.dtype, device=self.device)

    def member_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """½ mean (Xw − y)² with the paper's explicit X: the reference the fast path meets."""
        residual = self.features(y) @ x - y
        return 0.5 * (residual * residual).mean()

    def _residual(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Residuals ``[P, n]`` of the population on labels ``y`` ``[P, n]``, and the slot mask."""
        mask = self._unique_mask(y)
        unique = x[:, 3:].view(len(x), -1, SLOTS)
        prediction = x[:, :1] * y + x[:, 1:2] + x[:, 2:3] + (unique * mask).sum(-1)
        return prediction - y, mask

    def loss_and_grad(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Losses ``[P]`` and gradients ``[P, dim]`` without building X (it is mostly zeros)."""
        residual, mask = self._residual(x, y)
        n = y.shape[1]
        loss = 0.5 * (residual * residual).mean(1)
        scaled = residual / n
        grad = torch.empty_like(x)
        grad[:, 0] = (scaled * y).sum(1)
        grad[:, 1] = grad[:, 2] = scaled.sum(1)
        grad[:, 3:] = (scaled.unsqueeze(2) * mask).reshape(len(x), -1)
        return loss, grad

    def evaluate(self, x: Tensor) -> Tensor:
        """The full-batch training loss ``[P]``."""
        train, _ = self._labels_of(x)
        residual, _ = self._residual(x, train)
        return 0.5 * (residual * residual).mean(1)

    def final_metrics(self, x: Tensor) -> dict[str, Tensor]:
        """Test accuracy and the test set's share of negative labels, ``[P]`` each."""
        _, test = self._labels_of(x)
        prediction = x[:, :1] * test + x[:, 1:2] + x[:, 2:3]
        return {
            "test_accuracy": (prediction * test > 0).to(x.dtype).mean(1),
            "test_negative_share": (test < 0).to(x.dtype).mean(1),
        }

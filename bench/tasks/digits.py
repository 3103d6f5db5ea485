"""Classifiers on scikit-learn's bundled 8×8 digits: logistic regression, an MLP and a small CNN.

The data ship inside scikit-learn (``load_digits``: 1797 images, 64 pixels, 10 classes), so
nothing is downloaded. A fixed train/test split comes from ``split_seed``; pixels are
standardised with the training set's mean and std (a constant pixel's std counts as 1).

Each member's parameters are one flat vector (the ``torch.nn`` layers' parameters in order,
weights ``[out, in]`` then biases); its start is PyTorch's default, uniform in ±1/√fan_in,
drawn from its seed. Its minibatches follow epochs of permutations of the training set, also
from its seed; the last incomplete batch of an epoch is dropped (``drop_last``).
"""

from __future__ import annotations

import importlib.util
import math
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from bench.rng import Stream, permutations, uniform
from bench.tasks.base import DataOrder, Task

__all__ = ["CNNDigits", "DigitsTask", "LogRegDigits", "MLPDigits"]

N_CLASSES = 10
SIDE = 8
N_PIXELS = SIDE * SIDE
#: The DATA-stream counter of the train/test split; minibatch epochs count up from 0.
_SPLIT_COUNTER = -1

_threshold_backward = torch.ops.aten.threshold_backward


@cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (pixels ``[1797, 64]`` float64, labels ``[1797]`` int64).

    Read from the CSV that ``sklearn.datasets.load_digits`` reads, without importing
    scikit-learn (0.7 s of start-up); tests/tasks/test_digits.py holds the two equal.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("Invalid task: the digits tasks need scikit-learn; allowed: install it")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64)


def _softmax_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy ``[P]`` and its gradient w.r.t. ``logits`` (``[P, classes, B]``).

    Classes lie along dim 1, so the reductions run over a short middle dimension with the batch
    contiguous: many times faster on the CPU than over a last dimension of 10.
    """
    size, _, batch = logits.shape
    index = labels.unsqueeze(1)  # [P, 1, B]
    log_p = torch.log_softmax(logits, 1)
    loss = log_p.gather(1, index).mean((1, 2)).neg_()
    # d loss / d logits = (softmax - one_hot) / B.
    grad = log_p.exp_()
    minus_one = torch.full((1, 1, 1), -1.0, dtype=grad.dtype, device=grad.device)
    grad.scatter_add_(1, index, minus_one.expand(size, 1, batch))
    return loss, grad.mul_(1.0 / batch)


class DigitsTask(Task):
    """A classifier of the digits, trained on minibatches; monitored by its full training loss.

    Subclasses list their parameters in ``_layout`` (name, shape, fan-in) and give the
    one-member ``_member_logits`` and the batched ``_logits``; ``loss_and_grad`` is their fast
    path.
    """

    f_star = None
    exact_step_loss = False
    has_basins = False
    #: Members per engine chunk on the CPU: the convolution's patches make a member's step
    #: large (``cnn_digits``: 32 beat 64 and 96).
    chunk_size = 32
    #: Samples per chunk of ``evaluate``: fixed, so that a member's sums never depend on its
    #: population.
    _eval_chunk = 256
    #: One (name, shape, fan_in) per parameter, in the order of the flat vector.
    _layout: list[tuple[str, tuple[int, ...], int]]
    #: Hidden activations per sample (for ``member_bytes``).
    _features = 0

    def __init__(
        self,
        *,
        batch_size: int = 128,
        target: float = 0.1,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        pixels, labels = _digits()
        n = len(labels)
        if not (isinstance(test_fraction, int | float) and 0 < test_fraction < 1):
            raise ValueError(
                f"Invalid task.test_fraction: {test_fraction}; allowed: a fraction in (0, 1)"
            )
        n_test = round(test_fraction * n)
        if not 1 <= n_test <= n - 1:
            raise ValueError(
                f"Invalid task.test_fraction: {test_fraction}; allowed: a fraction that leaves "
                f"at least one of the {n} images on each side"
            )
        n_train = n - n_test
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise ValueError(f"Invalid task.batch_size: {batch_size!r}; allowed: an integer")
        if not 1 <= batch_size <= n_train:
            raise ValueError(
                f"Invalid task.batch_size: {batch_size}; allowed: an integer from 1 to {n_train} "
                f"(the training set)"
            )
        if not (isinstance(target, int | float) and math.isfinite(target) and target >= 0):
            raise ValueError(f"Invalid task.target: {target}; allowed: a training loss >= 0")
        if isinstance(split_seed, bool) or not isinstance(split_seed, int):
            raise ValueError(f"Invalid task.split_seed: {split_seed!r}; allowed: an integer")
        self.batch_size = batch_size
        self.test_fraction = float(test_fraction)
        self.split_seed = split_seed
        self.device = torch.device(device)
        self.dtype = dtype
        self.target = float(target)
        self.target_text = f"train loss <= {self.target:g}"

        # The split: one permutation of the images from split_seed, its first n_test for testing.
        order = permutations(torch.tensor([split_seed]), Stream.DATA, _SPLIT_COUNTER, n)[0]
        self.test_index, self.train_index = (
            order[:n_test].sort().values,
            order[n_test:].sort().values,
        )
        x = torch.from_numpy(pixels)
        y = torch.from_numpy(labels)
        x_train, x_test = x[self.train_index], x[self.test_index]
        mean = x_train.mean(0)
        std = x_train.std(0, unbiased=False)
        std = torch.where(std > 0, std, 1.0)
        self.x_train = ((x_train - mean) / std).to(device=self.device, dtype=dtype)
        self.x_test = ((x_test - mean) / std).to(device=self.device, dtype=dtype)
        self.y_train = y[self.train_index].to(self.device)
        self.y_test = y[self.test_index].to(self.device)
        self.n_train, self.n_test = n_train, n_test

        self._buffer: Tensor | None = None
        sizes = [math.prod(shape) for _, shape, _ in self._layout]
        self.dim = sum(sizes)
        self._offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        self._bound = torch.cat(
            [
                torch.full((size,), 1.0 / math.sqrt(fan_in), dtype=torch.float64)
                for size, (_, _, fan_in) in zip(sizes, self._layout, strict=True)
            ]
        ).to(self.device)

    # -- parameters ---------------------------------------------------------------------------

    def params(self, x: Tensor) -> dict[str, Tensor]:
        """Views of the flat parameters ``[..., dim]`` as the layers' tensors ``[..., *shape]``."""
        lead = x.shape[:-1]
        return {
            name: x[..., start:stop].view(*lead, *shape)
            for (name, shape, _), start, stop in zip(
                self._layout, self._offsets[:-1], self._offsets[1:], strict=True
            )
        }

    def _grad_buffer(self, x: Tensor) -> Tensor:
        """The ``[P, dim]`` buffer the fast path writes gradients into, kept between calls.

        Allocating it afresh each step costs a few percent on the CPU. Each call overwrites
        every element, so a caller must use (or copy) a gradient before asking for the next:
        the engine hands it straight to the update rule.
        """
        buffer = self._buffer
        same = buffer is not None and buffer.shape == x.shape and buffer.dtype == x.dtype
        if not (same and buffer.device == x.device):
            buffer = self._buffer = torch.empty_like(x, memory_format=torch.contiguous_format)
        return buffer

    def init(self, seeds: Tensor) -> Tensor:
        """PyTorch's default init: weights and biases uniform in ±1/√fan_in, from each seed."""
        u = uniform(seeds.to(self.device), Stream.INIT, 0, self.dim)
        return ((2.0 * u - 1.0) * self._bound).to(self.dtype)

    # -- data ---------------------------------------------------------------------------------

    def data_order(self, seeds: Tensor, steps: int) -> DataOrder:
        """Each distinct seed's minibatches: its epochs' permutations, cut into full batches.

        Epoch ``e`` of seed ``s`` is ``permutations(s, Stream.DATA, e, n_train)``; the
        ``n_train mod batch_size`` samples left at its end are skipped (``drop_last``).
        """
        seeds = seeds.to(self.device)
        unique, row = torch.unique(seeds, return_inverse=True)
        per_epoch = self.n_train // self.batch_size
        used = per_epoch * self.batch_size
        epochs = max(1, -(-steps // per_epoch))
        # Epochs are drawn in blocks so that the hashing temporaries stay small.
        block = max(1, (1 << 20) // (len(unique) * self.n_train))
        parts = []
        for start in range(0, epochs, block):
            counters = torch.arange(start, min(start + block, epochs), device=self.device)
            perm = permutations(
                unique.repeat(len(counters)),
                Stream.DATA,
                counters.repeat_interleave(len(unique)),
                self.n_train,
            )
            parts.append(perm[:, :used].reshape(len(counters), len(unique), per_epoch, -1))
        table = torch.cat(parts).transpose(0, 1).reshape(len(unique), -1, self.batch_size)
        return DataOrder(table[:, :steps].contiguous(), row)

    def batch(self, order: DataOrder | None, step: int | Tensor) -> tuple[Tensor, Tensor]:
        """Each member's inputs ``[P, B, 64]`` and labels ``[P, B]`` at ``step``."""
        if isinstance(step, Tensor):
            # index_select reads the step on the device; `table[:, step]` would ask the host.
            rows = order.table.index_select(1, step.reshape(1)).squeeze(1)
        else:
            rows = order.table[:, step]
        index = rows.index_select(0, order.row)
        flat = index.reshape(-1)
        shape = index.shape
        return (
            self.x_train.index_select(0, flat).view(*shape, N_PIXELS),
            self.y_train.index_select(0, flat).view(shape),
        )

    def member_bytes(self, steps: int) -> int:
        """Parameters and state, a step's activations, an evaluation chunk's, and the data order."""
        step = self.batch_size * (N_PIXELS + 3 * self._features + 3 * N_CLASSES)
        evaluation = self._eval_chunk * (self._features + 3 * N_CLASSES)
        itemsize = torch.finfo(self.dtype).bits // 8
        order = 8 * steps * self.batch_size  # int64 sample indices, one row per distinct seed
        return super().member_bytes(steps) + (step + evaluation) * itemsize + order

    # -- losses -------------------------------------------------------------------------------

    def _member_logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        """One member's logits ``[N, 10]`` for ``inputs`` ``[N, 64]``, with ``torch.nn`` ops."""
        raise NotImplementedError

    def _logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        """The population's logits ``[P, 10, N]`` for inputs ``[N, 64]`` shared by all."""
        raise NotImplementedError

    def member_loss(self, x: Tensor, inputs: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy of one member on its batch: the reference the fast path meets."""
        return F.cross_entropy(self._member_logits(x, inputs), labels)

    @torch.no_grad()
    def _loss(self, x: Tensor, inputs: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy ``[P]`` over a whole set, in fixed chunks of samples."""
        total = torch.zeros(len(x), dtype=torch.float64, device=x.device)
        for part, part_labels in zip(
            inputs.split(self._eval_chunk), labels.split(self._eval_chunk), strict=True
        ):
            logits = self._logits(x, part)
            index = part_labels.expand(len(x), -1).unsqueeze(1)
            log_p = torch.log_softmax(logits, 1).gather(1, index)[:, 0]
            total -= log_p.sum(1, dtype=torch.float64)
        return (total / len(labels)).to(x.dtype)

    @torch.no_grad()
    def _accuracy(self, x: Tensor, inputs: Tensor, labels: Tensor) -> Tensor:
        """Fraction ``[P]`` of a set whose label gets the largest logit (first one on ties)."""
        correct = torch.zeros(len(x), dtype=torch.int64, device=x.device)
        for part, part_labels in zip(
            inputs.split(self._eval_chunk), labels.split(self._eval_chunk), strict=True
        ):
            # argmax over a contiguous last dimension: over dim 1 it is ~10x slower on the CPU.
            predicted = self._logits(x, part).transpose(1, 2).contiguous().argmax(2)
            correct += (predicted == part_labels).sum(1)
        return correct.to(x.dtype) / len(labels)

    def evaluate(self, x: Tensor) -> Tensor:
        """The full-batch training loss ``[P]``."""
        return self._loss(x, self.x_train, self.y_train)

    def final_metrics(self, x: Tensor) -> dict[str, Tensor]:
        """Test loss and test accuracy, ``[P]`` each (the final loss is the training loss)."""
        return {
            "test_loss": self._loss(x, self.x_test, self.y_test),
            "test_accuracy": self._accuracy(x, self.x_test, self.y_test),
        }


class LogRegDigits(DigitsTask):
    """Multinomial logistic regression, 64 → 10 (650 parameters)."""

    name = "logreg_digits"
    #: A member is 650 parameters: per-operation overhead dominates small chunks (300 Adam
    #: steps of 384 members: 4.5 s in chunks of 384 against 6.5 s in chunks of 96; 768 beat
    #: 384 and 1536 on 1536 members, on 2 CPU cores).
    chunk_size = 768
    _layout = [("weight", (N_CLASSES, N_PIXELS), N_PIXELS), ("bias", (N_CLASSES,), N_PIXELS)]

    def _member_logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        return F.linear(inputs, p["weight"], p["bias"])

    def _logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        return torch.matmul(p["weight"], inputs.T).add_(p["bias"].unsqueeze(2))

    def loss_and_grad(self, x: Tensor, inputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Hand-written forward and backward over the population with batched GEMMs.

        The gradient lives in a buffer that the next call overwrites (see ``_grad_buffer``).
        """
        p = self.params(x)
        logits = torch.baddbmm(p["bias"].unsqueeze(2), p["weight"], inputs.transpose(1, 2))
        loss, dlogits = _softmax_cross_entropy(logits, labels)
        grad = self._grad_buffer(x)
        g = self.params(grad)
        torch.bmm(dlogits, inputs, out=g["weight"])
        torch.sum(dlogits, 2, out=g["bias"])
        return loss, grad


class MLPDigits(DigitsTask):
    """64 → ``hidden`` → 10 with ReLU (``hidden`` = 128: 9610 parameters).

    ``loss_and_grad`` is a hand-written forward and backward for the whole population: batched
    GEMMs (``baddbmm``/``bmm``) with activations laid out ``[P, features, B]``, the softmax over
    the class dimension 1, and ReLU's backward by ``aten.threshold_backward``.
    """

    name = "mlp_digits"
    #: 300 Adam steps of 192 members on 2 CPU cores: 12.1 s in chunks of 96 against 12.6 s in
    #: chunks of 32 (a member's run does not depend on its chunk: tests/test_engine.py).
    chunk_size = 96

    def __init__(self, *, hidden: int = 128, **kwargs) -> None:
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"Invalid task.hidden: {hidden!r}; allowed: an integer >= 1")
        self.hidden = hidden
        self._features = hidden
        self._layout = [
            ("weight1", (hidden, N_PIXELS), N_PIXELS),
            ("bias1", (hidden,), N_PIXELS),
            ("weight2", (N_CLASSES, hidden), hidden),
            ("bias2", (N_CLASSES,), hidden),
        ]
        super().__init__(**kwargs)

    def _member_logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        hidden = F.relu(F.linear(inputs, p["weight1"], p["bias1"]))
        return F.linear(hidden, p["weight2"], p["bias2"])

    def _logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        hidden = torch.matmul(p["weight1"], inputs.T).add_(p["bias1"].unsqueeze(2)).relu_()
        return torch.baddbmm(p["bias2"].unsqueeze(2), p["weight2"], hidden)

    def loss_and_grad(self, x: Tensor, inputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Forward and backward by hand: 5 batched GEMMs, no autograd.

        The gradient lives in a buffer that the next call overwrites (see ``_grad_buffer``).
        """
        p = self.params(x)
        inputs_t = inputs.transpose(1, 2)  # [P, 64, B]
        # Forward: hidden [P, H, B], logits [P, 10, B].
        hidden = torch.baddbmm(p["bias1"].unsqueeze(2), p["weight1"], inputs_t).relu_()
        logits = torch.baddbmm(p["bias2"].unsqueeze(2), p["weight2"], hidden)
        loss, dlogits = _softmax_cross_entropy(logits, labels)
        # Backward, into the views of one gradient buffer (the weights' by a copy: a bmm into a
        # view whose members are not contiguous loops over them, slower than bmm + copy).
        grad = self._grad_buffer(x)
        g = self.params(grad)
        g["weight2"].copy_(torch.bmm(dlogits, hidden.transpose(1, 2)))
        torch.sum(dlogits, 2, out=g["bias2"])
        dhidden = torch.bmm(p["weight2"].transpose(1, 2), dlogits)
        # ReLU's backward, in place: zero where the unit was off (hidden == relu output here).
        _threshold_backward(dhidden, hidden, 0, grad_input=dhidden)
        g["weight1"].copy_(torch.bmm(dhidden, inputs))
        torch.sum(dhidden, 2, out=g["bias1"])
        return loss, grad


class CNNDigits(DigitsTask):
    """3×3 convolution (``channels``, padding 1) → ReLU → 2×2 average pooling → linear 10.

    With 8 channels: 80 + 1290 = 1370 parameters. ``loss_and_grad`` is a hand-written forward
    and backward for the population: the convolution as a batched GEMM over 3×3 patches laid
    out ``[P, 9, pixels × B]``, and the average pooling folded into the linear layer (each pooled
    weight spread over its 2×2 block), so that every step is a GEMM or an elementwise pass.
    """

    name = "cnn_digits"
    #: Activations are ``channels × 64`` per sample: smaller evaluation chunks.
    _eval_chunk = 64

    def __init__(self, *, channels: int = 8, **kwargs) -> None:
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"Invalid task.channels: {channels!r}; allowed: an integer >= 1")
        self.channels = channels
        self._features = (channels + 9) * N_PIXELS  # the hidden maps and the 3×3 patches
        pooled = channels * (SIDE // 2) ** 2
        self._layout = [
            ("conv_weight", (channels, 1, 3, 3), 9),
            ("conv_bias", (channels,), 9),
            ("weight", (N_CLASSES, pooled), pooled),
            ("bias", (N_CLASSES,), pooled),
        ]
        super().__init__(**kwargs)

    def _member_logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        images = inputs.reshape(-1, 1, SIDE, SIDE)
        features = F.relu(F.conv2d(images, p["conv_weight"], p["conv_bias"], padding=1))
        pooled = F.avg_pool2d(features, 2).flatten(1)
        return F.linear(pooled, p["weight"], p["bias"])

    @staticmethod
    def _patches(inputs: Tensor) -> Tensor:
        """3×3 patches of the zero-padded images ``[..., N, 64]``: ``[..., 9, 64 × N]``.

        Ordered (tap, pixel, sample), so that the convolution's output ``[..., C, 64 × N]`` is
        already the linear layer's input ``[..., C × 64, N]``.
        """
        lead, n = inputs.shape[:-2], inputs.shape[-2]
        images = inputs.reshape(-1, n, SIDE, SIDE).permute(0, 2, 3, 1)  # [L, 8, 8, N]
        padded = F.pad(images, (0, 0, 1, 1, 1, 1))  # [L, 10, 10, N]
        windows = padded.unfold(1, 3, 1).unfold(2, 3, 1)  # [L, 8, 8, N, 3, 3]
        return windows.permute(0, 4, 5, 1, 2, 3).reshape(*lead, 9, N_PIXELS * n)

    def _spread_weight(self, weight: Tensor) -> Tensor:
        """The linear weight ``[P, 10, C × 16]`` as one over the unpooled ``[P, 10, C × 64]``."""
        size, c = len(weight), self.channels
        blocks = (weight * 0.25).view(size, N_CLASSES, c, 4, 1, 4, 1)
        return blocks.expand(size, N_CLASSES, c, 4, 2, 4, 2).reshape(size, N_CLASSES, c * 64)

    def _logits(self, x: Tensor, inputs: Tensor) -> Tensor:
        p = self.params(x)
        size, c, n = len(x), self.channels, len(inputs)
        # Shared inputs: one GEMM for every member's convolution.
        conv = p["conv_weight"].reshape(size * c, 9) @ self._patches(inputs)
        hidden = conv.view(size, c, -1).add_(p["conv_bias"].unsqueeze(2)).relu_()
        hidden = hidden.view(size, c * N_PIXELS, n)
        weight = self._spread_weight(p["weight"])
        return torch.baddbmm(p["bias"].unsqueeze(2), weight, hidden)

    def loss_and_grad(self, x: Tensor, inputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Forward and backward by hand: 5 batched GEMMs, no autograd.

        The gradient lives in a buffer that the next call overwrites (see ``_grad_buffer``).
        """
        p = self.params(x)
        size, batch = inputs.shape[:2]
        c = self.channels
        patches = self._patches(inputs)  # [P, 9, 64 B]
        conv_weight = p["conv_weight"].view(size, c, 9)
        conv = torch.baddbmm(p["conv_bias"].unsqueeze(2), conv_weight, patches).relu_()
        hidden = conv.view(size, c * N_PIXELS, batch)
        weight = self._spread_weight(p["weight"])
        logits = torch.baddbmm(p["bias"].unsqueeze(2), weight, hidden)
        loss, dlogits = _softmax_cross_entropy(logits, labels)

        grad = self._grad_buffer(x)
        g = self.params(grad)
        # The pooled weight's gradient: a quarter of its 2×2 block's sum.
        spread = torch.bmm(dlogits, hidden.transpose(1, 2)).view(size, N_CLASSES, c, 4, 2, 4, 2)
        torch.sum(spread, (4, 6), out=g["weight"].view(size, N_CLASSES, c, 4, 4))
        g["weight"].mul_(0.25)
        torch.sum(dlogits, 2, out=g["bias"])
        dhidden = torch.bmm(weight.transpose(1, 2), dlogits)
        _threshold_backward(dhidden, hidden, 0, grad_input=dhidden)
        dconv = dhidden.view(size, c, N_PIXELS * batch)
        g["conv_weight"].view(size, c, 9).copy_(torch.bmm(dconv, patches.transpose(1, 2)))
        torch.sum(dconv, 2, out=g["conv_bias"])
        return loss, grad

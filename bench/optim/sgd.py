"""SGD with momentum, dampening, Nesterov and weight decay, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim._hparams import HParamValue, check_range, collect, column

DEFAULTS: dict[str, float | bool] = {
    "lr": 1e-3,
    "momentum": 0.0,
    "dampening": 0.0,
    "weight_decay": 0.0,
    "nesterov": False,
}


@dataclass
class SGDState:
    """Momentum buffers and the per-member factors, on the parameters' device."""

    buf: Tensor | None
    #: Members whose first buffer must be copied from the gradient: μ·0 + (1-τ)g differs from g.
    copy_first: Tensor | None
    neg_lr: Tensor
    momentum: Tensor
    one_minus_dampening: Tensor
    weight_decay: Tensor | None
    nesterov: Tensor | None
    no_momentum: Tensor | None


class SGD:
    r"""SGD as ``torch.optim.SGD`` computes it, for a population of parameter vectors.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`,

    .. math::
        b_1 = g_1,\quad b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
        d_t = g_t + \mu b_t \text{ (Nesterov) or } b_t,\quad
        \theta_t = \theta_{t-1} - \eta d_t

    and :math:`d_t = g_t` where :math:`\mu = 0`. Every hyperparameter holds one value per member.
    """

    name = "sgd"

    def __init__(self, size: int, **hparams: HParamValue) -> None:
        hp = collect(hparams, DEFAULTS, size)
        check_range("lr", hp["lr"], 0.0, float("inf"), high_open=False)
        check_range("momentum", hp["momentum"], 0.0, float("inf"), high_open=False)
        check_range("dampening", hp["dampening"], 0.0, 1.0, high_open=False)
        check_range("weight_decay", hp["weight_decay"], 0.0, float("inf"), high_open=False)
        bad = hp["nesterov"] & ((hp["momentum"] <= 0) | (hp["dampening"] != 0))
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            raise ValueError(
                f"Invalid nesterov: True with momentum={hp['momentum'][i].item()!r} and "
                f"dampening={hp['dampening'][i].item()!r}; "
                "allowed: nesterov only with momentum > 0 and dampening = 0"
            )
        self.size = size
        self.hparams = hp

    def subset(self, index: Tensor) -> SGD:
        """The rule for the members at ``index``."""
        return SGD(len(index), **{k: v[index] for k, v in self.hparams.items()})

    def init_state(self, params: Tensor, steps: int) -> SGDState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp = self.hparams
        momentum = hp["momentum"]
        nesterov = hp["nesterov"]
        copy_first = (hp["dampening"] != 0) | ~torch.isfinite(momentum)
        return SGDState(
            buf=torch.zeros_like(params) if bool((momentum != 0).any()) else None,
            copy_first=column(copy_first, params) if bool(copy_first.any()) else None,
            neg_lr=column(-hp["lr"], params),
            momentum=column(momentum, params),
            one_minus_dampening=column(1.0 - hp["dampening"], params),
            weight_decay=(
                column(hp["weight_decay"], params)
                if bool((hp["weight_decay"] != 0).any())
                else None
            ),
            nesterov=column(nesterov, params) if bool(nesterov.any()) else None,
            no_momentum=(
                column(momentum == 0, params)
                if bool((momentum == 0).any()) and bool((momentum != 0).any())
                else None
            ),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: SGDState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based).

        ``t``: an int, or a 0-dim int64 tensor on the parameters' device (never read on the host).

        Members where ``frozen`` (``[P, 1]`` bool) is set keep their parameters.
        """
        if state.weight_decay is not None:
            torch.addcmul(grad, params, state.weight_decay, out=grad)
        direction = grad
        buf = state.buf
        if buf is not None:
            # torch.optim starts the buffer as a copy of g; from zeros, μ·0 + 1·g is g itself
            # wherever τ = 0 and μ is finite, so only the other members need the copy.
            buf.mul_(state.momentum).addcmul_(grad, state.one_minus_dampening)
            if state.copy_first is not None:
                torch.where(state.copy_first & (t == 0), grad, buf, out=buf)
            direction = buf
            if state.nesterov is not None:
                ahead = torch.addcmul(grad, buf, state.momentum)
                direction = torch.where(state.nesterov, ahead, buf)
            if state.no_momentum is not None:
                direction = torch.where(state.no_momentum, grad, direction)
        if frozen is None:
            params.addcmul_(direction, state.neg_lr)
        else:
            moved = torch.addcmul(params, direction, state.neg_lr)
            torch.where(column(frozen, params), params, moved, out=params)

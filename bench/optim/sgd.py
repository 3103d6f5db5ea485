"""SGD with momentum, dampening, Nesterov and weight decay, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import NON_NEGATIVE, HParam, Range, column, column_unless

HPARAMS = (
    HParam("lr", 1e-3, "η", r"\eta", "learning rate", search=(1e-5, 10.0)),
    HParam("momentum", 0.0, "μ", r"\mu", "momentum factor", one_minus=True, search=(1e-3, 1.0)),
    HParam("dampening", 0.0, "τ", r"\tau", "dampening of the momentum", Range(0.0, 1.0), True),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "L2 penalty", NON_NEGATIVE),
    HParam("nesterov", False, "Nesterov", r"\mathrm{Nesterov}", "Nesterov momentum"),
)


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


class SGD(Rule):
    r"""SGD as ``torch.optim.SGD`` computes it, for a population of parameter vectors.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`,

    .. math::
        b_1 = g_1,\quad b_t = \mu b_{t-1} + (1-\tau) g_t,\quad
        d_t = g_t + \mu b_t \text{ (Nesterov) or } b_t,\quad
        \theta_t = \theta_{t-1} - \eta d_t

    and :math:`d_t = g_t` where :math:`\mu = 0`. Every hyperparameter holds one value per member.
    """

    name = "sgd"
    label = "SGD"
    reference = "torch.optim.SGD"
    HPARAMS = HPARAMS

    def check(self, hp: dict[str, Tensor]) -> None:
        """Nesterov needs momentum > 0 and no dampening, as torch.optim.SGD says."""
        bad = hp["nesterov"] & ((hp["momentum"] <= 0) | (hp["dampening"] != 0))
        if bool(bad.any()):
            i = int(bad.nonzero()[0])
            raise ValueError(
                f"Invalid nesterov: True with momentum={hp['momentum'][i].item()!r} and "
                f"dampening={hp['dampening'][i].item()!r}; "
                "allowed: nesterov only with momentum > 0 and dampening = 0"
            )

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
            weight_decay=column_unless(hp["weight_decay"], params, 0.0),
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

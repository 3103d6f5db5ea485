"""RMSProp: centred or not, with momentum and weight decay, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import HParam, column, column_unless

HPARAMS = (
    HParam("lr", 1e-2, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam(
        "alpha",
        0.99,
        "α",
        r"\alpha",
        "decay of the average of g²",
        one_minus=True,
        search=(1e-5, 1e-1),
    ),
    HParam("eps", 1e-8, "ε", r"\epsilon", "added to the denominator", search=(1e-10, 1.0)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "L2 penalty"),
    HParam("momentum", 0.0, "μ", r"\mu", "momentum factor", one_minus=True, search=(1e-3, 1.0)),
    HParam(
        "centered",
        False,
        "centered",
        r"\mathrm{centered}",
        "divide by an estimate of the variance of g instead of its second moment",
    ),
)


@dataclass
class RMSPropState:
    """Running averages, buffers and per-member factors, on the parameters' device."""

    square_avg: Tensor
    grad_avg: Tensor | None
    buf: Tensor | None
    scratch: Tensor
    alpha: Tensor
    one_minus_alpha: Tensor
    eps: Tensor
    weight_decay: Tensor | None
    momentum: Tensor
    neg_lr: Tensor
    #: Masks, present only where the population mixes both settings.
    centered: Tensor | None
    no_momentum: Tensor | None


class RMSProp(Rule):
    r"""RMSProp as ``torch.optim.RMSprop`` computes it, for a population of parameters.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`,

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad
        \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t,\quad
        d_t = \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered) or } \sqrt{v_t} + \epsilon,

    .. math::
        b_t = \mu b_{t-1} + g_t / d_t,\quad \theta_t = \theta_{t-1} - \eta b_t

    and :math:`\theta_t = \theta_{t-1} - \eta g_t / d_t` where :math:`\mu = 0` (Tieleman & Hinton
    2012; Graves 2013 for the centred form). Every hyperparameter holds one value per member.
    """

    name = "rmsprop"
    label = "RMSProp"
    reference = "torch.optim.RMSprop"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> RMSPropState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp = self.hparams
        centered, with_momentum = hp["centered"], hp["momentum"] > 0
        return RMSPropState(
            square_avg=torch.zeros_like(params),
            grad_avg=torch.zeros_like(params) if bool(centered.any()) else None,
            buf=torch.zeros_like(params) if bool(with_momentum.any()) else None,
            scratch=torch.empty_like(params),
            alpha=column(hp["alpha"], params),
            one_minus_alpha=column(1.0 - hp["alpha"], params),
            eps=column(hp["eps"], params),
            weight_decay=column_unless(hp["weight_decay"], params, 0.0),
            momentum=column(hp["momentum"], params),
            neg_lr=column(-hp["lr"], params),
            centered=column(centered, params) if _mixed(centered) else None,
            no_momentum=column(~with_momentum, params) if _mixed(with_momentum) else None,
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: RMSPropState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        if state.weight_decay is not None:
            torch.addcmul(grad, params, state.weight_decay, out=grad)
        # torch.optim: square_avg * α + ((1 - α) * g) * g; scratch holds (1 - α) * g.
        torch.mul(grad, state.one_minus_alpha, out=state.scratch)
        state.square_avg.mul_(state.alpha).addcmul_(grad, state.scratch)
        avg = torch.sqrt(state.square_avg, out=state.scratch)
        if state.grad_avg is not None:
            state.grad_avg.lerp_(grad, state.one_minus_alpha)
            centred = torch.addcmul(state.square_avg, state.grad_avg, state.grad_avg, value=-1)
            centred.sqrt_()
            avg = centred if state.centered is None else torch.where(state.centered, centred, avg)
        avg.add_(state.eps)
        buf = state.buf
        if buf is not None:
            buf.mul_(state.momentum).addcdiv_(grad, avg)
        if buf is None or state.no_momentum is not None:
            # addcdiv's value * g / avg, with -lr as the value.
            grad.mul_(state.neg_lr)
        if frozen is None and state.no_momentum is None:
            if buf is None:
                params.addcdiv_(grad, avg)
            else:
                params.addcmul_(buf, state.neg_lr)
            return
        if buf is None:
            moved = torch.addcdiv(params, grad, avg)
        else:
            moved = torch.addcmul(params, buf, state.neg_lr)
            if state.no_momentum is not None:
                moved = torch.where(state.no_momentum, torch.addcdiv(params, grad, avg), moved)
        if frozen is not None:
            moved = torch.where(column(frozen, params), params, moved)
        params.copy_(moved)


def _mixed(flags: Tensor) -> bool:
    """Whether some members set ``flags`` and others do not."""
    return bool(flags.any()) and not bool(flags.all())

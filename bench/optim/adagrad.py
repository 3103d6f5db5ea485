"""AdaGrad with learning-rate decay and weight decay, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import HParam, at_step, column, column_unless, step_table

HPARAMS = (
    HParam("lr", 1e-2, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam("lr_decay", 0.0, "η decay", r"\eta_{\mathrm{decay}}", "η / (1 + (t − 1)·decay)"),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "L2 penalty"),
    HParam(
        "initial_accumulator_value",
        0.0,
        "G₀",
        r"G_0",
        "starting value of the sum of g²",
    ),
    HParam("eps", 1e-10, "ε", r"\epsilon", "added to the denominator", search=(1e-10, 1.0)),
)


@dataclass
class AdagradState:
    """The sum of squared gradients and the per-member factors, on the parameters' device."""

    state_sum: Tensor
    scratch: Tensor
    eps: Tensor
    weight_decay: Tensor | None
    neg_lr: Tensor
    #: Per step and distinct lr_decay: 1 + (t − 1)·lr_decay, η's divisor.
    lr_divisor: Tensor
    lr_column: Tensor


def _lr_divisor(lr_decay: float, t: float) -> float:
    return 1 + (t - 1) * lr_decay


class Adagrad(Rule):
    r"""AdaGrad as ``torch.optim.Adagrad`` computes it, for a population of parameters.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` and :math:`G_0` the initial
    accumulator value,

    .. math::
        G_t = G_{t-1} + g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\eta}{1 + (t-1)\,\eta_{\mathrm{decay}}}\,
                   \frac{g_t}{\sqrt{G_t} + \epsilon}

    (Duchi, Hazan & Singer 2011, diagonal form). Every hyperparameter holds one value per member.
    """

    name = "adagrad"
    label = "AdaGrad"
    reference = "torch.optim.Adagrad"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> AdagradState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        divisor, index = step_table([hp["lr_decay"]], steps, _lr_divisor)
        initial = hp["initial_accumulator_value"].to(device=device, dtype=params.dtype)
        return AdagradState(
            state_sum=initial[:, None].expand_as(params).clone(),
            scratch=torch.empty_like(params),
            eps=column(hp["eps"], params),
            weight_decay=column_unless(hp["weight_decay"], params, 0.0),
            # The step size stays float64 until the last moment, as torch.optim's Python float.
            neg_lr=(-hp["lr"]).to(device),
            lr_divisor=divisor.to(device),
            lr_column=index.to(device),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: AdagradState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        if state.weight_decay is not None:
            torch.addcmul(grad, params, state.weight_decay, out=grad)
        state.state_sum.addcmul_(grad, grad)
        std = torch.sqrt(state.state_sum, out=state.scratch).add_(state.eps)
        neg_clr = state.neg_lr / at_step(state.lr_divisor, t, state.lr_column)
        # grad takes addcdiv's value * g, with -clr as the value.
        grad.mul_(column(neg_clr, params))
        if frozen is None:
            params.addcdiv_(grad, std)
        else:
            moved = torch.addcdiv(params, grad, std)
            torch.where(column(frozen, params), params, moved, out=params)

"""Adam (and AdamW): bias correction on or off, ε placed as torch or Keras, one set per member."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import UNIT, HParam, at_step, column, column_unless, step_table
from bench.optim.moments import update_moments

HPARAMS = (
    HParam("lr", 1e-3, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam("beta1", 0.9, "β₁", r"\beta_1", "decay of the first moment", UNIT, True, (1e-3, 1.0)),
    HParam(
        "beta2", 0.999, "β₂", r"\beta_2", "decay of the second moment", UNIT, True, (1e-5, 1e-1)
    ),
    HParam("eps", 1e-8, "ε", r"\epsilon", "added to the denominator", search=(1e-10, 1.0)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "weight decay (L2, or decoupled)"),
    HParam("amsgrad", False, "AMSGrad", r"\mathrm{AMSGrad}", "the maximum of past v"),
    HParam(
        "decoupled_weight_decay",
        False,
        "decoupled",
        r"\mathrm{decoupled}",
        "AdamW's decay θ ← (1 − ηλ)θ instead of L2",
    ),
    HParam(
        "bias_correction",
        True,
        "bias correction",
        r"\mathrm{bias\ correction}",
        "divide m by 1 − β₁ᵗ and v by 1 − β₂ᵗ (false: Kingma & Ba §6.4)",
    ),
    HParam(
        "eps_placement",
        "torch",
        "ε placement",
        r"\epsilon\ \mathrm{placement}",
        "torch: ε after the bias correction of √v; keras: before it",
        choices=("torch", "keras"),
    ),
)


@dataclass
class AdamState:
    """Moment estimates, scratch space and per-member factors, on the parameters' device."""

    exp_avg: Tensor
    exp_avg_sq: Tensor
    max_exp_avg_sq: Tensor | None
    scratch: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    one_minus_beta2: Tensor
    eps: Tensor
    l2: Tensor | None
    decay: Tensor | None
    amsgrad: Tensor | None
    neg_lr: Tensor
    #: Per step and distinct setting: 1 − β₁ᵗ, √(1 − β₂ᵗ) as √v's divisor, and Keras's
    #: √(1 − β₂ᵗ) / (1 − β₁ᵗ) step factor; 1 where a member does not apply it.
    bias_correction1: Tensor
    bias_column1: Tensor
    bias_correction2_sqrt: Tensor
    bias_column2: Tensor
    keras: Tensor | None
    keras_factor: Tensor | None
    keras_column: Tensor | None


def _bc1(beta1: float, corrected: float, t: float) -> float:
    return 1 - beta1**t if corrected else 1.0


def _bc2_sqrt(beta2: float, divides: float, t: float) -> float:
    return (1 - beta2**t) ** 0.5 if divides else 1.0


def _keras_factor(beta1: float, beta2: float, corrected: float, t: float) -> float:
    return (1 - beta2**t) ** 0.5 / (1 - beta1**t) if corrected else 1.0


class Adam(Rule):
    r"""Adam as ``torch.optim.Adam`` computes it, for a population of parameters.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` (L2) or
    :math:`\theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1}` first (decoupled, AdamW),

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
                   \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    where :math:`\hat v_t = v_t`, or :math:`\max_{s\le t} v_s` with AMSGrad. ``eps_placement=keras``
    adds ε before the correction, as ``keras.optimizers.Adam`` does:
    :math:`\theta_t = \theta_{t-1} - \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}
    \frac{m_t}{\sqrt{\hat v_t} + \epsilon}`. ``bias_correction=false`` drops both corrections
    (Kingma & Ba 2015, §6.4). Every hyperparameter holds one value per member.
    """

    name = "adam"
    label = "Adam"
    reference = "torch.optim.Adam"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> AdamState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        wd, decoupled = hp["weight_decay"], hp["decoupled_weight_decay"]
        l2 = torch.where(decoupled, 0.0, wd)
        decay = 1.0 - hp["lr"] * torch.where(decoupled, wd, 0.0)
        amsgrad, corrected = hp["amsgrad"], hp["bias_correction"]
        keras = hp["eps_placement"] == 1
        bc1, index1 = step_table([hp["beta1"], corrected], steps, _bc1)
        bc2_sqrt, index2 = step_table([hp["beta2"], corrected & ~keras], steps, _bc2_sqrt)
        any_keras = bool(keras.any())
        factor, index3 = (
            step_table([hp["beta1"], hp["beta2"], corrected], steps, _keras_factor)
            if any_keras
            else (None, None)
        )
        return AdamState(
            exp_avg=torch.zeros_like(params),
            exp_avg_sq=torch.zeros_like(params),
            max_exp_avg_sq=torch.zeros_like(params) if bool(amsgrad.any()) else None,
            scratch=torch.empty_like(params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            one_minus_beta2=column(1.0 - hp["beta2"], params),
            eps=column(hp["eps"], params),
            l2=column_unless(l2, params, 0.0),
            decay=column_unless(decay, params, 1.0),
            amsgrad=column(amsgrad, params) if not bool(amsgrad.all()) else None,
            # Step factors stay float64 until the last moment, as torch.optim's Python floats do.
            neg_lr=(-hp["lr"]).to(device),
            bias_correction1=bc1.to(device),
            bias_column1=index1.to(device),
            bias_correction2_sqrt=bc2_sqrt.to(device),
            bias_column2=index2.to(device),
            keras=keras.to(device) if any_keras else None,
            keras_factor=factor.to(device) if any_keras else None,
            keras_column=index3.to(device) if any_keras else None,
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: AdamState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based).

        ``t``: an int, or a 0-dim int64 tensor on the parameters' device (never read on the host).
        """
        if frozen is not None:
            frozen = column(frozen, params)
        update_moments(params, grad, state, frozen)
        exp_avg, exp_avg_sq, scratch = state.exp_avg, state.exp_avg_sq, state.scratch
        second = exp_avg_sq
        if state.max_exp_avg_sq is not None:
            torch.maximum(state.max_exp_avg_sq, exp_avg_sq, out=state.max_exp_avg_sq)
            second = state.max_exp_avg_sq
            if state.amsgrad is not None:
                second = torch.where(state.amsgrad, second, exp_avg_sq)
        denom = torch.sqrt(second, out=scratch)
        bc2_sqrt = at_step(state.bias_correction2_sqrt, t, state.bias_column2)
        denom.div_(column(bc2_sqrt, params)).add_(state.eps)
        neg_step_size = state.neg_lr / at_step(state.bias_correction1, t, state.bias_column1)
        if state.keras is not None:
            keras_step = state.neg_lr * at_step(state.keras_factor, t, state.keras_column)
            neg_step_size = torch.where(state.keras, keras_step, neg_step_size)
        # grad is free now: it takes the scaled numerator, as addcdiv's value * t1 / t2 orders it.
        torch.mul(exp_avg, column(neg_step_size, params), out=grad)
        if frozen is None:
            params.addcdiv_(grad, denom)
        else:
            torch.where(frozen, params, torch.addcdiv(params, grad, denom, out=grad), out=params)


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay, λ = 0.01 by default."""

    name = "adamw"
    label = "AdamW"
    reference = "torch.optim.AdamW"
    HPARAMS = tuple(
        replace(h, default={"weight_decay": 1e-2, "decoupled_weight_decay": True}[h.name])
        if h.name in ("weight_decay", "decoupled_weight_decay")
        else h
        for h in HPARAMS
    )

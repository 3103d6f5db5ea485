"""Adam with bias correction, AMSGrad, L2 and decoupled weight decay, one set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim._hparams import HParamValue, at_step, check_range, collect, column

DEFAULTS: dict[str, float | bool] = {
    "lr": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
    "amsgrad": False,
    "decoupled": False,
}


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
    bias_correction1: Tensor
    bias_column1: Tensor
    bias_correction2_sqrt: Tensor
    bias_column2: Tensor


def _bias_tables(beta: Tensor, steps: int, power: float = 1.0) -> tuple[Tensor, Tensor]:
    """``(1 - beta**t) ** power`` for t = 1..steps per distinct beta, in Python floats.

    torch's float64 ``pow`` differs from C's by an ulp in a few percent of cases (and its
    ``** 0.5`` from Python's), and chaotic runs amplify that, so the factors are computed exactly
    the way ``torch.optim.Adam`` does.
    Returns the table ``[steps, U]`` and each member's column in it.
    """
    unique, inverse = torch.unique(beta, return_inverse=True)
    table = [[(1 - b ** float(t)) ** power for b in unique.tolist()] for t in range(1, steps + 1)]
    return torch.tensor(table, dtype=torch.float64).reshape(steps, len(unique)), inverse


class Adam:
    r"""Adam (and AdamW) as ``torch.optim.Adam`` computes it, for a population of parameters.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` (L2) or
    :math:`\theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1}` first (decoupled),

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
                   \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    where :math:`\hat v_t = v_t`, or :math:`\max_{s\le t} v_s` with AMSGrad; ε is added after the
    square root. Every hyperparameter holds one value per member.
    """

    name = "adam"

    def __init__(self, size: int, **hparams: HParamValue) -> None:
        hp = collect(hparams, DEFAULTS, size)
        check_range("lr", hp["lr"], 0.0, float("inf"), high_open=False)
        check_range("beta1", hp["beta1"], 0.0, 1.0, high_open=True)
        check_range("beta2", hp["beta2"], 0.0, 1.0, high_open=True)
        check_range("eps", hp["eps"], 0.0, float("inf"), high_open=False)
        check_range("weight_decay", hp["weight_decay"], 0.0, float("inf"), high_open=False)
        self.size = size
        self.hparams = hp

    def subset(self, index: Tensor) -> Adam:
        """The rule for the members at ``index``."""
        return Adam(len(index), **{k: v[index] for k, v in self.hparams.items()})

    def init_state(self, params: Tensor, steps: int) -> AdamState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        wd, decoupled = hp["weight_decay"], hp["decoupled"]
        l2 = torch.where(decoupled, 0.0, wd)
        decay = 1.0 - hp["lr"] * torch.where(decoupled, wd, 0.0)
        amsgrad = hp["amsgrad"]
        bc1, index1 = _bias_tables(hp["beta1"], steps)
        bc2_sqrt, index2 = _bias_tables(hp["beta2"], steps, power=0.5)
        return AdamState(
            exp_avg=torch.zeros_like(params),
            exp_avg_sq=torch.zeros_like(params),
            max_exp_avg_sq=torch.zeros_like(params) if bool(amsgrad.any()) else None,
            scratch=torch.empty_like(params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            one_minus_beta2=column(1.0 - hp["beta2"], params),
            eps=column(hp["eps"], params),
            l2=column(l2, params) if bool((l2 != 0).any()) else None,
            decay=column(decay, params) if bool((decay != 1).any()) else None,
            amsgrad=column(amsgrad, params) if not bool(amsgrad.all()) else None,
            # Step factors stay float64 until the last moment, as torch.optim's Python floats do.
            neg_lr=(-hp["lr"]).to(device),
            bias_correction1=bc1.to(device),
            bias_column1=index1.to(device),
            bias_correction2_sqrt=bc2_sqrt.to(device),
            bias_column2=index2.to(device),
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

        Members where ``frozen`` (``[P, 1]`` bool) is set keep their parameters.
        """
        if frozen is not None:
            frozen = column(frozen, params)
        if state.decay is not None:
            decay = state.decay if frozen is None else state.decay.masked_fill(frozen, 1.0)
            params.mul_(decay)
        if state.l2 is not None:
            torch.addcmul(grad, params, state.l2, out=grad)
        exp_avg, exp_avg_sq, scratch = state.exp_avg, state.exp_avg_sq, state.scratch
        exp_avg.lerp_(grad, state.one_minus_beta1)
        # torch.optim: exp_avg_sq * β2 + ((1 - β2) * g) * g; scratch holds (1 - β2) * g.
        torch.mul(grad, state.one_minus_beta2, out=scratch)
        exp_avg_sq.mul_(state.beta2).addcmul_(grad, scratch)
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
        # grad is free now: it takes the scaled numerator, as addcdiv's value * t1 / t2 orders it.
        torch.mul(exp_avg, column(neg_step_size, params), out=grad)
        if frozen is None:
            params.addcdiv_(grad, denom)
        else:
            torch.where(frozen, params, torch.addcdiv(params, grad, denom, out=grad), out=params)

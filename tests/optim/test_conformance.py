"""Every update rule, every variant: a population equals its reference run alone per member.

The reference is ``torch.optim``'s single-tensor path where torch has the rule (bit-identical in
float32 and float64), and a plain one-tensor transcription of the paper otherwise (Lion; Adam
without bias correction or with Keras's ε). Adding a rule adds one entry to ``CASES``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

import pytest
import torch
from host_sync import NoHostSync
from torch import Tensor

from bench.engine import EngineConfig, run
from bench.optim import RULES, Rule, rule_class
from bench.tasks import make_task

#: (rule, its members' hyperparameters): four or more members that differ, booleans mixed.
CASES: list[tuple[str, list[dict]]] = [
    (
        "sgd",
        [
            {"lr": 1e-3},
            {"lr": 1e-3, "momentum": 0.9},
            {"lr": 1e-3, "momentum": 0.9, "dampening": 0.5, "weight_decay": 0.1},
            {"lr": 1e-3, "momentum": 0.8, "nesterov": True},
            {"lr": 5e-4, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
        ],
    ),
    (
        "adam",
        [
            {"lr": 1e-2},
            {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3, "amsgrad": True},
            {"lr": 1e-2, "weight_decay": 0.1},
            {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": True},
            {"lr": 5e-3, "beta1": 0.0, "beta2": 0.5, "eps": 0.0, "weight_decay": 0.01},
        ],
    ),
    (
        "adamw",
        [
            {"lr": 1e-2},
            {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True},
            {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.0},
            {"lr": 5e-3, "weight_decay": 1.0},
            {"lr": 1e-2, "weight_decay": 0.1, "decoupled_weight_decay": False},
            {"lr": 1e-2, "weight_decay": 0.1, "bias_correction": False},
            {"lr": 1e-2, "eps": 1e-1, "weight_decay": 0.1, "eps_placement": "keras"},
        ],
    ),
    # Kingma & Ba §6.4 beside Algorithm 1, and Keras's ε beside torch's.
    (
        "adam",
        [
            {"lr": 1e-2},
            {"lr": 1e-2, "bias_correction": False},
            {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3, "bias_correction": False},
            {"lr": 1e-2, "weight_decay": 0.1, "bias_correction": False},
        ],
    ),
    (
        "adam",
        [
            {"lr": 1e-2, "eps": 1e-1},
            {"lr": 1e-2, "eps": 1e-1, "eps_placement": "keras"},
            {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3, "eps_placement": "keras"},
            {"lr": 1e-2, "weight_decay": 0.1, "eps_placement": "keras"},
            {"lr": 1e-2, "eps_placement": "keras", "bias_correction": False},
        ],
    ),
    (
        "rmsprop",
        [
            {},
            {"centered": True},
            {"momentum": 0.9},
            {"lr": 1e-3, "alpha": 0.9, "eps": 1e-3, "momentum": 0.5, "centered": True},
            {"alpha": 0.5, "weight_decay": 0.1},
        ],
    ),
    (
        "adagrad",
        [
            {},
            {"lr_decay": 0.1},
            {"weight_decay": 0.1},
            {"initial_accumulator_value": 0.5, "eps": 1e-3},
            {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
        ],
    ),
    (
        "nadam",
        [
            {},
            {"momentum_decay": 0.1},
            {"weight_decay": 0.1},
            {"weight_decay": 0.1, "decoupled_weight_decay": True},
            {"lr": 1e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        ],
    ),
    (
        "radam",
        [
            {},
            # ρ∞ = 19: rectified from the 6th step; ρ∞ = 3 (β₂ = 0.5): never.
            {"lr": 3e-3, "beta2": 0.9},
            {"beta2": 0.5},
            {"weight_decay": 0.1},
            {"weight_decay": 0.1, "decoupled_weight_decay": True, "beta1": 0.5},
        ],
    ),
    (
        "adamax",
        [
            {},
            {"weight_decay": 0.1},
            {"beta1": 0.0, "beta2": 0.5},
            {"lr": 1e-2, "eps": 1e-3},
        ],
    ),
    (
        "lion",
        [
            {},
            {"weight_decay": 0.1},
            {"beta1": 0.5, "beta2": 0.9},
            {"lr": 1e-3, "beta1": 0.95, "beta2": 0.98, "weight_decay": 1.0},
        ],
    ),
]

IDS = [f"{rule}-{i}" for i, (rule, _) in enumerate(CASES)]

TORCH = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "adamax": torch.optim.Adamax,
}


class PaperAdam(torch.optim.Optimizer):
    """Adam as Kingma & Ba (2015) write it: Algorithm 1 in the form of its §2 note (ε added to
    √v before the correction, as Keras does) or §6.4 without bias correction; L2 weight decay, or
    decoupled as Loshchilov & Hutter (2019) write it."""

    def __init__(
        self,
        params: Iterable[Tensor],
        *,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
        decoupled_weight_decay: bool,
        bias_correction: bool,
    ) -> None:
        defaults = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "wd": weight_decay}
        flags = {"decoupled": decoupled_weight_decay, "bias_correction": bias_correction}
        super().__init__(params, {**defaults, **flags})

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter."""
        for group in self.param_groups:
            lr, b1, b2, eps = group["lr"], group["beta1"], group["beta2"], group["eps"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["t"] += 1
                if group["decoupled"]:
                    p *= 1 - lr * group["wd"]
                    g = p.grad
                else:
                    g = p.grad + group["wd"] * p
                t = state["t"]
                state["m"] = b1 * state["m"] + (1 - b1) * g
                state["v"] = b2 * state["v"] + (1 - b2) * g * g
                step = lr * math.sqrt(1 - b2**t) / (1 - b1**t) if group["bias_correction"] else lr
                p -= step * state["m"] / (state["v"].sqrt() + eps)


class PaperLion(torch.optim.Optimizer):
    """Lion as Chen et al. (2023, Algorithm 2) write it."""

    def __init__(
        self,
        params: Iterable[Tensor],
        *,
        lr: float,
        beta1: float,
        beta2: float,
        weight_decay: float,
    ) -> None:
        super().__init__(params, {"lr": lr, "beta1": beta1, "beta2": beta2, "wd": weight_decay})

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter."""
        for group in self.param_groups:
            lr, b1, b2, wd = group["lr"], group["beta1"], group["beta2"], group["wd"]
            for p in group["params"]:
                m = self.state[p].setdefault("m", torch.zeros_like(p))
                g = p.grad
                c = b1 * m + (1 - b1) * g
                p -= lr * (torch.sign(c) + wd * p)
                self.state[p]["m"] = b2 * m + (1 - b2) * g


def _full(rule: str, member: dict) -> dict:
    """A member's hyperparameters, defaults filled in."""
    return {h.name: member.get(h.name, h.default) for h in rule_class(rule).HPARAMS}


def _reference(rule: str, member: dict) -> tuple[Callable[[list[Tensor]], object], bool]:
    """A factory of the member's reference optimizer, and whether it is bit-identical to ours."""
    hp = _full(rule, member)
    if rule == "lion":
        return lambda p: PaperLion(p, **hp), True
    if rule in ("adam", "adamw"):
        corrected, keras = hp.pop("bias_correction"), hp.pop("eps_placement") == "keras"
        if keras or not corrected:
            assert not hp.pop("amsgrad"), "not in the paper"
            plain = {k: hp[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay")}
            plain["decoupled_weight_decay"] = hp["decoupled_weight_decay"]
            return lambda p: PaperAdam(p, **plain, bias_correction=corrected), False
    if "beta1" in hp:
        hp["betas"] = (hp.pop("beta1"), hp.pop("beta2"))
    if rule == "adamw" and not hp.pop("decoupled_weight_decay"):
        rule = "adam"  # AdamW without its decoupled decay is Adam
    return lambda p: TORCH[rule](p, foreach=False, **hp), True


def _population(rule: str, members: list[dict]) -> Rule:
    full = [_full(rule, m) for m in members]
    return rule_class(rule)(len(members), **{k: [m[k] for m in full] for k in full[0]})


def test_every_rule_and_every_setting_of_its_flags_has_a_case() -> None:
    assert {rule for rule, _ in CASES} == set(RULES)
    for name, cls in RULES.items():
        members = [_full(name, m) for rule, ms in CASES if rule == name for m in ms]
        for h in cls.HPARAMS:
            values = h.choices or ((False, True) if h.kind is bool else ())
            missing = set(values) - {m[h.name] for m in members}
            assert not missing, f"{name}: no case with {h.name} = {missing}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [2, 100])
@pytest.mark.parametrize(("rule", "members"), CASES, ids=IDS)
def test_population_equals_each_member_run_alone_by_its_reference(
    rule: str, members: list[dict], dtype: torch.dtype, dim: int
) -> None:
    gen = torch.Generator().manual_seed(0)
    steps, size = 25, len(members)
    x0 = torch.randn(size, dim, generator=gen, dtype=dtype)
    grads = torch.randn(steps, size, dim, generator=gen, dtype=dtype)
    population = _population(rule, members)
    x, state = x0.clone(), population.init_state(x0, steps)
    for t in range(steps):
        # The step as a 0-dim device tensor, as the engine may pass it.
        population.step(x, grads[t].clone(), state, torch.tensor(t))
    for i, member in enumerate(members):
        make, exact = _reference(rule, member)
        p = torch.nn.Parameter(x0[i].clone())
        optimizer = make([p])
        for t in range(steps):
            p.grad = grads[t, i].clone()
            optimizer.step()
        if exact:
            assert torch.equal(x[i], p.detach()), f"member {i}: {member}"
        else:
            # A different order of operations: rounding apart (parameters are of order 1).
            rtol, atol = (1e-12, 1e-14) if dtype == torch.float64 else (1e-5, 5e-6)
            torch.testing.assert_close(
                x[i], p.detach(), rtol=rtol, atol=atol, msg=lambda m, i=i: f"member {i}: {m}"
            )


@pytest.mark.parametrize(("rule", "members"), CASES, ids=IDS)
def test_frozen_members_keep_their_parameters_and_disturb_no_other(
    rule: str, members: list[dict]
) -> None:
    gen = torch.Generator().manual_seed(1)
    steps, size = 8, len(members)
    x0 = torch.randn(size, 3, generator=gen, dtype=torch.float64)
    grads = torch.randn(steps, size, 3, generator=gen, dtype=torch.float64)
    frozen = (torch.arange(size) % 2 == 0)[:, None]
    population = _population(rule, members)
    free, free_state = x0.clone(), population.init_state(x0, steps)
    held, held_state = x0.clone(), population.init_state(x0, steps)
    for t in range(steps):
        population.step(free, grads[t].clone(), free_state, t)
        population.step(held, grads[t].clone(), held_state, t, frozen=frozen)
    assert torch.equal(held[frozen[:, 0]], x0[frozen[:, 0]])
    assert torch.equal(held[~frozen[:, 0]], free[~frozen[:, 0]])
    assert not torch.equal(free[frozen[:, 0]], x0[frozen[:, 0]])


@pytest.mark.parametrize(
    ("rule", "members"),
    [pytest.param(r, m, id=i) for (r, m), i in zip(CASES, IDS, strict=True)],
)
def test_a_step_never_synchronises_with_the_host(rule: str, members: list[dict]) -> None:
    # On a GPU a host read waits for the device; the engine passes t as a 0-dim tensor.
    size = len(members)
    x = torch.randn(size, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    population = _population(rule, members)
    state = population.init_state(x, 4)
    frozen = torch.zeros(size, 1, dtype=torch.bool)
    steps = [torch.tensor(t) for t in range(4)]
    grad = torch.ones_like(x)
    with NoHostSync():
        for t in steps:
            population.step(x, grad.clone(), state, t, frozen=frozen)


@pytest.mark.parametrize(("rule", "members"), CASES, ids=IDS)
def test_engine_trajectories_equal_the_reference_on_rosenbrock(
    rule: str, members: list[dict], torch_optim_run
) -> None:
    task = make_task("rosenbrock", dim=4, dtype=torch.float64)
    steps = 100
    seeds = torch.arange(len(members)) % 3
    # The task's own gradient, as sweeps run: autograd's differs by rounding alone.
    config = EngineConfig(steps=steps, n_records=steps + 1, grad="task")
    result = run(task, _population(rule, members), seeds, config)
    assert not result.diverged.any()
    for i, member in enumerate(members):
        make, _ = _reference(rule, member)
        losses, params = torch_optim_run(task, make, int(seeds[i]), steps)
        torch.testing.assert_close(result.curves[i], losses, rtol=1e-9, atol=0)
        torch.testing.assert_close(result.final_params[i], params, rtol=1e-9, atol=1e-300)


def _outside(h) -> float | None:
    """A value just outside a declared range, or None where the range is unbounded."""
    if h.kind is not float:
        return None
    if h.valid.high != math.inf:
        return h.valid.high + (0.0 if h.valid.high_open else 0.5)
    return h.valid.low - (0.0 if h.valid.low_open else 0.5)


@pytest.mark.parametrize(
    ("rule", "name"),
    [(r, h.name) for r, cls in RULES.items() for h in cls.HPARAMS if _outside(h) is not None],
)
def test_a_value_outside_its_declared_range_is_refused_naming_it(rule: str, name: str) -> None:
    value = _outside(rule_class(rule).declared(name))
    with pytest.raises(ValueError, match=re.escape(f"Invalid {name}: {value!r}")):
        rule_class(rule)(1, **{name: value})

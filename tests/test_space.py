"""The search space: parsing, refusals with one clear line, and the mapping to the rules."""

from __future__ import annotations

import math

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from bench.config import ConfigError
from bench.optim import RULES, make_rule
from bench.sweep.space import ParamSpec, distributions, grid, hyperparameters, parse_space

ADAM_YAML = """
lr: {distribution: log, low: 1.0e-5, high: 1.0}
one_minus_beta1: {distribution: log, low: 1.0e-3, high: 1.0}
one_minus_beta2: {distribution: log, low: 1.0e-5, high: 1.0e-1}
eps: {distribution: log, low: 1.0e-10, high: 1.0}
amsgrad: {distribution: categorical, choices: [false, true]}
weight_decay: {distribution: fixed, value: 0.0}
"""

ADAM_SPACE = {
    "lr": {"distribution": "log", "low": 1e-5, "high": 1.0},
    "one_minus_beta1": {"distribution": "log", "low": 1e-3, "high": 1.0},
    "one_minus_beta2": {"distribution": "log", "low": 1e-5, "high": 1e-1},
    "eps": {"distribution": "log", "low": 1e-10, "high": 1.0},
    "amsgrad": {"distribution": "categorical", "choices": [False, True]},
    "weight_decay": {"distribution": "fixed", "value": 0.0},
}

SGD_SPACE = {
    "lr": {"distribution": "log", "low": 1e-5, "high": 10.0},
    "one_minus_momentum": {"distribution": "log", "low": 1e-3, "high": 1.0},
}

LR = {"distribution": "log", "low": 1e-3, "high": 1.0}


def test_adam_space_parses_to_its_distributions() -> None:
    specs = parse_space(ADAM_SPACE, "adam")
    assert [(s.name, s.target) for s in specs] == [
        ("lr", "lr"),
        ("one_minus_beta1", "beta1"),
        ("one_minus_beta2", "beta2"),
        ("eps", "eps"),
        ("amsgrad", "amsgrad"),
        ("weight_decay", "weight_decay"),
    ]
    assert distributions(specs) == {
        "lr": FloatDistribution(1e-5, 1.0, log=True),
        "one_minus_beta1": FloatDistribution(1e-3, 1.0, log=True),
        "one_minus_beta2": FloatDistribution(1e-5, 1e-1, log=True),
        "eps": FloatDistribution(1e-10, 1.0, log=True),
        "amsgrad": CategoricalDistribution((False, True)),
    }
    assert specs[-1].optuna_distribution() is None


def test_sgd_space_parses_to_its_distributions() -> None:
    specs = parse_space(SGD_SPACE, "sgd")
    assert [(s.name, s.target) for s in specs] == [
        ("lr", "lr"),
        ("one_minus_momentum", "momentum"),
    ]
    assert distributions(specs) == {
        "lr": FloatDistribution(1e-5, 10.0, log=True),
        "one_minus_momentum": FloatDistribution(1e-3, 1.0, log=True),
    }
    hp = hyperparameters(specs, {"lr": 0.1, "one_minus_momentum": 0.1})
    assert hp == {"lr": 0.1, "momentum": pytest.approx(0.9, abs=1e-15)}


def test_a_dictconfig_parses_as_its_plain_mapping() -> None:
    assert parse_space(OmegaConf.create(ADAM_YAML), "adam") == parse_space(ADAM_SPACE, "adam")


def test_other_distributions() -> None:
    space = {
        "lr": {"distribution": "uniform", "low": 0.0, "high": 0.5, "grid": [0.1, 0.2]},
        "weight_decay": {"distribution": "int", "low": 1, "high": 100, "log": True},
        "eps": {"distribution": "int", "low": 0.0, "high": 3.0},
        "one_minus_beta1": {"distribution": "categorical", "choices": [0.1, 0.01]},
    }
    specs = parse_space(space, "adam")
    assert distributions(specs) == {
        "lr": FloatDistribution(0.0, 0.5),
        "weight_decay": IntDistribution(1, 100, log=True),
        "eps": IntDistribution(0, 3),
        "one_minus_beta1": CategoricalDistribution((0.1, 0.01)),
    }
    assert specs[0].grid == (0.1, 0.2)
    assert specs[2].low == 0 and isinstance(specs[2].low, int)


def test_one_minus_round_trip() -> None:
    (spec,) = parse_space(
        {"one_minus_beta2": {"distribution": "log", "low": 1e-5, "high": 1.0}}, "adam"
    )
    for beta in (0.0, 0.5, 0.9, 0.99, 0.999, 0.99999):
        assert spec.to_hyperparameter(1.0 - beta) == pytest.approx(beta, rel=1e-12, abs=1e-15)
    assert spec.to_hyperparameter(1.0) == 0.0
    assert ParamSpec("beta1", "beta1", "uniform", 0.0, 0.5).to_hyperparameter(0.3) == 0.3


def test_hyperparameters_apply_one_minus_and_include_fixed_values() -> None:
    space = {**ADAM_SPACE, "weight_decay": {"distribution": "fixed", "value": 0.01}}
    space["one_minus_beta1"] = {"distribution": "fixed", "value": 0.25}
    specs = parse_space(space, "adam")
    params = {"lr": 0.01, "one_minus_beta2": 0.001, "eps": 1e-8, "amsgrad": True}
    assert hyperparameters(specs, params) == {
        "lr": 0.01,
        "beta1": 0.75,
        "beta2": pytest.approx(0.999, abs=1e-15),
        "eps": 1e-8,
        "amsgrad": True,
        "weight_decay": 0.01,
    }
    with pytest.raises(ValueError, match="missing \\['eps'\\]"):
        hyperparameters(specs, {k: v for k, v in params.items() if k != "eps"})
    with pytest.raises(ValueError, match="unknown \\['beta3'\\]"):
        hyperparameters(specs, {**params, "beta3": 0.5})


# (optimizer, space, the key path the message names, a fragment of what it says)
REFUSALS = [
    ("adam", {"beta3": LR}, "sweep.space.beta3", "allowed: lr, beta1, one_minus_beta1"),
    ("sgd", {"beta1": LR}, "sweep.space.beta1", "allowed: lr, momentum, one_minus_momentum"),
    ("sgd", {"one_minus_lr": LR}, "sweep.space.one_minus_lr", "unknown hyperparameter"),
    (
        "adam",
        {"beta1": {"distribution": "uniform", "low": 0.0, "high": 0.5}, "one_minus_beta1": LR},
        "sweep.space.one_minus_beta1",
        "allowed: one of beta1, one_minus_beta1",
    ),
    ("adam", {"lr": {"distribution": "normal", "low": 0.1}}, "sweep.space.lr", "allowed: log,"),
    ("adam", {"lr": {"low": 0.1, "high": 1.0}}, "sweep.space.lr", "missing key 'distribution'"),
    ("adam", {"lr": {"distribution": "log", "low": 0.1}}, "sweep.space.lr", "missing key 'high'"),
    ("adam", {"amsgrad": {"distribution": "categorical"}}, "sweep.space.amsgrad", "'choices'"),
    ("adam", {"lr": {"distribution": "fixed"}}, "sweep.space.lr", "missing key 'value'"),
    (
        "adam",
        {"lr": {"distribution": "log", "low": 0.1, "hgih": 1.0}},
        "sweep.space.lr",
        "unknown key 'hgih'",
    ),
    ("adam", {"lr": 0.1}, "sweep.space.lr", "is not a mapping"),
    (
        "adam",
        {"lr": {"distribution": "log", "low": 1.0, "high": 0.1}},
        "sweep.space.lr",
        "low=1.0 > high=0.1; allowed: low <= high",
    ),
    (
        "adam",
        {"lr": {"distribution": "log", "low": 0.0, "high": 0.1}},
        "sweep.space.lr",
        "allowed: low > 0",
    ),
    (
        "adam",
        {"weight_decay": {"distribution": "int", "low": 0, "high": 4, "log": True}},
        "sweep.space.weight_decay",
        "allowed: low > 0",
    ),
    (
        "adam",
        {"beta1": {"distribution": "uniform", "low": 0.5, "high": 1.0}},
        "sweep.space.beta1",
        "high=1.0 is out of range; allowed: 0 <= beta1 < 1",
    ),
    (
        "adam",
        {"beta2": {"distribution": "uniform", "low": -0.1, "high": 0.5}},
        "sweep.space.beta2",
        "low=-0.1 is out of range",
    ),
    (
        "adam",
        {"one_minus_beta1": {"distribution": "uniform", "low": 0.0, "high": 0.5}},
        "sweep.space.one_minus_beta1",
        "allowed: 0 < one_minus_beta1 <= 1, i.e. 0 <= beta1 < 1",
    ),
    (
        "adam",
        {"one_minus_beta2": {"distribution": "log", "low": 0.1, "high": 2.0}},
        "sweep.space.one_minus_beta2",
        "high=2.0 is out of range",
    ),
    (
        "sgd",
        {"one_minus_momentum": {"distribution": "uniform", "low": 0.5, "high": 1.5}},
        "sweep.space.one_minus_momentum",
        "allowed: one_minus_momentum <= 1, i.e. momentum >= 0",
    ),
    (
        "adam",
        {"lr": {"distribution": "uniform", "low": -1.0, "high": 1.0}},
        "sweep.space.lr",
        "allowed: lr >= 0",
    ),
    (
        "adam",
        {"eps": {"distribution": "uniform", "low": -1e-8, "high": 1e-8}},
        "sweep.space.eps",
        "allowed: eps >= 0",
    ),
    (
        "sgd",
        {"weight_decay": {"distribution": "uniform", "low": -0.1, "high": 0.1}},
        "sweep.space.weight_decay",
        "allowed: weight_decay >= 0",
    ),
    (
        "sgd",
        {"momentum": {"distribution": "uniform", "low": -0.5, "high": 0.9}},
        "sweep.space.momentum",
        "allowed: momentum >= 0",
    ),
    (
        "sgd",
        {"dampening": {"distribution": "uniform", "low": 0.0, "high": 1.5}},
        "sweep.space.dampening",
        "allowed: 0 <= dampening <= 1",
    ),
    (
        "adam",
        {"amsgrad": {"distribution": "categorical", "choices": []}},
        "sweep.space.amsgrad",
        "allowed: a non-empty list",
    ),
    (
        "adam",
        {"lr": {"distribution": "categorical", "choices": [0.1, 0.1]}},
        "sweep.space.lr",
        "allowed: distinct values",
    ),
    (
        "adam",
        {"lr": {"distribution": "categorical", "choices": [0.1, -1.0]}},
        "sweep.space.lr",
        "choices[1]=-1.0 is out of range",
    ),
    (
        "adam",
        {"amsgrad": {"distribution": "categorical", "choices": [0, 1]}},
        "sweep.space.amsgrad",
        "allowed: true, false",
    ),
    ("adam", {"amsgrad": {"distribution": "uniform", "low": 0, "high": 1}}, "sweep.space", ""),
    (
        "adam",
        {"lr": LR, "beta1": {"distribution": "fixed", "value": 1.0}},
        "sweep.space.beta1",
        "value=1.0 is out of range; allowed: 0 <= beta1 < 1",
    ),
    (
        "adam",
        {"lr": LR, "one_minus_beta2": {"distribution": "fixed", "value": 0.0}},
        "sweep.space.one_minus_beta2",
        "value=0.0 is out of range",
    ),
    (
        "adam",
        {"lr": LR, "weight_decay": {"distribution": "fixed", "value": -0.1}},
        "sweep.space.weight_decay",
        "value=-0.1 is out of range",
    ),
    (
        "adam",
        {"lr": LR, "amsgrad": {"distribution": "fixed", "value": "yes"}},
        "sweep.space.amsgrad",
        "is not a boolean",
    ),
    (
        "adam",
        {"weight_decay": {"distribution": "int", "low": 0.5, "high": 4}},
        "sweep.space.weight_decay",
        "low=0.5 is not an integer",
    ),
    (
        "adam",
        {"weight_decay": {"distribution": "int", "low": 0, "high": 4.5}},
        "sweep.space.weight_decay",
        "high=4.5 is not an integer",
    ),
    (
        "adam",
        {"lr": {"distribution": "log", "low": "small", "high": 1.0}},
        "sweep.space.lr",
        "is not a number",
    ),
    (
        "adam",
        {"lr": {"distribution": "log", "low": 1e-3, "high": math.inf}},
        "sweep.space.lr",
        "allowed: a finite number",
    ),
    (
        "adam",
        {"lr": {**LR, "grid": [1e-3, 10.0]}},
        "sweep.space.lr",
        "grid[1]=10.0 is outside the range",
    ),
    (
        "adam",
        {"amsgrad": {"distribution": "categorical", "choices": [False], "grid": [True]}},
        "sweep.space.amsgrad",
        "grid[0]=True is not a choice",
    ),
    ("adam", {"lr": {**LR, "grid": []}}, "sweep.space.lr", "allowed: a non-empty list"),
    (
        "adam",
        {"lr": LR, "eps": {"distribution": "fixed", "value": 1e-8, "grid": [1e-8]}},
        "sweep.space.eps",
        "unknown key 'grid'",
    ),
    ("adam", {}, "sweep.space", "is empty"),
    ("adam", [LR], "sweep.space", "allowed: a mapping"),
    (
        "adam",
        {"lr": {"distribution": "fixed", "value": 1e-3}},
        "sweep.space",
        "nothing is searched",
    ),
    (
        "sgd",
        {
            "nesterov": {"distribution": "categorical", "choices": [False, True]},
            "momentum": {"distribution": "uniform", "low": 0.0, "high": 0.9},
        },
        "sweep.space.momentum",
        "nesterov may be true",
    ),
    (
        "sgd",
        {
            "nesterov": {"distribution": "fixed", "value": True},
            "one_minus_momentum": {"distribution": "log", "low": 1e-3, "high": 0.5},
            "dampening": {"distribution": "uniform", "low": 0.0, "high": 0.5},
        },
        "sweep.space.dampening",
        "nesterov may be true",
    ),
    ("no_such_rule", {"lr": LR}, "optimizer", "allowed: " + ", ".join(sorted(RULES))),
]


@pytest.mark.parametrize(("optimizer", "space", "path", "says"), REFUSALS)
def test_bad_space_is_refused_with_one_line_naming_the_key(
    optimizer: str, space: dict, path: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_space(space, optimizer)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(path)
    assert "allowed" in message
    assert says in message


def test_nesterov_is_accepted_with_positive_momentum_and_no_dampening() -> None:
    space = {
        "nesterov": {"distribution": "categorical", "choices": [False, True]},
        "one_minus_momentum": {"distribution": "log", "low": 1e-3, "high": 0.5},
        "dampening": {"distribution": "fixed", "value": 0.0},
    }
    assert len(parse_space(space, "sgd")) == 3


@pytest.mark.parametrize(
    ("optimizer", "target"),
    [(name, h.name) for name, rule in RULES.items() for h in rule.HPARAMS if h.kind is float],
)
def test_fixed_values_accepted_exactly_where_the_rule_accepts_them(
    optimizer: str, target: str
) -> None:
    declared = RULES[optimizer].declared(target)
    names = [target, declared.search_name] if declared.one_minus else [target]
    other = next(h.name for h in RULES[optimizer].HPARAMS if h.kind is float and h.name != target)
    searched = {other: {"distribution": "log", "low": 1e-4, "high": 1e-2}}
    for name in names:
        for x in (-1.0, -1e-9, 0.0, 0.5, 1.0 - 1e-9, 1.0, 1.0 + 1e-9, 10.0):
            value = 1.0 - x if name != target else x
            try:
                make_rule(optimizer, 1, **{target: value})
                accepted = True
            except ValueError:
                accepted = False
            space = {**searched, name: {"distribution": "fixed", "value": x}}
            if accepted:
                parse_space(space, optimizer)
            else:
                with pytest.raises(ConfigError, match=f"sweep.space.{name}: value="):
                    parse_space(space, optimizer)


def test_grid_values() -> None:
    space = {
        "lr": {"distribution": "log", "low": 1e-4, "high": 1.0},
        "one_minus_beta1": {"distribution": "log", "low": 1e-3, "high": 1.0, "grid": [0.1, 0.01]},
        "beta2": {"distribution": "uniform", "low": 0.0, "high": 0.5},
        "weight_decay": {"distribution": "int", "low": 0, "high": 2},
        "eps": {"distribution": "uniform", "low": 1e-8, "high": 1e-8},
        "amsgrad": {"distribution": "categorical", "choices": [False, True]},
        "decoupled_weight_decay": {"distribution": "fixed", "value": True},
    }
    assert grid(parse_space(space, "adam"), 5) == {
        "lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
        "one_minus_beta1": [0.1, 0.01],
        "beta2": [0.0, 0.125, 0.25, 0.375, 0.5],
        "weight_decay": [0, 1, 2],
        "eps": [1e-8],
        "amsgrad": [False, True],
    }


@pytest.mark.parametrize("points", [0, 1, 2.5, True])
def test_grid_needs_two_points_per_range(points: object) -> None:
    with pytest.raises(ConfigError, match="^sweep.grid_points="):
        grid(parse_space(SGD_SPACE, "sgd"), points)


def test_random_trials_map_into_the_rule_range() -> None:
    specs = parse_space(ADAM_SPACE, "adam")

    def draws(seed: int) -> list[dict]:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        out = []
        for _ in range(200):
            trial = study.ask(distributions(specs))
            out.append(hyperparameters(specs, trial.params))
            study.tell(trial, 0.0)
        return out

    hps = draws(0)
    for hp in hps:
        assert 0.0 <= hp["beta1"] < 1.0 and 0.0 <= hp["beta2"] < 1.0
        assert hp["lr"] > 0 and hp["eps"] > 0 and hp["weight_decay"] == 0.0
    # The rule itself accepts the whole population.
    make_rule("adam", len(hps), **{k: [hp[k] for hp in hps] for k in hps[0]})
    assert draws(0) == hps
    assert draws(1) != hps

"""A sweep's search space: parsed from the config, validated, and mapped to Optuna and the rule.

Each entry of ``sweep.space`` names a hyperparameter of the optimizer, or ``one_minus_<h>`` for a
decay rate h the rule declares ``one_minus`` (β₁, β₂, momentum, α, …): that samples 1 - h, the
parametrisation of Choi et al. (2019) and AlgoPerf, so that a log scale resolves β close to 1.
The optimizer gets h = 1 - value. A sweep file starts from its rule's declared default space
(``_<rule>@sweep`` in its defaults list); a null entry drops one of those.

.. code-block:: yaml

    space:
      lr: {distribution: log, low: 1.0e-5, high: 1.0}
      one_minus_beta1: {distribution: log, low: 1.0e-3, high: 1.0, grid: [0.1, 0.01]}
      amsgrad: {distribution: categorical, choices: [false, true]}
      weight_decay: {distribution: fixed, value: 0.0}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from bench.config import ConfigError
from bench.optim import RULES, HParam, Range, rule_class

__all__ = [
    "DISTRIBUTIONS",
    "ParamSpec",
    "distributions",
    "grid",
    "hyperparameters",
    "parse_space",
]

SPACE_KEY = "sweep.space"

#: Each distribution's required keys and optional keys (besides ``distribution``).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "log": (("low", "high"), ("grid",)),
    "uniform": (("low", "high"), ("grid",)),
    "int": (("low", "high"), ("log", "grid")),
    "categorical": (("choices",), ("grid",)),
    "fixed": (("value",), ()),
}


@dataclass(frozen=True)
class ParamSpec:
    """One entry of the search space: an Optuna parameter (or a fixed value) and what it sets."""

    # The Optuna parameter name, e.g. "one_minus_beta1".
    name: str
    # The optimizer keyword it sets, e.g. "beta1".
    target: str
    distribution: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    # The fixed value, in the parameter's own terms (1 - h for one_minus).
    value: Any = None
    # Values for the grid sampler; None: evenly spaced points, or the choices.
    grid: tuple[Any, ...] | None = None

    @property
    def one_minus(self) -> bool:
        """Whether the parameter is 1 - target."""
        return self.name != self.target

    def optuna_distribution(self) -> BaseDistribution | None:
        """The Optuna distribution to sample from; None for a fixed value."""
        if self.distribution in ("log", "uniform"):
            return FloatDistribution(self.low, self.high, log=self.log)
        if self.distribution == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        if self.distribution == "categorical":
            return CategoricalDistribution(self.choices)
        return None

    def to_hyperparameter(self, value: Any) -> Any:
        """The optimizer's value for a parameter value: 1 - value for one_minus."""
        if isinstance(value, (bool, str)):
            return value
        value = float(value)
        return 1.0 - value if self.one_minus else value


def parse_space(space: Mapping[str, Any], optimizer: str) -> list[ParamSpec]:
    """Validate the effective space for ``optimizer``; refuse bad input in one ConfigError line."""
    declared = _declared(optimizer)
    names = _allowed_names(declared)
    space = _plain(space)
    if not isinstance(space, Mapping):
        raise ConfigError(
            f"{SPACE_KEY}: {type(space).__name__} given; "
            "allowed: a mapping from hyperparameter to its spec"
        )
    # A null entry drops one of the rule's default entries (e.g. to search beta1 itself).
    space = {name: entry for name, entry in space.items() if entry is not None}
    # A sweep that samples nothing would repeat one configuration n_trials times.
    if not space:
        raise ConfigError(
            f"{SPACE_KEY} is empty; allowed: at least one of {', '.join(names)} for {optimizer}"
        )
    specs: list[ParamSpec] = []
    set_by: dict[str, str] = {}
    for name, entry in space.items():
        path = f"{SPACE_KEY}.{name}"
        if name not in names:
            raise ConfigError(
                f"{path}: unknown hyperparameter of {optimizer}; allowed: {', '.join(names)}"
            )
        target = names[name]
        if target in set_by:
            raise ConfigError(
                f"{path}: sets {target}, as {SPACE_KEY}.{set_by[target]} does; "
                f"allowed: one of {set_by[target]}, {name}"
            )
        set_by[target] = name
        specs.append(_parse_entry(path, name, declared[target], entry))
    if all(spec.distribution == "fixed" for spec in specs):
        raise ConfigError(
            f"{SPACE_KEY}: every entry is fixed, so nothing is searched; "
            "allowed: at least one log, uniform, int or categorical entry"
        )
    _check_nesterov(specs)
    return specs


def distributions(specs: Sequence[ParamSpec]) -> dict[str, BaseDistribution]:
    """The Optuna distributions of the searched parameters (fixed entries left out)."""
    out = {}
    for spec in specs:
        dist = spec.optuna_distribution()
        if dist is not None:
            out[spec.name] = dist
    return out


def hyperparameters(specs: Sequence[ParamSpec], params: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer's keyword arguments for a trial's ``params``, fixed values included."""
    searched = {spec.name for spec in specs if spec.distribution != "fixed"}
    missing = sorted(searched - set(params))
    extra = sorted(set(params) - searched)
    if missing or extra:
        raise ValueError(f"Trial params do not match the space: missing {missing}, unknown {extra}")
    return {
        spec.target: spec.to_hyperparameter(
            spec.value if spec.distribution == "fixed" else params[spec.name]
        )
        for spec in specs
    }


def grid(specs: Sequence[ParamSpec], points: int) -> dict[str, list[Any]]:
    """Grid values per searched parameter: its ``grid``, else ``points`` evenly spaced values.

    Log scales are spaced geometrically, int values rounded and deduplicated, categorical
    parameters take every choice.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ConfigError(f"sweep.grid_points={points!r} is invalid; allowed: an integer >= 2")
    out: dict[str, list[Any]] = {}
    for spec in specs:
        if spec.distribution == "fixed":
            continue
        if spec.grid is not None:
            values = list(spec.grid)
        elif spec.distribution == "categorical":
            values = list(spec.choices)
        else:
            spaced = (np.geomspace if spec.log else np.linspace)(spec.low, spec.high, points)
            if spec.distribution == "int":
                values = [int(round(v)) for v in spaced]
            else:
                # 12 significant digits read 1e-06, not 9.999999999999999e-07, in the results.
                values = [min(max(float(f"{v:.12g}"), spec.low), spec.high) for v in spaced]
        # A range with low == high, or an int range narrower than `points`, repeats values.
        out[spec.name] = list(dict.fromkeys(values))
    return out


def _plain(obj: Any) -> Any:
    """Plain containers from OmegaConf ones."""
    if isinstance(obj, (DictConfig, ListConfig)):
        return OmegaConf.to_container(obj, resolve=True)
    return obj


def _declared(optimizer: str) -> dict[str, HParam]:
    """The rule's declared hyperparameters by name; a one-line refusal for an unknown rule."""
    try:
        return {h.name: h for h in rule_class(optimizer).HPARAMS}
    except ValueError:
        raise ConfigError(
            f"optimizer={optimizer!r} is unknown; allowed: {', '.join(sorted(RULES))}"
        ) from None


def _allowed_names(declared: Mapping[str, HParam]) -> dict[str, str]:
    """Allowed entry names of an optimizer's space, each mapped to the keyword it sets."""
    names = {}
    for target, h in declared.items():
        names[target] = target
        if h.one_minus:
            names[h.search_name] = target
    return names


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _allowed(name: str, target: HParam) -> tuple[Range, str]:
    """The range of the parameter ``name`` and how to say it."""
    target_range = target.valid
    if name == target.name:
        return target_range, target_range.describe(target.name)
    own = target_range.one_minus()
    return own, f"{own.describe(name)}, i.e. {target_range.describe(target.name)}"


def _check_value(path: str, label: str, x: Any, name: str, target: HParam) -> Any:
    """Refuse a choice, fixed value or range end the optimizer does not accept."""
    if target.kind is bool:
        if not isinstance(x, bool):
            raise ConfigError(f"{path}: {label}={x!r} is not a boolean; allowed: true, false")
        return x
    if target.choices is not None:
        if x not in target.choices:
            raise ConfigError(
                f"{path}: {label}={x!r} is not an option; allowed: {', '.join(target.choices)}"
            )
        return x
    if not _is_number(x):
        raise ConfigError(f"{path}: {label}={x!r} is not a number; allowed: a finite number")
    own, allowed = _allowed(name, target)
    if x not in own:
        raise ConfigError(f"{path}: {label}={x!r} is out of range; allowed: {allowed}")
    return x


def _same(a: Any, b: Any) -> bool:
    """Equal, without True == 1: a boolean matches only a boolean."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _check_list(path: str, key: str, values: Any) -> list[Any]:
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ConfigError(f"{path}: {key}={values!r}; allowed: a non-empty list")
    if any(_same(a, b) for i, a in enumerate(values) for b in values[i + 1 :]):
        raise ConfigError(f"{path}: {key}={values!r} repeats a value; allowed: distinct values")
    return list(values)


def _parse_entry(path: str, name: str, target: HParam, entry: Any) -> ParamSpec:
    """One validated entry."""
    discrete = target.kind is not float
    kinds = ", ".join(DISTRIBUTIONS)
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"{path}: {entry!r} is not a mapping; allowed: {{distribution: ..., ...}} "
            f"with distribution one of {kinds}"
        )
    if "distribution" not in entry:
        raise ConfigError(f"{path}: missing key 'distribution'; allowed: {kinds}")
    kind = entry["distribution"]
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"{path}: unknown distribution {kind!r}; allowed: {kinds}")
    if discrete and kind not in ("categorical", "fixed"):
        raise ConfigError(
            f"{path}: distribution {kind!r} for a {target.kind.__name__} option; "
            "allowed: categorical, fixed"
        )
    required, optional = DISTRIBUTIONS[kind]
    keys = ("distribution", *required, *optional)
    for key in entry:
        if key not in keys:
            raise ConfigError(
                f"{path}: unknown key {key!r} for distribution {kind!r}; allowed: {', '.join(keys)}"
            )
    for key in required:
        if key not in entry:
            raise ConfigError(
                f"{path}: missing key {key!r}; allowed: distribution {kind!r} with "
                f"{', '.join(required)}"
            )

    if kind == "fixed":
        value = _check_value(path, "value", entry["value"], name, target)
        return ParamSpec(name, target.name, kind, value=value)

    if kind == "categorical":
        choices = _check_list(path, "choices", entry["choices"])
        for i, choice in enumerate(choices):
            _check_value(path, f"choices[{i}]", choice, name, target)
        points = None
        if "grid" in entry:
            points = _check_list(path, "grid", entry["grid"])
            for i, point in enumerate(points):
                if not any(_same(point, choice) for choice in choices):
                    raise ConfigError(
                        f"{path}: grid[{i}]={point!r} is not a choice; allowed: {choices!r}"
                    )
        return ParamSpec(
            name, target.name, kind, choices=tuple(choices), grid=_tuple_or_none(points)
        )

    integer = kind == "int"
    bounds = {}
    for key in ("low", "high"):
        x = entry[key]
        if not _is_number(x):
            raise ConfigError(f"{path}: {key}={x!r} is not a number; allowed: a finite number")
        if integer and not float(x).is_integer():
            raise ConfigError(
                f"{path}: {key}={x!r} is not an integer; allowed: integer bounds for 'int'"
            )
        bounds[key] = int(x) if integer else float(x)
    low, high = bounds["low"], bounds["high"]
    if low > high:
        raise ConfigError(f"{path}: low={low!r} > high={high!r}; allowed: low <= high")
    log = kind == "log"
    if integer:
        log = entry.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{path}: log={log!r} is not a boolean; allowed: true, false")
    if log and low <= 0:
        raise ConfigError(f"{path}: low={low!r} on a log scale; allowed: low > 0")
    for key, x in (("low", low), ("high", high)):
        _check_value(path, key, x, name, target)

    points = None
    if "grid" in entry:
        points = _check_list(path, "grid", entry["grid"])
        for i, point in enumerate(points):
            ok = _is_number(point) and low <= point <= high
            if ok and integer and not float(point).is_integer():
                ok = False
            if not ok:
                kind_of = "an integer" if integer else "a number"
                raise ConfigError(
                    f"{path}: grid[{i}]={point!r} is outside the range; "
                    f"allowed: {kind_of} in [{low!r}, {high!r}]"
                )
        points = [int(p) if integer else float(p) for p in points]
    return ParamSpec(
        name, target.name, kind, low=low, high=high, log=log, grid=_tuple_or_none(points)
    )


def _tuple_or_none(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


def _target_values(spec: ParamSpec) -> list[Any]:
    """The optimizer values a spec can reach at its extremes (every value if discrete)."""
    if spec.distribution == "fixed":
        values = [spec.value]
    elif spec.distribution == "categorical":
        values = list(spec.choices)
    else:
        values = [spec.low, spec.high]
    return [spec.to_hyperparameter(v) for v in values]


def _check_nesterov(specs: Sequence[ParamSpec]) -> None:
    """Refuse a space where Nesterov meets momentum = 0 or dampening != 0 (SGD refuses those).

    Only entries of the space are checked; values taken from ``optimizer.`` are the sweep's.
    """
    by_target = {spec.target: spec for spec in specs}
    nesterov = by_target.get("nesterov")
    if nesterov is None or True not in _target_values(nesterov):
        return
    allowed = "momentum > 0 and dampening = 0 wherever nesterov is true"
    momentum = by_target.get("momentum")
    if momentum is not None:
        lowest = min(_target_values(momentum))
        if lowest <= 0:
            raise ConfigError(
                f"{SPACE_KEY}.{momentum.name}: reaches momentum={lowest!r} while "
                f"{SPACE_KEY}.nesterov may be true; allowed: {allowed}"
            )
    dampening = by_target.get("dampening")
    if dampening is not None:
        nonzero = [v for v in _target_values(dampening) if v != 0]
        if nonzero:
            raise ConfigError(
                f"{SPACE_KEY}.{dampening.name}: reaches dampening={nonzero[0]!r} while "
                f"{SPACE_KEY}.nesterov may be true; allowed: {allowed}"
            )

"""Property tests of the command line: random overrides drawn from the config schema with values
of every type, and random search spaces. Every invocation either works or is refused with one
line (exit status 2) and no traceback, and a refused one leaves no file behind."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from processes import bench_process

from bench.cli import CONF_DIR, check_arguments
from bench.config import ConfigError, register

#: Override prefixes Hydra knows: set, append, force-set, delete.
PREFIXES = ("", "+", "++", "~")
#: Groups chosen on the command line, with their spelling.
GROUPS = {
    "task": "task",
    "optimizer": "optimizer",
    "storage": "storage",
    "sweep": "+sweep",
    "report": "+report",
    "experiment": "+experiment",
}


def _flat(node: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix: node}
    out = {prefix: node} if prefix else {}
    for key, value in node.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _compose(*overrides: str) -> dict[str, Any]:
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)))


@cache
def schema() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Every key a user can override, with its default (read from the composed schema with each
    choice of each group, so that a new optimizer or task is covered without editing this), and
    each group's choices."""
    choices = {
        group: sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml") if p.stem[0] != "_")
        for group in GROUPS
    }
    keys = _flat(_compose(), "")
    for group in ("task", "optimizer", "storage", "sweep", "report"):
        for choice in choices[group]:
            try:
                keys.update(_flat(_compose(f"{GROUPS[group]}={choice}"), ""))
            except Exception:  # noqa: BLE001 - a file without its schema: still drawn as a choice
                continue
    return keys, choices


# --- values of every type, as Hydra override text ----------------------------------------------

# No NUL: an argv cannot carry one (the kernel ends each argument there).
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\0"),
    max_size=12,
)
_SCALARS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "null", "nan", "inf", "-inf", "1e400", "0", "-0.0", ""]),
    _TEXT,
    _TEXT.map(lambda t: "'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    st.sampled_from(["${oops}", "${steps}", "${oc.env:NOPE}", "range(1,3)", "choice(a,b)"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: "[" + ",".join(v) + "]"),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=3).map(
            lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=6,
)


def _typed_value(default: Any) -> st.SearchStrategy[str]:
    """Values near the key's own type (so that deeper checks are reached), or of any type."""
    if isinstance(default, bool):
        near = st.sampled_from(["true", "false"])
    elif isinstance(default, int):
        near = st.integers(-5, 100).map(str)
    elif isinstance(default, float):
        near = st.floats(-2.0, 2.0).map(repr)
    else:
        near = _SCALARS
    return st.one_of(near, _VALUES)


#: Keys that set how much work a run does: left out where a drawn command line is run.
BUDGET = re.compile(r"(steps|seeds|n_trials|batch_size|dim|n_samples|hidden|channels|n_records)$")


@st.composite
def overrides(draw: st.DrawFn, runnable: bool = False) -> list[str]:
    """A command line: group choices (known or not) and key overrides (known or typos).
    ``runnable``: no budget key and no experiment, so that a run it starts stays short."""
    keys, choices = schema()
    if runnable:
        keys = {k: v for k, v in keys.items() if not BUDGET.search(k)}
    argv = []
    for group, spelled in GROUPS.items():
        if runnable and group == "experiment":
            continue
        if draw(st.integers(0, 3)) == 0:
            known = st.sampled_from(choices[group]) if choices[group] else _TEXT
            argv.append(f"{spelled}={draw(st.one_of(known, known, _TEXT))}")
    for _ in range(draw(st.integers(0, 3))):
        key = draw(
            st.one_of(
                st.sampled_from(sorted(keys)),
                st.sampled_from(sorted(keys)),
                _TEXT.map(lambda t: t or "x"),
            )
        )
        prefix = draw(st.sampled_from(PREFIXES))
        if prefix == "~":
            argv.append(f"~{key}")
        else:
            argv.append(f"{prefix}{key}={draw(_typed_value(keys.get(key)))}")
    if draw(st.booleans()):
        argv.insert(0, "--multirun")
    return argv


# --- random search spaces ------------------------------------------------------------------------

_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10),
    st.sampled_from([0, 1e-8, 0.5, 1, 1.0, 2]),
)
_ENTRY_VALUES = st.one_of(
    _NUMBERS,
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.lists(st.one_of(_NUMBERS, st.booleans(), st.text(max_size=3)), max_size=4),
)


@st.composite
def spaces(draw: st.DrawFn) -> tuple[str, str]:
    """(sweep choice, YAML of a random ``sweep.space``) over the sweep's own hyperparameters,
    their ``one_minus_`` forms and unknown names, with random distributions and keys."""
    keys, choices = schema()
    sweep = draw(st.sampled_from(choices["sweep"]))
    try:
        optimizer = _compose(f"+sweep={sweep}")["optimizer"]
    except Exception:  # noqa: BLE001 - a sweep file whose rule has no module (yet)
        optimizer = {}
    names = [k for k in optimizer if k != "name"]
    names += [f"one_minus_{k}" for k in names] + ["nope", "one_minus_lr"]
    space = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        entry: dict[str, Any] = {}
        kind = draw(st.sampled_from(["log", "uniform", "int", "categorical", "fixed", "bogus"]))
        if draw(st.integers(0, 5)):
            entry["distribution"] = kind
        for key in draw(
            st.lists(
                st.sampled_from(
                    ["low", "high", "choices", "value", "grid", "log", "step", "extra"]
                ),
                max_size=4,
            )
        ):
            entry[key] = draw(_ENTRY_VALUES)
        space[name] = entry if draw(st.integers(0, 8)) else draw(_ENTRY_VALUES)
    return sweep, OmegaConf.to_yaml(OmegaConf.create({"space": space}))


def _one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message.strip() and "Traceback" not in message


def _refused_or_fine(argv: list[str]) -> str | None:
    """Check in-process, as ``python -m bench`` does first: None, or the refusal's line. Any
    other exception fails the test (it would be a traceback)."""
    try:
        check_arguments(argv)
    except ConfigError as error:
        assert _one_line(str(error)), repr(str(error))
        return str(error)
    return None


#: Refusals seen, by kind (the message with its values blanked): the kinds of bad input covered.
KINDS: set[str] = set()


def _kind(message: str) -> str:
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    return re.sub(r"-?\d[\d.e+\-]*|nan|inf", "#", text)[:90]


def _overrides_property(argv: list[str], tmp_path: Path) -> None:
    before = set(os.listdir(tmp_path))
    refused = _refused_or_fine([*argv, f"results_dir={tmp_path}/results"])
    if refused is not None:
        KINDS.add(_kind(refused))
    assert set(os.listdir(tmp_path)) == before  # checking writes nothing


def _space_property(drawn: tuple[str, str], tmp_path: Path) -> None:
    sweep, text = drawn
    space = OmegaConf.create(text)["space"]
    override = "sweep.space=" + _hydra(OmegaConf.to_container(space))
    refused = _refused_or_fine([f"+sweep={sweep}", override, f"results_dir={tmp_path}/results"])
    if refused is not None:
        KINDS.add(_kind(refused))
    assert not (tmp_path / "results").exists()


def _hydra(value: Any) -> str:
    """``value`` as Hydra override text."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_hydra(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_hydra(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _run(examples: int) -> Callable[[Callable], Callable]:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@_run(8)
@given(argv=overrides())
def test_random_overrides_work_or_are_refused_in_one_line(argv, tmp_path: Path) -> None:
    _overrides_property(argv, tmp_path)


@_run(12)
@given(drawn=spaces())
def test_random_search_spaces_work_or_are_refused_in_one_line(drawn, tmp_path: Path) -> None:
    _space_property(drawn, tmp_path)


def _process_property(argv: list[str], tmp_path: Path) -> None:
    """``python -m bench`` itself, in a fresh directory, on a short budget."""
    cwd = Path(tempfile.mkdtemp(dir=tmp_path))
    sweep = any(a.startswith("+sweep=") for a in argv)
    budget = ["steps=5", "seeds=1", "progress=false"] + (["sweep.n_trials=2"] if sweep else [])
    done = bench_process(*argv, *budget, cwd=cwd)
    out, err = done.communicate(timeout=300)
    assert done.returncode in (0, 2), (argv, err)
    assert "Traceback" not in err, (argv, err)
    if done.returncode == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)
        assert not list(cwd.iterdir()), (argv, sorted(cwd.rglob("*")))
        KINDS.add(_kind(err.strip()))


@_run(2)
@given(argv=overrides(runnable=True))
def test_python_dash_m_bench_works_or_exits_2_with_one_line(argv, tmp_path: Path) -> None:
    _process_property(argv, tmp_path)


@pytest.mark.slow
@_run(60)
@given(argv=overrides(runnable=True))
def test_many_python_dash_m_bench_runs_work_or_exit_2(argv, tmp_path: Path) -> None:
    _process_property(argv, tmp_path)


@pytest.mark.slow
@_run(1000)
@given(argv=overrides())
def test_many_random_overrides_work_or_are_refused_in_one_line(argv, tmp_path: Path) -> None:
    _overrides_property(argv, tmp_path)


@pytest.mark.slow
@_run(500)
@given(drawn=spaces())
def test_many_random_search_spaces_work_or_are_refused_in_one_line(drawn, tmp_path) -> None:
    _space_property(drawn, tmp_path)


#: One example of each kind of bad input the property tests draw, with the refusal it gets.
BAD_INPUT = [
    (["task=nonexistent"], "task='nonexistent' is unknown"),
    (["optimizer=nope"], "optimizer='nope' is unknown"),
    (["+sweep=nope"], "sweep='nope' is unknown"),
    (["storage=nope"], "storage='nope' is unknown"),
    (["+report=nope"], "report='nope' is unknown"),
    (["+experiment=nope"], "experiment='nope' is unknown"),
    (["task=;"], "LexerNoViableAltException"),
    (["steps=[1,"], "no viable alternative"),
    (["stpes=5"], "Key 'stpes' not in 'Config'"),
    (["optimizer.betta1=0.5"], "Key 'betta1' not in 'AdamConf'"),
    (["steps=abc"], "could not be converted to Integer"),
    (["task.dim=1e400"], "could not be converted to Integer"),
    (["results_dir=null"], "is not Optional"),
    (["study_name=[1,2]"], "Cannot convert 'list' to string"),
    (["steps=${oops}"], "Interpolation key 'oops' not found"),
    (["steps=${steps}"], "Recursive interpolation"),
    (["~steps"], "Key 'steps' not in 'Config'"),
    (["~optimizer.lr"], "does not support deletion"),
    (["steps=0"], "steps=0 is invalid"),
    (["seeds=-1"], "seeds=-1 is invalid"),
    (["seeds=100000000000000000000"], "seed_offset + seeds <= 2**62"),
    (["seed_offset=-3"], "seed_offset=-3 is invalid"),
    (["optimizer.lr=inf"], "optimizer.lr: inf"),
    (["+report=default"], "no studies in results_dir"),
    (["dtype=float16"], "dtype='float16' is invalid"),
    (["device=cuda:9"], "Invalid device"),
    (["n_records=1"], "n_records=1 is invalid"),
    (["divergence_factor=nan"], "divergence_factor=nan is invalid"),
    (["chunk_size=0"], "chunk_size=0 is invalid"),
    (["grad=hessian"], "grad='hessian' is invalid"),
    (["optimizer.lr=-1"], "optimizer.lr: -1.0"),
    (["optimizer.beta1=1.5"], "optimizer.beta1: 1.5"),
    (["task.noise=-1"], "task.noise: -1.0"),
    (["task.x0=[1,2,3]"], "3 values for dim=10"),
    (["task.x0=abc"], "options are invalid"),
    (["sweep.n_trials=3"], "no sweep is chosen"),
    (["+sweep=adam", "sweep.n_trials=0"], "sweep.n_trials=0 is invalid"),
    (["+sweep=adam", "sweep.batch_size=0"], "sweep.batch_size=0 is invalid"),
    (["+sweep=adam", "sweep.objective=speed"], "sweep.objective='speed' is unknown"),
    (["+sweep=adam", "sweep.aggregate=max"], "sweep.aggregate='max' is unknown"),
    (["+sweep=adam", "sweep.pruner=hyperband"], "sweep.pruner='hyperband' is unknown"),
    (["+sweep=adam", "sweep.sampler=bayes"], "bayes"),
    (["+sweep=adam", "sweep.seed=-1"], "sweep.seed=-1 is invalid"),
    (["+sweep=adam", "sweep.sampler=grid", "sweep.grid_points=1"], "grid_points=1"),
    (["+sweep=adam", "sweep.space=5"], "Cannot assign int"),
    (["+sweep=adam", "sweep.space.lr=5"], "is not a mapping"),
    (["+sweep=adam", "sweep.space.lr.distribution=null"], "unknown distribution None"),
    (["+sweep=adam", "sweep.space.lr.distribution=bogus"], "unknown distribution 'bogus'"),
    (["+sweep=adam", "sweep.space.lr.low=2", "sweep.space.lr.high=1"], "low=2"),
    (["+sweep=adam", "sweep.space.lr.low=0"], "on a log scale"),
    (["+sweep=adam", "sweep.space.lr.low=abc"], "is not a number"),
    (["+sweep=adam", "+sweep.space.nope={distribution:log,low:1,high:2}"], "nope"),
    (["+sweep=adam", "sweep.space.lr.low=${x}"], "Interpolation key 'x' not found"),
    (["storage.kind=mongo"], "storage.kind='mongo' is unknown"),
    (["storage.heartbeat_interval=0"], "storage.heartbeat_interval=0 is invalid"),
    (["storage.grace_period=-5"], "storage.grace_period=-5 is invalid"),
    (["storage.url=nonsense"], "is not a usable database URL"),
    (["results_dir=/proc/forbidden"], "results_dir='/proc/forbidden' is not writable"),
    (["+report=default", "report.name=''"], "report.name='' is invalid"),
    (["+report=default", "report.studies=5"], "is not a ListConfig"),
    (["+report=default", "report.studies=['']"], "report.studies='' is invalid"),
    ([f"study_name={'x' * 300}"], "is too long"),
    (["--multirun", "task=quadratic,nope"], "task='nope' is unknown"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_each_kind_of_bad_input_is_refused_in_one_line(argv, expected, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        check_arguments([f"results_dir={tmp_path}/res", *argv, f"reports_dir={tmp_path}/r"])
    assert expected in str(refused.value) and _one_line(str(refused.value))
    assert not list(tmp_path.iterdir())

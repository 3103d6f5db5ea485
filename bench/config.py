"""The configuration schema (registered with Hydra's ConfigStore) and its validation."""

from __future__ import annotations

import inspect
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = [
    "Config",
    "ConfigError",
    "check_writable",
    "is_report",
    "is_sweep",
    "optimizer_options",
    "register",
    "register_for_reports",
    "rule_schema",
    "task_options",
    "task_schema",
    "validate",
]

#: The dtypes a run may use, by name (torch's attribute of that name).
DTYPES = ("float32", "float64")


class ConfigError(ValueError):
    """A configuration value that is refused before any work starts."""


@dataclass
class StorageConf:
    """Where studies live. SQLite by default: a file under results_dir, no server."""

    # sqlite, journal (several processes on one machine) or postgres (any number of machines).
    kind: str = "sqlite"
    # sqlite/postgres URL; null: sqlite:///<results_dir>/bench.db, or postgres from $url_env.
    url: str | None = None
    # The environment variable holding the postgres URL (so its password stays out of configs).
    url_env: str = "BENCH_STORAGE_URL"
    # The journal file; null: <results_dir>/journal.log.
    path: str | None = None
    # Seconds between a running trial's heartbeats (sqlite, postgres); a trial silent for
    # grace_period is failed and its configuration retried (null: 2 x heartbeat_interval).
    heartbeat_interval: int = 30
    grace_period: int | None = None


@dataclass
class SweepConf:
    """An Optuna study over the optimizer's hyperparameters (conf/sweep/*.yaml)."""

    # Set by the sweep file (conf/sweep/<name>.yaml); null: no sweep was chosen.
    name: str | None = None
    # The study's total: re-running the command finishes the remaining trials.
    n_trials: int = 64
    # Trials asked together and run as one population (× seeds members).
    batch_size: int = 16
    sampler: str = "tpe"
    seed: int | None = 0
    # final_loss, best_loss, steps_to_target or auc; aggregated over seeds by mean or median.
    objective: str = "final_loss"
    aggregate: str = "mean"
    # none, median or successive_halving, at the engine's record points.
    pruner: str = "none"
    # Points per parameter for sampler=grid (where a parameter gives no grid: list).
    grid_points: int = 5
    # Per hyperparameter: {distribution: log|uniform|int|categorical|fixed, low, high, ...}.
    space: dict[str, Any] = field(default_factory=dict)
    # Fresh seeds (numbered after the search seeds) on which the best configuration is re-run
    # once the study ends, so that "at best" figures are not judged on the seeds that picked
    # it; null: as many as `seeds`; 0: no confirmation.
    confirm_seeds: int | None = None


@dataclass
class ReportConf:
    """An HTML report and paper-style tables over stored studies (conf/report/*.yaml)."""

    # Set by the report file; null: no report was asked for (`+report=<name>` asks).
    name: str | None = None
    # Study names to compare; null: every study under results_dir.
    studies: list[str] | None = None
    # A designed experiment (seed_claims, kramers, …) whose findings open the report, from
    # studies its command already ran: re-analyses without re-running.
    experiment: str | None = None


@dataclass
class Config:
    """The top-level schema: a typo in any key is an error, not a silently ignored value."""

    task: Any = MISSING
    optimizer: Any = MISSING
    storage: StorageConf = field(default_factory=StorageConf)
    # Filled by `+sweep=<name>`; without it (sweep.name null) a run is one configuration.
    sweep: SweepConf = field(default_factory=SweepConf)
    # Filled by `+report=<name>`: build reports/<name>/ from results_dir instead of running.
    report: ReportConf = field(default_factory=ReportConf)
    # Sizes and settings a designed experiment's jobs read (`+experiment=<name>` sets them, e.g.
    # design.seeds=16 shrinks one); empty elsewhere.
    design: dict[str, Any] = field(default_factory=dict)
    # Updates per run.
    steps: int = 500
    # Runs per configuration, with seeds seed_offset .. seed_offset + seeds - 1.
    seeds: int = 3
    seed_offset: int = 0
    dtype: str = "float32"
    device: str = "auto"
    # Points kept per loss curve.
    n_records: int = 50
    # Diverged once f - f_ref exceeds this multiple of max(f(x0) - f_ref, 1), or is not finite.
    divergence_factor: float = 1e4
    # Members per engine chunk; null: the task's own choice.
    chunk_size: int | None = None
    # "task": the task's batched gradient; "vmap": torch.func.vmap of its one-member loss.
    grad: str = "task"
    study_name: str | None = None
    results_dir: str = "results"
    reports_dir: str = "reports"
    # Write or refresh a sweep's own report (reports/<study>/) when it ends.
    auto_report: bool = True
    progress: bool = True


def rule_schema(rule: type) -> type:
    """The config dataclass of an update rule: ``name`` and each declared hyperparameter."""
    fields = [("name", str, field(default=rule.name))]
    fields += [(h.name, h.kind, field(default=h.default)) for h in rule.HPARAMS]
    return make_dataclass(f"{rule.__name__}Conf", fields)


def task_schema(task: type) -> type:
    """The config dataclass of a task: ``name`` and the keyword options of its constructors.

    The options are read from ``__init__`` up the class hierarchy, as long as each passes
    ``**kwargs`` on; ``device`` and ``dtype`` come from the top-level config instead.
    """
    found: dict[str, tuple[Any, Any]] = {}
    for cls in task.__mro__:
        if "__init__" not in vars(cls):
            continue
        init = vars(cls)["__init__"]
        hints = get_type_hints(init)
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind is p.KEYWORD_ONLY and p.name not in (*found, "device", "dtype"):
                found[p.name] = (_schema_type(hints.get(p.name)), p.default)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    fields = [("name", str, field(default=task.name))]
    for name, (kind, default) in found.items():
        if default is inspect.Parameter.empty:
            default = MISSING
        if isinstance(default, (list, tuple)):
            fields.append((name, kind, field(default_factory=lambda d=default: list(d))))
        else:
            fields.append((name, kind, field(default=default)))
    return make_dataclass(f"{task.__name__}Conf", fields)


def _schema_type(hint: Any) -> Any:
    """The hint where OmegaConf can check it (int, float, bool, str), else ``Any``."""
    return hint if hint in (int, float, bool, str) else Any


def register() -> None:
    """Register the schemas: ``config_schema``, ``task/_<name>``, ``optimizer/_<name>`` and
    ``sweep/_<rule>`` (the sweep schema holding the rule's default search space)."""
    from bench.optim import RULES
    from bench.optim.hparams import default_space
    from bench.tasks import TASKS

    store = ConfigStore.instance()
    _register_common(store)
    for name, task in TASKS.items():
        store.store(group="task", name=f"_{name}", node=task_schema(task))
    for name, rule in RULES.items():
        store.store(group="optimizer", name=f"_{name}", node=rule_schema(rule))
        # `_<rule>@sweep` in a sweep file: the schema with the rule's declared default space.
        space = default_space(rule.HPARAMS)
        store.store(group="sweep", name=f"_{name}", node=SweepConf(name=name, space=space))


def register_for_reports(tasks: Iterable[str], optimizers: Iterable[str]) -> None:
    """Register the schemas for a command that only builds a report: the task and optimizer
    files compose against open ``{name}`` nodes, so that a report never imports torch."""
    store = ConfigStore.instance()
    _register_common(store)
    for group, names in (("task", tasks), ("optimizer", optimizers)):
        for name in names:
            store.store(group=group, name=f"_{name}", node={"name": name})


def _register_common(store: ConfigStore) -> None:
    """The schemas that do not depend on the tasks and update rules."""
    store.store(name="config_schema", node=Config)
    store.store(group="storage", name="_storage", node=StorageConf)
    store.store(group="sweep", name="_sweep", node=SweepConf)
    store.store(group="report", name="_report", node=ReportConf)


def task_options(cfg: DictConfig) -> dict[str, Any]:
    """The task's constructor keywords (without ``name``), device and dtype included."""
    options = OmegaConf.to_container(cfg.task, resolve=True)
    options.pop("name")
    import torch

    from bench.engine import resolve_device

    return {**options, "device": resolve_device(cfg.device), "dtype": getattr(torch, cfg.dtype)}


def optimizer_options(cfg: DictConfig) -> dict[str, Any]:
    """The update rule's hyperparameters (without ``name``)."""
    options = OmegaConf.to_container(cfg.optimizer, resolve=True)
    options.pop("name")
    return options


def is_sweep(cfg: DictConfig) -> bool:
    """Whether ``+sweep=<name>`` chose a sweep."""
    return cfg.sweep.name is not None


def is_report(cfg: DictConfig) -> bool:
    """Whether ``+report=<name>`` asked for a report."""
    return cfg.report.name is not None


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid; allowed: {allowed}")


def validate(cfg: DictConfig) -> None:
    """Refuse a bad configuration with one line naming the key and the allowed values."""
    _require(cfg.steps >= 1, "steps", cfg.steps, "an integer >= 1")
    # Seeds are int64 tensors on the device (with room for the confirmation seeds after them).
    _require(
        0 <= cfg.seed_offset < 2**62, "seed_offset", cfg.seed_offset, "0 <= seed_offset < 2**62"
    )
    _require(
        1 <= cfg.seeds <= 2**62 - cfg.seed_offset,
        "seeds",
        cfg.seeds,
        "an integer >= 1 with seed_offset + seeds <= 2**62",
    )
    _require(cfg.dtype in DTYPES, "dtype", cfg.dtype, ", ".join(DTYPES))
    _require(cfg.n_records >= 2, "n_records", cfg.n_records, "an integer >= 2")
    _require(cfg.divergence_factor > 0, "divergence_factor", cfg.divergence_factor, "> 0")
    _require(
        cfg.chunk_size is None or cfg.chunk_size >= 1, "chunk_size", cfg.chunk_size, ">= 1 or null"
    )
    _require(cfg.grad in ("task", "vmap"), "grad", cfg.grad, "task, vmap")
    if not is_sweep(cfg):
        unchosen = OmegaConf.structured(SweepConf)
        for key in SweepConf.__dataclass_fields__:
            if cfg.sweep[key] != unchosen[key]:
                raise ConfigError(
                    f"sweep.{key} is set but no sweep is chosen; allowed: +sweep=<name> first"
                )
    from bench.engine import resolve_device
    from bench.optim import make_rule
    from bench.tasks import make_task

    try:
        resolve_device(cfg.device)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        make_task(cfg.task.name, **task_options(cfg))
    except ValueError as error:
        raise ConfigError(_keyed(str(error), "task")) from None
    except TypeError as error:  # a value of the wrong type (task.x0=abc) reaching torch
        raise ConfigError(f"task={cfg.task.name!r} options are invalid: {error}") from None
    try:
        make_rule(cfg.optimizer.name, 1, **optimizer_options(cfg))
    except ValueError as error:
        raise ConfigError(_keyed(str(error), "optimizer")) from None


def check_writable(directory: str | Path, key: str = "results_dir") -> None:
    """Refuse, in one line and without creating anything, a directory that cannot be written."""
    path = Path(directory).resolve()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(
            f"{key}={str(directory)!r} is not writable: {existing} is not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={str(directory)!r} is not writable")
    # os.access answers yes to root almost anywhere (/proc included): try, and leave nothing.
    try:
        tempfile.TemporaryDirectory(dir=existing, prefix=".bench-probe-").cleanup()
    except OSError as error:
        raise ConfigError(f"{key}={str(directory)!r} is not writable: {error.strerror}") from None


def _keyed(message: str, group: str) -> str:
    """``Invalid lr: …`` from a rule reads ``Invalid optimizer.lr: …`` on the command line."""
    prefix = "Invalid "
    if message.startswith(prefix) and not message.startswith(f"{prefix}{group}."):
        return f"{prefix}{group}.{message[len(prefix) :]}"
    return message

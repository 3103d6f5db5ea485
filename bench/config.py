"""The configuration schema (registered with Hydra's ConfigStore) and its validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

__all__ = [
    "Config",
    "ConfigError",
    "is_report",
    "is_sweep",
    "optimizer_options",
    "register",
    "task_options",
    "validate",
]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class ConfigError(ValueError):
    """A configuration value that is refused before any work starts."""


@dataclass
class SyntheticTaskConf:
    """Keys shared by the closed-form tasks."""

    name: str = MISSING
    dim: int = 2
    # A fixed start for every member (a number or a list of `dim`); null: drawn from the seed.
    x0: Any = None
    # Std of Gaussian noise added to every gradient, drawn from the seed's stream.
    noise: float = 0.0
    # Converged once f - f* <= tol.
    tol: float = 1e-6


@dataclass
class QuadraticConf(SyntheticTaskConf):
    name: str = "quadratic"
    dim: int = 10
    condition_number: float = 100.0


@dataclass
class LinregConf(SyntheticTaskConf):
    name: str = "linreg"
    dim: int = 3
    n_samples: int = 200
    true_theta: list[float] = field(default_factory=lambda: [2.0, -3.0, 0.5])
    data_noise: float = 0.5
    data_seed: int = 0


@dataclass
class DoubleWellConf(SyntheticTaskConf):
    name: str = "double_well"
    dim: int = 1
    tilt: float = 0.3


@dataclass
class DigitsTaskConf:
    """Keys shared by the scikit-learn digits tasks."""

    name: str = MISSING
    batch_size: int = 128
    # Converged once the full-batch training loss is at or below this.
    target: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0


@dataclass
class MLPDigitsConf(DigitsTaskConf):
    name: str = "mlp_digits"
    hidden: int = 128


@dataclass
class CNNDigitsConf(DigitsTaskConf):
    name: str = "cnn_digits"
    channels: int = 8


@dataclass
class SGDConf:
    """torch.optim.SGD's hyperparameters and defaults."""

    name: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False


@dataclass
class AdamConf:
    """torch.optim.Adam's hyperparameters and defaults; decoupled=true is AdamW."""

    name: str = "adam"
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    decoupled: bool = False


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


@dataclass
class ReportConf:
    """An HTML report and paper-style tables over stored studies (conf/report/*.yaml)."""

    # Set by the report file; null: no report was asked for (`+report=<name>` asks).
    name: str | None = None
    # Study names to compare; null: every study under results_dir.
    studies: list[str] | None = None


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


_TASK_SCHEMAS: dict[str, type] = {
    "quadratic": QuadraticConf,
    "linreg": LinregConf,
    "rosenbrock": SyntheticTaskConf,
    "rastrigin": SyntheticTaskConf,
    "ackley": SyntheticTaskConf,
    "styblinski_tang": SyntheticTaskConf,
    "double_well": DoubleWellConf,
    "logreg_digits": DigitsTaskConf,
    "mlp_digits": MLPDigitsConf,
    "cnn_digits": CNNDigitsConf,
}


def register() -> None:
    """Register the schemas: ``config_schema`` and ``task/_<name>``, ``optimizer/_<name>``."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    for name, schema in _TASK_SCHEMAS.items():
        store.store(group="task", name=f"_{name}", node=schema(name=name))
    store.store(group="optimizer", name="_sgd", node=SGDConf)
    store.store(group="optimizer", name="_adam", node=AdamConf)
    store.store(group="storage", name="_storage", node=StorageConf)
    store.store(group="sweep", name="_sweep", node=SweepConf)
    store.store(group="report", name="_report", node=ReportConf)


def task_options(cfg: DictConfig) -> dict[str, Any]:
    """The task's constructor keywords (without ``name``), device and dtype included."""
    options = OmegaConf.to_container(cfg.task, resolve=True)
    options.pop("name")
    from bench.engine import resolve_device

    return {**options, "device": resolve_device(cfg.device), "dtype": DTYPES[cfg.dtype]}


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
    _require(cfg.seeds >= 1, "seeds", cfg.seeds, "an integer >= 1")
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


def _keyed(message: str, group: str) -> str:
    """``Invalid lr: …`` from a rule reads ``Invalid optimizer.lr: …`` on the command line."""
    prefix = "Invalid "
    if message.startswith(prefix) and not message.startswith(f"{prefix}{group}."):
        return f"{prefix}{group}.{message[len(prefix) :]}"
    return message

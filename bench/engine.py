"""Runs a population of (configuration, seed) members for N steps as one vectorized computation.

No host synchronisation inside the step loop: losses go into preallocated device tensors at the
record points, and divergence, first-hit steps and best values are tracked on the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from bench.tasks.base import Task

__all__ = [
    "EngineConfig",
    "PopulationResult",
    "UpdateRule",
    "default_chunk_size",
    "record_steps",
    "resolve_device",
    "run",
]

GRAD_MODES = ("task", "vmap")


class UpdateRule:
    """What the engine needs of an update rule (see ``bench.optim``); for type hints only."""

    size: int

    def subset(self, index: Tensor) -> UpdateRule: ...
    def init_state(self, params: Tensor, steps: int) -> object: ...
    def step(
        self, params: Tensor, grad: Tensor, state: object, t: int, frozen: Tensor | None = None
    ) -> None: ...


@dataclass(frozen=True)
class EngineConfig:
    """How a population runs: budget, recording, divergence and batching."""

    steps: int
    #: How many points of each loss curve are kept (evenly spaced over 0..steps, both ends in).
    n_records: int = 50
    #: Diverged once f - f_ref exceeds this multiple of max(f(x₀) - f_ref, 1), or is not finite.
    divergence_factor: float = 1e4
    #: Members per chunk; None takes the task's own (larger on CUDA).
    chunk_size: int | None = None
    #: "task": the task's own batched gradient; "vmap": torch.func.vmap of its one-member loss.
    grad: str = "task"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"Invalid steps: {self.steps}; allowed: an integer >= 1")
        if self.n_records < 2:
            raise ValueError(f"Invalid n_records: {self.n_records}; allowed: an integer >= 2")
        if not self.divergence_factor > 0:
            raise ValueError(
                f"Invalid divergence_factor: {self.divergence_factor}; allowed: a number > 0"
            )
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError(f"Invalid chunk_size: {self.chunk_size}; allowed: >= 1 or null")
        if self.grad not in GRAD_MODES:
            raise ValueError(f"Invalid grad: {self.grad!r}; allowed: {list(GRAD_MODES)}")


@dataclass
class PopulationResult:
    """Per-member outcomes of a run, on the CPU; ``-1`` marks a step that never came."""

    record_steps: Tensor  # [R] int64
    curves: Tensor  # [P, R] monitored loss at the record steps
    final_loss: Tensor  # [P]
    best_loss: Tensor  # [P]
    # [P] int64: first monitored step from which the loss stays <= target to the end, else -1
    # (censored); one touch of the target under noise is not arrival.
    hit_step: Tensor
    diverged_step: Tensor  # [P] int64: step at which the member diverged, else -1
    pruned_step: Tensor  # [P] int64: record step at which the member was stopped, else -1
    final_params: Tensor  # [P, D]
    start_in_basin: Tensor | None = None  # [P] bool, tasks with basins
    end_in_basin: Tensor | None = None  # [P] bool, tasks with basins
    # [P] int64, tasks with basins: first step in the global basin (0 if it started there), or -1.
    escape_step: Tensor | None = None
    # [P] float64, tasks with basins: share of the steps of the run's second half (t >= steps/2)
    # spent in the global basin; a stopped member counts as outside from its stop.
    late_basin_share: Tensor | None = None
    metrics: dict[str, Tensor] = field(default_factory=dict)  # task metrics, [P] each
    seconds: Tensor = field(default_factory=lambda: torch.zeros(0))  # [P] share of chunk time

    @property
    def diverged(self) -> Tensor:
        """Whether each member diverged."""
        return self.diverged_step >= 0


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"Invalid device: {name!r}; allowed: auto, cpu, cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"Invalid device: {name!r}: no CUDA device here; allowed: auto, cpu")
    return torch.device(name)


def default_chunk_size(task: Task) -> int:
    """Members per chunk: the task's own choice on the CPU, 32 times more on CUDA."""
    return task.chunk_size * (32 if task.device.type == "cuda" else 1)


def record_steps(steps: int, n_records: int) -> list[int]:
    """Evenly spaced record steps over 0..steps, both ends included, without repeats."""
    points = torch.linspace(0, steps, min(n_records, steps + 1), dtype=torch.float64)
    return sorted(set(points.round().to(torch.int64).tolist()))


#: Called at each record step with (step, monitored loss [members], the members' indices in
#: the population); returns which of them to stop (prune), or None. Only with it does the engine
#: synchronise with the host inside the loop, once per record step.
RecordHook = Callable[[int, Tensor, Tensor], "Tensor | None"]


def run(
    task: Task,
    rule: UpdateRule,
    seeds: Tensor,
    config: EngineConfig,
    progress: Callable[[int], None] | None = None,
    on_record: RecordHook | None = None,
) -> PopulationResult:
    """Run every member ``p`` (hyperparameters ``rule[p]``, seed ``seeds[p]``) for the budget.

    ``progress`` is called with the member-steps done since its last call. Chunks of
    ``config.chunk_size`` members run one after another; a chunk whose members are all stopped
    (diverged or pruned) ends early.
    """
    # A converged run's gradients and second moments decay into subnormal numbers, which cost
    # the CPU up to 100x per operation (Adam on wilson_separable: 10x slower in all); flushing
    # them to zero changes no value above 1e-308 (float64) or 1e-38 (float32).
    torch.set_flush_denormal(True)
    seeds = torch.as_tensor(seeds, dtype=torch.int64).reshape(-1)
    if len(seeds) != rule.size:
        raise ValueError(f"{len(seeds)} seeds for a population of {rule.size}")
    chunk = config.chunk_size or default_chunk_size(task)
    parts = [
        _run_chunk(task, rule.subset(index), seeds[index], config, progress, on_record, index)
        for index in torch.arange(len(seeds)).split(chunk)
    ]
    return _concat(parts)


def _concat(parts: list[PopulationResult]) -> PopulationResult:
    first = parts[0]

    def cat(name: str) -> Tensor | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values)

    return PopulationResult(
        record_steps=first.record_steps,
        curves=cat("curves"),
        final_loss=cat("final_loss"),
        best_loss=cat("best_loss"),
        hit_step=cat("hit_step"),
        diverged_step=cat("diverged_step"),
        pruned_step=cat("pruned_step"),
        final_params=cat("final_params"),
        start_in_basin=cat("start_in_basin"),
        end_in_basin=cat("end_in_basin"),
        escape_step=cat("escape_step"),
        late_basin_share=cat("late_basin_share"),
        metrics={k: torch.cat([p.metrics[k] for p in parts]) for k in first.metrics},
        seconds=cat("seconds"),
    )


def _run_chunk(
    task: Task,
    rule: UpdateRule,
    seeds: Tensor,
    config: EngineConfig,
    progress: Callable[[int], None] | None,
    on_record: RecordHook | None,
    members: Tensor,
) -> PopulationResult:
    device, steps = task.device, config.steps
    _synchronize(device)
    started = time.perf_counter()
    seeds = seeds.to(device)
    size = len(seeds)
    x = task.init(seeds)
    state = rule.init_state(x, steps)
    order = task.data_order(seeds, steps)
    loss_and_grad = task.loss_and_grad if config.grad == "task" else task.vmap_loss_and_grad

    records = record_steps(steps, config.n_records)
    record_at = {step: i for i, step in enumerate(records)}
    dtype = x.dtype
    curves = torch.full((size, len(records)), float("nan"), dtype=dtype, device=device)
    best = torch.full((size,), float("inf"), dtype=dtype, device=device)
    hit = torch.full((size,), -1, dtype=torch.int64, device=device)
    diverged_step = torch.full((size,), -1, dtype=torch.int64, device=device)
    pruned_step = torch.full((size,), -1, dtype=torch.int64, device=device)
    # Members that stop updating: diverged, or pruned by `on_record`.
    stopped = torch.zeros(size, 1, dtype=torch.bool, device=device)
    f_ref = task.f_star if task.f_star is not None else 0.0
    limit = None
    start_in_basin = task.in_global_basin(x).cpu() if task.has_basins else None
    if task.has_basins:
        escape = torch.full((size,), -1, dtype=torch.int64, device=device)
        late_steps = torch.zeros(size, dtype=torch.int64, device=device)
        late_from = (steps + 1) // 2
    on_cuda = device.type == "cuda"
    done_steps = 0

    for t in range(steps + 1):
        if t < steps:
            loss, grad = loss_and_grad(x, *task.batch(order, t))
        else:
            loss = task.evaluate(x)
        if limit is None:
            # Diverged: not finite, or above f_ref + factor * max(f(x0) - f_ref, 1).
            limit = f_ref + config.divergence_factor * (loss - f_ref).clamp_min(1.0)
        # NaN fails both comparisons, so `bad` also catches non-finite losses.
        bad = ~((loss <= limit) & (loss > float("-inf")))
        diverged_step.masked_fill_(bad & (diverged_step < 0) & (pruned_step < 0), t)
        stopped.logical_or_(bad.unsqueeze(1))

        monitored = loss if task.exact_step_loss else None
        if not task.exact_step_loss and t in record_at:
            monitored = loss if t == steps else task.evaluate(x)
        if monitored is not None:
            # A frozen member's loss is NaN or above its limit: neither lowers `best` nor hits.
            torch.fmin(best, monitored, out=best)
            below = monitored <= task.target
            hit.masked_fill_(~below, -1)  # back above the target: it had not arrived
            hit.masked_fill_(below & (hit < 0), t)
            if t in record_at:
                curves[:, record_at[t]] = monitored

        if task.has_basins:
            inside = task.in_global_basin(x) & ~stopped[:, 0]
            escape.masked_fill_(inside & (escape < 0), t)
            if t >= late_from:
                late_steps.add_(inside)

        if progress is not None and (t in record_at or t == steps):
            progress(size * (t - done_steps))
            done_steps = t
        if on_record is not None and t in record_at and 0 < t < steps:
            prune = on_record(t, curves[:, record_at[t]], members)
            if prune is not None:
                prune = prune.to(device) & ~stopped[:, 0]
                pruned_step.masked_fill_(prune, t)
                stopped.logical_or_(prune.unsqueeze(1))
            if bool(stopped.all()):
                if progress is not None:
                    progress(size * (steps - done_steps))
                break
        if t < steps:
            noise = task.grad_noise(seeds, t)
            if noise is not None:
                grad.add_(noise)
            # On the CPU, asking whether any member stopped costs less than masking every update.
            frozen = stopped if on_cuda or bool(stopped.any()) else None
            rule.step(x, grad, state, t, frozen=frozen)

    # A chunk that ended early (every member stopped) ends at its last record.
    final_loss = curves[:, max(i for s, i in record_at.items() if s <= t)]
    metrics = task.final_metrics(x)
    end_in_basin = task.in_global_basin(x).cpu() if task.has_basins else None
    _synchronize(device)
    seconds = time.perf_counter() - started
    return PopulationResult(
        record_steps=torch.tensor(records, dtype=torch.int64),
        curves=curves.to(torch.float64).cpu(),
        final_loss=final_loss.to(torch.float64).cpu(),
        best_loss=best.to(torch.float64).cpu(),
        hit_step=hit.cpu(),
        diverged_step=diverged_step.cpu(),
        pruned_step=pruned_step.cpu(),
        final_params=x.cpu(),
        start_in_basin=start_in_basin,
        end_in_basin=end_in_basin,
        escape_step=escape.cpu() if task.has_basins else None,
        late_basin_share=(
            (late_steps.double() / (steps + 1 - late_from)).cpu() if task.has_basins else None
        ),
        metrics={k: v.cpu() for k, v in metrics.items()},
        seconds=torch.full((size,), seconds / size, dtype=torch.float64),
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)

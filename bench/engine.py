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
    "Chunk",
    "EngineConfig",
    "PopulationResult",
    "UpdateRule",
    "chunk_for_memory",
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
        self, params: Tensor, grad: Tensor, state: object, t: Tensor, frozen: Tensor | None = None
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


def default_chunk_size(task: Task, steps: int = 1000) -> int:
    """Members per chunk: the task's own choice on the CPU; on CUDA, as many as fit in memory."""
    if task.device.type != "cuda":
        return task.chunk_size
    free, _ = torch.cuda.mem_get_info(task.device)
    return chunk_for_memory(free, task.member_bytes(steps), task.chunk_size)


def chunk_for_memory(free_bytes: int, member_bytes: int, smallest: int) -> int:
    """Members that fit half of ``free_bytes`` at ``member_bytes`` each, at least ``smallest``."""
    return max(smallest, free_bytes // 2 // max(member_bytes, 1))


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
    seeds = torch.as_tensor(seeds, dtype=torch.int64).reshape(-1)
    if len(seeds) != rule.size:
        raise ValueError(f"{len(seeds)} seeds for a population of {rule.size}")
    size = config.chunk_size or default_chunk_size(task, config.steps)
    parts = []
    for index in torch.arange(len(seeds)).split(size):
        chunk = Chunk(task, rule.subset(index), seeds[index], config, index)
        chunk.advance(progress, on_record)
        parts.append(chunk.result())
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


class Chunk:
    """One chunk of a population in three phases: set-up, the step loop, and the result.

    Set-up (moving seeds and state to the device, drawing data orders) and the result may
    synchronise with the host; the step loop (``advance``) never does where ``sync_free`` holds
    (default: on CUDA), unless ``on_record`` asks it to at the record steps.
    """

    def __init__(
        self,
        task: Task,
        rule: UpdateRule,
        seeds: Tensor,
        config: EngineConfig,
        members: Tensor | None = None,
        sync_free: bool | None = None,
    ) -> None:
        device, steps = task.device, config.steps
        _synchronize(device)
        self.started = time.perf_counter()
        self.task, self.rule, self.config = task, rule, config
        self.seeds = seeds.to(device)
        self.members = torch.arange(len(seeds)) if members is None else members
        self.sync_free = device.type != "cpu" if sync_free is None else sync_free
        size = len(seeds)
        self.x = task.init(self.seeds)
        self.state = rule.init_state(self.x, steps)
        self.order = task.data_order(self.seeds, steps)
        self.records = record_steps(steps, config.n_records)
        dtype = self.x.dtype
        self.curves = torch.full(
            (size, len(self.records)), float("nan"), dtype=dtype, device=device
        )
        self.best = torch.full((size,), float("inf"), dtype=dtype, device=device)
        self.hit = torch.full((size,), -1, dtype=torch.int64, device=device)
        self.diverged_step = torch.full((size,), -1, dtype=torch.int64, device=device)
        self.pruned_step = torch.full((size,), -1, dtype=torch.int64, device=device)
        # Members that stop updating: diverged, or pruned by `on_record`.
        self.stopped = torch.zeros(size, 1, dtype=torch.bool, device=device)
        # The step index on the device: the step reads it from there (never a host copy), so
        # that a CUDA graph or torch.compile can capture it once for every step.
        self.step = torch.zeros((), dtype=torch.int64, device=device)
        # Minibatch tasks: the sum of the step losses since the last record.
        self.interval = torch.zeros(size, dtype=dtype, device=device)
        self.start_in_basin = task.in_global_basin(self.x).cpu() if task.has_basins else None
        if task.has_basins:
            # First step in the global basin (first passage), and steps of the run's second
            # half spent in it: an escape under noise is a passage, not the last snapshot.
            self.escape = torch.full((size,), -1, dtype=torch.int64, device=device)
            self.late_steps = torch.zeros(size, dtype=torch.int64, device=device)
            self.late_from = (steps + 1) // 2
        self.last_t = 0

    def advance(
        self,
        progress: Callable[[int], None] | None = None,
        on_record: RecordHook | None = None,
    ) -> None:
        """Run the step loop to the end of the budget, or until every member has stopped."""
        task, config, x, step = self.task, self.config, self.x, self.step
        steps, size = config.steps, len(x)
        loss_and_grad = task.loss_and_grad if config.grad == "task" else task.vmap_loss_and_grad
        record_at = {s: i for i, s in enumerate(self.records)}
        best, hit, curves, stopped = self.best, self.hit, self.curves, self.stopped
        diverged_step, pruned_step = self.diverged_step, self.pruned_step
        f_ref = task.f_star if task.f_star is not None else 0.0
        limit = None
        done_steps = previous_record = 0

        for t in range(steps + 1):
            self.last_t = t
            if t < steps:
                loss, grad = loss_and_grad(x, *task.batch(self.order, step))
            else:
                loss = task.evaluate(x)
            if limit is None:
                # Diverged: not finite, or above f_ref + factor * max(f(x0) - f_ref, 1).
                limit = f_ref + config.divergence_factor * (loss - f_ref).clamp_min(1.0)
            # NaN fails both comparisons, so `bad` also catches non-finite losses.
            bad = ~((loss <= limit) & (loss > float("-inf")))
            diverged_step.masked_fill_(bad & (diverged_step < 0) & (pruned_step < 0), step)
            stopped.logical_or_(bad.unsqueeze(1))

            record = record_at.get(t)
            monitored = loss if task.exact_step_loss or t == steps else None
            if monitored is None:
                # A record is the mean minibatch loss of the steps since the previous one:
                # the loss the step computes anyway, not a full-batch pass per record.
                self.interval.add_(loss)
                if record is not None:
                    monitored = self.interval / max(t - previous_record, 1)
                    self.interval.zero_()
            if record is not None and record > 0 and not task.exact_step_loss:
                # A pruned member keeps the record it was pruned at.
                held = pruned_step >= 0
                monitored = torch.where(held, curves[:, record - 1], monitored)
            if monitored is not None:
                # A frozen member's loss is NaN or above its limit: neither lowers `best` nor hits.
                torch.fmin(best, monitored, out=best)
                # Reached: the first step after which the loss stays at or below the target.
                below = monitored <= task.target
                hit.masked_fill_(~below, -1)
                hit.masked_fill_(below & (hit < 0), step)
                if record is not None:
                    curves[:, record] = monitored
            if record is not None:
                previous_record = t
            if task.has_basins:
                inside = task.in_global_basin(x) & ~stopped[:, 0]
                self.escape.masked_fill_(inside & (self.escape < 0), step)
                if t >= self.late_from:
                    self.late_steps.add_(inside)

            if progress is not None and (record is not None or t == steps):
                progress(size * (t - done_steps))
                done_steps = t
            if on_record is not None and record is not None and 0 < t < steps:
                prune = on_record(t, curves[:, record], self.members)
                if prune is not None:
                    prune = prune.to(x.device) & ~stopped[:, 0]
                    pruned_step.masked_fill_(prune, step)
                    stopped.logical_or_(prune.unsqueeze(1))
                if bool(stopped.all()):
                    if progress is not None:
                        progress(size * (steps - done_steps))
                    break
            if t < steps:
                noise = task.grad_noise(self.seeds, step)
                if noise is not None:
                    grad.add_(noise)
                # On the CPU, asking whether any member stopped costs less than masking every
                # update; sync-free, every update is masked.
                frozen = stopped if self.sync_free or bool(stopped.any()) else None
                self.rule.step(x, grad, self.state, step, frozen=frozen)
                step.add_(1)

    def result(self) -> PopulationResult:
        """The chunk's outcomes, on the CPU."""
        task, x, records = self.task, self.x, self.records
        # A chunk that ended early (every member stopped) ends at its last record.
        last = max(i for i, s in enumerate(records) if s <= self.last_t)
        final_loss = self.curves[:, last]
        metrics = task.final_metrics(x)
        end_in_basin = task.in_global_basin(x).cpu() if task.has_basins else None
        _synchronize(x.device)
        seconds = time.perf_counter() - self.started
        size = len(x)
        return PopulationResult(
            record_steps=torch.tensor(records, dtype=torch.int64),
            curves=self.curves.to(torch.float64).cpu(),
            final_loss=final_loss.to(torch.float64).cpu(),
            best_loss=self.best.to(torch.float64).cpu(),
            hit_step=self.hit.cpu(),
            diverged_step=self.diverged_step.cpu(),
            pruned_step=self.pruned_step.cpu(),
            final_params=x.cpu(),
            start_in_basin=self.start_in_basin,
            end_in_basin=end_in_basin,
            escape_step=self.escape.cpu() if task.has_basins else None,
            late_basin_share=(
                (self.late_steps.double() / (self.config.steps + 1 - self.late_from)).cpu()
                if task.has_basins
                else None
            ),
            metrics={k: v.cpu() for k, v in metrics.items()},
            seconds=torch.full((size,), seconds / size, dtype=torch.float64),
        )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)

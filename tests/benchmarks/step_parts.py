"""Where a step of the ``mlp_digits`` population goes, next to its five GEMMs timed alone.

The run of ``test_mlp_speed.py`` (64 configurations, 300 Adam steps, one chunk), with the
task's forward and backward, its five GEMMs, the update and the batch gather timed inside it;
then the forward and backward called back to back on one batch, and the five GEMMs alone (as
that benchmark's GEMM-bound limit times them):

    python tests/benchmarks/step_parts.py
"""

from __future__ import annotations

import functools
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.test_mlp_speed import CONFIGS, STEPS, _configs, _gemm_seconds, _task  # noqa: E402

from bench.engine import Chunk, EngineConfig, run  # noqa: E402
from bench.optim import Adam  # noqa: E402


def _clocked(owner: type, name: str, totals: dict[str, float]) -> Callable[[], None]:
    """Add the wall time of every call of ``owner.name`` to ``totals[name]``; returns the undo."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def clocked(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - started

    setattr(owner, name, clocked)
    return lambda: setattr(owner, name, original)


def _clocked_gemms(task_type: type, totals: dict[str, float]) -> Callable[[], None]:
    """Add the wall time of ``torch.bmm`` and ``torch.baddbmm`` calls made inside the forward and
    backward of ``task_type`` (not the final evaluation's) to ``totals["gemms"]``; returns the
    undo."""
    inside = [False]
    originals = {name: getattr(torch, name) for name in ("bmm", "baddbmm")}
    forward_backward = task_type.loss_and_grad

    def gemm(name: str) -> Callable[..., torch.Tensor]:
        def clocked(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            if not inside[0]:
                return originals[name](*args, **kwargs)
            started = time.perf_counter()
            try:
                return originals[name](*args, **kwargs)
            finally:
                totals["gemms"] += time.perf_counter() - started

        return clocked

    def marked(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        inside[0] = True
        try:
            return forward_backward(*args, **kwargs)
        finally:
            inside[0] = False

    for name in originals:
        setattr(torch, name, gemm(name))
    task_type.loss_and_grad = marked

    def undo() -> None:
        for name, original in originals.items():
            setattr(torch, name, original)
        task_type.loss_and_grad = forward_backward

    return undo


def main() -> None:
    task = _task()
    lrs, seeds = _configs(CONFIGS)
    config = EngineConfig(steps=STEPS, n_records=2)
    run(task, Adam(CONFIGS, lr=lrs), seeds, config)  # warm-up
    totals: dict[str, float] = defaultdict(float)
    parts = [(type(task), "loss_and_grad"), (type(task), "batch"), (Adam, "step")]
    undo = [_clocked_gemms(type(task), totals)]
    undo += [_clocked(owner, name, totals) for owner, name in [*parts, (Chunk, "advance")]]
    run(task, Adam(CONFIGS, lr=lrs), seeds, config)
    for restore in undo:
        restore()
    per_step = {name: 1e3 * seconds / STEPS for name, seconds in totals.items()}
    rest = per_step["advance"] - sum(per_step[name] for _, name in parts)
    print(f"a step of {CONFIGS} members in the run: {per_step['advance']:.2f} ms")
    print(f"  forward and backward: {per_step['loss_and_grad']:.2f} ms")
    print(f"    of which its five GEMMs: {per_step['gemms']:.2f} ms")
    print(f"  update: {per_step['step']:.2f} ms")
    print(f"  batch gather: {per_step['batch']:.2f} ms\n  the rest of the loop: {rest:.2f} ms")

    x = task.init(seeds)
    batch = task.batch(task.data_order(seeds, STEPS), 0)
    for _ in range(10):
        task.loss_and_grad(x, *batch)
    started = time.perf_counter()
    for _ in range(100):
        task.loss_and_grad(x, *batch)
    back_to_back = 10 * (time.perf_counter() - started)
    gemms = 1e3 * sum(_gemm_seconds(CONFIGS).values())
    print(f"forward and backward back to back on one batch: {back_to_back:.2f} ms")
    print(f"the five GEMMs alone (the GEMM-bound limit's time): {gemms:.2f} ms")
    print(
        f"with all but its GEMMs free, a step of the run would be at "
        f"{gemms / per_step['gemms']:.0%} of the limit (the run's step: "
        f"{gemms / per_step['advance']:.0%})"
    )


if __name__ == "__main__":
    main()

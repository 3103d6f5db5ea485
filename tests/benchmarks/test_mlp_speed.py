"""The 64-128-10 MLP on the digits: a population against one nn.Module + torch.optim per run.

64 configurations (16 learning rates × 4 seeds), batch 128, 300 Adam steps, float32, on the CPU
(or ``BENCH_DEVICE=cuda``):

- the population: ``bench.engine.run`` with the task's batched forward/backward (the 64 in one
  chunk on the CPU);
- the plain loop: one ``nn.Sequential(Linear, ReLU, Linear)`` and ``torch.optim.Adam`` (fused on
  CUDA) per configuration on the same start and minibatches, one after another in this process;
- on the CPU, the same plain loop in two single-threaded processes, half the configurations each.

Each competitor runs all 64 configurations per round. The population test runs last and records
the ratios of member-steps per second and how close the population comes to pure GEMM time:
"GEMM-bound" is the time ``torch.bmm`` alone takes for the five GEMMs a step does (each measured
at its own shape and the chunk's size) over the time a step of a chunk takes in the whole run.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.engine import EngineConfig, default_chunk_size, run
from bench.optim import Adam
from bench.tasks.digits import MLPDigits

from .conftest import DEVICE, member_steps, plain_optimizer_options, synchronize

STEPS = 300
HIDDEN, BATCH = 128, 128
LRS = torch.logspace(-4, -2, 16, dtype=torch.float64)
CONFIGS = len(LRS) * 4  # 16 learning rates × seeds 0..3
GROUP = "mlp_digits 64-128-10: 64 configs x 300 Adam steps"
#: Pairs of runs (2 records, then 50) behind the records' cost.
PAIRS = 5
#: Member-steps per second of each plain loop, as it finishes (the population runs after them).
RATES: dict[str, float] = {}


def _task(dtype: torch.dtype = torch.float32, device: torch.device = DEVICE) -> MLPDigits:
    return MLPDigits(hidden=HIDDEN, batch_size=BATCH, dtype=dtype, device=device)


def _configs(count: int = CONFIGS) -> tuple[Tensor, Tensor]:
    """(learning rates, seeds) of the first ``count`` configurations."""
    index = torch.arange(count)
    return LRS[index % len(LRS)], index // len(LRS)


def _plain_loop(task: MLPDigits, lrs: list[float], seeds: list[int], steps: int) -> Tensor:
    """The plain way: a module and a torch.optim.Adam per configuration, run one at a time.

    Each run starts from its seed's initial point and draws its seed's minibatches, so it does
    exactly what the population does for that member. Returns the final flat parameters.
    """
    finals = []
    for lr, seed in zip(lrs, seeds, strict=True):
        seeds_t = torch.tensor([seed])
        model = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
        model.to(device=task.device, dtype=task.dtype)
        nn.utils.vector_to_parameters(task.init(seeds_t)[0], model.parameters())
        options = plain_optimizer_options(task.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, **options)
        table = task.data_order(seeds_t, steps).table[0]
        for t in range(steps):
            index = table[t]
            optimizer.zero_grad()
            F.cross_entropy(model(task.x_train[index]), task.y_train[index]).backward()
            optimizer.step()
        finals.append(nn.utils.parameters_to_vector(model.parameters()).detach())
    synchronize(task.device)
    return torch.stack(finals).cpu()


_WORKER_TASK: MLPDigits | None = None


def _worker_init() -> None:
    global _WORKER_TASK
    torch.set_num_threads(1)
    _WORKER_TASK = _task()


def _worker_loop(job: tuple[list[float], list[int], int]) -> Tensor:
    return _plain_loop(_WORKER_TASK, *job)


def _rate(benchmark, work: int) -> float | None:  # noqa: ANN001
    """Member-steps per second from the benchmark's median round (None when not timed)."""
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else work / stats.stats.median


def _best_seconds(fn: Callable[[], object], repeats: int = 30) -> float:
    """The fastest of ``repeats`` calls after a warm-up: the kernel's own speed."""
    for _ in range(5):
        fn()
    best = float("inf")
    for _ in range(repeats):
        synchronize(DEVICE)
        started = time.perf_counter()
        fn()
        synchronize(DEVICE)
        best = min(best, time.perf_counter() - started)
    return best


def _gemm_seconds(size: int) -> dict[str, float]:
    """Measured ``torch.bmm`` time of each GEMM of one step for ``size`` members (float32).

    Activations are laid out ``[P, features, B]`` as in ``MLPDigits.loss_and_grad``: the five
    GEMMs the step does (the first layer's input gradient is never computed).
    """
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> Tensor:
        return torch.randn(size, *shape, generator=gen).to(DEVICE)

    w1, w2, x = rand(HIDDEN, 64), rand(10, HIDDEN), rand(BATCH, 64)
    h, dz = rand(HIDDEN, BATCH), rand(10, BATCH)
    shapes = {
        "h = W1 x": lambda: torch.bmm(w1, x.transpose(1, 2)),
        "z = W2 h": lambda: torch.bmm(w2, h),
        "dW2 = dz hT": lambda: torch.bmm(dz, h.transpose(1, 2)),
        "dh = W2T dz": lambda: torch.bmm(w2.transpose(1, 2), dz),
        "dW1 = dh xT": lambda: torch.bmm(h, x),
    }
    return {name: _best_seconds(fn) for name, fn in shapes.items()}


@pytest.mark.benchmark(group=GROUP)
def test_mlp_torch_optim_loop(benchmark) -> None:
    task = _task()
    lrs, seeds = _configs(CONFIGS)
    _plain_loop(task, [1e-3], [0], 5)  # the first torch.optim use imports torch._dynamo
    # Correct first: in float64 the loop's runs equal the population's members to 1e-9.
    exact = _task(torch.float64, torch.device("cpu"))
    pick = torch.tensor([0, 21, 63])
    lr_pick, seed_pick = _configs()[0][pick], _configs()[1][pick]
    population = run(exact, Adam(3, lr=lr_pick), seed_pick, EngineConfig(steps=30))
    plain = _plain_loop(exact, lr_pick.tolist(), seed_pick.tolist(), 30)
    torch.testing.assert_close(population.final_params, plain, rtol=1e-9, atol=1e-12)
    member_steps(benchmark, CONFIGS * STEPS, baseline=True)
    benchmark.pedantic(_plain_loop, (task, lrs.tolist(), seeds.tolist(), STEPS), rounds=3)
    rate = _rate(benchmark, CONFIGS * STEPS)
    if rate is not None:
        RATES["loop"] = rate
        benchmark.extra_info["member-steps/s"] = round(rate)


@pytest.mark.benchmark(group=GROUP)
def test_mlp_torch_optim_loop_two_processes(benchmark) -> None:
    if DEVICE.type != "cpu":
        pytest.skip("two CPU processes share the cores; one GPU is not shared this way")
    task = _task()
    lrs, seeds = _configs(CONFIGS)
    half = CONFIGS // 2
    jobs = [
        (lrs[:half].tolist(), seeds[:half].tolist(), STEPS),
        (lrs[half:].tolist(), seeds[half:].tolist(), STEPS),
    ]
    # Workers are forked once, outside the timing, and keep one thread each.
    with multiprocessing.get_context("fork").Pool(2, initializer=_worker_init) as pool:
        pool.map(_worker_loop, [([1e-3], [0], 5)] * 2)  # warm up both workers
        short = [(job[0][:2], job[1][:2], 40) for job in jobs]
        expected = _plain_loop(task, [*short[0][0], *short[1][0]], [*short[0][1], *short[1][1]], 40)
        together = torch.cat(pool.map(_worker_loop, short))
        torch.testing.assert_close(together, expected, rtol=1e-4, atol=1e-6)
        member_steps(benchmark, CONFIGS * STEPS)
        benchmark.pedantic(pool.map, (_worker_loop, jobs), rounds=3)
    rate = _rate(benchmark, CONFIGS * STEPS)
    if rate is not None:
        RATES["two_processes"] = rate
        benchmark.extra_info["member-steps/s"] = round(rate)


@pytest.mark.benchmark(group=GROUP)
def test_mlp_population(benchmark) -> None:
    task = _task()
    lrs, seeds = _configs(CONFIGS)
    config = EngineConfig(steps=STEPS, n_records=2)
    # Correct first: float32 members against the plain loop over the whole run.
    pick = torch.tensor([0, 37])
    check = run(task, Adam(2, lr=lrs[pick]), seeds[pick], config)
    plain = _plain_loop(task, lrs[pick].tolist(), seeds[pick].tolist(), STEPS)
    torch.testing.assert_close(check.final_params, plain, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(check.final_loss, task.evaluate(plain).double(), rtol=1e-4, atol=0)

    rule = Adam(CONFIGS, lr=lrs)
    member_steps(benchmark, CONFIGS * STEPS)
    benchmark.pedantic(run, (task, rule, seeds, config), rounds=3, warmup_rounds=1)
    rate = _rate(benchmark, CONFIGS * STEPS)
    if rate is None:
        return
    info = benchmark.extra_info
    info["member-steps/s"] = round(rate)
    for name, key in (("loop", "x one-process loop"), ("two_processes", "x two-process loop")):
        if name in RATES:
            info[key] = round(rate / RATES[name], 2)

    # How close to GEMM-bound: the time the step's five GEMMs alone take, at their shapes and
    # the chunk's size, over the time a step of the chunk takes.
    chunk = min(CONFIGS, default_chunk_size(task, STEPS))
    gemms = _gemm_seconds(chunk)
    step_seconds = chunk / rate
    done = 2 * BATCH * HIDDEN * (2 * 64 + 3 * 10)  # FLOPs per member-step of the 5 GEMMs
    info["MFLOP/member-step (5 GEMMs)"] = round(done * 1e-6, 2)
    info["GEMM-bound (5 GEMMs)"] = f"{sum(gemms.values()) / step_seconds:.0%}"
    big = 2 * chunk * HIDDEN * 64 * BATCH / gemms["h = W1 x"]
    info[f"bmm GFLOP/s at [{chunk},128,64]x[{chunk},64,128]"] = round(big * 1e-9)


@pytest.mark.benchmark(group=GROUP)
def test_mlp_population_at_the_default_records(benchmark) -> None:
    """The population at the default 50 records; its time over the time at 2 records, from runs
    taken in turns (2, 50, 2, 50, …): this machine's speed drifts between two tests by more than
    the records cost."""
    task = _task()
    lrs, seeds = _configs(CONFIGS)
    config = EngineConfig(steps=STEPS)
    assert config.n_records == 50
    member_steps(benchmark, CONFIGS * STEPS)
    benchmark.pedantic(run, (task, Adam(CONFIGS, lr=lrs), seeds, config), rounds=3, warmup_rounds=1)
    if benchmark.disabled:
        return
    ratios = []
    for _ in range(PAIRS):
        seconds = []
        for records in (2, 50):
            started = time.perf_counter()
            run(task, Adam(CONFIGS, lr=lrs), seeds, EngineConfig(steps=STEPS, n_records=records))
            seconds.append(time.perf_counter() - started)
        ratios.append(seconds[1] / seconds[0])
    benchmark.extra_info["time x n_records=2"] = round(statistics.median(ratios), 3)

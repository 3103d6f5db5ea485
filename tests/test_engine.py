"""The population engine: independence of members, divergence, records, closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from host_sync import NoHostSync

from bench.engine import Chunk, EngineConfig, PopulationResult, chunk_for_memory, record_steps, run
from bench.optim import RULES, SGD, Adam
from bench.tasks import TASKS, SyntheticTask, make_task

#: Small versions of the tasks (every synthetic one with gradient noise) for the sync check.
SMALL_TASKS = {
    "mlp_digits": {"hidden": 4, "batch_size": 16},
    "cnn_digits": {"channels": 2, "batch_size": 16},
    "logreg_digits": {"batch_size": 16},
}
#: Rule variants that take other code paths than the defaults (one member each).
RULE_VARIANTS = {
    "sgd": {
        "lr": 0.01,
        "momentum": [0.0, 0.9, 0.9],
        "nesterov": [False, True, False],
        "dampening": [0.0, 0.0, 0.1],
        "weight_decay": [0.0, 0.1, 0.0],
    },
    "adam": {
        "lr": 0.01,
        "amsgrad": [False, True, False],
        "weight_decay": [0.0, 0.1, 0.1],
        "decoupled_weight_decay": [False, False, True],
        "bias_correction": [True, True, False],
        "eps_placement": ["torch", "keras", "torch"],
    },
}


def _small_task(name: str):  # noqa: ANN202
    options = dict(SMALL_TASKS.get(name, {}))
    if not issubclass(TASKS[name], SyntheticTask):
        return make_task(name, **options)
    try:
        return make_task(name, dim=2, noise=0.1, **options)
    except ValueError:  # a task of fixed dimension
        return make_task(name, noise=0.1, **options)


@pytest.mark.parametrize("rule_name", sorted(RULES))
@pytest.mark.parametrize("task_name", sorted(TASKS))
def test_the_step_loop_never_synchronises_with_the_host(task_name: str, rule_name: str) -> None:
    # The CUDA code path's logic checked on the CPU: every update is masked (no `any()` asked),
    # the step index stays a device tensor, and records go into preallocated tensors.
    task = _small_task(task_name)
    rule = RULES[rule_name](3, **RULE_VARIANTS.get(rule_name, {}))
    config = EngineConfig(steps=6, n_records=3)
    chunk = Chunk(task, rule, torch.arange(3), config, sync_free=True)
    with NoHostSync():
        chunk.advance(progress=lambda count: None)
    result = chunk.result()
    assert torch.isfinite(result.curves).all() and torch.isfinite(result.final_params).all()
    together = run(task, rule, torch.arange(3), config)
    torch.testing.assert_close(result.final_params, together.final_params, rtol=0, atol=0)


@pytest.mark.parametrize(
    "sync",
    [
        lambda x: bool(x.any()),
        lambda x: x[0].item(),
        lambda x: x.nonzero(),
        lambda x: x + torch.tensor(1.0),
        lambda x: torch.as_tensor(3, device=x.device),
        lambda x: x.to("meta"),
    ],
)
def test_the_sync_check_catches_host_reads_and_copies(sync) -> None:  # noqa: ANN001
    x = torch.ones(3)
    with pytest.raises(AssertionError, match="host"), NoHostSync():
        sync(x)


def test_cuda_chunks_fill_half_the_free_memory() -> None:
    assert chunk_for_memory(8 << 30, 1 << 20, 32) == 4096
    assert chunk_for_memory(1 << 20, 1 << 20, 32) == 32
    task = make_task("mlp_digits")
    assert task.member_bytes(300) > task.member_bytes(10) > 12 * task.dim * 4


def _random_adam(size: int, seed: int = 0) -> Adam:
    gen = torch.Generator().manual_seed(seed)
    return Adam(
        size,
        lr=10 ** (-3 + 2.5 * torch.rand(size, generator=gen, dtype=torch.float64)),
        beta1=1 - 10 ** (-2 * torch.rand(size, generator=gen, dtype=torch.float64)),
        beta2=1 - 10 ** (-1 - 3 * torch.rand(size, generator=gen, dtype=torch.float64)),
        eps=10 ** (-8 + 6 * torch.rand(size, generator=gen, dtype=torch.float64)),
    )


def _member(result: PopulationResult, i: int) -> dict[str, torch.Tensor]:
    fields = ("curves", "final_loss", "best_loss", "hit_step", "diverged_step", "final_params")
    out = {name: getattr(result, name)[i] for name in fields}
    out.update({k: v[i] for k, v in result.metrics.items()})
    if result.end_in_basin is not None:
        out["end_in_basin"] = result.end_in_basin[i]
    return out


def _assert_identical(a: dict, b: dict) -> None:
    for name in a:
        assert torch.equal(a[name].nan_to_num(), b[name].nan_to_num()), name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_a_member_does_not_depend_on_its_population(dtype: torch.dtype, noise: float) -> None:
    task = make_task("rastrigin", dim=2, noise=noise, dtype=dtype)
    rule = _random_adam(64)
    seeds = torch.arange(64) % 5
    config = EngineConfig(steps=300, n_records=31)
    together = run(task, rule, seeds, config)
    chunked = run(task, rule, seeds, EngineConfig(steps=300, n_records=31, chunk_size=5))
    index = torch.tensor([17])
    alone = run(task, rule.subset(index), seeds[index], config)
    _assert_identical(_member(together, 17), _member(alone, 0))
    for i in (0, 17, 63):
        _assert_identical(_member(together, i), _member(chunked, i))


def test_a_digits_member_does_not_depend_on_its_population() -> None:
    # Minibatches, batched GEMMs and chunked evaluation: rounding may differ with the batch
    # shapes, so float64 results agree to 1e-9 (integer outcomes exactly).
    task = make_task("mlp_digits", hidden=16, dtype=torch.float64)
    rule = _random_adam(64)
    seeds = torch.arange(64) % 5
    together = run(task, rule, seeds, EngineConfig(steps=100, n_records=11, chunk_size=64))
    chunked = run(task, rule, seeds, EngineConfig(steps=100, n_records=11, chunk_size=5))
    index = torch.tensor([17])
    alone = run(task, rule.subset(index), seeds[index], EngineConfig(steps=100, n_records=11))
    assert together.diverged.sum() < 64 and len(together.metrics) == 2

    def assert_same(a: dict, b: dict) -> None:
        for name in a:
            if a[name].is_floating_point():
                torch.testing.assert_close(a[name], b[name], rtol=1e-9, atol=0, equal_nan=True)
            else:
                assert torch.equal(a[name], b[name]), name

    assert_same(_member(together, 17), _member(alone, 0))
    for i in (0, 17, 63):
        assert_same(_member(together, i), _member(chunked, i))


def test_a_diverging_member_is_recorded_and_disturbs_no_other() -> None:
    task = make_task("rosenbrock", dim=2, dtype=torch.float64)
    lrs = [1e-3, 1e3, 1e-2, 1e3, 3e-2]
    seeds = torch.tensor([0, 0, 1, 1, 2])
    config = EngineConfig(steps=200, n_records=21)
    with_divergent = run(task, Adam(5, lr=lrs), seeds, config)
    assert with_divergent.diverged.tolist() == [False, True, False, True, False]
    assert (with_divergent.diverged_step[[1, 3]] > 0).all()
    keep = torch.tensor([0, 2, 4])
    without = run(task, Adam(3, lr=[lrs[i] for i in keep]), seeds[keep], config)
    for j, i in enumerate(keep.tolist()):
        _assert_identical(_member(with_divergent, i), _member(without, j))


def test_a_diverged_member_is_frozen_where_it_diverged() -> None:
    task = make_task("rosenbrock", dim=2, dtype=torch.float64)
    rule = Adam(1, lr=1e3)
    short = run(task, rule, torch.tensor([3]), EngineConfig(steps=50))
    long = run(task, rule, torch.tensor([3]), EngineConfig(steps=400))
    assert short.diverged_step.item() == long.diverged_step.item() >= 1
    assert torch.equal(short.final_params, long.final_params)
    assert torch.isfinite(long.final_params).all()


def test_common_random_numbers_same_seed_same_start_for_every_configuration() -> None:
    task = make_task("styblinski_tang", dim=3, noise=0.1, dtype=torch.float64)
    seeds = torch.tensor([4, 4, 4, 9])
    result = run(task, _random_adam(4), seeds, EngineConfig(steps=10))
    starts = result.curves[:, 0]
    assert starts[0] == starts[1] == starts[2] != starts[3]


def test_sgd_on_the_quadratic_follows_the_closed_form() -> None:
    # Gradient descent on ½ Σ λᵢ xᵢ² gives xᵢ(t) = (1 - ηλᵢ)ᵗ xᵢ(0).
    task = make_task("quadratic", dim=4, condition_number=10.0, tol=1e-6, dtype=torch.float64)
    lr, steps = 0.05, 400
    result = run(task, SGD(1, lr=lr), torch.tensor([0]), EngineConfig(steps=steps, n_records=401))
    x0 = task.init(torch.tensor([0]))[0]
    factors = (1 - lr * task.eigenvalues) ** 2
    t = torch.arange(steps + 1, dtype=torch.float64)[:, None]
    expected = 0.5 * (task.eigenvalues * x0**2 * factors**t).sum(-1)
    torch.testing.assert_close(result.curves[0], expected, rtol=1e-10, atol=1e-300)
    first_hit = int((expected <= 1e-6).nonzero()[0])
    assert result.hit_step.item() == first_hit
    assert result.best_loss.item() == result.curves[0].min().item()


def test_target_never_reached_is_censored() -> None:
    task = make_task("quadratic", dim=4, dtype=torch.float64)
    result = run(task, SGD(1, lr=1e-5), torch.tensor([0]), EngineConfig(steps=20))
    assert result.hit_step.item() == -1 and not result.diverged.item()


def test_task_gradients_and_vmap_agree_over_a_run() -> None:
    task = make_task("quadratic", dim=6, noise=0.1, dtype=torch.float64)
    rule = SGD(3, lr=[1e-3, 5e-3, 1e-2], momentum=0.9)
    seeds = torch.tensor([0, 1, 2])
    fast = run(task, rule, seeds, EngineConfig(steps=100))
    reference = run(task, rule, seeds, EngineConfig(steps=100, grad="vmap"))
    torch.testing.assert_close(fast.final_params, reference.final_params, rtol=1e-9, atol=0)
    torch.testing.assert_close(fast.curves, reference.curves, rtol=1e-9, atol=0)


def test_gradient_noise_lets_runs_escape_a_local_minimum() -> None:
    task = make_task("double_well", x0=0.96, noise=3.0, dtype=torch.float64)
    result = run(task, SGD(64, lr=0.05), torch.arange(64), EngineConfig(steps=500))
    assert not result.start_in_basin.any()
    escaped = result.end_in_basin.float().mean().item()
    assert 0.0 < escaped < 1.0
    quiet = make_task("double_well", x0=0.96, dtype=torch.float64)
    stuck = run(quiet, SGD(4, lr=0.05), torch.arange(4), EngineConfig(steps=500))
    assert not stuck.end_in_basin.any()


def _basin_reference(task, lr: float, seeds: torch.Tensor, steps: int) -> torch.Tensor:
    """Plain SGD step by step: whether each member is in the global basin at each step."""
    x = task.init(seeds)
    order = task.data_order(seeds, steps)
    inside = []
    for t in range(steps + 1):
        inside.append(task.in_global_basin(x))
        if t < steps:
            _, grad = task.loss_and_grad(x, *task.batch(order, t))
            x = x - lr * (grad + task.grad_noise(seeds, t))
    return torch.stack(inside)  # [T+1, P]


def test_escape_is_the_first_passage_into_the_global_basin_beside_the_late_share() -> None:
    # Under noise the iterate hops between the wells: where it ends is a coin flip, so the
    # engine records when it first got in and how much of the second half it stayed (issue 12).
    task = make_task("double_well", x0=0.96, noise=6.0, dtype=torch.float64)
    seeds, steps = torch.arange(32), 200
    result = run(task, SGD(32, lr=0.05), seeds, EngineConfig(steps=steps))
    inside = _basin_reference(task, 0.05, seeds, steps)
    first = torch.where(inside.any(0), inside.int().argmax(0), torch.tensor(-1))
    assert torch.equal(result.escape_step, first)
    late = inside[(steps + 1) // 2 :].double().mean(0)
    torch.testing.assert_close(result.late_basin_share, late, rtol=0, atol=1e-12)
    assert (result.escape_step > 0).any() and (late < 1).any()
    hoppers = (result.escape_step >= 0) & ~result.end_in_basin
    assert hoppers.any()  # got in and left again: the snapshot at the end would miss them


def test_a_target_counts_as_reached_only_once_the_loss_stays_below_it() -> None:
    task = make_task("double_well", x0=0.96, noise=6.0, tol=0.3, dtype=torch.float64)
    steps = 200
    config = EngineConfig(steps=steps, n_records=steps + 1)
    result = run(task, SGD(32, lr=0.05), torch.arange(32), config)
    below = result.curves <= task.target  # every step is recorded here
    for i in range(32):
        above = torch.nonzero(~below[i]).flatten()
        settled = 0 if len(above) == 0 else int(above[-1]) + 1
        assert int(result.hit_step[i]) == (settled if settled <= steps else -1)
    touched = below.any(1)
    assert (touched & (result.hit_step < 0)).any()  # touched the target, did not stay


def test_record_steps_cover_both_ends() -> None:
    assert record_steps(10, 3) == [0, 5, 10]
    assert record_steps(3, 50) == [0, 1, 2, 3]
    points = record_steps(1000, 50)
    assert points[0] == 0 and points[-1] == 1000 and len(points) == 50


def test_progress_counts_every_member_step() -> None:
    task = make_task("quadratic", dim=2)
    seen: list[int] = []
    run(task, SGD(6, lr=0.1), torch.arange(6), EngineConfig(steps=37, chunk_size=4), seen.append)
    assert sum(seen) == 6 * 37


def test_wall_time_is_shared_over_members() -> None:
    task = make_task("quadratic", dim=2)
    result = run(task, SGD(3, lr=0.1), torch.arange(3), EngineConfig(steps=5))
    assert (result.seconds > 0).all() and math.isclose(result.seconds[0], result.seconds[1])


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 5, "n_records": 1}, "n_records"),
        ({"steps": 5, "divergence_factor": 0.0}, "divergence_factor"),
        ({"steps": 5, "chunk_size": 0}, "chunk_size"),
        ({"steps": 5, "grad": "finite-differences"}, "grad"),
    ],
)
def test_invalid_engine_settings_are_refused(options, key) -> None:
    with pytest.raises(ValueError, match=key):
        EngineConfig(**options)


@pytest.mark.gpu
def test_cuda_runs_without_host_synchronisation_and_matches_the_cpu() -> None:
    task_gpu = make_task("rastrigin", dim=2, noise=0.1, dtype=torch.float64, device="cuda")
    task_cpu = make_task("rastrigin", dim=2, noise=0.1, dtype=torch.float64)
    rule, seeds = _random_adam(256), torch.arange(256) % 7
    config = EngineConfig(steps=100)
    run(task_gpu, rule, seeds, config)  # warm-up: the first kernels load and allocate
    # Set-up and results move data on purpose; the step loop never does.
    chunk = Chunk(task_gpu, rule, seeds, config)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with NoHostSync():
            chunk.advance()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    gpu = chunk.result()
    cpu = run(task_cpu, rule, seeds, config)
    torch.testing.assert_close(gpu.curves[:, :5], cpu.curves[:, :5], rtol=1e-9, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize(("task_name", "options"), [("rastrigin", {"dim": 2}), ("mlp_digits", {})])
def test_a_cuda_step_replays_as_a_cuda_graph(task_name: str, options: dict) -> None:
    # The step reads its index from a device tensor, so one captured graph serves every step.
    task = make_task(task_name, device="cuda", dtype=torch.float64, **options)
    rule, seeds, config = _random_adam(64), torch.arange(64), EngineConfig(steps=20)
    eager = Chunk(task, rule, seeds, config)
    eager.advance()
    graphed = Chunk(task, rule, seeds, config)
    x, step, order, state = graphed.x, graphed.step, graphed.order, graphed.state

    def one_step() -> None:
        _, grad = task.loss_and_grad(x, *task.batch(order, step))
        rule.step(x, grad, state, step)
        step.add_(1)

    # Warm up on a side stream, as torch.cuda.graphs asks, then put every tensor back.
    touched = [x, step, *(v for v in vars(state).values() if isinstance(v, torch.Tensor))]
    saved = [t.clone() for t in touched]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        one_step()
        for tensor, value in zip(touched, saved, strict=True):
            tensor.copy_(value)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        one_step()
    for _ in range(config.steps):
        graph.replay()
    torch.testing.assert_close(x, eager.x, rtol=1e-12, atol=1e-12)


def test_record_hook_prunes_members_which_then_stop() -> None:
    task = make_task("quadratic", dim=3, dtype=torch.float64)
    rule = SGD(4, lr=[1e-3, 1e-2, 1e-1, 1e-4])
    seen: list[int] = []

    def prune_slow(step: int, losses: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        seen.append(step)
        return (members == 3) if step >= 50 else torch.zeros_like(members, dtype=torch.bool)

    config = EngineConfig(steps=100, n_records=11)
    result = run(task, rule, torch.arange(4), config, on_record=prune_slow)
    assert seen == list(range(10, 100, 10))
    assert result.pruned_step.tolist() == [-1, -1, -1, 50]
    assert (result.curves[3, 5:] == result.curves[3, 5]).all()  # frozen from step 50 on
    free = run(task, rule, torch.arange(4), config)
    assert torch.equal(result.final_params[:3], free.final_params[:3])


def test_a_chunk_whose_members_all_stop_ends_early() -> None:
    task = make_task("quadratic", dim=3, dtype=torch.float64)
    steps_done: list[int] = []
    result = run(
        task,
        SGD(2, lr=1e-3),
        torch.arange(2),
        EngineConfig(steps=100, n_records=11),
        progress=steps_done.append,
        on_record=lambda step, losses, members: torch.ones_like(members, dtype=torch.bool),
    )
    assert result.pruned_step.tolist() == [10, 10]
    assert sum(steps_done) == 2 * 100
    assert torch.isfinite(result.final_loss).all()
    assert torch.isnan(result.curves[:, 2:]).all()

"""The digits tasks: split, standardisation, data order, and fast gradients against autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench.engine import EngineConfig, run
from bench.optim import Adam
from bench.tasks import TASKS, make_task
from bench.tasks.digits import CNNDigits, DigitsTask, LogRegDigits, MLPDigits

# Small networks keep the tests fast; the defaults are checked for their sizes only.
SMALL = {"logreg_digits": {}, "mlp_digits": {"hidden": 16}, "cnn_digits": {"channels": 3}}


def _task(name: str, dtype: torch.dtype = torch.float64, **options) -> DigitsTask:
    return make_task(name, dtype=dtype, **{**SMALL[name], **options})


def test_the_three_tasks_are_registered() -> None:
    assert TASKS["logreg_digits"] is LogRegDigits
    assert TASKS["mlp_digits"] is MLPDigits
    assert TASKS["cnn_digits"] is CNNDigits


def test_the_split_is_fixed_by_its_seed_and_disjoint() -> None:
    a, b = LogRegDigits(), LogRegDigits()
    assert torch.equal(a.train_index, b.train_index) and torch.equal(a.test_index, b.test_index)
    assert (a.n_train, a.n_test) == (1438, 359)
    everything = torch.cat([a.train_index, a.test_index]).sort().values
    assert torch.equal(everything, torch.arange(1797))
    other = LogRegDigits(split_seed=1)
    assert not torch.equal(other.test_index, a.test_index)
    assert LogRegDigits(test_fraction=0.5).n_test == round(0.5 * 1797)


def test_inputs_are_standardised_with_the_training_statistics() -> None:
    task = LogRegDigits(dtype=torch.float64)
    mean, std = task.x_train.mean(0), task.x_train.std(0, unbiased=False)
    torch.testing.assert_close(mean, torch.zeros(64, dtype=torch.float64), rtol=0, atol=1e-12)
    constant = std < 1e-12  # pixels that never light up in the training set stay at 0
    assert constant.any() and (task.x_train[:, constant] == 0).all()
    torch.testing.assert_close(std[~constant], torch.ones_like(std[~constant]))
    # The test set uses the training statistics, so it is only roughly centred.
    assert task.x_test.mean(0).abs().max() < 0.5


@pytest.mark.parametrize(
    ("name", "options", "dim"),
    [
        ("logreg_digits", {}, 64 * 10 + 10),
        ("mlp_digits", {}, 64 * 128 + 128 + 128 * 10 + 10),
        ("mlp_digits", {"hidden": 16}, 64 * 16 + 16 + 16 * 10 + 10),
        ("cnn_digits", {}, 8 * 9 + 8 + 8 * 16 * 10 + 10),
    ],
)
def test_dimensions_and_the_default_init(name: str, options: dict, dim: int) -> None:
    task = make_task(name, **options)
    assert task.dim == dim and task.f_star is None
    assert not task.exact_step_loss and not task.has_basins
    x = task.init(torch.tensor([0, 5, 0]))
    assert x.shape == (3, dim) and x.dtype == torch.float32
    assert torch.equal(x[0], x[2]) and not torch.equal(x[0], x[1])
    assert torch.equal(task.init(torch.tensor([5]))[0], x[1])
    # PyTorch's default: every weight and bias uniform within ±1/√fan_in of its layer.
    for (_, _, fan_in), values in zip(task._layout, task.params(x).values(), strict=True):
        bound = 1 / math.sqrt(fan_in)
        assert values.abs().max() <= bound and values.abs().max() > 0.9 * bound


@pytest.mark.parametrize("name", list(SMALL))
def test_fast_gradients_equal_autograd_of_the_member_loss(name: str) -> None:
    task = _task(name)
    seeds = torch.tensor([3, 1, 3, 2])
    x = task.init(seeds)
    order = task.data_order(seeds, 7)
    inputs, labels = task.batch(order, 6)
    assert inputs.shape == (4, 128, 64) and labels.shape == (4, 128)
    loss, grad = task.loss_and_grad(x, inputs, labels)
    assert loss.shape == (4,) and grad.shape == (4, task.dim)
    for i in range(4):
        member = x[i].clone().requires_grad_()
        expected = task.member_loss(member, inputs[i], labels[i])
        expected.backward()
        torch.testing.assert_close(loss[i], expected.detach(), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grad[i], member.grad, rtol=1e-10, atol=1e-12)
    vmap_loss, vmap_grad = task.vmap_loss_and_grad(x, inputs, labels)
    torch.testing.assert_close(vmap_loss, loss, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(vmap_grad, grad, rtol=1e-10, atol=1e-12)


def test_float32_fast_gradients_are_close_to_float64() -> None:
    fast, exact = _task("mlp_digits", torch.float32), _task("mlp_digits")
    seeds = torch.arange(3)
    x = exact.init(seeds)
    loss, grad = fast.loss_and_grad(x.float(), *fast.batch(fast.data_order(seeds, 1), 0))
    loss64, grad64 = exact.loss_and_grad(x, *exact.batch(exact.data_order(seeds, 1), 0))
    torch.testing.assert_close(loss, loss64.float(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, grad64.float(), rtol=1e-4, atol=1e-6)


def test_a_seed_has_the_same_minibatches_in_any_population() -> None:
    task = LogRegDigits(batch_size=100)
    steps = 40  # 14 batches per epoch: three epochs
    alone = task.data_order(torch.tensor([7]), steps)
    crowd = task.data_order(torch.tensor([2, 9, 7, 2, 7]), steps)
    assert crowd.table.shape == (3, steps, 100) and crowd.row.tolist() == [0, 2, 1, 0, 1]
    for t in (0, 13, 14, 39):
        mine = task.batch(alone, t)
        theirs = task.batch(crowd, t)
        for position in (2, 4):
            assert torch.equal(theirs[0][position], mine[0][0])
            assert torch.equal(theirs[1][position], mine[1][0])
    assert not torch.equal(crowd.table[0], crowd.table[1])


def test_an_epoch_visits_each_training_image_at_most_once() -> None:
    task = LogRegDigits(batch_size=128)
    per_epoch = task.n_train // 128  # the last incomplete batch is dropped
    order = task.data_order(torch.tensor([4]), 2 * per_epoch)
    for epoch in range(2):
        seen = order.table[0, epoch * per_epoch : (epoch + 1) * per_epoch].reshape(-1)
        assert len(seen.unique()) == per_epoch * 128
        assert seen.min() >= 0 and seen.max() < task.n_train
    first, second = order.table[0, :per_epoch], order.table[0, per_epoch:]
    assert not torch.equal(first, second)


@pytest.mark.parametrize("name", list(SMALL))
def test_evaluate_is_the_full_batch_training_loss(name: str) -> None:
    task = _task(name)
    x = task.init(torch.tensor([0, 1]))
    losses = task.evaluate(x)
    for i in range(2):
        expected = task.member_loss(x[i], task.x_train, task.y_train)
        torch.testing.assert_close(losses[i], expected, rtol=1e-12, atol=0)
    metrics = task.final_metrics(x)
    assert set(metrics) == {"test_loss", "test_accuracy"}
    for i in range(2):
        logits = task._member_logits(x[i], task.x_test)
        test_loss = torch.nn.functional.cross_entropy(logits, task.y_test)
        accuracy = (logits.argmax(1) == task.y_test).double().mean()
        torch.testing.assert_close(metrics["test_loss"][i], test_loss, rtol=1e-12, atol=0)
        assert metrics["test_accuracy"][i] == accuracy
        assert 0 <= metrics["test_accuracy"][i] <= 1


def test_a_trained_logistic_regression_classifies_the_test_set() -> None:
    task = LogRegDigits()
    result = run(task, Adam(2, lr=1e-2), torch.tensor([0, 1]), EngineConfig(steps=300))
    assert (result.metrics["test_accuracy"] > 0.9).all()
    assert (result.final_loss < 0.2).all() and (result.curves[:, 0] > 2).all()
    assert task.target_text == "train loss <= 0.1"


@pytest.mark.parametrize(
    ("name", "options", "key"),
    [
        ("logreg_digits", {"batch_size": 0}, "Invalid task.batch_size: 0; allowed: "),
        ("logreg_digits", {"batch_size": 5000}, "Invalid task.batch_size: 5000"),
        ("logreg_digits", {"test_fraction": 0.0}, "Invalid task.test_fraction: 0.0"),
        ("logreg_digits", {"test_fraction": 1.0}, "Invalid task.test_fraction: 1.0"),
        ("logreg_digits", {"test_fraction": 1e-5}, "Invalid task.test_fraction: 1e-05"),
        ("logreg_digits", {"target": -0.1}, "Invalid task.target: -0.1"),
        ("logreg_digits", {"target": float("nan")}, "Invalid task.target: nan"),
        ("logreg_digits", {"split_seed": 0.5}, "Invalid task.split_seed: 0.5"),
        ("mlp_digits", {"hidden": 0}, "Invalid task.hidden: 0; allowed: an integer >= 1"),
        ("cnn_digits", {"channels": 0}, "Invalid task.channels: 0; allowed: an integer >= 1"),
    ],
)
def test_bad_values_are_refused_naming_the_key(name: str, options: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.").replace("+", r"\+")):
        make_task(name, **options)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(SMALL))
def test_cuda_matches_the_cpu_without_host_synchronisation(name: str) -> None:
    gpu, cpu = _task(name, device="cuda"), _task(name)
    seeds = torch.tensor([0, 1, 0])
    x = cpu.init(seeds)
    x_gpu, order = x.cuda(), gpu.data_order(seeds.cuda(), 3)
    batch = gpu.batch(order, 2)
    gpu.loss_and_grad(x_gpu, *batch)  # warm-up: first allocations may synchronise
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss, grad = gpu.loss_and_grad(x_gpu, *batch)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    expected = cpu.loss_and_grad(x, *cpu.batch(cpu.data_order(seeds, 3), 2))
    torch.testing.assert_close(loss.cpu(), expected[0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad.cpu(), expected[1], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gpu.evaluate(x_gpu).cpu(), cpu.evaluate(x), rtol=1e-10, atol=0)


def test_the_digits_are_scikit_learns() -> None:
    from sklearn.datasets import load_digits

    from bench.tasks.digits import _digits

    pixels, labels = _digits()
    reference = load_digits()
    assert np.array_equal(pixels, reference.data) and np.array_equal(labels, reference.target)

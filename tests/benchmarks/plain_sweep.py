"""The same Adam sweep on mlp_digits as a user writes it without bench: the benchmark's baseline.

Optuna's ``study.optimize``; per trial and seed one ``nn.Sequential`` MLP and one
``torch.optim.Adam``, trained on the same minibatches for the same steps, evaluated on the full
training set at the same record points and on the test set at the end. Two of these processes
with ``--threads 1`` sharing one SQLite study are the best a user gets from 2 cores this way.

    python tests/benchmarks/plain_sweep.py --storage sqlite:///plain.db --trials 64 [--device cuda]
"""

from __future__ import annotations

import argparse
import warnings

import optuna
import torch
from torch import nn
from torch.nn import functional as F

from bench.tasks import make_task


def make_model(task, x0: torch.Tensor | None = None) -> nn.Sequential:  # noqa: ANN001
    """The task's 64-hidden-10 MLP as torch.nn layers, started at ``x0`` where given."""
    model = nn.Sequential(nn.Linear(64, task.hidden), nn.ReLU(), nn.Linear(task.hidden, 10))
    model.to(device=task.device, dtype=task.dtype)
    if x0 is not None:
        p = task.params(x0)
        with torch.no_grad():
            model[0].weight.copy_(p["weight1"])
            model[0].bias.copy_(p["bias1"])
            model[2].weight.copy_(p["weight2"])
            model[2].bias.copy_(p["bias2"])
    return model


def train(task, hyperparameters: dict, seed: int, steps: int, records: int, x0=None) -> float:  # noqa: ANN001
    """One run: Adam on the seed's minibatches; the final full-batch training loss."""
    torch.manual_seed(seed)
    model = make_model(task, x0)
    # The fastest torch.optim a user picks: fused kernels on CUDA, torch's default on the CPU.
    fused = {"fused": True} if task.device.type == "cuda" else {}
    optimizer = torch.optim.Adam(model.parameters(), **hyperparameters, **fused)
    order = task.data_order(torch.tensor([seed]), steps)
    every = max(1, steps // (records - 1))
    for t in range(steps):
        inputs, labels = (b[0] for b in task.batch(order, t))
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
        if t % every == 0:
            with torch.no_grad():
                F.cross_entropy(model(task.x_train), task.y_train)
    with torch.no_grad():
        final = F.cross_entropy(model(task.x_train), task.y_train).item()
        (model(task.x_test).argmax(1) == task.y_test).float().mean()
    return final


def main() -> None:
    """Run ``--trials`` trials of the sweep into the shared study."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", default="plain")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--records", type=int, default=11)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = make_task("mlp_digits", device=args.device)

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        beta1 = 1 - trial.suggest_float("one_minus_beta1", 1e-3, 1.0, log=True)
        beta2 = 1 - trial.suggest_float("one_minus_beta2", 1e-5, 1e-1, log=True)
        eps = trial.suggest_float("eps", 1e-10, 1.0, log=True)
        hp = {"lr": lr, "betas": (beta1, beta2), "eps": eps}
        losses = [train(task, hp, seed, args.steps, args.records) for seed in range(args.seeds)]
        value = sum(losses) / len(losses)
        return value if value == value else float("inf")

    study = optuna.create_study(
        study_name=args.study,
        storage=args.storage,
        sampler=optuna.samplers.TPESampler(multivariate=True, constant_liar=True),
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=args.trials)


if __name__ == "__main__":
    main()

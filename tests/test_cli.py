"""``python -m bench`` as a user runs it: one configuration, and one-line refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from bench import cli
from bench.cli import check_arguments
from bench.config import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _bench(*args: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_vars}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_single_run_command_stores_runs_and_prints_a_summary(tmp_path: Path) -> None:
    done = _bench(
        "task=rosenbrock",
        "optimizer=adam",
        "optimizer.lr=0.01",
        "steps=500",
        "seeds=3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "final loss" in done.stdout and "diverged        0/3" in done.stdout
    runs = pd.read_parquet(tmp_path / "results" / "single-adam-rosenbrock" / "runs.parquet")
    assert len(runs) == 3 and set(runs.seed) == {0, 1, 2} and (runs.lr == 0.01).all()
    curves = pd.read_parquet(tmp_path / "results" / "single-adam-rosenbrock" / "curves.parquet")
    assert curves.groupby("seed").step.max().eq(500).all()


# Two refusals as a user meets them (exit status, stderr); test_cli_properties checks every kind
# of bad input in process.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["task=nonexistent"], "task='nonexistent' is unknown; allowed: ackley"),
        (["optimizer.beta1=1.5"], "optimizer.beta1: 1.5; allowed: 0 <= beta1 < 1"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = _bench(*args, "steps=5" if not args[0].startswith("steps") else "seeds=1", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert not (tmp_path / "results").exists() or "results_dir" in expected


def test_every_value_of_a_multirun_is_checked() -> None:
    with pytest.raises(ConfigError, match="task='nope' is unknown"):
        check_arguments(["--multirun", "task=quadratic,nope"])
    with pytest.raises(ConfigError, match="optimizer=.*'adamz' is unknown"):
        check_arguments(["-m", "optimizer=adam,adamz"])
    with pytest.raises(ConfigError, match="optimizer.lr: -1.0"):
        check_arguments(["-m", "optimizer.lr=0.1,-1", "task=quadratic,rosenbrock"])
    check_arguments(["--multirun", "task=quadratic,rastrigin", "optimizer=adam,sgd"])


def _job_config(monkeypatch: pytest.MonkeyPatch, through_hydra: bool, *args: str) -> dict:
    """The configuration ``python -m bench args`` hands its job, resolved, and whether the
    command went through Hydra's run to get there."""
    seen: dict = {}

    def job(cfg: object, workers: object = None) -> None:
        seen["cfg"] = OmegaConf.to_container(cfg, resolve=True)

    hydra_main = cli._hydra_main

    def through_hydra_main() -> None:
        seen["hydra"] = True
        hydra_main()

    monkeypatch.setattr(cli, "_job", job)
    monkeypatch.setattr(cli, "_hydra_main", through_hydra_main)
    monkeypatch.setattr(sys, "argv", ["bench", *args])
    if through_hydra:
        hydra_main()
    else:
        cli.main()
    return {**seen, "hydra": seen.get("hydra", through_hydra)}


@pytest.mark.parametrize(
    "args",
    [
        ("+sweep=adam", "task=rastrigin", "steps=${seeds}"),
        ("task=double_well", "optimizer=sgd", "optimizer.lr=0.05", "seeds=3"),
    ],
)
def test_one_job_runs_without_hydras_run_on_the_configuration_hydra_would_give_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    direct = _job_config(monkeypatch, False, *args)
    assert not direct["hydra"]
    assert direct["cfg"] == _job_config(monkeypatch, True, *args)["cfg"]
    assert direct["cfg"]["steps"] == direct["cfg"]["seeds"] or "optimizer=sgd" in args


@pytest.mark.parametrize(
    "args",
    [
        ("--multirun", "task=quadratic"),
        ("task=quadratic,rastrigin",),  # a sweep override: Hydra says it needs --multirun
        ("+experiment=paper",),  # a multirun and a callback, from the experiment's file
        ("hydra.job.chdir=true", "steps=5"),
    ],
)
def test_what_needs_hydra_goes_through_hydra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_job", lambda cfg, workers=None: None)
    if not any(a.startswith("hydra.") for a in args):
        assert check_arguments(list(args)) is None
    called = []
    monkeypatch.setattr(cli, "_hydra_main", lambda: called.append(True))
    monkeypatch.setattr(sys, "argv", ["bench", *args])
    cli.main()
    assert called


def test_report_command_builds_the_html_and_tables_of_stored_studies(tmp_path: Path) -> None:
    sweep = _bench(
        "+sweep=sgd",
        "task=quadratic",
        "sweep.n_trials=4",
        "steps=50",
        cwd=tmp_path,
        PYTHONPROFILEIMPORTTIME="1",
    )
    assert sweep.returncode == 0, sweep.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in sweep.stderr.splitlines()}
    # PED-ANOVA needs no fANOVA, the intervals no SciPy.
    assert "torch" in imported and not imported & {"sklearn", "scipy"}
    assert "report in reports/sgd-quadratic/index.html" in sweep.stdout  # the sweep's own
    done = _bench("+report=default", cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "pandas" in imported and not imported & {"torch", "optuna", "scipy"}  # starts fast
    report = tmp_path / "reports" / "default"
    assert "sgd-quadratic" in (report / "index.html").read_text()
    assert list((report / "tables").glob("*.tex")) and list((report / "tables").glob("*.md"))


def test_report_of_an_unknown_study_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _bench("+report=default", "report.studies=[nope]", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "nope" in done.stderr


def test_a_multirun_report_over_no_studies_is_refused_before_hydra_writes(tmp_path: Path) -> None:
    done = _bench("--multirun", "+report=default", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "bench: no studies in results_dir='results'; run a sweep first"
    ]
    assert not list(tmp_path.iterdir())  # no results/.multirun/multirun.yaml


def test_paper_experiment_is_a_multirun_of_both_sweeps_with_one_report() -> None:
    from hydra import compose, initialize_config_dir

    from bench.cli import CONF_DIR
    from bench.config import register

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", ["+experiment=paper"], return_hydra_config=True)
    assert str(cfg.hydra.mode).endswith("MULTIRUN")
    params = cfg.hydra.sweeper.params
    assert set(params["+sweep"].split(",")) == {"sgd", "adam"}
    assert "logreg_digits" in params.task and "rosenbrock" in params.task
    assert cfg.hydra.callbacks.report._target_ == "bench.cli.MultirunReport"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*_large.yaml"))
)
def test_every_job_of_each_large_experiment_is_valid(name: str, tmp_path: Path) -> None:
    """The GPU-sized variants, which CI never runs: each of their jobs composes and validates."""
    from hydra import compose, initialize_config_dir

    from bench.cli import CONF_DIR
    from bench.config import register

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", [f"+experiment={name}"], return_hydra_config=True)
    jobs = [f"{key}={value}" for key, value in cfg.hydra.sweeper.params.items()]
    assert jobs
    check_arguments([f"+experiment={name}", *jobs, f"results_dir={tmp_path}"])


@pytest.mark.parametrize(
    "launcher",
    [
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        pytest.param(["hydra/launcher=submitit_local"], marks=pytest.mark.slow),
    ],
)
def test_multirun_launchers_run_each_sweep_as_its_own_job(tmp_path: Path, launcher) -> None:
    args = (
        "--multirun",
        "+sweep=adam,sgd",
        "task=quadratic",
        "sweep.n_trials=3",
        "sweep.confirm_seeds=0",
        "steps=20",
    )
    done = _bench(*args, *launcher, "auto_report=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for study in ("adam-quadratic", "sgd-quadratic"):
        assert len(pd.read_parquet(tmp_path / "results" / study / "runs.parquet")) == 3 * 3


@pytest.mark.parametrize("name", ["../../../outside", "/tmp/x", "<script>alert(1)</script>adam"])
def test_a_study_name_never_writes_outside_results_and_reports(tmp_path: Path, name: str) -> None:
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    absolute_existed = Path(name).exists()
    args = ("+sweep=adam", "task=quadratic", f"study_name='{name}'", "sweep.n_trials=2", "steps=20")
    done = _bench(*args, "results_dir=r/results", "reports_dir=r/reports", cwd=cwd)
    assert done.returncode == 0, done.stderr
    outside = [p for p in tmp_path.rglob("*") if cwd / "r" not in (p, *p.parents)]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in outside) == ["a", "a/b", "a/b/c"]
    (study,) = (cwd / "r" / "results").glob("*/runs.parquet")
    assert study.parent.parent == cwd / "r" / "results"
    assert pd.read_parquet(study).study.eq(name).all()
    (report,) = (cwd / "r" / "reports").glob("*/index.html")
    assert report.parent.name == study.parent.name
    assert absolute_existed or not Path(name).exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["study_name=''"], None),
        (["+report=default", "report.name=''"], "report.name='' is invalid"),
        (["+report=default", "report.studies=['']"], "report.studies='' is invalid"),
        ([f"study_name={'x' * 300}"], "is too long"),
    ],
)
def test_a_name_no_directory_can_hold_is_refused_before_any_work(args, expected) -> None:
    if expected is None:  # an empty study name means the default one
        check_arguments(args)
        return
    with pytest.raises(ConfigError, match=expected):
        check_arguments(args)


def test_an_interrupted_report_says_so_in_one_line(
    compose_config, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = compose_config("+report=default")
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)  # this process keeps Ctrl-C
    with pytest.raises(SystemExit) as exit_info:
        cli._interrupted(cfg)
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "bench: interrupted; the report was not written\n"

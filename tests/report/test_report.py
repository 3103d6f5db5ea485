"""``build_report`` and ``python -m bench.report``: what they write, select and refuse."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig
from processes import run_python

from bench.report import ReportError, build_report
from bench.report.__main__ import main
from bench.sweep import run_sweep


def test_the_signature_is_the_one_the_cli_wires() -> None:
    signature = inspect.signature(build_report)
    assert list(signature.parameters) == [
        "results_dir",
        "reports_dir",
        "name",
        "studies",
        "experiment",
        "parallel",
        "workers",
    ]
    assert signature.parameters["name"].default == "default"
    assert signature.parameters["studies"].default is None
    assert signature.parameters["experiment"].default is None
    parallel = signature.parameters["parallel"]
    assert parallel.kind is parallel.KEYWORD_ONLY and parallel.default is False
    workers = signature.parameters["workers"]
    assert workers.kind is workers.KEYWORD_ONLY and workers.default is None


def test_writes_the_page_and_both_table_formats(report: Path) -> None:
    assert report.name == "index.html" and report.parent.name == "default"
    tables = report.parent / "tables"
    names = {p.stem for p in tables.iterdir()}
    assert names == {"final_loss", "steps_to_target", "divergence", "escape", "hyperparameters"}
    for name in names:
        assert (tables / f"{name}.tex").read_text().lstrip().startswith("%")
        assert (tables / f"{name}.md").read_text().startswith("**")
    assert not list(report.parent.glob(".index.html.*"))  # no partial file left behind


def test_selected_studies_only_and_stale_tables_removed(
    sweep_results: Path, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    build_report(sweep_results, reports, "pair", ["adam-double_well", "sgd-double_well"])
    assert (reports / "pair" / "tables" / "escape.md").exists()
    path = build_report(sweep_results, reports, "pair", ["sgd-rosenbrock"])
    page = path.read_text()
    assert "sgd-rosenbrock" in page and "adam-double_well" not in page
    # Rosenbrock has no basins: the escape table of the earlier build is gone.
    assert not (reports / "pair" / "tables" / "escape.md").exists()
    assert "Performance profile" in page  # sections stay, with a note where they are empty


def test_refusals_are_one_line(sweep_results: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="'nope' not found"):
        build_report(sweep_results, tmp_path, studies=["nope"])
    with pytest.raises(ReportError, match="no studies in results_dir"):
        build_report(tmp_path / "empty", tmp_path)
    with pytest.raises(ReportError, match="report.name='' is invalid"):
        build_report(sweep_results, tmp_path, name="")


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "<script>alert(1)</script>adam", ".."])
def test_a_report_name_is_one_directory_below_reports_dir(
    sweep_results: Path, tmp_path: Path, name: str
) -> None:
    reports = tmp_path / "reports"
    path = build_report(sweep_results, reports, name=name, studies=["sgd-double_well"])
    assert path.parent.parent == reports and path.name == "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_cli_prints_the_path(
    sweep_results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--results", str(sweep_results), "--reports", str(tmp_path), "--name", "cli"]
    assert main([*args, "sgd-double_well"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cli" / "index.html")
    assert main([*args, "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench.report: ") and err.count("\n") == 1


def test_python_dash_m_bench_report_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.report", "--results", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "no studies in results_dir" in result.stderr


def test_a_study_where_every_trial_diverged(
    small_config: Callable[..., DictConfig], tmp_path: Path
) -> None:
    run_sweep(
        small_config(
            "+sweep=sgd",
            "task=double_well",
            "sweep.n_trials=4",
            "sweep.space.lr.low=20",
            "sweep.space.lr.high=100",
        )
    )
    path = build_report(tmp_path / "results", tmp_path / "reports")
    page = path.read_text()
    assert '<span class="s-diverged">4 diverged</span>' in page  # trials
    assert "no complete trial with a finite objective" in page
    tables = path.parent / "tables"
    assert "every trial diverged" in (tables / "final_loss.md").read_text()
    assert "100 % (8/8)" in (tables / "divergence.md").read_text()


def test_the_report_reads_files_only(sweep_results: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from bench.report import build_report\n"
        f"build_report({str(sweep_results)!r}, {str(tmp_path)!r}, 'x')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bench', 'torch', 'optuna'))))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    # The report package, the results contract it shares with the export and the names of its
    # directories; no engine, rules, tasks, sweep, Optuna or torch.
    allowed = ("bench.report", "bench.results", "bench.names")
    assert loaded and all(m == "bench" or m.startswith(allowed) for m in loaded), loaded


def test_planning_a_report_imports_no_matplotlib() -> None:
    # The figures load where they are drawn: in the drawing processes, which start up while
    # the command's own process checks its arguments and summarizes the studies.
    code = (
        "import sys\n"
        "from bench.report import build_report, drawing, sections, tables\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from bench.report import figures\n"
        "figures.loss_curves\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr

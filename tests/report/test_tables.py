"""Paper tables: content, bold best, escaping, and LaTeX that compiles with booktabs alone."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.report.load import load_studies
from bench.report.summary import group_studies, summarize
from bench.report.tables import (
    Cell,
    Table,
    build_tables,
    escape_latex,
    escape_markdown,
    to_html,
    to_latex,
    to_markdown,
)

HOSTILE = r"a_b & 50% $x$ #1 {y} ~z ^w \n <s>|t"
MINIMAL = (
    "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\\input{%s}\\end{document}\n"
)


@pytest.fixture(scope="module")
def grid(sweep_results: Path) -> dict:
    studies = [s for s in load_studies(sweep_results) if "<" not in s.name]
    return {
        task: {opt: summarize(study, task, opt) for opt, study in row.items()}
        for task, row in group_studies(studies).items()
    }


def _hostile_table() -> Table:
    return Table(
        name="hostile",
        caption=HOSTILE,
        tex_caption=escape_latex(HOSTILE),
        columns=[HOSTILE, "sgd"],
        rows=[(HOSTILE, [Cell("1", "$1$", 1.0), Cell("2", "$2 \\pm 0.1$", 2.0)])],
    )


def _compile(directory: Path, name: str) -> subprocess.CompletedProcess:
    (directory / f"doc-{name}.tex").write_text(MINIMAL % name)
    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"doc-{name}.tex"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tables_have_tasks_as_rows_and_optimizers_as_columns(grid: dict) -> None:
    tables = {t.name: t for t in build_tables(grid)}
    assert list(tables) == [
        "final_loss",
        "steps_to_target",
        "divergence",
        "escape",
        "hyperparameters",
    ]
    final = tables["final_loss"]
    assert final.columns == ["adam", "sgd"]
    assert [task for task, _ in final.rows] == [
        "double_well (noise=0)",
        "double_well (noise=0.5)",
        "rosenbrock",
    ]
    # Only tasks with basins have an escape row.
    assert [task for task, _ in tables["escape"].rows] == [
        "double_well (noise=0)",
        "double_well (noise=0.5)",
    ]
    noisy = dict(final.rows)["double_well (noise=0.5)"]
    assert noisy[1].text == "—"  # no SGD study on it


def test_the_best_cell_of_each_row_is_bold(grid: dict) -> None:
    for table in build_tables(grid):
        for _, cells in table.rows:
            scores = [c.score for c in cells if math.isfinite(c.score)]
            bold = [c for c in cells if c.bold]
            if len(scores) < 2:
                assert not bold
            else:
                assert bold and all(c.score == min(scores) for c in bold)


def test_unreached_targets_are_shown_as_censored(grid: dict) -> None:
    steps = {t.name: t for t in build_tables(grid)}["steps_to_target"]
    texts = [c.text for _, cells in steps.rows for c in cells]
    for text in texts:
        assert text == "—" or "not reached in 60" in text or text.split()[0].isdigit()


def test_escaping_for_latex_and_markdown() -> None:
    assert escape_latex(HOSTILE) == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{}z \textasciicircum{}w "
        r"\textbackslash{}n \textless{}s\textgreater{}\textbar{}t"
    )
    assert escape_latex("β") == "?"
    md = escape_markdown(HOSTILE)
    assert "<" not in md and "\\|" in md
    rendered = to_html(_hostile_table())
    assert "<s>" not in rendered and "&lt;s&gt;" in rendered


def test_renderings_mark_the_best_cell() -> None:
    table = Table(
        "t",
        "c",
        "c",
        ["a", "b"],
        [("row", [Cell("1", "$1$", 1.0, bold=True), Cell("2", "$2$", 2.0)])],
    )
    assert "| row | **1** | 2 |" in to_markdown(table)
    assert "{\\bfseries\\boldmath $1$} & $2$" in to_latex(table)
    assert "<td><strong>1</strong></td><td>2</td>" in to_html(table)


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is missing (CI installs texlive-latex-base, texlive-latex-recommended)",
)
def test_every_table_compiles_in_a_minimal_document(report: Path, tmp_path: Path) -> None:
    written = sorted((report.parent / "tables").glob("*.tex"))
    assert [p.stem for p in written] == sorted(
        ["divergence", "escape", "final_loss", "hyperparameters", "steps_to_target"]
    )
    for path in written:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "hostile.tex").write_text(to_latex(_hostile_table()))
    for name in [p.stem for p in written] + ["hostile"]:
        result = _compile(tmp_path, name)
        assert result.returncode == 0, f"{name}.tex:\n{result.stdout[-2000:]}"
        assert (tmp_path / f"doc-{name}.pdf").stat().st_size > 1000


def test_betas_close_to_one_are_written_as_one_minus() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from bench.optim import Adam
    from bench.report.load import StudyData
    from bench.report.tables import _hyper

    study = StudyData("s", Path("."), pd.DataFrame(), pd.DataFrame(), rule=Adam.describe())
    summary = SimpleNamespace(best_trial=3, best_params={"lr": 0.01, "beta2": 0.99998}, study=study)
    cell = _hyper(summary)
    assert cell.text == "η=0.01, β₂=1−2e-05"
    assert cell.tex == r"$\eta=0.01$, $\beta_2=1-2 \times 10^{-5}$"

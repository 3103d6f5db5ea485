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
    NOT_SIGNIFICANT,
    SIGNIFICANT,
    Cell,
    Table,
    build_tables,
    escape_latex,
    escape_markdown,
    judge_row,
    percent,
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
        rows=[(HOSTILE, [Cell("1", "$1$", 1.0), Cell("2", "$2 \\pm 0.1$", 2.0)], HOSTILE)],
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
    assert [task for task, *_ in final.rows] == [
        "double_well (noise=0)",
        "double_well (noise=0.5)",
        "rosenbrock",
    ]
    # Only tasks with basins have an escape row.
    assert [task for task, *_ in tables["escape"].rows] == [
        "double_well (noise=0)",
        "double_well (noise=0.5)",
    ]
    noisy = {task: cells for task, cells, _ in final.rows}["double_well (noise=0.5)"]
    assert noisy[1].text == "—"  # no SGD study on it


def test_a_cell_is_bold_only_where_its_interval_clears_the_runner_up(grid: dict) -> None:
    for table in build_tables(grid):
        for _, cells, verdict in table.rows:
            ranked = sorted((c for c in cells if not math.isnan(c.score)), key=lambda c: c.score)
            bold = [c for c in cells if c.bold]
            if len(ranked) < 2:
                assert not bold and verdict == ""
            elif verdict == SIGNIFICANT:
                assert bold == [ranked[0]] and ranked[0].high < ranked[1].low
            else:
                assert not bold and verdict == NOT_SIGNIFICANT


def test_overlapping_intervals_give_no_bold_but_no_significant_difference() -> None:
    # The escape row: 75 % [41, 93] against 62 % [31, 86] is no difference.
    adam = Cell("75 %", "", -0.75, low=-0.93, high=-0.41)
    sgd = Cell("62 %", "", -0.625, low=-0.86, high=-0.31)
    cells, verdict = judge_row([adam, sgd])
    assert verdict == NOT_SIGNIFICANT and not any(c.bold for c in cells)
    far = Cell("10 %", "", -0.10, low=-0.25, high=-0.03)
    cells, verdict = judge_row([adam, far])
    assert verdict == SIGNIFICANT and [c.bold for c in cells] == [True, False]
    no_interval = Cell("1", "", 1.0)
    assert judge_row([no_interval, Cell("2", "", 2.0)])[1] == NOT_SIGNIFICANT


def test_percentages_round_half_up() -> None:
    assert percent(5 / 8) == "63"  # 62.5 %, printed 62 by round-half-even formatting
    assert percent(0.145) == "15"
    assert percent(1 / 3) == "33" and percent(0.0) == "0" and percent(1.0) == "100"


def test_unreached_targets_are_shown_as_censored(grid: dict) -> None:
    steps = {t.name: t for t in build_tables(grid)}["steps_to_target"]
    texts = [c.text for _, cells, _ in steps.rows for c in cells]
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
        [("row", [Cell("1", "$1$", 1.0, bold=True), Cell("2", "$2$", 2.0)], SIGNIFICANT)],
    )
    assert "| row | **1** | 2 | significant |" in to_markdown(table)
    assert "{\\bfseries\\boldmath $1$} & $2$ & significant" in to_latex(table)
    assert "<td><strong>1</strong></td><td>2</td><td>significant</td>" in to_html(table)


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

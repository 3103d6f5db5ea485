"""Paper-style tables: tasks as rows, optimizers as columns, best per row in bold.

A table is built once as cells that know their plain text, their LaTeX and how good they are;
``to_latex``, ``to_markdown`` and ``to_html`` only render it. The LaTeX needs ``booktabs`` and
nothing else, and every user string (task and study names) is escaped for each format.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bench.report.labels import near_one, param_label, param_tex
from bench.report.summary import StudySummary

__all__ = [
    "Cell",
    "Table",
    "build_tables",
    "escape_latex",
    "escape_markdown",
    "to_html",
    "to_latex",
    "to_markdown",
]

_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def escape_latex(text: str) -> str:
    """``text`` as literal LaTeX text: special characters escaped, non-Latin-1 ones as ``?``.

    (pdflatex reads UTF-8 but has glyphs for Latin scripts only without extra packages.)
    """
    out = []
    for char in str(text):
        if char in _LATEX:
            out.append(_LATEX[char])
        elif ord(char) < 32:
            out.append(" ")
        elif ord(char) > 255:
            out.append("?")
        else:
            out.append(char)
    return "".join(out)


def escape_markdown(text: str) -> str:
    """``text`` safe inside a Markdown table cell (no HTML, pipes or emphasis)."""
    text = str(text).replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*|])", r"\\\1", text)


@dataclass(frozen=True)
class Cell:
    """One table cell: plain text, LaTeX body, and a score (lower is better; NaN: not ranked)."""

    text: str
    tex: str
    score: float = math.nan
    bold: bool = False


EMPTY = Cell("—", "---")


@dataclass(frozen=True)
class Table:
    """Rows of cells under optimizer columns, with a caption for each format."""

    name: str
    caption: str
    tex_caption: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)


# --- number formatting -----------------------------------------------------------------------


def _num_text(x: float, digits: int = 3) -> str:
    if not math.isfinite(x):
        return "∞" if x > 0 else ("−∞" if x < 0 else "NaN")
    return f"{x:.{digits}g}"


def _num_tex(x: float, digits: int = 3) -> str:
    """A number in math mode, scientific notation as ``m \\times 10^{e}``."""
    if not math.isfinite(x):
        return r"\infty" if x > 0 else (r"-\infty" if x < 0 else r"\mathrm{NaN}")
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        exp = int(exponent)
        return f"10^{{{exp}}}" if mantissa == "1" else f"{mantissa} \\times 10^{{{exp}}}"
    return text


def _pct(x: float) -> str:
    return f"{100 * x:.0f}"


# --- the tables ------------------------------------------------------------------------------


def _final_loss(summary: StudySummary) -> Cell:
    if summary.best_trial is None:
        return Cell("every trial diverged", "every trial diverged")
    mean, std = summary.final_mean, summary.final_std
    text = _num_text(mean) + (f" ± {_num_text(std, 2)}" if math.isfinite(std) else "")
    tex = f"${_num_tex(mean)}" + (f" \\pm {_num_tex(std, 2)}$" if math.isfinite(std) else "$")
    if summary.best_diverged:
        note = f" ({summary.best_diverged}/{int(summary.best['n'])} diverged)"
        text, tex = text + note, tex + note
    return Cell(text, tex, mean)


def _steps(summary: StudySummary) -> Cell:
    if summary.best_trial is None:
        return Cell("every trial diverged", "every trial diverged")
    best = summary.best
    counts = f"({best['reached']}/{best['n']})"
    if not math.isfinite(best["ert_steps"]):
        text = f"not reached in {best['budget']} {counts}"
        return Cell(text, text)
    ert = best["ert_steps"]
    return Cell(f"{ert:.0f} {counts}", f"${ert:.0f}$ {counts}", ert)


def _divergence(summary: StudySummary) -> Cell:
    rate = summary.divergence
    if rate.n == 0:
        return Cell("no finished runs", "no finished runs")
    return Cell(
        f"{_pct(rate.rate)} % ({rate.k}/{rate.n})",
        f"${_pct(rate.rate)}\\,\\%$ ({rate.k}/{rate.n})",
        rate.rate,
    )


def _escape(summary: StudySummary) -> Cell:
    rate = summary.escape_best
    if summary.study.has_basins and summary.best_trial is None:
        return Cell("every trial diverged", "every trial diverged")
    if rate is None:
        return EMPTY
    if rate.n == 0:
        return Cell("no run started outside", "no run started outside")
    interval = f"[{_pct(rate.low)}, {_pct(rate.high)}]"
    return Cell(
        f"{_pct(rate.rate)} % {interval} ({rate.k}/{rate.n})",
        f"${_pct(rate.rate)}\\,\\%$ {interval} ({rate.k}/{rate.n})",
        -rate.rate,
    )


def _hyper(summary: StudySummary) -> Cell:
    if summary.best_trial is None:
        return Cell("every trial diverged", "every trial diverged")
    texts, texes = [], []
    study = summary.study
    for name, value in summary.best_params.items():
        label_text = param_label(study, name)
        label_tex = param_tex(study, name) or r"\mathrm{" + escape_latex(name) + "}"
        if isinstance(value, bool) or str(value) in ("True", "False"):
            texts.append(f"{label_text}={value}")
            texes.append(f"{escape_latex(name)}={value}")
            continue
        value = float(value)
        if near_one(study, name) and 0.99 < value < 1:
            # 0.99998 reads "1" at 3 digits: write 1 − (1 − β), as the search space samples it.
            texts.append(f"{label_text}=1−{_num_text(1 - value)}")
            texes.append(f"${label_tex}=1-{_num_tex(1 - value)}$")
            continue
        texts.append(f"{label_text}={_num_text(value)}")
        texes.append(f"${label_tex}={_num_tex(value)}$")
    return Cell(", ".join(texts), ", ".join(texes))


_SPECS = (
    (
        "final_loss",
        _final_loss,
        "Final loss at each optimizer's best configuration: mean ± std over seeds "
        "(diverged seeds counted, not averaged); lowest mean in bold.",
        r"Final loss at each optimizer's best configuration: mean $\pm$ std over seeds "
        r"(diverged seeds counted, not averaged); lowest mean in bold.",
        False,
    ),
    (
        "steps_to_target",
        _steps,
        "Expected running time to the target at the best configuration, in steps (Auger & "
        "Hansen 2005: steps spent by all seeds ÷ seeds that reached it), with seeds that "
        "reached it / seeds; runs that did not are censored, not averaged; lowest in bold.",
        r"Expected running time to the target at the best configuration, in steps (Auger \& "
        r"Hansen 2005: steps spent by all seeds $\div$ seeds that reached it), with seeds that "
        r"reached it / seeds; runs that did not are censored, not averaged; lowest in bold.",
        False,
    ),
    (
        "divergence",
        _divergence,
        "Divergence rate over the explored search space: diverged runs / finished runs; "
        "lowest in bold.",
        r"Divergence rate over the explored search space: diverged runs / finished runs; "
        r"lowest in bold.",
        False,
    ),
    (
        "escape",
        _escape,
        "Escape rate at the best configuration: runs started outside the global minimum's "
        "basin that end in it, with Wilson 95 % interval; highest in bold.",
        r"Escape rate at the best configuration: runs started outside the global minimum's "
        r"basin that end in it, with Wilson 95\,\% interval; highest in bold.",
        True,
    ),
    (
        "hyperparameters",
        _hyper,
        "Best hyperparameters found (the trial with the lowest objective).",
        r"Best hyperparameters found (the trial with the lowest objective).",
        False,
    ),
)


def build_tables(grid: Mapping[str, Mapping[str, StudySummary]]) -> list[Table]:
    """The paper tables from ``{task label: {optimizer label: summary}}``.

    The escape table holds only tasks with basins, and is left out where there are none.
    """
    columns = sorted({o for row in grid.values() for o in row})
    tables = []
    for name, make, caption, tex_caption, basins_only in _SPECS:
        rows = []
        for task, row in grid.items():
            if basins_only and not any(s.study.has_basins for s in row.values()):
                continue
            cells = [make(row[c]) if c in row else EMPTY for c in columns]
            rows.append((task, _bold_best(cells)))
        if rows:
            tables.append(Table(name, caption, tex_caption, columns, rows))
    return tables


def _bold_best(cells: list[Cell]) -> list[Cell]:
    """Bold the best-scoring cells of a row, where at least two cells compete."""
    scores = [c.score for c in cells if math.isfinite(c.score)]
    if len(scores) < 2:
        return cells
    best = min(scores)
    return [replace(c, bold=True) if c.score == best else c for c in cells]


# --- rendering -------------------------------------------------------------------------------


def to_latex(table: Table) -> str:
    """A ``table`` float with a booktabs ``tabular``; compiles with ``booktabs`` alone."""
    spec = "l" + "c" * len(table.columns)
    header = " & ".join(["Task", *(escape_latex(c) for c in table.columns)])
    lines = [
        f"% bench report table: {table.name}",
        r"\begin{table}[ht]",
        r"\centering",
        r"\small",
        rf"\caption{{{table.tex_caption}}}",
        rf"\label{{tab:{table.name}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        header + r" \\",
        r"\midrule",
    ]
    for task, cells in table.rows:
        rendered = [r"{\bfseries\boldmath " + c.tex + "}" if c.bold else c.tex for c in cells]
        lines.append(" & ".join([escape_latex(task), *rendered]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table under its caption."""
    lines = [
        f"**{escape_markdown(table.caption)}**",
        "",
        "| " + " | ".join(["task", *(escape_markdown(c) for c in table.columns)]) + " |",
        "|" + "---|" * (len(table.columns) + 1),
    ]
    for task, cells in table.rows:
        rendered = [
            f"**{escape_markdown(c.text)}**" if c.bold else escape_markdown(c.text) for c in cells
        ]
        lines.append("| " + " | ".join([escape_markdown(task), *rendered]) + " |")
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    """An HTML ``<table>`` with its caption; every string escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["task", *table.columns])
    body = []
    for task, cells in table.rows:
        tds = "".join(
            f"<td><strong>{html.escape(c.text)}</strong></td>"
            if c.bold
            else f"<td>{html.escape(c.text)}</td>"
            for c in cells
        )
        body.append(f'<tr><th scope="row">{html.escape(task)}</th>{tds}</tr>')
    return (
        f'<table class="paper" id="table-{html.escape(table.name)}">'
        f"<caption>{html.escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )

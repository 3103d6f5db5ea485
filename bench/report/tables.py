"""Paper-style tables: tasks as rows, optimizers as columns, the best per row in bold where earned.

A table is built once as cells that know their plain text, their LaTeX, how good they are and
the 95 % interval of that score; ``to_latex``, ``to_markdown`` and ``to_html`` only render it.
A cell is bold only when its interval lies wholly on the better side of the runner-up's;
otherwise the row says "no significant difference". The LaTeX needs ``booktabs`` and nothing
else, and every user string (task and study names) is escaped for each format.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from bench.report import run_stats
from bench.report.labels import near_one, param_label, param_tex
from bench.report.summary import StudySummary

__all__ = [
    "Cell",
    "Table",
    "build_tables",
    "escape_latex",
    "escape_markdown",
    "judge_row",
    "percent",
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
    """One table cell: plain text, LaTeX body, a score (lower is better; NaN: not ranked) and
    the 95 % interval of the score (NaN: none)."""

    text: str
    tex: str
    score: float = math.nan
    bold: bool = False
    low: float = math.nan
    high: float = math.nan


EMPTY = Cell("—", "---")


@dataclass(frozen=True)
class Table:
    """Rows of cells under optimizer columns, with a caption for each format.

    Each row ends with its verdict (``significant``, ``no significant difference``, or empty
    where fewer than two cells are ranked); ``ranked`` tables show it as a last column.
    """

    name: str
    caption: str
    tex_caption: str
    columns: list[str]
    rows: list[tuple[str, list[Cell], str]] = field(default_factory=list)
    ranked: bool = True


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


def percent(x: float) -> str:
    """``x`` as a whole percentage, rounded half up (0.625 → 63), never half to even."""
    if not math.isfinite(x):
        return "—"
    # Through the shortest decimal repr, so that 0.145 * 100 = 14.499999… still rounds to 15.
    value = Decimal(repr(round(100 * x, 9)))
    return str(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the tables ------------------------------------------------------------------------------

DIVERGED_ALL = Cell("every trial diverged", "every trial diverged")
SEARCH_SEEDS = " [search seeds]"


def _seeds_note(summary: StudySummary) -> str:
    """Marks a figure measured on the seeds the best was picked on (no confirmation stored)."""
    return SEARCH_SEEDS if summary.at_best_phase == "search" else ""


def _final_loss(summary: StudySummary) -> Cell:
    if summary.best_trial is None:
        return DIVERGED_ALL
    mean, std = summary.final_mean, summary.final_std
    text = _num_text(mean) + (f" ± {_num_text(std, 2)}" if math.isfinite(std) else "")
    tex = f"${_num_tex(mean)}" + (f" \\pm {_num_tex(std, 2)}$" if math.isfinite(std) else "$")
    if summary.best_diverged:
        note = f" ({summary.best_diverged}/{int(summary.best['n'])} diverged)"
        text, tex = text + note, tex + note
    note = _seeds_note(summary)
    runs = summary.at_best
    ok = runs.loc[runs["status"] != "diverged", "final_loss"].to_numpy(float)
    low, high = run_stats.mean_interval(ok)
    return Cell(text + note, tex + note, mean, low=low, high=high)


def _steps(summary: StudySummary) -> Cell:
    if summary.best_trial is None:
        return DIVERGED_ALL
    best = summary.best
    counts = f"({best['reached']}/{best['n']})"
    note = _seeds_note(summary)
    if not math.isfinite(best["ert_steps"]):
        text = f"not reached in {best['budget']} {counts}{note}"
        return Cell(text, text, math.inf, low=math.inf, high=math.inf)
    ert = best["ert_steps"]
    ttt = run_stats.time_to_target(summary.at_best)
    low, high = run_stats.ert_interval(ttt["spent"].to_numpy(), ttt["reached"].to_numpy())
    beyond = f", beyond the {best['budget']}-step budget" if ert > best["budget"] else ""
    return Cell(
        f"{ert:.0f} {counts[:-1]}{beyond}){note}",
        f"${ert:.0f}$ {counts[:-1]}{beyond}){note}",
        ert,
        low=low,
        high=high,
    )


def _rate_text(rate: run_stats.Rate) -> tuple[str, str]:
    return (
        f"{percent(rate.rate)} % ({rate.k}/{rate.n})",
        f"${percent(rate.rate)}\\,\\%$ ({rate.k}/{rate.n})",
    )


def _divergence(summary: StudySummary) -> Cell:
    rate = summary.divergence
    if rate.n == 0:
        return Cell("no finished runs", "no finished runs")
    full_text, full_tex = _rate_text(rate)
    common = summary.divergence_common
    if common is None or common.n == 0:
        return Cell(full_text, full_tex, rate.rate, low=rate.low, high=rate.high)
    text, tex = _rate_text(common)
    return Cell(
        f"{text}; all explored η: {full_text}",
        f"{tex}; all explored $\\eta$: {full_tex}",
        common.rate,
        low=common.low,
        high=common.high,
    )


def _escape(summary: StudySummary) -> Cell:
    rate = summary.escape_best
    if summary.study.has_basins and summary.best_trial is None:
        return DIVERGED_ALL
    if rate is None:
        return EMPTY
    if rate.n == 0:
        return Cell("no run started outside", "no run started outside")
    interval = f"[{percent(rate.low)}, {percent(rate.high)}]"
    late = summary.late_share_best
    stay = f"; late share {percent(late)} %" if math.isfinite(late) else ""
    stay_tex = f"; late share ${percent(late)}\\,\\%$" if math.isfinite(late) else ""
    note = _seeds_note(summary)
    return Cell(
        f"{percent(rate.rate)} % {interval} ({rate.k}/{rate.n}){stay}{note}",
        f"${percent(rate.rate)}\\,\\%$ {interval} ({rate.k}/{rate.n}){stay_tex}{note}",
        -rate.rate,
        low=-rate.high,
        high=-rate.low,
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


_AT_BEST = (
    "at each optimizer's best configuration (chosen on the search seeds), measured on its "
    "confirmation runs: fresh seeds it was not picked on ([search seeds] marks a study without "
    "them)"
)
_AT_BEST_TEX = _AT_BEST.replace("[search seeds]", "{[}search seeds{]}")
_BOLD = (
    "Bold only where the best cell's 95 % {interval} does not overlap the runner-up's; "
    "otherwise the row says no significant difference."
)


def _bold(interval: str, tex: bool = False) -> str:
    text = _BOLD.format(interval=interval)
    return text.replace("%", "\\,\\%") if tex else text


_SPECS = (
    (
        "final_loss",
        _final_loss,
        f"Final loss {_AT_BEST}: mean ± std over seeds (diverged seeds counted, not averaged). "
        + _bold("Student-t interval of the mean"),
        f"Final loss {_AT_BEST_TEX}: mean $\\pm$ std over seeds (diverged seeds counted, not "
        "averaged). " + _bold("Student-t interval of the mean", tex=True),
        True,
        False,
    ),
    (
        "steps_to_target",
        _steps,
        f"Expected running time to the target {_AT_BEST}, in steps (Auger & Hansen 2005: steps "
        "spent by all seeds ÷ seeds that reached it), with seeds that reached it / seeds. A run "
        "reaches the target at the first step from which its loss stays at or below it; runs "
        "that did not are censored, not averaged; an ERT beyond the budget is an extrapolation. "
        + _bold("bootstrap percentile interval (2000 resamples of the seeds)"),
        f"Expected running time to the target {_AT_BEST_TEX}, in steps (Auger \\& Hansen 2005: "
        "steps spent by all seeds $\\div$ seeds that reached it), with seeds that reached it / "
        "seeds. A run reaches the target at the first step from which its loss stays at or "
        "below it; runs that did not are censored, not averaged; an ERT beyond the budget is "
        "an extrapolation. "
        + _bold("bootstrap percentile interval (2000 resamples of the seeds)", tex=True),
        True,
        False,
    ),
    (
        "divergence",
        _divergence,
        "Divergence rate (diverged runs / finished runs) over the η range the optimizers of the "
        "task share (their search spaces' common range), beside it over each one's whole "
        "explored space; ranked on the shared range. " + _bold("Wilson interval"),
        "Divergence rate (diverged runs / finished runs) over the $\\eta$ range the optimizers "
        "of the task share (their search spaces' common range), beside it over each one's "
        "whole explored space; ranked on the shared range. " + _bold("Wilson interval", tex=True),
        True,
        False,
    ),
    (
        "escape",
        _escape,
        f"Escape rate {_AT_BEST}: runs started outside the global minimum's basin that passed "
        "into it (first passage; diverged runs count as not escaped), with Wilson 95 % "
        "interval; late share: mean share of the run's second half spent in that basin. "
        + _bold("Wilson interval"),
        f"Escape rate {_AT_BEST_TEX}: runs started outside the global minimum's basin that "
        "passed into it (first passage; diverged runs count as not escaped), with Wilson "
        "95\\,\\% interval; late share: mean share of the run's second half spent in that "
        "basin. " + _bold("Wilson interval", tex=True),
        True,
        True,
    ),
    (
        "hyperparameters",
        _hyper,
        "Best hyperparameters found (the searched trial with the lowest objective).",
        "Best hyperparameters found (the searched trial with the lowest objective).",
        False,
        False,
    ),
)


def build_tables(grid: Mapping[str, Mapping[str, StudySummary]]) -> list[Table]:
    """The paper tables from ``{task label: {optimizer label: summary}}``.

    The escape table holds only tasks with basins, and is left out where there are none.
    """
    columns = sorted({o for row in grid.values() for o in row})
    tables = []
    for name, make, caption, tex_caption, ranked, basins_only in _SPECS:
        rows = []
        for task, row in grid.items():
            if basins_only and not any(s.study.has_basins for s in row.values()):
                continue
            cells = [make(row[c]) if c in row else EMPTY for c in columns]
            if ranked:
                cells, verdict = judge_row(cells)
            else:
                verdict = ""
            rows.append((task, cells, verdict))
        if rows:
            tables.append(Table(name, caption, tex_caption, columns, rows, ranked))
    return tables


VERDICT = "difference"
SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "no significant difference"


def judge_row(cells: list[Cell]) -> tuple[list[Cell], str]:
    """Bold the best cell only where its interval lies wholly below the runner-up's.

    Returns the cells and the row's verdict: ``significant`` (one cell bold), ``no
    significant difference``, or empty where fewer than two cells are ranked.
    """
    ranked = sorted((c for c in cells if not math.isnan(c.score)), key=lambda c: c.score)
    if len(ranked) < 2:
        return cells, ""
    best, runner_up = ranked[0], ranked[1]
    # NaN bounds (too few runs for an interval) fail the comparison: no claim is made.
    if best.score < runner_up.score and best.high < runner_up.low:
        return [replace(c, bold=True) if c is best else c for c in cells], SIGNIFICANT
    return cells, NOT_SIGNIFICANT


# --- rendering -------------------------------------------------------------------------------


def to_latex(table: Table) -> str:
    """A ``table`` float with a booktabs ``tabular``; compiles with ``booktabs`` alone."""
    extra = [VERDICT] if table.ranked else []
    spec = "l" + "c" * len(table.columns) + "l" * len(extra)
    header = " & ".join(["Task", *(escape_latex(c) for c in [*table.columns, *extra])])
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
    for task, cells, verdict in table.rows:
        rendered = [r"{\bfseries\boldmath " + c.tex + "}" if c.bold else c.tex for c in cells]
        rendered += [escape_latex(verdict)] if table.ranked else []
        lines.append(" & ".join([escape_latex(task), *rendered]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table under its caption."""
    headers = [*table.columns, *([VERDICT] if table.ranked else [])]
    lines = [
        f"**{escape_markdown(table.caption)}**",
        "",
        "| " + " | ".join(["task", *(escape_markdown(c) for c in headers)]) + " |",
        "|" + "---|" * (len(headers) + 1),
    ]
    for task, cells, verdict in table.rows:
        rendered = [
            f"**{escape_markdown(c.text)}**" if c.bold else escape_markdown(c.text) for c in cells
        ]
        rendered += [escape_markdown(verdict)] if table.ranked else []
        lines.append("| " + " | ".join([escape_markdown(task), *rendered]) + " |")
    return "\n".join(lines) + "\n"


def to_html(table: Table) -> str:
    """An HTML ``<table>`` with its caption; every string escaped."""
    headers = ["task", *table.columns, *([VERDICT] if table.ranked else [])]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in headers)
    body = []
    for task, cells, verdict in table.rows:
        tds = "".join(
            f"<td><strong>{html.escape(c.text)}</strong></td>"
            if c.bold
            else f"<td>{html.escape(c.text)}</td>"
            for c in cells
        )
        tds += f"<td>{html.escape(verdict)}</td>" if table.ranked else ""
        body.append(f'<tr><th scope="row">{html.escape(task)}</th>{tds}</tr>')
    return (
        f'<table class="paper" id="table-{html.escape(table.name)}">'
        f"<caption>{html.escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )

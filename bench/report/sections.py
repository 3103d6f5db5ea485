"""The report's sections, in order: a registry of builders, each from one context to its sections.

A new figure is one function in ``bench.report.figures`` plus one line here: in ``TASK_FIGURES``
for one more chart in every task's section, or a builder and its line in ``SECTIONS`` for a section
of its own. ``build_report`` walks ``SECTIONS``; the Findings of a designed experiment, when asked
for, go first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import NamedTuple

import numpy as np
import pandas as pd

from bench.report import figures, run_stats, tables
from bench.report.drawing import Draw, Workers, draw_all
from bench.report.figures import Chart
from bench.report.html import Section, anchor, details_table, summary_table
from bench.report.labels import param_label
from bench.report.load import StudyData
from bench.report.summary import StudySummary, common_lr_range, group_studies, summarize

__all__ = ["SECTIONS", "TASK_FIGURES", "Context", "Entry", "build_sections"]


@dataclass(frozen=True)
class Context:
    """What every section builder reads: the summaries by task and optimizer, colours, tables."""

    #: task → optimizer label → summary, in the order the sections show them.
    grid: Mapping[str, Mapping[str, StudySummary]]
    #: every summary of ``grid``, row by row.
    every: list[StudySummary]
    #: one colour per optimizer label (and sweep name), the same in every figure.
    colours: Mapping[str, tuple]
    tables: Sequence[tables.Table]
    #: task → the charts of its section (``TASK_FIGURES``) still to draw.
    task_charts: Mapping[str, list[Draw]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, loaded: Sequence[StudyData], on_row: Callable[[list[Draw]], None] | None = None
    ) -> Context:
        """Summarize loaded studies by task and optimizer and build the tables from them.

        ``on_row``: called with each task's charts as soon as its studies are summarized
        (``Workers.prefetch``: they are drawn while the next tasks are summarized).
        """
        grouped = group_studies(list(loaded))
        labels = {o for row in grouped.values() for o in row} | {
            study.sweep_name for row in grouped.values() for study in row.values()
        }
        colours = figures.palette(sorted(labels))
        grid, charts = {}, {}
        for task, row in grouped.items():
            shared = common_lr_range(list(row.values()))
            grid[task] = {opt: summarize(study, task, opt, shared) for opt, study in row.items()}
            charts[task] = _task_charts(grid[task], colours)
            if on_row is not None:
                on_row(charts[task])
        every = [s for row in grid.values() for s in row.values()]
        return cls(grid, every, colours, tables.build_tables(grid), charts)


class Entry(NamedTuple):
    """A registered builder and the id of the sections it adds (``task``: ``task-<name>`` each)."""

    key: str
    build: Callable[[Context], list[Section]]


def build_sections(context: Context, workers: Workers | None = None) -> list[Section]:
    """Every registered section, in registry order, its charts drawn (``Draw`` jobs all at
    once, in ``workers`` where given, else in this process); a chart with nothing to show is
    left out."""
    sections = [section for entry in SECTIONS for section in entry.build(context)]
    jobs = [chart for section in sections for chart in section.charts if isinstance(chart, Draw)]
    drawn = iter(workers.draw(jobs) if workers is not None else draw_all(jobs, workers=1))
    resolved = []
    for section in sections:
        charts = [next(drawn) if isinstance(c, Draw) else c for c in section.charts]
        resolved.append(replace(section, charts=[c for c in charts if c is not None]))
    return resolved


def _summary(context: Context) -> list[Section]:
    return [
        Section(
            "summary",
            "Summary",
            intro=(
                "<p>One row per study. A run is one configuration (trial) on one seed and ends "
                '<span class="s-complete">complete</span>, '
                '<span class="s-diverged">diverged</span> (non-finite loss or far above its '
                'start), <span class="s-pruned">pruned</span> (stopped early by the sweep\'s '
                'pruner) or <span class="s-failed">failed</span> (its worker died; no results). '
                "The best configuration is the complete searched trial with the lowest "
                "objective; every figure “at best” is measured on its confirmation runs, fresh "
                "seeds it was not picked on (the seeds it won on flatter it). A run reaches "
                "the target at the first step from which its loss stays at or below it; targets "
                "not reached within the budget are censored, never averaged as if reached. A run "
                "escapes a local minimum at its first passage into the global minimum's basin; "
                "the late share is the part of its second half spent there. Divergence is "
                "compared over the η range the optimizers of a task share, and shown over the "
                "whole explored range beside it. A value is bold only where its 95 % interval "
                "does not overlap the runner-up's.</p>"
            ),
            body=summary_table(context.every)
            + "<h3>Convergence and stability details</h3>"
            + '<p class="meta">Median steps count unreached runs as later than any reached one '
            "(censored); ERT seconds prorate each run's wall time by steps; roughness is the "
            "sum of the loss's increases over the sum of its decreases (0: monotone); "
            "divergence onset: the smallest η that diverged, and the η from which every larger "
            "one diverged.</p>" + details_table(context.every),
        )
    ]


def _tables(context: Context) -> list[Section]:
    return [
        Section(
            "tables",
            "Tables",
            intro=(
                "<p>Tasks as rows, optimizers as columns; the same tables as LaTeX (booktabs) "
                "and Markdown are in <code>tables/</code> next to this file.</p>"
            ),
            body="\n".join(tables.to_html(t) for t in context.tables),
        )
    ]


def _objective_vs_lr(row: Mapping[str, StudySummary], colours: Mapping[str, tuple]) -> Chart | None:
    return figures.objective_vs_lr(row)


def _lr_momentum_heatmap(
    row: Mapping[str, StudySummary], colours: Mapping[str, tuple]
) -> Chart | None:
    return figures.lr_momentum_heatmap(row)


#: One chart each in every task's section, in order; a chart that does not apply (escape vs η on
#: a task without basins) is None and left out. Lazy figures or module-level functions: a worker
#: process imports them by name.
TASK_FIGURES: list[Callable[[Mapping[str, StudySummary], Mapping[str, tuple]], Chart | None]] = [
    figures.Lazy("loss_curves"),
    _objective_vs_lr,
    _lr_momentum_heatmap,
    figures.Lazy("divergence_vs_lr"),
    figures.Lazy("escape_vs_lr"),
]


def _task_charts(row: Mapping[str, StudySummary], colours: Mapping[str, tuple]) -> list[Draw]:
    """The charts of a task's section, one per ``TASK_FIGURES`` entry, still to draw."""
    return [Draw(draw, (row, colours)) for draw in TASK_FIGURES]


def _tasks(context: Context) -> list[Section]:
    return [
        _task_section(
            task,
            row,
            context.task_charts.get(task) or _task_charts(row, context.colours),
        )
        for task, row in context.grid.items()
    ]


def _task_section(task: str, row: Mapping[str, StudySummary], charts: list[Draw]) -> Section:
    first = next(iter(row.values())).study
    facts = []
    if first.target is not None:
        facts.append(f"target: loss ≤ {first.target:.6g}")
    if first.f_star is not None:
        facts.append(f"f* = {first.f_star:.6g}")
    facts.append(f"budget: {first.steps} steps")
    seeds = {s.study.config.get("seeds") for s in row.values()} - {None}
    if seeds:
        facts.append(f"seeds per configuration: {', '.join(map(str, sorted(seeds)))}")
    studies = ", ".join(f"{o}: {s.study.name}" for o, s in row.items())
    intro = f'<p class="meta">{escape("; ".join(facts))}. Studies: {escape(studies)}.</p>'
    notes = []
    for label, s in row.items():
        if s.best_trial is None:
            notes.append(f"{label}: no complete trial with a finite objective, so no best curve.")
        if s.trial_counts.get("failed"):
            notes.append(
                f"{label}: {s.trial_counts['failed']} failed trial(s) have no results to plot."
            )
    return Section(
        f"task-{anchor(task)}",
        f"Task: {task}",
        intro=intro,
        charts=charts,
        notes=notes,
    )


def _noise(context: Context) -> list[Section]:
    basin = [s for s in context.every if s.study.has_basins and s.escape_all is not None]
    rows = []
    for s in basin:
        others = {k: v for k, v in s.study.task_options.items() if k not in ("noise",)}
        x0 = others.get("x0")
        label = s.study.task if x0 is None else f"{s.study.task} (x0={x0})"
        rate = s.escape_all
        if rate.n:
            rows.append(
                {
                    "task": label,
                    "optimizer": s.study.sweep_name,
                    "noise": s.study.noise,
                    "k": rate.k,
                    "n": rate.n,
                    "rate": rate.rate,
                    "ci_low": rate.low,
                    "ci_high": rate.high,
                }
            )
    points = pd.DataFrame(rows)
    noise = figures.Lazy("escape_vs_noise")
    chart = Draw(noise, (points, context.colours)) if len(points) else None
    notes = [] if chart else ["No study on a task with known basins has runs that started outside."]
    section = Section(
        "escape-noise",
        "Escape rate vs gradient noise",
        intro=(
            "<p>Across studies of the same basin task run with different <code>task.noise</code>. "
            "Among runs that start outside the global minimum's basin (including runs started "
            "at a local minimum with <code>task.x0</code>), the share that passed into it "
            "(first passage).</p>"
        ),
        charts=[chart] if chart else [],
        notes=notes,
    )
    return [section]


def _profile(context: Context) -> list[Section]:
    # One column per optimizer (sweep name): where several of its studies ran a task, the
    # fastest best configuration among them.
    times: dict[str, dict[str, float]] = {}
    chosen: dict[tuple[str, str], StudySummary] = {}
    for task, row in context.grid.items():
        for s in row.values():
            cell = times.setdefault(task, {})
            name = s.study.sweep_name
            if s.best["ert_steps"] < cell.get(name, math.inf) or name not in cell:
                cell[name] = s.best["ert_steps"]
                chosen[(task, name)] = s
    table = pd.DataFrame(times).T
    complete = table.dropna(axis=0, how="any")  # tasks that every optimizer ran
    notes = []
    if len(complete) < len(table):
        left_out = ", ".join(t for t in table.index if t not in complete.index)
        notes.append(f"Left out (not run by every optimizer): {left_out}.")
    beyond = [
        (task, name, s)
        for (task, name), s in chosen.items()
        if task in complete.index
        and math.isfinite(s.best["ert_steps"])
        and s.best["ert_steps"] > s.best["budget"]
    ]
    for task, name, s in beyond:
        notes.append(
            f"Extrapolated: {name} on {task}: ERT {s.best['ert_steps']:.0f} steps exceeds the "
            f"{s.best['budget']}-step budget ({s.best['reached']}/{s.best['n']} runs reached "
            "the target); its ratio rests on that extrapolation."
        )
    chart = (
        Draw(figures.Lazy("performance_profile"), (complete, context.colours, len(beyond)))
        if len(complete) and complete.shape[1]
        else None
    )
    if chart is None:
        notes.append("No task was run by every optimizer: no profile.")
    section = Section(
        "profile",
        "Performance profile",
        intro=(
            "<p>Dolan–Moré profiles over tasks: per task, each optimizer's expected running "
            "time to the target (ERT, steps) at its best configuration, on its confirmation runs, "
            "over the fastest one's. An optimizer that never reached the target on a task counts "
            "as unsolved there. ERT is the steps spent by all runs (pruned runs count their whole "
            "budget: an upper bound) over the runs that reached the target; a value beyond the "
            "budget is an extrapolation and is listed below the figure.</p>"
        ),
        charts=[chart] if chart else [],
        notes=notes,
    )
    return [section]


def _importance(context: Context) -> list[Section]:
    values: dict[str, pd.Series] = {}
    notes = []
    for s in context.every:
        table = s.study.importance
        found = table.dropna(subset=["parameter"]) if "parameter" in table else table.iloc[:0]
        if len(found):
            importance = found.set_index("parameter")["importance"].astype(float)
            values[s.study.name] = importance.rename(index=lambda p, d=s.study: param_label(d, p))
        else:
            note = next(iter(table.get("note", pd.Series(dtype=str)).dropna()), "none exported")
            notes.append(f"{s.study.name}: no importance ({note}).")
    section = Section(
        "importance",
        "Hyperparameter importance",
        charts=[Draw(figures.Lazy("importance_bars"), (values,))],
        notes=notes,
    )
    return [section]


def _tunability(context: Context) -> list[Section]:
    curves: dict[str, dict[str, pd.DataFrame]] = {}
    shares = []
    for task, row in context.grid.items():
        for opt, s in row.items():
            scores = s.scores.to_numpy(float)
            if scores.size == 0:
                continue
            ks = np.unique(np.round(np.logspace(0, math.log10(scores.size), 12)).astype(int))
            curves.setdefault(task, {})[opt] = run_stats.expected_best_after_k(scores, ks, seed=0)
            share = "—" if math.isnan(s.share_within) else f"{100 * s.share_within:.0f} %"
            shares.append(f"{task} · {opt}: {share} of {scores.size}")
    samplers = [s.study.sampler for s in context.every]
    chart = Draw(figures.Lazy("tunability_curves"), (curves, context.colours, samplers))
    intro = (
        "<p>Share of the explored trials within 10 % of the best (gap to f*, or steps): "
        f"{escape('; '.join(shares))}.</p>"
    )
    return [Section("tunability", "Tunability", intro=intro, charts=[chart])]


def _provenance(context: Context) -> list[Section]:
    rows = []
    for s in context.every:
        env = s.study.environment
        cells = [
            s.study.name,
            env.get("git_commit") or "—",
            env.get("torch", "—"),
            env.get("optuna", "—"),
            f"{env.get('device', '—')} {env.get('device_name') or ''}".strip(),
            str(s.study.config.get("dtype", "—")),
        ]
        rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>" for h in ("study", "git commit", "torch", "optuna", "device", "dtype")
    )
    body = (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return [Section("provenance", "Provenance", body=body)]


#: The report's sections in order: one line per builder.
SECTIONS: list[Entry] = [
    Entry("summary", _summary),
    Entry("tables", _tables),
    Entry("task", _tasks),
    Entry("escape-noise", _noise),
    Entry("profile", _profile),
    Entry("importance", _importance),
    Entry("tunability", _tunability),
    Entry("provenance", _provenance),
]

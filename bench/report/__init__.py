"""Reports over stored studies: one self-contained HTML file and paper-style tables.

``build_report(results_dir, reports_dir)`` reads what sweeps exported to ``results/`` (files only,
never the Optuna storage) and writes ``reports/<name>/index.html`` and
``reports/<name>/tables/*.tex`` / ``*.md``. It never imports the engine or Optuna.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from bench.names import name_dir
from bench.report import figures, metrics, tables
from bench.report.experiments import analyse
from bench.report.findings import write_verdicts
from bench.report.html import (
    Section,
    anchor,
    details_table,
    findings_section,
    render_page,
    summary_table,
)
from bench.report.labels import param_label
from bench.report.load import ReportError, StudyData, load_studies
from bench.report.summary import StudySummary, common_lr_range, group_studies, summarize

__all__ = ["ReportError", "build_report"]

#: Table files this package writes; stale ones from an earlier build are removed.
_TABLE_NAMES = ("final_loss", "steps_to_target", "divergence", "escape", "hyperparameters")


def build_report(
    results_dir: str | Path,
    reports_dir: str | Path,
    name: str = "default",
    studies: Sequence[str] | None = None,
    experiment: str | None = None,
) -> Path:
    """Write ``reports_dir/name/index.html`` and ``tables/*.tex|md``; return the HTML's path.

    ``studies``: names of studies under ``results_dir`` (all when None). ``experiment``: the
    designed experiment whose findings open the report (also written to ``verdicts.json``). Raises
    ``ReportError`` (a ``ValueError``), in one line, for an unknown study, an empty results
    directory or a bad report name.
    """
    try:
        out = name_dir(reports_dir, name, "report.name")
    except ValueError as error:
        raise ReportError(str(error)) from None
    loaded = load_studies(results_dir, studies)
    if not loaded:
        raise ReportError(f"no studies in results_dir={str(results_dir)!r}; run a sweep first")

    findings = analyse(experiment, loaded) if experiment else None
    grid = _summaries(loaded)
    table_list = tables.build_tables(grid)
    _write_tables(out / "tables", table_list)
    sections = _sections(grid, table_list)
    if findings is not None:
        sections.insert(0, findings_section(findings))
    page = render_page(
        f"bench report: {name}",
        f"{len(loaded)} studies from {results_dir}",
        sections,
    )
    out.mkdir(parents=True, exist_ok=True)
    if findings is not None:
        write_verdicts(out / "verdicts.json", findings)
    index = out / "index.html"
    partial = out / f".index.html.{os.getpid()}"
    partial.write_text(page, encoding="utf-8")
    partial.replace(index)  # readers of a refreshed report never see half a file
    return index


def _summaries(loaded: list[StudyData]) -> dict[str, dict[str, StudySummary]]:
    grid = {}
    for task, row in group_studies(loaded).items():
        shared = common_lr_range(list(row.values()))
        grid[task] = {opt: summarize(study, task, opt, shared) for opt, study in row.items()}
    return grid


def _write_tables(directory: Path, table_list: list[tables.Table]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    written = {t.name for t in table_list}
    for table in table_list:
        (directory / f"{table.name}.tex").write_text(tables.to_latex(table), encoding="utf-8")
        (directory / f"{table.name}.md").write_text(tables.to_markdown(table), encoding="utf-8")
    for stale in set(_TABLE_NAMES) - written:
        for suffix in (".tex", ".md"):
            (directory / f"{stale}{suffix}").unlink(missing_ok=True)


def _sections(
    grid: Mapping[str, Mapping[str, StudySummary]],
    table_list: list[tables.Table],
) -> list[Section]:
    every = [s for row in grid.values() for s in row.values()]
    labels = {o for row in grid.values() for o in row} | {s.study.sweep_name for s in every}
    colours = figures.palette(sorted(labels))
    sections = [
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
            body=summary_table(every)
            + "<h3>Convergence and stability details</h3>"
            + '<p class="meta">Median steps count unreached runs as later than any reached one '
            "(censored); ERT seconds prorate each run's wall time by steps; roughness is the "
            "sum of the loss's increases over the sum of its decreases (0: monotone); "
            "divergence onset: the smallest η that diverged, and the η from which every larger "
            "one diverged.</p>" + details_table(every),
        ),
        Section(
            "tables",
            "Tables",
            intro=(
                "<p>Tasks as rows, optimizers as columns; the same tables as LaTeX (booktabs) "
                "and Markdown are in <code>tables/</code> next to this file.</p>"
            ),
            body="\n".join(tables.to_html(t) for t in table_list),
        ),
    ]
    for task, row in grid.items():
        sections.append(_task_section(task, row, colours))
    sections.append(_noise_section(every, colours))
    sections.append(_profile_section(grid, colours))
    sections.append(_importance_section(every))
    sections.append(_tunability_section(grid, colours))
    sections.append(_provenance_section(every))
    return sections


def _task_section(
    task: str, row: Mapping[str, StudySummary], colours: Mapping[str, tuple]
) -> Section:
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
    charts = [
        figures.loss_curves(row, colours),
        figures.objective_vs_lr(row),
        figures.lr_momentum_heatmap(row),
        figures.divergence_vs_lr(row, colours),
    ]
    notes = []
    if any(s.study.has_basins for s in row.values()):
        charts.append(figures.escape_vs_lr(row, colours))
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
        charts=[c for c in charts if c is not None],
        notes=notes,
    )


def _noise_section(every: list[StudySummary], colours: Mapping[str, tuple]) -> Section:
    basin = [s for s in every if s.study.has_basins and s.escape_all is not None]
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
    chart = figures.escape_vs_noise(pd.DataFrame(rows), colours)
    notes = [] if chart else ["No study on a task with known basins has runs that started outside."]
    return Section(
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


def _profile_section(
    grid: Mapping[str, Mapping[str, StudySummary]], colours: Mapping[str, tuple]
) -> Section:
    # One column per optimizer (sweep name): where several of its studies ran a task, the
    # fastest best configuration among them.
    times: dict[str, dict[str, float]] = {}
    chosen: dict[tuple[str, str], StudySummary] = {}
    for task, row in grid.items():
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
        figures.performance_profile(complete, colours, extrapolated=len(beyond))
        if len(complete)
        else None
    )
    if chart is None:
        notes.append("No task was run by every optimizer: no profile.")
    return Section(
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


def _importance_section(every: list[StudySummary]) -> Section:
    values: dict[str, pd.Series] = {}
    notes = []
    for s in every:
        table = s.study.importance
        found = table.dropna(subset=["parameter"]) if "parameter" in table else table.iloc[:0]
        if len(found):
            importance = found.set_index("parameter")["importance"].astype(float)
            values[s.study.name] = importance.rename(index=lambda p, d=s.study: param_label(d, p))
        else:
            note = next(iter(table.get("note", pd.Series(dtype=str)).dropna()), "none exported")
            notes.append(f"{s.study.name}: no importance ({note}).")
    chart = figures.importance_bars(values)
    return Section(
        "importance",
        "Hyperparameter importance",
        charts=[chart] if chart else [],
        notes=notes,
    )


def _tunability_section(
    grid: Mapping[str, Mapping[str, StudySummary]], colours: Mapping[str, tuple]
) -> Section:
    curves: dict[str, dict[str, pd.DataFrame]] = {}
    shares = []
    for task, row in grid.items():
        for opt, s in row.items():
            scores = s.scores.to_numpy(float)
            if scores.size == 0:
                continue
            ks = np.unique(np.round(np.logspace(0, math.log10(scores.size), 12)).astype(int))
            curves.setdefault(task, {})[opt] = metrics.expected_best_after_k(scores, ks, seed=0)
            share = "—" if math.isnan(s.share_within) else f"{100 * s.share_within:.0f} %"
            shares.append(f"{task} · {opt}: {share} of {scores.size}")
    samplers = [s.study.sampler for row in grid.values() for s in row.values()]
    chart = figures.tunability_curves(curves, colours, samplers)
    intro = (
        "<p>Share of the explored trials within 10 % of the best (gap to f*, or steps): "
        f"{escape('; '.join(shares))}.</p>"
    )
    return Section("tunability", "Tunability", intro=intro, charts=[chart] if chart else [])


def _provenance_section(every: list[StudySummary]) -> Section:
    rows = []
    for s in every:
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
    return Section("provenance", "Provenance", body=body)

"""The report as one self-contained HTML file: inline CSS, inline images, no script, no fetch.

Every string that comes from results (study, task and optimizer names, captions holding them)
passes through ``html.escape``; the only markup is written here.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.report.drawing import Draw
from bench.report.figures import Chart
from bench.report.findings import Finding
from bench.report.summary import StudySummary
from bench.report.tables import percent
from bench.results import STATUSES

__all__ = ["Section", "anchor", "details_table", "render_page", "summary_table"]

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1d1d1f; margin: 0 auto; max-width: 1240px; padding: 0 24px 48px; }
h1 { font-size: 1.6em; margin: 28px 0 4px; }
h2 { font-size: 1.25em; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 22px 0 6px; }
nav { margin: 10px 0 0; font-size: 0.92em; }
nav a { margin-right: 14px; color: #0b5cad; text-decoration: none; }
.meta, .note, figcaption { color: #555; font-size: 0.9em; }
.note { font-style: italic; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 18px; font-size: 0.86em; }
caption { caption-side: top; text-align: left; color: #555; padding-bottom: 6px; }
th, td { padding: 4px 9px; border-bottom: 1px solid #e3e3e3; text-align: left;
         vertical-align: top; }
thead th { border-bottom: 2px solid #999; background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.v-supported { color: #1a7f37; font-weight: 600; }
.v-contradicted { color: #c62828; font-weight: 600; }
.v-inconclusive { color: #8a6d00; font-weight: 600; }
.s-complete { color: #1a7f37; } .s-diverged { color: #c62828; font-weight: 600; }
.s-pruned { color: #6e6e6e; } .s-failed { color: #8e24aa; font-weight: 600; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
"""


@dataclass(frozen=True)
class Section:
    """A titled part of the page: paragraphs (already HTML), figures, then notes."""

    id: str
    title: str
    intro: str = ""
    body: str = ""
    #: Drawn charts; a section builder may put ``Draw`` jobs here, which ``build_sections``
    #: draws (all of a report's at once) before the page is written.
    charts: Sequence[Chart | Draw] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)


def anchor(text: str) -> str:
    """An id made of letters, digits and dashes (names may hold anything)."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return slug or "section"


def _figure(chart: Chart) -> str:
    caption = html.escape(chart.caption)
    return (
        f'<figure><img src="{html.escape(chart.uri)}" alt="{caption}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _section(section: Section) -> str:
    parts = [f'<section id="{html.escape(section.id)}">', f"<h2>{html.escape(section.title)}</h2>"]
    if section.intro:
        parts.append(section.intro)
    if section.body:
        parts.append(section.body)
    parts.extend(_figure(c) for c in section.charts)
    parts.extend(f'<p class="note">{html.escape(n)}</p>' for n in section.notes)
    parts.append("</section>")
    return "\n".join(parts)


def render_page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document."""
    nav = "".join(f'<a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(_section(s) for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        f"<header><h1>{html.escape(title)}</h1>"
        f'<p class="meta">{html.escape(subtitle)}</p><nav>{nav}</nav></header>\n'
        f"{body}\n</body></html>\n"
    )


# --- the summary table -----------------------------------------------------------------------


def _counts(counts: Mapping[str, int]) -> str:
    shown = [s for s in STATUSES if counts.get(s, 0) or s == "complete"]
    return " · ".join(f'<span class="s-{s}">{counts.get(s, 0)} {s}</span>' for s in shown)


def _g(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


def _rate(rate: object) -> str:
    if rate is None:
        return "—"
    if rate.n == 0:
        return "no runs"
    interval = f"[{percent(rate.low)}, {percent(rate.high)}]"
    return f"{percent(rate.rate)} % {interval} ({rate.k}/{rate.n})"


def _divergence(s: StudySummary) -> str:
    if s.divergence_common is None:
        return _rate(s.divergence)
    low, high = s.lr_range
    return (
        f"{_rate(s.divergence_common)} at η ∈ [{_g(low)}, {_g(high)}] (shared); "
        f"all explored η: {_rate(s.divergence)}"
    )


def _escape(rate: object, late: float) -> str:
    text = _rate(rate)
    return text + (f"; late share {percent(late)} %" if math.isfinite(late) else "")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Cells are HTML already (callers escape); headers are escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        '<div class="scroll"><table class="summary">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _objective(s: StudySummary) -> str:
    runs = s.study.runs
    value = float(runs.loc[runs["trial"] == s.best_trial, "objective"].iloc[0])
    return f"{_g(value, 4)} (trial {s.best_trial})"


def _seeds(s: StudySummary) -> str:
    seeds = sorted(int(x) for x in s.at_best["seed"].dropna())
    where = "fresh (confirmation)" if s.at_best_phase == "confirm" else "search (no confirmation)"
    span = f" {seeds[0]}–{seeds[-1]}" if seeds else ""
    return f"{len(seeds)} {where}{span}"


def _final(s: StudySummary) -> str:
    std = f" ± {_g(s.final_std, 2)}" if math.isfinite(s.final_std) else ""
    text = f"{_g(s.final_mean)}{std}"
    if s.best_diverged:
        text += f" ({s.best_diverged}/{int(s.best['n'])} seeds diverged)"
    return text


def _time_to_target(s: StudySummary) -> str:
    best = s.best
    if math.isinf(best["ert_steps"]):
        return f"not reached within {best['budget']} steps (0/{best['n']})"
    return f"ERT {best['ert_steps']:.0f} steps ({best['reached']}/{best['n']} reached)"


def findings_section(findings: Sequence[Finding]) -> Section:
    """The report's opening section: each claim, its verdict, and the evidence for it."""
    rows = [
        [
            f"{html.escape(f.claim)}<br><small>{html.escape(f.source)}</small>",
            f'<span class="v-{f.verdict}">{f.verdict}</span>',
            html.escape(f.statistic),
            f"{_g(f.value)} [{_g(f.ci[0])}, {_g(f.ci[1])}]",
            str(f.n),
            html.escape(f.threshold),
        ]
        for f in findings
    ]
    return Section(
        "findings",
        "Findings",
        intro=(
            "<p>One row per claim, as its source states it. A claim is "
            '<span class="v-supported">supported</span> when the whole 95 % interval of its '
            "statistic lies on the claim's side of the threshold, "
            '<span class="v-contradicted">contradicted</span> when it lies wholly on the other '
            'side, and <span class="v-inconclusive">inconclusive</span> when it straddles the '
            "threshold. Thresholds are fixed by the experiment's design, never by its data; "
            "the same rows are in <code>verdicts.json</code> next to this file.</p>"
        ),
        body=_table(["claim", "verdict", "statistic", "value [95 % CI]", "n", "threshold"], rows),
    )


def summary_table(summaries: Sequence[StudySummary]) -> str:
    """One row per study: what ran, how its runs ended, and the headline numbers at the best."""
    headers = [
        "study",
        "task",
        "optimizer",
        "sampler · objective",
        "trials",
        "runs",
        "best objective",
        "seeds at best",
        "final loss at best (mean ± std)",
        "time to target at best",
        "divergence rate",
        "escape at best (first passage; late share)",
    ]
    rows = []
    for s in summaries:
        none = "no complete trial with a finite objective"
        rows.append(
            [
                html.escape(s.study.name),
                html.escape(s.task_label),
                html.escape(s.optimizer_label),
                html.escape(f"{s.study.sampler} · {s.study.objective}"),
                _counts(s.trial_counts),
                _counts(s.run_counts),
                html.escape(_objective(s) if s.best_trial is not None else none),
                html.escape(_seeds(s) if s.best_trial is not None else "—"),
                html.escape(_final(s) if s.best_trial is not None else "—"),
                html.escape(_time_to_target(s) if s.best_trial is not None else "—"),
                html.escape(_divergence(s)),
                html.escape(_escape(s.escape_best, s.late_share_best)),
            ]
        )
    return _table(headers, rows)


def details_table(summaries: Sequence[StudySummary]) -> str:
    """One row per study: convergence speed and stability beyond the headline numbers."""
    headers = [
        "study",
        "median steps to target at best",
        "ERT seconds at best",
        "AUC at best (mean log10 gap)",
        "final loss IQR over seeds at best",
        "median std over seeds per configuration",
        "roughness at best; median over runs",
        "divergence sets in at η: first; all above",
        "trials within 10 % of the best",
        "escape over the explored space (first passage; late share)",
    ]
    rows = []
    for s in summaries:
        best = s.best
        if s.best_trial is None:
            median = ert_s = auc = iqr = rough_best = "—"
        else:
            m = best["median_steps"]
            median = f"not reached by half within {best['budget']}" if math.isinf(m) else _g(m, 4)
            ert_s = _g(best["ert_seconds"]) if math.isfinite(best["ert_seconds"]) else "—"
            auc, iqr, rough_best = _g(best["auc"]), _g(s.final_iqr, 2), _g(s.best_roughness, 2)
        within = "—" if math.isnan(s.share_within) else f"{percent(s.share_within)} %"
        cells = [
            s.study.name,
            median,
            ert_s,
            auc,
            iqr,
            _g(s.spread_median_std, 2),
            f"{rough_best}; {_g(s.roughness_median, 2)}",
            f"{_g(s.onset.first)}; {_g(s.onset.all_above)}",
            within,
            _escape(s.escape_all, s.late_share_all),
        ]
        rows.append([html.escape(str(c)) for c in cells])
    return _table(headers, rows)

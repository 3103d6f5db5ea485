"""The HTML report: every section, self-contained, escaped, statuses shown; and as rendered."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report.html import Section, anchor, render_page
from bench.report.sections import SECTIONS, TASK_FIGURES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Collector(HTMLParser):
    """Tags, attributes, section ids and figures per section of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.sections: list[str] = []
        self.figures: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
        if tag == "section":
            self.sections.append(dict(attrs)["id"] or "")
        if tag == "figure":
            self.figures[self.sections[-1]] = self.figures.get(self.sections[-1], 0) + 1


@pytest.fixture(scope="module")
def page(report: Path) -> str:
    return report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    collector.close()
    return collector


def _entry(section_id: str) -> str:
    """The registry key of the builder that added a section (``task`` for ``task-<name>``)."""
    return next(
        e.key for e in SECTIONS if section_id == e.key or section_id.startswith(f"{e.key}-")
    )


def test_the_report_has_every_section_in_order(parsed: _Collector) -> None:
    keys = [_entry(s) for s in parsed.sections]
    assert list(dict.fromkeys(keys)) == [e.key for e in SECTIONS]  # each builder, in order
    assert keys == sorted(keys, key=[e.key for e in SECTIONS].index)
    tasks = [s for s in parsed.sections if _entry(s) == "task"]
    assert tasks == [
        "task-double-well-noise-0",
        "task-double-well-noise-0-5",
        "task-quadratic",
        "task-rosenbrock",
    ]
    # Every task figure on the basin task; all but escape vs η on Rosenbrock.
    assert parsed.figures["task-double-well-noise-0"] == len(TASK_FIGURES)
    assert parsed.figures["task-rosenbrock"] == len(TASK_FIGURES) - 1
    # One figure in every other section that draws one; the others are text.
    text = {"summary", "tables", "provenance"}
    drawn = {s: n for s, n in parsed.figures.items() if _entry(s) != "task"}
    assert drawn == {s: 1 for s in parsed.sections if _entry(s) != "task" and s not in text}


def test_every_figure_is_inline_with_a_caption(page: str, parsed: _Collector) -> None:
    sources = [v for tag, name, v in parsed.attrs if tag == "img" and name == "src"]
    assert len(sources) == sum(parsed.figures.values())
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)
    assert len(captions) == len(sources)
    assert all(c.strip().endswith(".") for c in captions)


def test_nothing_is_fetched_and_nothing_runs(page: str, parsed: _Collector) -> None:
    assert "script" not in parsed.tags
    assert {"link", "iframe", "object", "embed"}.isdisjoint(parsed.tags)
    for _tag, name, value in parsed.attrs:
        if name in ("src", "href"):
            assert not re.match(r"\s*(https?:)?//", value), value
        assert not name.startswith("on"), name
    assert "@import" not in page and "url(" not in page


def test_a_hostile_study_name_appears_escaped(page: str, xss: str) -> None:
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_diverged_failed_and_pruned_runs_are_shown_as_such(page: str, sweep_results: Path) -> None:
    runs = pd.read_parquet(sweep_results / "sgd-rosenbrock" / "runs.parquet")
    counts = runs["status"].value_counts()
    assert counts["diverged"] > 0 and counts["failed"] == 1
    pruned = pd.read_parquet(sweep_results / "adam-rosenbrock" / "runs.parquet")
    n_pruned = int((pruned["status"] == "pruned").sum())
    assert n_pruned > 0

    rows = {
        re.search(r"<td>([^<]*)</td>", row).group(1): row
        for row in re.findall(r"<tr>(.*?)</tr>", page.split('id="summary"')[1].split("<h3>")[0])
        if "<td>" in row
    }
    sgd = rows["sgd-rosenbrock"]
    assert f'<span class="s-diverged">{counts["diverged"]} diverged</span>' in sgd
    assert '<span class="s-failed">1 failed</span>' in sgd
    assert f'<span class="s-pruned">{n_pruned} pruned</span>' in rows["adam-rosenbrock"]
    assert "sgd: 1 failed trial(s) have no results to plot." in page
    assert re.search(r"red crosses at the top are the \d+ diverged trials", page)
    assert f"hollow circles the {n_pruned // 3} pruned ones" in page


def test_too_few_trials_for_importance_is_said_not_raised(page: str) -> None:
    assert "no importance (3 complete trials with a finite objective; need 4)" in page


def test_render_page_escapes_titles_and_anchors_are_safe() -> None:
    html = render_page("<b>", "<i>", [Section(anchor('"><x'), "<t>", notes=["<n>"])])
    assert "<b>" not in html and "<t>" not in html and "<n>" not in html
    assert 'id="x"' in html and anchor("") == "section"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is missing (CI installs Debian's chromium)")
def test_headless_chromium_renders_the_figures(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,4000",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (4000, 1280, 3)
    # Text is grey on white; figures bring colour: lines, colour maps, heat maps.
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 60).sum() > 20_000
    colours = np.unique(pixels.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 500
    assert (pixels.min(axis=2) < 200).mean() > 0.03  # not a blank page

"""The section registry: each builder adds the sections it is registered under."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.report.drawing import draw_all
from bench.report.load import load_studies
from bench.report.sections import SECTIONS, TASK_FIGURES, Context, Entry


@pytest.fixture(scope="module")
def context(sweep_results: Path) -> Context:
    return Context.of(load_studies(sweep_results))


@pytest.mark.parametrize("entry", SECTIONS, ids=lambda e: e.key)
def test_each_builder_adds_its_sections_under_its_key(entry: Entry, context: Context) -> None:
    built = entry.build(context)
    assert built and all(s.id == entry.key or s.id.startswith(f"{entry.key}-") for s in built)
    assert len({s.id for s in built}) == len(built)
    if entry.key == "task":
        assert len(built) == len(context.grid)  # one per task


def test_an_ert_beyond_the_budget_is_flagged_as_extrapolated_in_the_profile() -> None:
    # One lucky seed of 8 on a 1000-step budget gives an ERT of 7390 steps (issue 12): the
    # profile must say that this ratio is an extrapolation.
    def summary(name: str, ert: float, reached: int) -> SimpleNamespace:
        best = {"ert_steps": ert, "budget": 1000, "reached": reached, "n": 8}
        return SimpleNamespace(study=SimpleNamespace(sweep_name=name), best=best)

    grid = {"double_well": {"adam": summary("adam", 7390.0, 1), "sgd": summary("sgd", 600.0, 5)}}
    colours = {"adam": (0, 0, 1), "sgd": (1, 0, 0)}
    profile = next(e.build for e in SECTIONS if e.key == "profile")
    [section] = profile(Context(grid, [s for r in grid.values() for s in r.values()], colours, []))
    flagged = [n for n in section.notes if n.startswith("Extrapolated")]
    assert len(flagged) == 1 and "adam on double_well" in flagged[0] and "7390" in flagged[0]
    [chart] = draw_all(section.charts)  # a job for the drawing processes
    assert "1 of these times exceed the step budget" in chart.caption


def test_each_task_s_charts_are_handed_over_once_summarized_and_are_its_section_s(
    sweep_results: Path,
) -> None:
    handed: list[list] = []
    context = Context.of(load_studies(sweep_results), on_row=handed.append)
    assert len(handed) == len(context.grid) and all(len(c) == len(TASK_FIGURES) for c in handed)
    tasks = next(e.build for e in SECTIONS if e.key == "task")(context)
    # The very jobs handed over: the drawing processes, which started on them, are asked for
    # them again by identity.
    for section, charts in zip(tasks, handed, strict=True):
        assert all(a is b for a, b in zip(section.charts, charts, strict=True))

"""``build_report``: a report's HTML page and tables from the studies a sweep exported."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from bench.names import name_dir
from bench.report import tables
from bench.report.drawing import Workers
from bench.report.experiments import analyse
from bench.report.findings import write_verdicts
from bench.report.html import findings_section, render_page
from bench.report.load import ReportError, load_studies
from bench.report.sections import Context, build_sections

__all__ = ["ReportError", "build_report"]

#: Table files this package writes; stale ones from an earlier build are removed.
_TABLE_NAMES = ("final_loss", "steps_to_target", "divergence", "escape", "hyperparameters")


def build_report(
    results_dir: str | Path,
    reports_dir: str | Path,
    name: str = "default",
    studies: Sequence[str] | None = None,
    experiment: str | None = None,
    *,
    parallel: bool = False,
    workers: Workers | None = None,
) -> Path:
    """Write ``reports_dir/name/index.html`` and ``tables/*.tex|md``; return the HTML's path.

    ``studies``: names of studies under ``results_dir`` (all when None). ``experiment``: the
    designed experiment whose findings open the report (also written to ``verdicts.json``).
    ``parallel``: draw a report of many figures (studies of more than one task) in worker
    processes, started before the studies are summarized (the commands do; off by
    default because each worker imports the caller's ``__main__`` script, as multiprocessing
    does, which must then guard its work with ``if __name__ == "__main__"``). Raises
    ``ReportError`` (a ``ValueError``), in one line, for an unknown study, an empty results
    directory or a bad report name. ``workers``: drawing processes the caller started earlier
    and stops (the commands start them as they launch); they replace ``parallel``'s.
    """
    try:
        out = name_dir(reports_dir, name, "report.name")
    except ValueError as error:
        raise ReportError(str(error)) from None
    loaded = load_studies(results_dir, studies)
    # Each task adds a row of figures: from two on, enough to draw in worker processes, which
    # start up while this one summarizes the studies.
    many = parallel and len({study.task for study in loaded}) > 1
    own = Workers(None if many else 1) if workers is None else nullcontext(workers)
    with own as workers:
        findings = analyse(experiment, loaded) if experiment else None
        context = Context.of(loaded, on_row=workers.prefetch)
        _write_tables(out / "tables", context.tables)
        sections = build_sections(context, workers)
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


def _write_tables(directory: Path, table_list: Sequence[tables.Table]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    written = {t.name for t in table_list}
    for table in table_list:
        (directory / f"{table.name}.tex").write_text(tables.to_latex(table), encoding="utf-8")
        (directory / f"{table.name}.md").write_text(tables.to_markdown(table), encoding="utf-8")
    for stale in set(_TABLE_NAMES) - written:
        for suffix in (".tex", ".md"):
            (directory / f"{stale}{suffix}").unlink(missing_ok=True)

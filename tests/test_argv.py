"""What a command line asks for, read without Hydra: which commands start drawing processes
before their imports."""

from __future__ import annotations

import pytest

from bench.argv import draws_a_report, report_only


@pytest.mark.parametrize(
    ("args", "alone", "draws"),
    [
        (["+report=default"], True, True),
        (["+report=default", "report.studies=[a,b]", "results_dir=r"], True, True),
        (["report.name=x=y", "+report=default"], True, True),
        (["+sweep=adam"], False, True),
        (["+sweep=adam", "task=mlp_digits", "steps=300"], False, True),
        (["+sweep=adam", "auto_report=false"], False, False),
        (["+sweep=adam", "+auto_report=False"], False, False),
        (["+sweep=adam", "+report=default"], False, True),
        (["--multirun", "+report=default"], False, False),
        (["-m", "+sweep=adam,sgd"], False, False),
        (["+sweep=adam", "hydra.run.dir=out"], False, False),
        (["+experiment=paper"], False, False),
        (["task=rosenbrock", "optimizer=adam"], False, False),
        (["report.studies=[a]"], False, False),
    ],
)
def test_reports_alone_and_sweeps_with_their_report_draw(
    args: list[str], alone: bool, draws: bool
) -> None:
    assert report_only(args) is alone
    assert draws_a_report(args) is draws

"""The drawing workers' fork server exits without teardown, and only it imports the module that
makes it do so."""

from __future__ import annotations

from processes import run_python


def test_importing_it_makes_the_exit_immediate_and_silent() -> None:
    done = run_python(
        "import atexit\natexit.register(print, 'later')\n"
        "import bench.report.server_exit\nraise SystemExit(3)"
    )
    # Its handler, registered last, runs first: status 0, and no handler after it runs.
    assert (done.returncode, done.stdout) == (0, "")


def test_no_module_of_the_command_or_the_report_imports_it() -> None:
    done = run_python(
        "import sys, importlib\n"
        "import bench.cli, bench.__main__, bench.report.build, bench.report.sections\n"
        "from bench.report import drawing, figures\n"
        "for name in figures.MODULES: importlib.import_module(name)\n"
        "assert 'bench.report.server_exit' not in sys.modules, 'imported'\n"
    )
    assert done.returncode == 0, done.stderr

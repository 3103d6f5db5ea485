"""``python -m bench``'s exit: the job's output whole, its storage one file, its status 0."""

from __future__ import annotations

from pathlib import Path

from processes import run_bench, run_python


def test_a_sweep_with_its_report_exits_zero_with_its_output_and_one_storage_file(
    tmp_path: Path,
) -> None:
    done = run_bench(
        "+sweep=adam",
        "task=quadratic",
        "sweep.n_trials=8",
        "steps=20",
        "seeds=2",
        "progress=false",
        f"results_dir={tmp_path / 'results'}",
        f"reports_dir={tmp_path / 'reports'}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("report in ")
    assert (tmp_path / "reports" / "adam-quadratic" / "index.html").is_file()
    # SQLite's write-ahead log is folded back into bench.db: the one file a user copies.
    files = {p.name for p in (tmp_path / "results").iterdir() if p.is_file()}
    assert files == {"bench.db", "bench.db.lock"}


def test_the_exit_joins_threads_and_runs_exit_handlers_before_it_flushes(tmp_path: Path) -> None:
    script = """
import atexit, threading, time
from bench.__main__ import _exit
atexit.register(print, "handler")
threading.Thread(target=lambda: (time.sleep(0.2), print("thread", end=" "))).start()
print("job", end=" ")
_exit()
print("never")
"""
    done = run_python(script, cwd=tmp_path, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "job thread handler\n", "")


def test_a_reports_drawing_processes_start_before_hydra_is_imported(tmp_path: Path) -> None:
    script = """
import sys
from bench.report import drawing
start = drawing.Workers.__init__
def note(self, *args):
    print("hydra imported:", "hydra" in sys.modules, "torch imported:", "torch" in sys.modules)
    start(self, *args)
drawing.Workers.__init__ = note
sys.argv = ["bench", "+report=default", "results_dir=empty"]
from bench.__main__ import _run
_run()
"""
    done = run_python(script, cwd=tmp_path, timeout=60)
    assert done.stdout == "hydra imported: False torch imported: False\n"
    assert done.returncode == 2 and done.stderr.startswith("bench: ")

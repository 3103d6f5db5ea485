"""The journal storage survives a torn last line: set aside, never deleted; the sweep resumes."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from processes import bench_process

from bench.sweep import run_sweep
from bench.sweep.storage import open_storage

ARGS = (
    "+sweep=adam",
    "task=quadratic",
    "storage=journal",
    "study_name=torn",
    "sweep.confirm_seeds=0",
    "steps=20",
)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real journal: a finished 3-trial sweep, written by a process that has exited."""
    root = tmp_path_factory.mktemp("journal")
    done = bench_process(*ARGS, "seeds=1", "sweep.n_trials=3", "auto_report=false", cwd=root)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    return root / "results" / "journal.log"


def _cut(journal: Path, into: Path, keep: int) -> bytes:
    """Copy ``journal`` into ``into``, keeping ``keep`` bytes of its last line; return them."""
    data = journal.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    into.parent.mkdir(parents=True, exist_ok=True)
    into.write_bytes(data[: start + keep])
    return data[: start + keep]


def _trials(path: Path) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    return optuna.load_study(study_name="torn", storage=storage).get_trials()


def _check_every_cut(journal: Path, tmp_path: Path, compose_config, keeps: range) -> None:
    whole = _trials(journal)
    results = tmp_path / "results"
    cfg = compose_config("storage=journal", f"results_dir={results}")
    for keep in keeps:
        copy = results / "journal.log"
        side = results / "journal.log.torn"
        side.unlink(missing_ok=True)
        kept = _cut(journal, copy, keep)
        storage = open_storage(cfg.storage, results)
        study = optuna.load_study(study_name="torn", storage=storage)
        study.set_user_attr("appended", keep)  # an append right after the cut
        torn = kept[kept.rfind(b"\n") + 1 :]
        assert (side.read_bytes() if side.exists() else None) == (torn + b"\n" if torn else None)
        reread = _trials(copy)
        # The trials the cut line did not touch are intact; the study opens after the append.
        assert [t.number for t in reread] == [t.number for t in whole], keep
        assert [t.params for t in reread] == [t.params for t in whole], keep


def test_a_journal_cut_anywhere_in_its_last_line_opens_and_appends(
    journal: Path, tmp_path: Path, compose_config
) -> None:
    last = len(journal.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]) + 1
    _check_every_cut(journal, tmp_path, compose_config, range(0, last, max(1, last // 8)))


@pytest.mark.slow
def test_a_journal_cut_at_every_byte_of_its_last_line_opens_and_appends(
    journal: Path, tmp_path: Path, compose_config
) -> None:
    last = len(journal.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]) + 1
    _check_every_cut(journal, tmp_path, compose_config, range(last))


def test_a_sweep_resumes_after_a_torn_line_and_keeps_it_aside(
    journal: Path, tmp_path: Path, small_config
) -> None:
    results = tmp_path / "results"
    data = journal.read_bytes()
    # Cut inside the record that finished the last trial: that trial is left running, by a
    # process that is gone, and the rerun runs its configuration again.
    finish = data.rfind(b'"state":1')
    start = data.rfind(b"\n", 0, finish) + 1
    end = data.index(b"\n", finish) + 1
    results.mkdir(parents=True)
    (results / "journal.log").write_bytes(data[: (start + end) // 2])
    assert len(_trials(results / "journal.log")) == 3
    cfg = small_config(*ARGS[:-1], "seeds=1", "sweep.n_trials=3", "auto_report=false")
    study = run_sweep(cfg)
    states = [t.state for t in study.get_trials()]
    assert states.count(TrialState.COMPLETE) == 3
    assert (results / "journal.log.torn").read_bytes() == data[start : (start + end) // 2] + b"\n"
    assert len(_trials(results / "journal.log")) == len(states)

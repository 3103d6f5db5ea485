"""Reading studies back from a results directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.report.load import ReportError, find_studies, load_studies


def test_every_exported_study_is_found_even_with_a_slash_in_its_name(
    sweep_results: Path, xss: str
) -> None:
    names = find_studies(sweep_results)
    assert names == sorted(
        [
            xss,  # its "/" is encoded: one directory right below results_dir
            "adam-double_well",
            "adam-double_well-noisy",
            "adam-rosenbrock",
            "sgd-double_well",
            "sgd-rosenbrock",
        ]
    )


def test_loaded_study_knows_its_task_optimizer_and_settings(sweep_results: Path) -> None:
    (study,) = load_studies(sweep_results, ["adam-double_well-noisy"])
    assert (study.name, study.task, study.optimizer, study.sweep_name) == (
        "adam-double_well-noisy",
        "double_well",
        "adam",
        "adam",
    )
    assert study.noise == 0.5 and study.steps == 60 and study.has_basins
    assert study.objective == "final_loss" and study.momentum_column == "beta1"
    assert study.f_star is not None and study.target is not None
    assert set(study.curves.columns) == {"study", "trial", "seed", "step", "loss"}


def test_unknown_studies_are_refused_naming_the_available_ones(sweep_results: Path) -> None:
    with pytest.raises(ReportError, match="'nope' not found.*allowed: .*adam-double_well"):
        load_studies(sweep_results, ["adam-double_well", "nope"])


def test_an_empty_or_missing_results_directory_has_no_studies(tmp_path: Path) -> None:
    assert find_studies(tmp_path / "missing") == []
    with pytest.raises(ReportError, match="no studies in results_dir=.*; run a sweep first"):
        load_studies(tmp_path)


@pytest.mark.parametrize("directory", [".multirun/x", ".multirun", "a/b", "nested/a/b"])
def test_only_directories_a_study_name_maps_to_hold_studies(tmp_path: Path, directory) -> None:
    hidden = tmp_path / directory
    hidden.mkdir(parents=True)
    pd.DataFrame({"study": ["x"], "status": ["complete"]}).to_parquet(hidden / "runs.parquet")
    assert find_studies(tmp_path) == []

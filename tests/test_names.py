"""Names that become directories: one safe, reversible directory name per study or report."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.names import MAX_BYTES, check_name, dir_name, name_dir, slug

HOSTILE = ["../../../outside", "/tmp/x", "<script>alert(1)</script>adam", ".", "..", ".multirun"]


@given(st.text(min_size=1))
def test_every_name_maps_to_one_component_and_back(name: str) -> None:
    component = slug(name)
    assert "/" not in component and "\\" not in component and "\0" not in component
    assert not component.startswith(".")
    assert dir_name(component) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_stays_right_below_its_root(tmp_path: Path, name: str) -> None:
    path = name_dir(tmp_path, name)
    assert path.parent == tmp_path
    assert path.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("component", [".multirun", "a%2", "%ff", "a%2fb", ""])
def test_a_directory_no_name_maps_to_is_not_a_name(component: str) -> None:
    assert dir_name(component) is None


def test_an_empty_or_too_long_name_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="study_name='' is invalid"):
        check_name("", "study_name")
    with pytest.raises(ValueError, match=f"too long; allowed: at most {MAX_BYTES} bytes"):
        check_name("é" * 100, "report.name")

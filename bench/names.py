"""Names that become directories: study and report names, mapped to one safe path component.

Every name (from the command line, a multirun list, ``report.studies``, or a study another
worker created in a shared storage) reaches the file system through ``name_dir`` only. A name is
percent-encoded, so that it is one directory right below ``results_dir`` / ``reports_dir``
whatever it holds (``/``, ``..``, an absolute path, markup), and ``dir_name`` gives it back.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

__all__ = ["MAX_BYTES", "check_name", "dir_name", "name_dir", "slug"]

#: The longest file name most file systems (ext4, APFS, NTFS) accept, in bytes.
MAX_BYTES = 255


def slug(name: str) -> str:
    """The name as one path component: percent-encoded except ``A-Za-z0-9_.-~``, and never
    starting with ``.`` (no ``.``, ``..`` or hidden directory). ``dir_name`` reverses it."""
    text = quote(name, safe="")
    return "%2E" + text[1:] if text.startswith(".") else text


def dir_name(component: str) -> str | None:
    """The name whose ``slug`` is ``component``; None for a directory no name maps to."""
    try:
        name = unquote(component, errors="strict")
    except UnicodeDecodeError:
        return None
    return name if name and slug(name) == component else None


def check_name(name: object, key: str) -> str:
    """The name's slug; ``ValueError`` in one line where no directory can hold it."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{key}={name!r} is invalid; allowed: a non-empty name")
    component = slug(name)
    if len(component.encode()) > MAX_BYTES:
        raise ValueError(
            f"{key}={name[:40]!r}… is too long; allowed: at most {MAX_BYTES} bytes once "
            "percent-encoded as a directory name"
        )
    return component


def name_dir(root: str | Path, name: str, key: str = "study_name") -> Path:
    """``root/<slug of name>``: always one level below ``root``, whatever the name holds."""
    return Path(root) / check_name(name, key)

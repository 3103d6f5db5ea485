"""Progress bars: on a terminal unless ``progress=false``, silent otherwise."""

from __future__ import annotations

from omegaconf import DictConfig
from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(cfg: DictConfig, **options) -> tqdm:  # noqa: ANN003 - tqdm's own keywords
    """A tqdm bar shown only on a terminal (``disable=None``) and only with ``progress=true``."""
    return tqdm(disable=None if cfg.progress else True, leave=False, dynamic_ncols=True, **options)

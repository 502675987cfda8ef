"""Where the shipped data lives (meta-data, backbone weights, the trained recommender)."""

from __future__ import annotations

import os
from pathlib import Path


def meta_data_dir() -> Path:
    """The shipped ``meta_data/`` folder; ``HYPERSTAR_META_DATA`` overrides it."""
    env = os.environ.get("HYPERSTAR_META_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "meta_data"


def source_weights_path(backbone: str) -> Path:
    """Path of the shipped source-pretrained weights of ``backbone`` (may not exist)."""
    return meta_data_dir() / "backbones" / f"{backbone}_source.pt"

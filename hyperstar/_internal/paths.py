"""Where the shipped data lives (meta-data, backbone weights, the trained recommender), and ``weights="auto"``.

The data ships inside the package (``hyperstar/shipped/``), so an installed wheel has it too.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from hyperstar.exceptions import InvalidInputError

logger = logging.getLogger("hyperstar")


def meta_data_dir() -> Path:
    """The shipped data folder (``hyperstar/shipped``); ``HYPERSTAR_META_DATA`` overrides it."""
    env = os.environ.get("HYPERSTAR_META_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "shipped"


def source_weights_path(backbone: str) -> Path:
    """Path of the shipped source-pretrained weights of ``backbone`` (may not exist)."""
    return meta_data_dir() / "backbones" / f"{backbone}_source.pt"


def resolve_weights(backbone: str, weights: Any, *, check: bool = False) -> Any:
    """What ``weights`` means for ``create_backbone``: ``"auto"`` becomes the shipped source weights of
    ``backbone`` (or ``None``, with a visible warning, when there are none); everything else passes through.

    ``check=True`` also checks a path-like value: a string without a file suffix that is not a file is a
    torchvision weights name (``"DEFAULT"``); any other path must exist.
    """
    if isinstance(weights, str) and weights == "auto":
        path = source_weights_path(backbone)
        if path.is_file():
            return path
        if backbone in _WARNED:
            return None
        _WARNED.add(backbone)
        warnings.warn(
            f"No shipped source weights for backbone {backbone!r} ({path} is missing): starting from random "
            "initialisation. Pass weights=<file.pt>, a torchvision weights name, or weights=None to silence this.",
            UserWarning, stacklevel=3,
        )
        return None
    if not check or weights is None or not isinstance(weights, (str, Path)):
        return weights
    if isinstance(weights, str) and not Path(weights).suffix and not Path(weights).exists():
        return weights
    path = Path(weights)
    if path.is_dir():
        raise InvalidInputError(
            f"Backbone weights '{path}' is a folder. Pass a .pt file, a torchvision weights name, 'auto' or 'none'."
        )
    if not path.is_file():
        raise InvalidInputError(
            f"Backbone weights '{path}' do not exist. Pass a .pt file, a torchvision weights name, 'auto' or 'none'."
        )
    return path


_WARNED: set[str] = set()

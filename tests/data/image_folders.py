"""Helpers of the data tests: generated ImageFolder-layout datasets (imported by the test modules;
not a conftest, so that tests/conftest.py stays the only module named ``conftest``)."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

# Class k of the generated folders is dominated by this colour, so labels can be checked by content.
COLOURS = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (220, 220, 30)]


def make_image_folder(
    path: Path, n_classes: int = 3, per_class: int = 20, size: int = 32, seed: int = 0,
    class_names: list[str] | None = None,
) -> Path:
    """Write an ImageFolder-layout dataset of small noisy PNGs, one colour per class."""
    rng = np.random.default_rng(seed)
    names = class_names or [f"class_{k}" for k in range(n_classes)]
    for k, cname in enumerate(names):
        d = path / cname
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            base = np.array(COLOURS[k % len(COLOURS)], dtype=np.int16)
            noise = rng.integers(-20, 21, size=(size, size, 3))
            arr = np.clip(base + noise, 0, 255).astype(np.uint8)
            Image.fromarray(arr, "RGB").save(d / f"img_{i:03d}.png")
    return path


def small_folder(tmp_path: Path) -> Path:
    """The dataset of the ``folder`` fixtures: 3 classes of 10 images, 20x20 pixels."""
    return make_image_folder(tmp_path / "train", n_classes=3, per_class=10, size=20)


@contextlib.contextmanager
def no_warnings():
    """Turn any warning into an error inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield

"""Shared fixtures: tiny synthetic tasks that train in well under a second on 2 CPU cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def make_arrays(n_classes: int = 3, per_class: int = 12, size: int = 16, seed: int = 0):
    """Learnable synthetic images: each class is a coloured blob at its own position, plus noise."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    yy, xx = np.mgrid[0:size, 0:size]
    for k in range(n_classes):
        cy = size * (0.25 + 0.5 * (k % 2))
        cx = size * (0.25 + 0.5 * ((k // 2) % 2))
        for _ in range(per_class):
            blob = np.exp(-((yy - cy - rng.normal(0, 1)) ** 2 + (xx - cx - rng.normal(0, 1)) ** 2) / (size / 3) ** 2)
            img = np.stack([blob * (0.4 + 0.6 * ((k + c) % 3 == 0)) for c in range(3)], axis=-1)
            img = img + rng.normal(0, 0.08, img.shape)
            images.append(np.clip(img * 255, 0, 255).astype(np.uint8))
            labels.append(k)
    return np.stack(images), np.array(labels)


def write_image_folder(root: Path, n_classes: int = 3, per_class: int = 20, size: int = 32, seed: int = 0) -> Path:
    images, labels = make_arrays(n_classes, per_class, size, seed)
    for i, (img, y) in enumerate(zip(images, labels)):
        d = root / f"class_{y}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"img_{i:03d}.png")
    return root


@pytest.fixture
def tiny_task():
    from hyperstar.data import Task

    images, labels = make_arrays()
    return Task.from_arrays(images, labels, resolution=16, channels=3, name="tiny")


def write_flat_folder(root: Path, shade: int, classes=("a", "b"), step: int = 80, per_class: int = 5) -> Path:
    """A folder task of flat gray 10x10 images: class k at gray ``shade + step * k + i`` (distinct, tiny)."""
    for k, cls in enumerate(classes):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((10, 10), shade + step * k + i, np.uint8)).save(root / cls / f"{i}.png")
    return root


@pytest.fixture
def flat_folder():
    """``flat_folder(root, shade, classes=("a", "b"), step=80)`` writes a tiny folder task (see
    :func:`write_flat_folder`) and returns its root."""
    return write_flat_folder


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    return write_image_folder(tmp_path / "images")


@pytest.fixture
def run_cli():
    """``run_cli(*args, cwd=None, timeout=300)``: ``python -m hyperstar.cli ARGS`` -> CompletedProcess (the CLI
    in a real subprocess, as a user runs it)."""
    import subprocess
    import sys

    def run(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hyperstar.cli", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)

    return run


@pytest.fixture(autouse=True)
def _no_task_cache(monkeypatch):
    """No test reads or writes the user's task cache (``~/.cache/hyperstar/tasks``): tests of the cache set
    ``HYPERSTAR_TASK_CACHE_DIR`` to a folder of their own."""
    monkeypatch.setenv("HYPERSTAR_TASK_CACHE_DIR", "off")

"""Tests for hyperstar.data.describe: the meta-features of a task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from image_folders import small_folder

from hyperstar.data import Task


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return small_folder(tmp_path)

# ----------------------------------------------------------------------------- describe


def test_describe_is_json_serialisable_and_sensible(folder: Path) -> None:
    task = Task.from_folder(folder, resolution=16)
    d = task.describe()
    assert json.loads(json.dumps(d)) == d
    assert d["n_images"] == 30 and d["n_classes"] == 3
    assert d["images_per_class_min"] == d["images_per_class_max"] == 10
    assert d["images_per_class_mean"] == 10.0 and d["class_balance"] == 1.0
    assert d["class_entropy"] == pytest.approx(1.0)
    assert d["resolution"] == 16 and d["channels"] == 3 and d["native_resolution_mean"] == 20.0
    assert d["is_grayscale"] == 0.0
    assert len(d["channel_mean"]) == 3 and all(0 < m < 1 for m in d["channel_mean"])
    assert all(s > 0 for s in d["channel_std"])
    assert 0 < d["mean_pixel_std_within_image"] < 0.5 and 0 < d["edge_density"] < 1
    assert task.describe() == d  # deterministic


def test_describe_imbalanced_classes() -> None:
    labels = np.array([0] * 30 + [1] * 10)
    x = np.zeros((40, 4, 4), dtype=np.uint8)
    d = Task.from_arrays(x, labels).describe()
    assert d["class_balance"] == pytest.approx(1 / 3)
    assert 0 < d["class_entropy"] < 1 and d["edge_density"] == 0.0
    assert d["channel_mean"] == [0.0] and d["is_grayscale"] == 1.0

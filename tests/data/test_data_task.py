"""Tests for hyperstar.data.task: splits, sampling, subsets and index validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hyperstar.data import Split, Task
from hyperstar.exceptions import DataError, InvalidInputError

# ----------------------------------------------------------------------------- split


def test_split_is_stratified_disjoint_and_complete(tmp_path: Path) -> None:
    labels = np.repeat([0, 1, 2], [50, 20, 3])
    task = Task.from_arrays(np.zeros((len(labels), 4, 4), dtype=np.uint8), labels)
    s = task.split(val_fraction=0.2, test_fraction=0.2, seed=0)
    assert isinstance(s, Split)
    for part in (s.train, s.val, s.test):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    assert np.intersect1d(s.train, s.val).size == 0 and np.intersect1d(s.train, s.test).size == 0
    assert np.intersect1d(s.val, s.test).size == 0
    assert np.array_equal(np.sort(np.concatenate([s.train, s.val, s.test])), np.arange(len(labels)))
    for part, frac in ((s.val, 0.2), (s.test, 0.2)):
        counts = np.bincount(labels[part], minlength=3)
        assert counts.min() >= 1
        assert counts[0] == 10 and counts[1] == 4  # stratified: 20% of each class
    assert np.bincount(labels[s.train], minlength=3).min() >= 1


def test_split_deterministic_per_seed_and_differs_across_seeds() -> None:
    labels = np.arange(60) % 3
    task = Task.from_arrays(np.zeros((60, 4, 4), dtype=np.uint8), labels)
    assert task.split(seed=1) == task.split(seed=1)
    assert task.split(seed=1) != task.split(seed=2)


def test_split_zero_fraction_gives_empty_part() -> None:
    task = Task.from_arrays(np.zeros((20, 4, 4), dtype=np.uint8), np.arange(20) % 2)
    s = task.split(val_fraction=0.25, test_fraction=0.0)
    assert len(s.test) == 0 and len(s.val) == 6 and len(s.train) == 14


def test_split_class_too_small(tmp_path: Path) -> None:
    labels = np.array(["dogs"] * 5 + ["cats"] * 2)
    task = Task.from_arrays(np.zeros((7, 4, 4), dtype=np.uint8), labels)
    with pytest.raises(DataError) as info:
        task.split()
    assert str(info.value) == (
        "Class 'cats' has 2 images; at least 3 are needed to split it into train/val/test. "
        "Add images or remove the class."
    )


@pytest.mark.parametrize(
    "vf, tf", [(-0.1, 0.2), (1.0, 0.0), (0.5, 0.5), (0.7, 0.6), ("0.2", 0.2), (0.2, float("nan"))]
)
def test_split_bad_fractions(vf, tf) -> None:
    task = Task.from_arrays(np.zeros((30, 4, 4), dtype=np.uint8), np.arange(30) % 2)
    with pytest.raises(InvalidInputError, match="argument.* of Task.split must"):
        task.split(val_fraction=vf, test_fraction=tf)


# ----------------------------------------------------------------------------- sample / subset


def _random_task(n: int = 40) -> Task:
    x = np.random.default_rng(0).integers(0, 256, (n, 6, 6, 3), dtype=np.uint8)
    return Task.from_arrays(x, np.arange(n) % 4)


def test_sample_deterministic_and_without_replacement() -> None:
    task = _random_task()
    x1, y1 = task.sample(10, seed=3)
    x2, y2 = task.sample(10, seed=3)
    assert x1.shape == (10, 3, 6, 6) and x1.dtype == torch.uint8 and y1.dtype == torch.int64
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, task.sample(10, seed=4)[0])
    # without replacement: 10 distinct images
    assert len({bytes(img.numpy()) for img in x1}) == 10


def test_sample_from_indices_and_more_than_available() -> None:
    task = _random_task()
    pool = np.array([3, 7, 11])  # all label 3
    x, y = task.sample(8, seed=0, indices=pool)
    assert x.shape[0] == 8 and set(y.tolist()) == {3}
    first = {bytes(img.numpy()) for img in x[:3]}
    assert first == {bytes(img.numpy()) for img in task.images(pool)}  # each once, then repeats
    with pytest.raises(InvalidInputError, match="'n' argument of Task.sample"):
        task.sample(0)


def test_subset_shares_classes_and_images() -> None:
    task = _random_task()
    idx = np.array([0, 5, 6, 9])
    sub = task.subset(idx, name="few")
    assert sub.name == "few" and len(sub) == 4 and sub.classes == task.classes
    assert np.array_equal(sub.labels, task.labels[idx])
    assert torch.equal(sub.images(range(4)), task.images(idx))
    assert torch.equal(sub.subset([1, 3]).images([0, 1]), task.images([5, 9]))


def test_images_index_validation() -> None:
    task = _random_task(8)
    with pytest.raises(InvalidInputError, match=r"ints in \[0, 7\].*Got values in \[0, 8\]"):
        task.images([0, 8])
    with pytest.raises(InvalidInputError, match="1-D sequence of ints"):
        task.images([0.5])
    assert task.images([]).shape == (0, 3, 6, 6)

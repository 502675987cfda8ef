"""Tests for hyperstar.data.labels: label encoding and class names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperstar.data import Task
from hyperstar.data.labels import dataset_class_names, dataset_classes, dataset_targets, encode_labels, label_value
from hyperstar.exceptions import DataError, InvalidInputError


def test_from_arrays_string_labels_and_class_names() -> None:
    x = np.zeros((5, 4, 4), dtype=np.uint8)
    task = Task.from_arrays(x, ["dog", "cat", "dog", "bird", "cat"])
    assert task.classes == ["bird", "cat", "dog"]
    assert task.labels.tolist() == [2, 1, 2, 0, 1] and task.labels.dtype == np.int64
    named = Task.from_arrays(x, np.array([7, 3, 7, 3, 3]), class_names=["three", "seven"])
    assert named.classes == ["three", "seven"] and named.labels.tolist() == [1, 0, 1, 0, 0]
    with pytest.raises(InvalidInputError, match="one name per class"):
        Task.from_arrays(x, [0, 1, 0, 1, 0], class_names=["a", "b", "c"])


def test_encode_labels_kinds() -> None:
    codes, names = encode_labels(np.array([[3], [1], [3]]), "The labels")  # a column vector
    assert codes.tolist() == [1, 0, 1] and names == ["1", "3"]
    codes, names = encode_labels(np.array([True, False, True]), "The labels")
    assert codes.tolist() == [1, 0, 1] and names == ["0", "1"]
    codes, names = encode_labels(np.array([b"b", b"a"]), "The labels")
    assert codes.tolist() == [1, 0] and names == ["a", "b"]
    codes, _ = encode_labels(torch.tensor([2.0, 0.0]), "The labels")
    assert codes.dtype == np.int64 and codes.tolist() == [1, 0]
    with pytest.raises(DataError, match="The labels mix types"):
        encode_labels(np.array([1, "a"], dtype=object), "The labels")


def test_label_value_unwraps_one_element_labels() -> None:
    assert label_value(torch.tensor([4]), 0) == 4 and label_value(np.array([[2]]), 0) == 2
    assert label_value(np.int64(3), 0) == 3 and label_value("cat", 0) == "cat"
    with pytest.raises(DataError, match="item 5 of the dataset has shape"):
        label_value(torch.tensor([1, 2]), 5)
    with pytest.raises(DataError, match="is a float"):
        label_value(1.5, 0)


def test_dataset_targets_through_subsets() -> None:
    class Targets(torch.utils.data.Dataset):
        targets = [0, 1, 2, 0, 1, 2]
        classes = ["a", "b", "c"]

        def __len__(self):
            return 6

        def __getitem__(self, i):
            raise AssertionError("targets are read without reading items")

    inner = torch.utils.data.Subset(Targets(), [5, 4, 3, 2])
    sub = torch.utils.data.Subset(inner, [0, 3])
    assert dataset_targets(sub) == [2, 2] and dataset_class_names(sub) == ["a", "b", "c"]
    codes, names = dataset_classes(inner, dataset_targets(inner), "inner")
    assert names == ["a", "b", "c"] and codes.tolist() == [2, 1, 0, 2]

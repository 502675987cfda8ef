"""Labels: class labels of any kind encoded as 0..K-1 with class names, and what a dataset says
about its labels (``targets``, ``classes``, ``Subset`` wrappers).

    >>> codes, names = encode_labels(["dog", "cat", "dog"], "The labels")
    >>> codes.tolist(), names
    ([1, 0, 1], ['cat', 'dog'])
"""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np
import torch

from hyperstar.data.decode import to_numpy
from hyperstar.exceptions import DataError

__all__ = ["encode_labels", "label_value", "dataset_targets", "dataset_class_names", "dataset_classes"]

logger = logging.getLogger(__name__)


def encode_labels(labels: Any, what: str) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary integer-like or string labels to 0..K-1 (sorted unique order) and names."""
    arr = to_numpy(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(f"{what} have shape {tuple(arr.shape)}; expected one label per image, [N].")
    if arr.dtype == object:
        values = list(arr)
        if all(isinstance(v, str) for v in values):
            arr = np.asarray(values, dtype=str)
        elif all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
            arr = np.asarray([int(v) for v in values], dtype=np.int64)
        elif all(isinstance(v, numbers.Real) for v in values):
            arr = np.asarray(values, dtype=np.float64)
        else:
            raise DataError(f"{what} mix types; expected all integers or all strings.")
    if np.issubdtype(arr.dtype, np.floating):
        if np.isnan(arr).any():
            raise DataError(f"{what} contain NaN; every image needs a class label.")
        if not np.all(arr == np.round(arr)):
            raise DataError(
                f"{what} are non-integer floats; expected integer or string class labels."
            )
        arr = arr.astype(np.int64)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype.kind in ("U", "S")):
        raise DataError(f"{what} have dtype {arr.dtype}; expected integer or string class labels.")
    uniques, codes = np.unique(arr, return_inverse=True)
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in uniques.tolist()]
    return codes.astype(np.int64).reshape(-1), names


def label_value(label: Any, j: int) -> Any:
    """The label of dataset item ``j`` as a Python int or str (one-element tensors and arrays unwrapped)."""
    if isinstance(label, torch.Tensor):
        if label.numel() != 1:
            raise DataError(
                f"The label of item {j} of the dataset has shape {tuple(label.shape)}; expected "
                "one class index per image."
            )
        return label.item()
    if isinstance(label, np.ndarray):
        if label.size == 1:
            return label.reshape(-1)[0].item()
        return label_value(torch.as_tensor(label), j)
    if isinstance(label, np.generic):
        return label.item()
    if isinstance(label, (numbers.Integral, str)) and not isinstance(label, bool):
        return label
    raise DataError(
        f"The label of item {j} of the dataset is a {type(label).__name__}; expected an int "
        "class index."
    )


def _unwrap_subset(dataset: Any) -> tuple[Any, np.ndarray | None]:
    """Follow ``torch.utils.data.Subset`` wrappers: (innermost dataset, index map or None)."""
    index = None
    while isinstance(dataset, torch.utils.data.Subset):
        sub = np.asarray(dataset.indices, dtype=np.int64)
        index = sub if index is None else sub[index]
        dataset = dataset.dataset
    return dataset, index


def dataset_targets(dataset: Any) -> list | None:
    """The labels of every item from ``dataset.targets`` (through ``Subset``s) without reading images;
    ``None`` when they are not known that way (no targets, a ``target_transform``, a length mismatch)."""
    inner, index = _unwrap_subset(dataset)
    targets = getattr(inner, "targets", None)
    if targets is None or getattr(inner, "target_transform", None) is not None:
        return None
    try:
        arr = to_numpy(targets)
    except Exception:
        return None
    if arr.ndim != 1:
        return None
    if index is not None:
        arr = arr[index]
    if len(arr) != len(dataset):
        return None
    return arr.tolist()


def dataset_class_names(dataset: Any) -> list | None:
    """``dataset.classes`` (or that of the dataset inside ``Subset``s) as strings, when there is one."""
    inner, _ = _unwrap_subset(dataset)
    classes = getattr(dataset, "classes", None) or getattr(inner, "classes", None)
    if classes is None:
        return None
    try:
        return [str(c) for c in classes]
    except TypeError:
        return None


def dataset_classes(dataset: Any, raw_labels: Any, ds_name: str) -> tuple[np.ndarray, list[str]]:
    """Label codes 0..K-1 and class names for the raw labels of a dataset.

    Integer labels are named after ``dataset.classes`` when they index into it (classes without
    items are left out); otherwise the names are the labels themselves.
    """
    codes, uniques = encode_labels(np.asarray(raw_labels), f"The labels of {ds_name}")
    if len(uniques) < 2:
        raise DataError(
            f"All {len(codes)} items of {ds_name} have the same label ({uniques[0]!r}); a "
            "classification task needs at least 2 classes."
        )
    classes = dataset_class_names(dataset)
    if classes is not None:
        try:
            ints = [int(u) for u in uniques]
        except ValueError:
            ints = None
        if ints is not None and min(ints) >= 0 and max(ints) < len(classes):
            names = [str(classes[i]) for i in ints]
            if len(names) < len(classes):
                logger.info(
                    "%d of the %d classes of %s have no items and are left out.",
                    len(classes) - len(names), len(classes), ds_name,
                )
            return codes, names
    return codes, uniques

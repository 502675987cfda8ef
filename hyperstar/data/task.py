"""Tasks: image classification datasets brought to a fixed resolution and channel count.

A :class:`Task` holds images as ``uint8`` tensors ``[N, C, H, W]`` (never floats) plus ``int64``
labels. Small datasets are decoded once and kept in memory; large ones keep only file paths (or
dataset indices) and decode images on demand ("streaming"), which works with a ``DataLoader`` via
:meth:`Task.torch_dataset`. Reading is in :mod:`~hyperstar.data.readers`, pixel conversion in
:mod:`~hyperstar.data.decode`, labels in :mod:`~hyperstar.data.labels`, the meta-features in
:mod:`~hyperstar.data.describe`.

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> rng = np.random.default_rng(0)
    >>> task = Task.from_arrays(rng.integers(0, 256, (30, 8, 8), dtype=np.uint8), np.arange(30) % 3)
    >>> task.images([0, 1]).shape
    torch.Size([2, 1, 8, 8])
    >>> split = task.split(seed=0)
    >>> len(split.train) + len(split.val) + len(split.test)
    30
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hyperstar._internal.validation import check_int, check_seed
from hyperstar.data.decode import to_numpy
from hyperstar.data.describe import describe_sample, meta_features
from hyperstar.data.readers import (
    IMAGE_EXTENSIONS,
    DatasetSource,
    FolderSource,
    TaskDataset,
    read_arrays,
    read_folder,
    read_torchvision,
)
from hyperstar.exceptions import DataError, InvalidInputError

__all__ = ["Task", "Split", "IMAGE_EXTENSIONS"]


@dataclass(frozen=True)
class Split:
    """Index arrays (sorted, ``int64``) of a stratified train/validation/test split of a task."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f), getattr(other, f)) for f in ("train", "val", "test")
        )

    __hash__ = None  # type: ignore[assignment]  # holds mutable arrays

    def __repr__(self) -> str:
        return f"Split(train={len(self.train)}, val={len(self.val)}, test={len(self.test)})"


class Task:
    """An image classification dataset brought to a fixed resolution and channel count.

    Build one with :meth:`from_folder`, :meth:`from_arrays` or :meth:`from_torchvision`.
    Images come out as ``uint8`` tensors ``[n, channels, resolution, resolution]``.
    """

    def __init__(
        self,
        *,
        name: str,
        classes: list[str],
        labels: np.ndarray,
        resolution: int,
        channels: int,
        data: torch.Tensor | None = None,
        loader: FolderSource | DatasetSource | None = None,
        index: np.ndarray | None = None,
        native_hw: np.ndarray | None = None,
        native_gray: np.ndarray | None = None,
        source: str | None = None,
    ) -> None:
        if (data is None) == (loader is None):
            raise InvalidInputError(
                "Task needs exactly one of 'data' or 'loader'; use Task.from_folder, "
                "Task.from_arrays or Task.from_torchvision to build one."
            )
        self.name = str(name)
        self.classes = list(classes)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.source = source
        self._data = data  # uint8 [M, 1 or channels, r, r] (1: repeated to 3 on read)
        self._loader = loader
        self._index = index  # task index -> storage index; None means identity
        self._native_hw = native_hw  # [M, 2] over storage indices, when known
        self._native_gray = native_gray  # [M] over storage indices, when known
        self._describe: dict | None = None

    # -- basic properties

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def in_memory(self) -> bool:
        """True when all images are held as one uint8 tensor (False: decoded on demand)."""
        return self._data is not None

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"Task(name={self.name!r}, n_images={len(self)}, n_classes={self.n_classes}, "
            f"resolution={self.resolution}, channels={self.channels}, in_memory={self.in_memory})"
        )

    # -- constructors

    @classmethod
    def from_folder(
        cls,
        path: str | Path,
        resolution: int = 32,
        channels: int = 3,
        name: str | None = None,
        max_in_memory: int = 20000,
        progress: bool = False,
    ) -> Task:
        """Load an ImageFolder-layout dataset: one sub-folder per class, image files inside.

        Files are found recursively inside each class folder (extensions in
        :data:`IMAGE_EXTENSIONS`, any case; hidden files and folders are ignored). With at most
        ``max_in_memory`` files, all images are decoded now; unreadable files are skipped with one
        warning, and classes left without images are dropped with a warning. With more files,
        only the file list is kept and images are decoded on demand; an unreadable file found
        then is reported once and replaced by the next readable image of the same class.

        Example::

            task = Task.from_folder("data/train", resolution=64)
        """
        return cls(**read_folder(path, resolution, channels, name, max_in_memory, progress))

    @classmethod
    def from_arrays(
        cls,
        images: Any,
        labels: Any,
        resolution: int | None = None,
        channels: int | None = None,
        name: str = "arrays",
        class_names: Sequence[str] | None = None,
    ) -> Task:
        """Build a task from image and label arrays (numpy or torch).

        ``images``: uint8 (0..255) or float (0..1), shaped ``[N, H, W]``, ``[N, H, W, C]`` with C
        in (1, 3, 4) (alpha is dropped) or ``[N, C, H, W]`` with C in (1, 3) and a last dimension
        not in (1, 3, 4). ``labels``: integers or strings, mapped to 0..K-1 in sorted order; class
        names are ``str`` of the original labels unless ``class_names`` (length K) is given.
        ``resolution=None`` keeps the native size (must be square); ``channels=None`` keeps the
        native channel count.

        Example:

            >>> import numpy as np
            >>> x = np.zeros((4, 5, 5, 3), np.uint8)
            >>> Task.from_arrays(x, ["cat", "dog", "cat", "dog"], resolution=4, channels=1)
            Task(name='arrays', n_images=4, n_classes=2, resolution=4, channels=1, in_memory=True)
        """
        return cls(**read_arrays(images, labels, resolution, channels, name, class_names))

    @classmethod
    def from_torchvision(
        cls,
        dataset: Any,
        resolution: int = 32,
        channels: int = 3,
        name: str | None = None,
        max_in_memory: int = 20000,
        progress: bool = False,
    ) -> Task:
        """Build a task from a map-style dataset whose items are ``(image, label)``.

        Images may be PIL images, tensors (``[C, H, W]``/``[H, W]``, uint8 or float in [0, 1])
        or numpy arrays (``[H, W, C]``/``[H, W]``). Class names come from ``dataset.classes``
        when present. With at most ``max_in_memory`` items, all are converted now; otherwise
        images are read by index on demand (labels come from ``dataset.targets`` when available,
        else from one pass over the dataset).

        Example::

            task = Task.from_torchvision(torchvision.datasets.CIFAR10(root, train=True))
        """
        return cls(**read_torchvision(dataset, resolution, channels, name, max_in_memory, progress))

    # -- reading images

    def _base(self, indices: np.ndarray) -> np.ndarray:
        return indices if self._index is None else self._index[indices]

    def _fetch(self, indices: np.ndarray) -> torch.Tensor:
        """uint8 ``[n, C, r, r]`` for validated task indices."""
        base = self._base(indices)
        if self._data is not None:
            out = self._data[torch.from_numpy(np.ascontiguousarray(base, dtype=np.int64))]
            if out.shape[1] != self.channels:
                out = out.expand(-1, self.channels, -1, -1).contiguous()
            return out
        r = self.resolution
        out = torch.empty((len(base), self.channels, r, r), dtype=torch.uint8)
        for i, j in enumerate(base.tolist()):
            out[i] = torch.from_numpy(self._loader.load(j)[0])  # type: ignore[union-attr]
        return out

    def _check_indices(self, indices: Any, where: str) -> np.ndarray:
        arr = to_numpy(indices) if not isinstance(indices, range) else np.asarray(indices)
        if arr.dtype == np.bool_ and arr.ndim == 1 and len(arr) == len(self):
            return np.flatnonzero(arr).astype(np.int64)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise InvalidInputError(
                f"The 'indices' argument of {where} must be a 1-D sequence of ints. Got "
                f"{arr.dtype} values of shape {tuple(arr.shape)}."
            )
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= len(self):
            raise InvalidInputError(
                f"The 'indices' argument of {where} must hold ints in [0, {len(self) - 1}] for "
                f"task {self.name!r}. Got values in [{lo}, {hi}]."
            )
        return arr.astype(np.int64)

    def images(self, indices: Any) -> torch.Tensor:
        """uint8 images ``[len(indices), channels, resolution, resolution]``.

        Streaming tasks decode them now; for many images prefer :meth:`torch_dataset` with a
        ``DataLoader``.
        """
        return self._fetch(self._check_indices(indices, "Task.images"))

    def torch_dataset(self, indices: Any) -> torch.utils.data.Dataset:
        """A map-style dataset over ``indices`` yielding ``(uint8 [C, H, W], int64 label)``.

        Use it with a ``torch.utils.data.DataLoader`` (workers decode streaming tasks in parallel).
        """
        return TaskDataset(self, self._check_indices(indices, "Task.torch_dataset"))

    # -- splitting and sampling

    def split(self, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> Split:
        """Stratified, seeded train/val/test split (sorted int64 index arrays).

        Each class gets at least one image in each part whose fraction is > 0, so a class needs
        at least 3 images (with both fractions > 0). The same seed gives the same split.
        """
        where = "Task.split"
        for arg, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not (0.0 <= float(value) < 1.0)
            ):
                raise InvalidInputError(
                    f"The '{arg}' argument of {where} must be a number in [0, 1). Got {value!r}."
                )
        vf, tf = float(val_fraction), float(test_fraction)
        if vf + tf >= 1.0:
            raise InvalidInputError(
                f"The 'val_fraction' and 'test_fraction' arguments of {where} must sum to less "
                f"than 1 (training images are needed). Got {vf} + {tf} = {vf + tf:g}."
            )
        seed = check_seed(seed, where)
        need = 1 + (vf > 0) + (tf > 0)
        parts = "/".join(
            p for p, keep in (("train", True), ("val", vf > 0), ("test", tf > 0)) if keep
        )
        counts = np.bincount(self.labels, minlength=self.n_classes)
        for k, c in enumerate(counts):
            if c < need:
                raise DataError(
                    f"Class '{self.classes[k]}' has {c} images; at least {need} are needed to "
                    f"split it into {parts}. Add images or remove the class."
                )
        rng = np.random.default_rng(seed)
        train, val, test = [], [], []
        for k in range(self.n_classes):
            members = rng.permutation(np.flatnonzero(self.labels == k))
            c = len(members)
            n_val = max(1, int(math.floor(c * vf + 0.5))) if vf > 0 else 0
            n_test = max(1, int(math.floor(c * tf + 0.5))) if tf > 0 else 0
            while c - n_val - n_test < 1:  # keep >= 1 training image, shrink the larger part
                if n_val >= n_test and n_val > 1:
                    n_val -= 1
                else:
                    n_test -= 1
            val.append(members[:n_val])
            test.append(members[n_val : n_val + n_test])
            train.append(members[n_val + n_test :])

        def cat(parts_: list[np.ndarray]) -> np.ndarray:
            return np.sort(np.concatenate(parts_)).astype(np.int64)

        return Split(train=cat(train), val=cat(val), test=cat(test))

    def sample(
        self, n: int, seed: int = 0, indices: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` images (uint8 ``[n, C, H, W]``) and their labels (int64 ``[n]``).

        Drawn uniformly without replacement from ``indices`` (default: all images). When ``n``
        exceeds the number available, every available image is returned once (in shuffled order)
        followed by the excess drawn with replacement. Same seed, same draw.
        """
        where = "Task.sample"
        n = check_int(n, "n", where, 1)
        seed = check_seed(seed, where)
        pool = np.arange(len(self)) if indices is None else self._check_indices(indices, where)
        if len(pool) == 0:
            raise InvalidInputError(
                f"The 'indices' argument of {where} is empty; nothing to sample from."
            )
        rng = np.random.default_rng(seed)
        if n <= len(pool):
            chosen = rng.choice(pool, size=n, replace=False)
        else:
            chosen = np.concatenate(
                [rng.permutation(pool), rng.choice(pool, size=n - len(pool), replace=True)]
            )
        chosen = chosen.astype(np.int64)
        return self._fetch(chosen), torch.from_numpy(self.labels[chosen].copy())

    def subset(self, indices: Any, name: str | None = None) -> Task:
        """A task restricted to ``indices`` that shares storage and keeps the same classes."""
        idx = self._check_indices(indices, "Task.subset")
        if len(idx) == 0:
            raise InvalidInputError(
                "The 'indices' argument of Task.subset is empty; a task needs images."
            )
        return Task(
            name=f"{self.name}[subset]" if name is None else str(name),
            classes=self.classes, labels=self.labels[idx], resolution=self.resolution,
            channels=self.channels, data=self._data, loader=self._loader, index=self._base(idx),
            native_hw=self._native_hw, native_gray=self._native_gray, source=self.source,
        )

    # -- storing an in-memory task

    def save(self, path: str | Path) -> Path:
        """Write an in-memory task to ``path`` (a ``.npz`` of plain arrays and one JSON string: no pickle), so
        that :meth:`load` gives back the same images, labels, classes and meta-features without decoding or
        rendering again. Written to a temporary name and renamed: a kill leaves no half file under ``path``."""
        import json
        import os

        if self._data is None:
            raise InvalidInputError(
                f"Task {self.name!r} streams its images from their files; only an in-memory task can be saved.")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"data": self._data.numpy(), "labels": self.labels}
        for key, value in (("index", self._index), ("native_hw", self._native_hw), ("native_gray", self._native_gray)):
            if value is not None:
                arrays[key] = np.asarray(value)
        info = {"name": self.name, "classes": [str(c) for c in self.classes], "resolution": self.resolution,
                "channels": self.channels, "source": self.source, "provenance": getattr(self, "provenance", None)}
        arrays["info"] = np.array(json.dumps(info))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Task":
        """A task written by :meth:`save` (read with ``allow_pickle=False``)."""
        import json

        try:
            with np.load(Path(path), allow_pickle=False) as z:
                info = json.loads(str(z["info"]))
                task = cls(name=info["name"], classes=info["classes"], labels=z["labels"],
                           resolution=int(info["resolution"]), channels=int(info["channels"]),
                           data=torch.from_numpy(np.ascontiguousarray(z["data"])),
                           index=z["index"] if "index" in z else None,
                           native_hw=z["native_hw"] if "native_hw" in z else None,
                           native_gray=z["native_gray"] if "native_gray" in z else None, source=info.get("source"))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise DataError(f"'{path}' is not a task written by Task.save ({type(exc).__name__}: {exc}).") from exc
        task.provenance = info.get("provenance")
        return task

    # -- meta-features

    def describe(self) -> dict:
        """Cheap meta-features of the task, as plain JSON-serialisable Python values.

        Image statistics are computed on a seeded sample of at most 500 images (pixel values
        scaled to [0, 1]); ``is_grayscale`` is 1.0 when more than half of the sampled images are
        natively grayscale (R == G == B up to JPEG noise). The result is cached.
        """
        if self._describe is None:
            idx = describe_sample(len(self))
            base = self._base(idx)
            if self._data is not None:
                images = self._fetch(idx)
                hw = self._native_hw[base] if self._native_hw is not None else None
                gray = self._native_gray[base] if self._native_gray is not None else None
            else:
                loaded = [self._loader.load(int(j)) for j in base]  # type: ignore[union-attr]
                images = torch.from_numpy(np.stack([x[0] for x in loaded]))
                hw = np.asarray([x[1] for x in loaded], dtype=np.float64)
                gray = np.asarray([x[2] for x in loaded], dtype=bool)
            self._describe = meta_features(self.labels, self.n_classes, images, hw, gray)
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._describe.items()}

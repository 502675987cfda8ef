"""Readers: an image folder, arrays or a map-style (torchvision) dataset turned into what a
:class:`~hyperstar.data.Task` holds.

Each ``read_*`` function checks its arguments, reads the images (all now, or only file paths /
dataset indices for streaming) and returns the keyword arguments of ``Task(...)``; the
``Task.from_*`` constructors are their public face. Streaming tasks read images through a source
(:class:`FolderSource`, :class:`DatasetSource`) by storage index.

    >>> import numpy as np
    >>> parts = read_arrays(np.zeros((4, 6, 6), np.uint8), [0, 1, 0, 1], resolution=3)
    >>> parts["classes"], tuple(parts["data"].shape)
    (['0', '1'], (4, 1, 3, 3))
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from hyperstar._internal.validation import check_int
from hyperstar.data.decode import (
    check_pixel_values,
    convert_batch,
    item_to_chw,
    pil_to_chw,
    to_nchw,
    to_numpy,
    to_uint8,
)
from hyperstar.data.labels import (
    dataset_classes,
    dataset_targets,
    encode_labels,
    label_value,
)
from hyperstar.exceptions import DataError, InvalidInputError

if TYPE_CHECKING:
    from hyperstar.data.task import Task

__all__ = [
    "IMAGE_EXTENSIONS", "FolderSource", "DatasetSource", "TaskDataset", "read_folder", "read_arrays",
    "read_torchvision",
]

logger = logging.getLogger(__name__)

#: File extensions (lower case) recognised as images in a folder task.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

# Images converted per chunk in read_arrays: bounds the float32 working memory.
_ARRAY_CHUNK = 512

# Warnings point at the caller of Task.from_*: warn <- reader <- Task.from_* <- user code.
_USER = 4


def check_channels(channels: Any, where: str) -> int:
    """``channels`` if it is 1 or 3; else the one error template."""
    if isinstance(channels, bool) or channels not in (1, 3):
        raise InvalidInputError(
            f"The 'channels' argument of {where} must be 1 (grayscale) or 3 (RGB). "
            f"Got {channels!r}."
        )
    return int(channels)


def _progress(iterable: Iterable, enabled: bool, total: int, desc: str) -> Iterable:
    if not enabled or not sys.stderr.isatty():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency, but a bar is never essential
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="img")


def _warn(message: str, stacklevel: int) -> None:
    # a warning, not also a log record: the CLI shows warnings as one line each, and a log record besides
    # printed every skipped-file notice twice
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _name_list(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


# ----------------------------------------------------------------------------- streaming sources


class FolderSource:
    """Decodes image files of a folder task on demand.

    A file that fails to decode is reported once (warning) and replaced by the next readable
    file of the same class, so that indices and labels stay valid.
    """

    def __init__(
        self, root: Path, files: list[str], labels: np.ndarray, classes: list[str],
        resolution: int, channels: int,
    ) -> None:
        self.root = root
        self.files = files
        self.labels = labels
        self.classes = classes
        self.resolution = resolution
        self.channels = channels
        self.by_class = [np.flatnonzero(labels == k) for k in range(len(classes))]
        self.bad: set[int] = set()

    def _decode(self, j: int) -> tuple[np.ndarray, tuple[int, int], bool]:
        with Image.open(self.root / self.files[j]) as img:
            return pil_to_chw(img, self.resolution, self.channels)

    def load(self, j: int) -> tuple[np.ndarray, tuple[int, int], bool]:
        """Image ``j`` as uint8 ``[C, r, r]``, its native ``(height, width)`` and grayscale flag."""
        members = self.by_class[int(self.labels[j])]
        start = int(np.searchsorted(members, j))
        for step in range(len(members)):
            k = int(members[(start + step) % len(members)])
            if k in self.bad:
                continue
            try:
                return self._decode(k)
            except Exception as exc:  # any decoding failure: PIL raises many kinds
                self.bad.add(k)
                _warn(
                    f"Skipped unreadable image file '{self.files[k]}' under '{self.root}' "
                    f"({type(exc).__name__}); using the next readable image of class "
                    f"'{self.classes[int(self.labels[j])]}' instead.",
                    stacklevel=2,
                )
        raise DataError(
            f"No readable image left in class '{self.classes[int(self.labels[j])]}' under "
            f"'{self.root}': every file of that class failed to decode. Remove the class folder."
        )


class DatasetSource:
    """Reads images of a map-style dataset by index on demand."""

    def __init__(self, dataset: Any, resolution: int, channels: int) -> None:
        self.dataset = dataset
        self.resolution = resolution
        self.channels = channels

    def load(self, j: int) -> tuple[np.ndarray, tuple[int, int], bool]:
        """Image ``j`` as uint8 ``[C, r, r]``, its native ``(height, width)`` and grayscale flag."""
        item = _dataset_item(self.dataset, j)
        return item_to_chw(item[0], self.resolution, self.channels, f"Image {j} of the dataset")


def _dataset_item(dataset: Any, j: int) -> Sequence[Any]:
    item = dataset[j]
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise DataError(
            f"Item {j} of the dataset is a {type(item).__name__}; expected an (image, label) pair."
        )
    return item


class TaskDataset(torch.utils.data.Dataset):
    """Map-style dataset over some images of a task: ``(uint8 [C, H, W], int64 label)``."""

    def __init__(self, task: Task, indices: np.ndarray) -> None:
        self._task = task
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = int(self._indices[i])
        image = self._task._fetch(np.asarray([j], dtype=np.int64))[0]
        return image, torch.tensor(int(self._task.labels[j]), dtype=torch.int64)


# ----------------------------------------------------------------------------- folders


def read_folder(
    path: str | Path, resolution: int, channels: int, name: str | None, max_in_memory: int, progress: bool
) -> dict[str, Any]:
    """The parts of a task read from an ImageFolder-layout folder (see :meth:`Task.from_folder`)."""
    where = "Task.from_folder"
    resolution = check_int(resolution, "resolution", where, 1, 4096)
    channels = check_channels(channels, where)
    max_in_memory = check_int(max_in_memory, "max_in_memory", where, 0)
    root = Path(path)
    layout = "expected a folder with one sub-folder per class (ImageFolder layout)."
    if not root.exists():
        raise DataError(f"Dataset folder '{path}' does not exist: {layout}")
    if not root.is_dir():
        raise DataError(f"Dataset path '{path}' is not a folder: {layout}")

    class_dirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    found: list[tuple[str, list[str]]] = []
    for d in class_dirs:
        files = sorted(
            f.relative_to(root).as_posix()
            for f in d.rglob("*")
            if f.suffix.lower() in IMAGE_EXTENSIONS
            and f.is_file()
            and not any(part.startswith(".") for part in f.relative_to(d).parts)
        )
        found.append((d.name, files))
    n_files = sum(len(files) for _, files in found)
    if n_files == 0:
        loose = sum(1 for f in root.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
        hint = (
            f" Found {loose} image file(s) directly in it; move them into class sub-folders."
            if loose
            else ""
        )
        raise DataError(
            f"No images found under '{path}': expected one sub-folder per class "
            f"(ImageFolder layout).{hint}"
        )
    empty = [c for c, files in found if not files]
    found = [(c, files) for c, files in found if files]

    task_name = root.resolve().name if name is None else str(name)
    if n_files <= max_in_memory:
        return _folder_in_memory(root, str(path), found, empty, resolution, channels, task_name, progress)

    if empty:
        _warn(
            f"Dropped {len(empty)} class folder(s) without images under '{path}': "
            f"{_name_list(empty)}.",
            stacklevel=_USER,
        )
    _check_two_classes([c for c, _ in found], str(path))
    classes = [c for c, _ in found]
    files = [f for _, fs in found for f in fs]
    labels = np.concatenate(
        [np.full(len(fs), k, dtype=np.int64) for k, (_, fs) in enumerate(found)]
    )
    # Absolute, so that a later change of working directory does not break decoding.
    loader = FolderSource(root.resolve(), files, labels, classes, resolution, channels)
    logger.info("Streaming %d images of %d classes from '%s'.", len(files), len(classes), path)
    return {
        "name": task_name, "classes": classes, "labels": labels, "resolution": resolution,
        "channels": channels, "loader": loader, "source": str(path),
    }


def _check_two_classes(classes: list[str], path: str) -> None:
    if not classes:
        raise DataError(
            f"No readable images under '{path}': every image file failed to decode; expected "
            "one sub-folder per class with PNG/JPEG/... images (ImageFolder layout)."
        )
    if len(classes) < 2:
        raise DataError(
            f"Only one class with images under '{path}': found {len(classes)} class "
            f"({_name_list(classes)}); a classification task needs at least 2 class "
            "sub-folders with images."
        )


def _folder_in_memory(
    root: Path, path: str, found: list[tuple[str, list[str]]], empty: list[str],
    resolution: int, channels: int, name: str, progress: bool,
) -> dict[str, Any]:
    files = [(k, f) for k, (_, fs) in enumerate(found) for f in fs]
    data = np.empty((len(files), channels, resolution, resolution), dtype=np.uint8)
    hw = np.zeros((len(files), 2), dtype=np.int32)
    gray = np.zeros(len(files), dtype=bool)
    ok = np.zeros(len(files), dtype=bool)
    bad: list[str] = []
    for i, (_, rel) in enumerate(
        _progress(files, progress, len(files), f"Decoding {Path(path).name or path}")
    ):
        try:
            with Image.open(root / rel) as img:
                data[i], hw[i], gray[i] = pil_to_chw(img, resolution, channels)
            ok[i] = True
        except Exception:  # any decoding failure: PIL raises many kinds
            bad.append(rel)
    if bad:
        _warn(
            f"Skipped {len(bad)} unreadable image file(s) under '{path}' "
            f"(e.g. {_name_list(bad)}).",
            stacklevel=_USER + 1,
        )
    labels = np.asarray([k for k, _ in files], dtype=np.int64)[ok]
    counts = np.bincount(labels, minlength=len(found))
    dropped = empty + [c for k, (c, _) in enumerate(found) if counts[k] == 0]
    if dropped:
        _warn(
            f"Dropped {len(dropped)} class folder(s) without readable images under '{path}': "
            f"{_name_list(dropped)}.",
            stacklevel=_USER + 1,
        )
    kept = [k for k in range(len(found)) if counts[k] > 0]
    classes = [found[k][0] for k in kept]
    _check_two_classes(classes, path)
    remap = np.full(len(found), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    logger.info("Loaded %d images of %d classes from '%s'.", int(ok.sum()), len(classes), path)
    return {
        "name": name, "classes": classes, "labels": remap[labels], "resolution": resolution,
        "channels": channels, "data": torch.from_numpy(data[ok] if bad else data),
        "native_hw": hw[ok], "native_gray": gray[ok], "source": path,
    }


# ----------------------------------------------------------------------------- arrays


def read_arrays(
    images: Any, labels: Any, resolution: int | None = None, channels: int | None = None,
    name: str = "arrays", class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The parts of a task built from image and label arrays (see :meth:`Task.from_arrays`)."""
    where = "Task.from_arrays"
    if resolution is not None:
        resolution = check_int(resolution, "resolution", where, 1, 4096)
    if channels is not None:
        channels = check_channels(channels, where)
    arr = to_numpy(images)
    check_pixel_values(arr, "The images")
    nchw = to_nchw(arr, "The images")
    codes, names = encode_labels(labels, "The labels")
    n = nchw.shape[0]
    if n == 0:
        raise DataError(
            "The images are empty (0 images); a task needs images of at least 2 classes."
        )
    if len(codes) != n:
        raise DataError(
            f"Got {n} images but {len(codes)} labels; pass exactly one label per image."
        )
    if len(names) < 2:
        raise DataError(
            f"All {n} labels are the same class ({names[0]!r}); a classification task needs "
            "at least 2 classes."
        )
    if class_names is not None:
        if isinstance(class_names, str) or len(class_names) != len(names):
            got = 1 if isinstance(class_names, str) else len(class_names)
            raise InvalidInputError(
                f"The 'class_names' argument of {where} must have one name per class "
                f"({len(names)} classes in the labels). Got {got} names."
            )
        names = [str(c) for c in class_names]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                f"The 'class_names' argument of {where} must hold distinct names. Got {names}."
            )
    h, w = int(nchw.shape[2]), int(nchw.shape[3])
    if resolution is None:
        if h != w:
            raise DataError(
                f"The images are {h}x{w} (not square); pass resolution=... to resize them to "
                "a square."
            )
        resolution = h
    if channels is None:
        channels = int(nchw.shape[1])
    chunks, grays = [], []
    for s in range(0, n, _ARRAY_CHUNK):
        out, gray = convert_batch(to_uint8(nchw[s : s + _ARRAY_CHUNK]), resolution, channels)
        chunks.append(out)
        grays.append(gray)
    data = torch.cat(chunks) if len(chunks) > 1 else chunks[0]
    native_hw = np.tile(np.asarray([[h, w]], dtype=np.int32), (n, 1))
    return {
        "name": name, "classes": names, "labels": codes, "resolution": resolution, "channels": channels,
        "data": data, "native_hw": native_hw, "native_gray": np.concatenate(grays),
    }


# ----------------------------------------------------------------------------- datasets


def read_torchvision(
    dataset: Any, resolution: int, channels: int, name: str | None, max_in_memory: int, progress: bool
) -> dict[str, Any]:
    """The parts of a task read from a map-style ``(image, label)`` dataset (see
    :meth:`Task.from_torchvision`)."""
    where = "Task.from_torchvision"
    resolution = check_int(resolution, "resolution", where, 1, 4096)
    channels = check_channels(channels, where)
    max_in_memory = check_int(max_in_memory, "max_in_memory", where, 0)
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise InvalidInputError(
            f"The 'dataset' argument of {where} must be a map-style dataset (with __len__ and "
            f"__getitem__). Got {type(dataset).__name__}."
        )
    n = len(dataset)
    ds_name = type(dataset).__name__ if name is None else str(name)
    if n == 0:
        raise DataError(
            f"The dataset {ds_name} is empty; a task needs images of at least 2 classes."
        )

    if n <= max_in_memory:
        data = np.empty((n, channels, resolution, resolution), dtype=np.uint8)
        hw = np.zeros((n, 2), dtype=np.int32)
        gray = np.zeros(n, dtype=bool)
        raw_labels = []
        for j in _progress(range(n), progress, n, f"Converting {ds_name}"):
            item = _dataset_item(dataset, j)
            data[j], hw[j], gray[j] = item_to_chw(
                item[0], resolution, channels, f"Image {j} of the dataset"
            )
            raw_labels.append(label_value(item[1], j))
        codes, names = dataset_classes(dataset, raw_labels, ds_name)
        return {
            "name": ds_name, "classes": names, "labels": codes, "resolution": resolution,
            "channels": channels, "data": torch.from_numpy(data), "native_hw": hw, "native_gray": gray,
        }

    targets = dataset_targets(dataset)
    if targets is None:
        logger.info("Reading the %d labels of %s by iterating over it once.", n, ds_name)
        targets = [
            label_value(_dataset_item(dataset, j)[1], j)
            for j in _progress(range(n), progress, n, f"Reading labels of {ds_name}")
        ]
    codes, names = dataset_classes(dataset, targets, ds_name)
    return {
        "name": ds_name, "classes": names, "labels": codes, "resolution": resolution, "channels": channels,
        "loader": DatasetSource(dataset, resolution, channels),
    }

"""Tasks: image classification datasets brought to a fixed resolution and channel count.

A :class:`Task` holds images as ``uint8`` tensors ``[N, C, H, W]`` (never floats) plus ``int64``
labels. Small datasets are decoded once and kept in memory; large ones keep only file paths (or
dataset indices) and decode images on demand ("streaming"), which works with a ``DataLoader`` via
:meth:`Task.torch_dataset`.

Example::

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

import logging
import math
import numbers
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from hyperstar.exceptions import DataError, InvalidInputError

__all__ = ["Task", "Split", "IMAGE_EXTENSIONS"]

logger = logging.getLogger(__name__)

#: File extensions (lower case) recognised as images in a folder task.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})

#: Images sampled (seeded) by :meth:`Task.describe` to compute image statistics.
DESCRIBE_SAMPLE = 500

# Images converted per chunk in from_arrays: bounds the float32 working memory.
_ARRAY_CHUNK = 512

# Two channels that differ by at most this much (0..255) still count as "grayscale": JPEG
# decoding of a gray image stored as RGB leaves +-1 chroma noise.
_GRAY_TOLERANCE = 2

# ITU-R 601-2 luma, the weights PIL's convert("L") uses.
_LUMA = (0.299, 0.587, 0.114)


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


# ----------------------------------------------------------------------------- validation helpers


def _check_int(value: Any, arg: str, where: str, low: int, high: int | None = None) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidInputError(
            f"The '{arg}' argument of {where} must be an int {rng}. Got {value!r}."
        )
    return int(value)


def _check_channels(channels: Any, where: str) -> int:
    if isinstance(channels, bool) or channels not in (1, 3):
        raise InvalidInputError(
            f"The 'channels' argument of {where} must be 1 (grayscale) or 3 (RGB). "
            f"Got {channels!r}."
        )
    return int(channels)


def _check_seed(seed: Any, where: str) -> int:
    return _check_int(seed, "seed", where, 0)


def _progress(iterable: Iterable, enabled: bool, total: int, desc: str) -> Iterable:
    if not enabled or not sys.stderr.isatty():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency, but a bar is never essential
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="img")


def _warn(message: str, stacklevel: int = 3) -> None:
    logger.warning(message)
    warnings.warn(message, UserWarning, stacklevel=stacklevel)


def _name_list(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


# ----------------------------------------------------------------------------- image conversion


def _is_gray_hwc(arr: np.ndarray) -> bool:
    """True when an ``[H, W, 3]`` uint8 image has (nearly) equal channels."""
    a = arr.astype(np.int16)
    return bool(
        np.abs(a[..., 0] - a[..., 1]).max(initial=0) <= _GRAY_TOLERANCE
        and np.abs(a[..., 1] - a[..., 2]).max(initial=0) <= _GRAY_TOLERANCE
    )


def _numeric_mode_to_l(img: Image.Image) -> Image.Image:
    # PIL's convert("L") clips 16-bit / float images instead of scaling them.
    arr = np.asarray(img).astype(np.float64)
    if img.mode == "F" and arr.size and np.nanmax(arr) <= 1.0:
        arr = arr * 255.0
    elif img.mode.startswith("I;16") or (arr.size and np.nanmax(arr) > 255):
        arr = arr / 257.0
    arr = np.nan_to_num(arr, nan=0.0)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")


def _pil_to_chw(
    img: Image.Image, resolution: int, channels: int
) -> tuple[np.ndarray, tuple[int, int], bool]:
    """Convert a PIL image to ``uint8 [channels, resolution, resolution]``.

    Returns the array, the native ``(height, width)`` and whether the native image is grayscale.
    Alpha is dropped, palettes are expanded, RGB -> grayscale uses luminance.
    """
    width, height = img.size
    native = (int(height), int(width))
    if img.format in ("JPEG", "MPO") and img.mode in ("RGB", "L"):
        # DCT-domain downscaling: much faster decoding of large JPEGs, still antialiased.
        img.draft(img.mode, (resolution, resolution))
    mode = img.mode
    if mode in ("1", "L", "LA", "La"):
        img = img.convert("L")
    elif mode in ("I", "F") or mode.startswith("I;16"):
        img = _numeric_mode_to_l(img)
    elif mode == "P":
        # Palette images with a transparency entry must go through RGBA (PIL warns otherwise).
        img = img.convert("RGBA" if "transparency" in img.info else "RGB").convert("RGB")
    elif mode == "PA":
        img = img.convert("RGBA").convert("RGB")
    elif mode != "RGB":
        img = img.convert("RGB")
    if img.size != (resolution, resolution):
        # PIL's bilinear resize widens its kernel when shrinking, i.e. it is antialiased.
        img = img.resize((resolution, resolution), Image.BILINEAR)
    if img.mode == "L":
        gray = True
        arr = np.asarray(img, dtype=np.uint8)[None]
        if channels == 3:
            arr = np.repeat(arr, 3, axis=0)
    else:
        hwc = np.asarray(img, dtype=np.uint8)
        gray = _is_gray_hwc(hwc)
        if channels == 1:
            arr = np.asarray(img.convert("L"), dtype=np.uint8)[None]
        else:
            arr = hwc.transpose(2, 0, 1)
    # np.asarray(PIL image) is read-only; torch wants writable arrays.
    return np.require(arr, requirements=["C", "W"]), native, gray


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _check_pixel_values(arr: np.ndarray, what: str) -> None:
    """Raise DataError unless ``arr`` holds uint8-compatible or [0, 1] float pixel values."""
    if arr.dtype == np.uint8:
        return
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise DataError(
            f"{what} have dtype {arr.dtype}; expected uint8 (0..255) or float (0..1) pixel values."
        )
    if arr.size == 0:
        return
    if np.issubdtype(arr.dtype, np.floating):
        if np.isnan(arr).any():
            raise DataError(f"{what} contain NaN values; expected float pixel values in [0, 1].")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise DataError(
                f"{what} are floats in [{lo:.3g}, {hi:.3g}]; expected values in [0, 1]. "
                "Divide 0..255 values by 255, and undo any normalisation (mean/std)."
            )
    else:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise DataError(
                f"{what} are integers in [{lo}, {hi}]; expected pixel values in 0..255 (uint8)."
            )


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return arr.astype(np.uint8)


def _to_nchw(arr: np.ndarray, what: str, prefer_channels_first: bool = False) -> np.ndarray:
    """Bring a batch ``[N,H,W]``, ``[N,H,W,C]`` or ``[N,C,H,W]`` to ``[N,C,H,W]``, C in (1, 3)."""
    if arr.ndim == 3:
        return arr[:, None]
    if arr.ndim != 4:
        raise DataError(
            f"{what} have shape {tuple(arr.shape)}; expected [N, H, W], [N, H, W, C] or "
            "[N, C, H, W] with C in (1, 3)."
        )
    first, last = arr.shape[1], arr.shape[3]
    if prefer_channels_first and first in (1, 3, 4):
        out = arr
    elif last in (1, 3, 4):
        out = arr.transpose(0, 3, 1, 2)
    elif first in (1, 3):
        out = arr
    else:
        raise DataError(
            f"{what} have shape {tuple(arr.shape)}; expected [N, H, W], [N, H, W, C] with C in "
            "(1, 3, 4) or [N, C, H, W] with C in (1, 3)."
        )
    if out.shape[1] == 4:
        out = out[:, :3]  # drop alpha
    return out


def _convert_batch(
    batch: np.ndarray, resolution: int, channels: int
) -> tuple[torch.Tensor, np.ndarray]:
    """uint8 ``[n, C0, H, W]`` -> (uint8 ``[n, C, r, r]``, native grayscale flags ``[n]``).

    C is ``channels``, except that a single-channel batch stays single-channel.

    A single-channel batch stays single-channel; the caller repeats it to 3 channels on read.
    """
    c0 = batch.shape[1]
    if c0 == 1:
        gray = np.ones(len(batch), dtype=bool)
    else:
        b = batch.astype(np.int16)
        d01 = np.abs(b[:, 0] - b[:, 1]).reshape(len(b), -1).max(axis=1, initial=0)
        d12 = np.abs(b[:, 1] - b[:, 2]).reshape(len(b), -1).max(axis=1, initial=0)
        gray = (d01 <= _GRAY_TOLERANCE) & (d12 <= _GRAY_TOLERANCE)
    need_resize = batch.shape[2:] != (resolution, resolution)
    need_luma = c0 == 3 and channels == 1
    x = torch.from_numpy(np.ascontiguousarray(batch))
    if need_resize or need_luma:
        xf = x.float()
        if need_luma:
            w = torch.tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)
            xf = (xf * w).sum(dim=1, keepdim=True)
        if need_resize:
            xf = F.interpolate(
                xf, size=(resolution, resolution), mode="bilinear", align_corners=False,
                antialias=True,
            )
        x = xf.round_().clamp_(0, 255).to(torch.uint8)
    return x.contiguous(), gray


def _item_to_chw(
    image: Any, resolution: int, channels: int, what: str
) -> tuple[np.ndarray, tuple[int, int], bool]:
    """One image (PIL, tensor CHW/HW or ndarray HWC/HW) -> uint8 ``[C, r, r]``, native hw, gray."""
    if isinstance(image, Image.Image):
        return _pil_to_chw(image, resolution, channels)
    if isinstance(image, (torch.Tensor, np.ndarray)):
        arr = _to_numpy(image)
        _check_pixel_values(arr, what)
        if arr.ndim not in (2, 3):
            raise DataError(
                f"{what} has shape {tuple(arr.shape)}; expected one image [H, W], [C, H, W] or "
                "[H, W, C]."
            )
        # torch images are conventionally CHW (ToTensor), numpy images HWC (PIL, CIFAR arrays).
        nchw = _to_nchw(_to_uint8(arr)[None], what, isinstance(image, torch.Tensor))
        native = (int(nchw.shape[2]), int(nchw.shape[3]))
        out, gray = _convert_batch(nchw, resolution, channels)
        out = out[0]
        if out.shape[0] == 1 and channels == 3:
            out = out.expand(3, -1, -1)
        return np.require(out.numpy(), requirements=["C", "W"]), native, bool(gray[0])
    raise DataError(
        f"{what} is a {type(image).__name__}; expected a PIL image, a torch tensor or a numpy "
        "array."
    )


# ----------------------------------------------------------------------------- labels


def _encode_labels(labels: Any, what: str) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary integer-like or string labels to 0..K-1 (sorted unique order) and names."""
    arr = _to_numpy(labels)
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


# ----------------------------------------------------------------------------- streaming sources


class _FolderSource:
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
            return _pil_to_chw(img, self.resolution, self.channels)

    def load(self, j: int) -> tuple[np.ndarray, tuple[int, int], bool]:
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


class _DatasetSource:
    """Reads images of a map-style dataset by index on demand."""

    def __init__(self, dataset: Any, resolution: int, channels: int) -> None:
        self.dataset = dataset
        self.resolution = resolution
        self.channels = channels

    def load(self, j: int) -> tuple[np.ndarray, tuple[int, int], bool]:
        item = _dataset_item(self.dataset, j)
        return _item_to_chw(item[0], self.resolution, self.channels, f"Image {j} of the dataset")


def _dataset_item(dataset: Any, j: int) -> Sequence[Any]:
    item = dataset[j]
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise DataError(
            f"Item {j} of the dataset is a {type(item).__name__}; expected an (image, label) pair."
        )
    return item


# ----------------------------------------------------------------------------- the task


class _TaskDataset(torch.utils.data.Dataset):
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
        loader: _FolderSource | _DatasetSource | None = None,
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
        where = "Task.from_folder"
        resolution = _check_int(resolution, "resolution", where, 1, 4096)
        channels = _check_channels(channels, where)
        max_in_memory = _check_int(max_in_memory, "max_in_memory", where, 0)
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
            return cls._folder_in_memory(
                root, str(path), found, empty, resolution, channels, task_name, progress
            )

        if empty:
            _warn(
                f"Dropped {len(empty)} class folder(s) without images under '{path}': "
                f"{_name_list(empty)}."
            )
        cls._check_two_classes([c for c, _ in found], str(path))
        classes = [c for c, _ in found]
        files = [f for _, fs in found for f in fs]
        labels = np.concatenate(
            [np.full(len(fs), k, dtype=np.int64) for k, (_, fs) in enumerate(found)]
        )
        # Absolute, so that a later change of working directory does not break decoding.
        loader = _FolderSource(root.resolve(), files, labels, classes, resolution, channels)
        logger.info("Streaming %d images of %d classes from '%s'.", len(files), len(classes), path)
        return cls(
            name=task_name, classes=classes, labels=labels, resolution=resolution,
            channels=channels, loader=loader, source=str(path),
        )

    @staticmethod
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

    @classmethod
    def _folder_in_memory(
        cls, root: Path, path: str, found: list[tuple[str, list[str]]], empty: list[str],
        resolution: int, channels: int, name: str, progress: bool,
    ) -> Task:
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
                    data[i], hw[i], gray[i] = _pil_to_chw(img, resolution, channels)
                ok[i] = True
            except Exception:  # any decoding failure: PIL raises many kinds
                bad.append(rel)
        if bad:
            _warn(
                f"Skipped {len(bad)} unreadable image file(s) under '{path}' "
                f"(e.g. {_name_list(bad)}).",
                stacklevel=4,
            )
        labels = np.asarray([k for k, _ in files], dtype=np.int64)[ok]
        counts = np.bincount(labels, minlength=len(found))
        dropped = empty + [c for k, (c, _) in enumerate(found) if counts[k] == 0]
        if dropped:
            _warn(
                f"Dropped {len(dropped)} class folder(s) without readable images under '{path}': "
                f"{_name_list(dropped)}.",
                stacklevel=4,
            )
        kept = [k for k in range(len(found)) if counts[k] > 0]
        classes = [found[k][0] for k in kept]
        cls._check_two_classes(classes, path)
        remap = np.full(len(found), -1, dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        logger.info("Loaded %d images of %d classes from '%s'.", int(ok.sum()), len(classes), path)
        return cls(
            name=name, classes=classes, labels=remap[labels], resolution=resolution,
            channels=channels, data=torch.from_numpy(data[ok] if bad else data),
            native_hw=hw[ok], native_gray=gray[ok], source=path,
        )

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

        Example::

            task = Task.from_arrays(x_uint8_nhwc, y, resolution=32, channels=3)
        """
        where = "Task.from_arrays"
        if resolution is not None:
            resolution = _check_int(resolution, "resolution", where, 1, 4096)
        if channels is not None:
            channels = _check_channels(channels, where)
        arr = _to_numpy(images)
        _check_pixel_values(arr, "The images")
        nchw = _to_nchw(arr, "The images")
        codes, names = _encode_labels(labels, "The labels")
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
            out, gray = _convert_batch(_to_uint8(nchw[s : s + _ARRAY_CHUNK]), resolution, channels)
            chunks.append(out)
            grays.append(gray)
        data = torch.cat(chunks) if len(chunks) > 1 else chunks[0]
        native_hw = np.tile(np.asarray([[h, w]], dtype=np.int32), (n, 1))
        return cls(
            name=name, classes=names, labels=codes, resolution=resolution, channels=channels,
            data=data, native_hw=native_hw, native_gray=np.concatenate(grays),
        )

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
        where = "Task.from_torchvision"
        resolution = _check_int(resolution, "resolution", where, 1, 4096)
        channels = _check_channels(channels, where)
        max_in_memory = _check_int(max_in_memory, "max_in_memory", where, 0)
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
                data[j], hw[j], gray[j] = _item_to_chw(
                    item[0], resolution, channels, f"Image {j} of the dataset"
                )
                raw_labels.append(_label_value(item[1], j))
            codes, names = cls._dataset_classes(dataset, raw_labels, ds_name)
            return cls(
                name=ds_name, classes=names, labels=codes, resolution=resolution,
                channels=channels, data=torch.from_numpy(data), native_hw=hw, native_gray=gray,
            )

        targets = _dataset_targets(dataset)
        if targets is None:
            logger.info("Reading the %d labels of %s by iterating over it once.", n, ds_name)
            targets = [
                _label_value(_dataset_item(dataset, j)[1], j)
                for j in _progress(range(n), progress, n, f"Reading labels of {ds_name}")
            ]
        codes, names = cls._dataset_classes(dataset, targets, ds_name)
        return cls(
            name=ds_name, classes=names, labels=codes, resolution=resolution, channels=channels,
            loader=_DatasetSource(dataset, resolution, channels),
        )

    @staticmethod
    def _dataset_classes(
        dataset: Any, raw_labels: Any, ds_name: str
    ) -> tuple[np.ndarray, list[str]]:
        codes, uniques = _encode_labels(np.asarray(raw_labels), f"The labels of {ds_name}")
        if len(uniques) < 2:
            raise DataError(
                f"All {len(codes)} items of {ds_name} have the same label ({uniques[0]!r}); a "
                "classification task needs at least 2 classes."
            )
        classes = _dataset_class_names(dataset)
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
        arr = _to_numpy(indices) if not isinstance(indices, range) else np.asarray(indices)
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
        return _TaskDataset(self, self._check_indices(indices, "Task.torch_dataset"))

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
        seed = _check_seed(seed, where)
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
        n = _check_int(n, "n", where, 1)
        seed = _check_seed(seed, where)
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

    # -- meta-features

    def describe(self) -> dict:
        """Cheap meta-features of the task, as plain JSON-serialisable Python values.

        Image statistics are computed on a seeded sample of at most 500 images (pixel values
        scaled to [0, 1]); ``is_grayscale`` is 1.0 when more than half of the sampled images are
        natively grayscale (R == G == B up to JPEG noise). The result is cached.
        """
        if self._describe is None:
            self._describe = self._compute_describe()
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._describe.items()}

    def _compute_describe(self) -> dict:
        counts = np.bincount(self.labels, minlength=self.n_classes).astype(np.float64)
        n = len(self)
        p = counts[counts > 0] / max(n, 1)
        entropy = (
            float(-(p * np.log(p)).sum() / math.log(self.n_classes)) if self.n_classes > 1 else 1.0
        )
        rng = np.random.default_rng(0)
        idx = np.arange(n) if n <= DESCRIBE_SAMPLE else np.sort(
            rng.choice(n, size=DESCRIBE_SAMPLE, replace=False)
        )
        base = self._base(idx)
        if self._data is not None:
            imgs = self._fetch(idx)
            hw = self._native_hw[base] if self._native_hw is not None else None
            gray = self._native_gray[base] if self._native_gray is not None else None
        else:
            loaded = [self._loader.load(int(j)) for j in base]  # type: ignore[union-attr]
            imgs = torch.from_numpy(np.stack([x[0] for x in loaded]))
            hw = np.asarray([x[1] for x in loaded], dtype=np.float64)
            gray = np.asarray([x[2] for x in loaded], dtype=bool)
        x = imgs.double() / 255.0  # [m, C, r, r]
        m, c = x.shape[0], x.shape[1]
        per_channel = x.transpose(0, 1).reshape(c, -1)
        lum = x.mean(dim=1)
        if self.resolution > 1:
            dx = (lum[:, :, 1:] - lum[:, :, :-1]).abs().mean()
            dy = (lum[:, 1:, :] - lum[:, :-1, :]).abs().mean()
            edge = float(0.5 * (dx + dy))
        else:
            edge = 0.0
        native = float(hw.mean()) if hw is not None and len(hw) else float(self.resolution)
        return {
            "n_images": int(n),
            "n_classes": int(self.n_classes),
            "images_per_class_min": int(counts.min()),
            "images_per_class_mean": float(counts.mean()),
            "images_per_class_max": int(counts.max()),
            "class_balance": float(counts.min() / counts.max()) if counts.max() > 0 else 0.0,
            "class_entropy": min(1.0, max(0.0, entropy)),
            "resolution": int(self.resolution),
            "channels": int(self.channels),
            "native_resolution_mean": native,
            "is_grayscale": 1.0 if gray is not None and len(gray) and gray.mean() > 0.5 else 0.0,
            "channel_mean": [float(v) for v in per_channel.mean(dim=1)],
            "channel_std": [float(v) for v in per_channel.std(dim=1, unbiased=False)],
            "mean_pixel_std_within_image": float(
                x.reshape(m, c, -1).std(dim=2, unbiased=False).mean()
            ),
            "edge_density": edge,
        }


def _label_value(label: Any, j: int) -> Any:
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
        return _label_value(torch.as_tensor(label), j)
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


def _dataset_targets(dataset: Any) -> list | None:
    inner, index = _unwrap_subset(dataset)
    targets = getattr(inner, "targets", None)
    if targets is None or getattr(inner, "target_transform", None) is not None:
        return None
    try:
        arr = _to_numpy(targets)
    except Exception:
        return None
    if arr.ndim != 1:
        return None
    if index is not None:
        arr = arr[index]
    if len(arr) != len(dataset):
        return None
    return arr.tolist()


def _dataset_class_names(dataset: Any) -> list | None:
    inner, _ = _unwrap_subset(dataset)
    classes = getattr(dataset, "classes", None) or getattr(inner, "classes", None)
    if classes is None:
        return None
    try:
        return [str(c) for c in classes]
    except TypeError:
        return None

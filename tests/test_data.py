"""Tests for hyperstar.data: loading tasks from folders, arrays and datasets; splits; sampling."""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hyperstar.data import Split, Task
from hyperstar.exceptions import DataError, InvalidInputError

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


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_image_folder(tmp_path / "train", n_classes=3, per_class=10, size=20)


@contextlib.contextmanager
def _no_warnings():
    """Turn any warning into an error inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------- from_folder


def test_from_folder_shapes_labels_classes(folder: Path) -> None:
    task = Task.from_folder(folder, resolution=16)
    assert task.classes == ["class_0", "class_1", "class_2"]
    assert task.n_classes == 3 and len(task) == 30
    assert task.name == "train" and task.source == str(folder)
    assert task.in_memory and task.resolution == 16 and task.channels == 3
    assert task.labels.dtype == np.int64 and np.bincount(task.labels).tolist() == [10, 10, 10]
    x = task.images(np.arange(len(task)))
    assert x.dtype == torch.uint8 and x.shape == (30, 3, 16, 16)
    # Content follows the label: the class colour's channel dominates.
    dominant = x.float().mean(dim=(2, 3)).argmax(dim=1).numpy()
    assert np.array_equal(dominant, task.labels)


def test_from_folder_classes_sorted_and_name_given(tmp_path: Path) -> None:
    make_image_folder(tmp_path / "d", per_class=3, class_names=["zebra", "ant", "Moose"])
    task = Task.from_folder(tmp_path / "d", resolution=8, name="animals")
    assert task.classes == ["Moose", "ant", "zebra"]
    assert task.name == "animals"
    # "ant" was written with colour index 1 (green).
    ant = task.images(np.flatnonzero(task.labels == 1)).float().mean(dim=(0, 2, 3))
    assert int(ant.argmax()) == 1


def test_from_folder_mixed_sizes_formats_recursive_and_case(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "d", n_classes=2, per_class=3)
    rng = np.random.default_rng(1)
    (root / "class_0" / "nested").mkdir()
    Image.fromarray(rng.integers(0, 256, (40, 25, 3), dtype=np.uint8)).save(
        root / "class_0" / "nested" / "WIDE.JPG"
    )
    small = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    Image.fromarray(small).save(root / "class_1" / "s.bmp")
    (root / "class_1" / "notes.txt").write_text("not an image")
    (root / "class_1" / ".hidden.png").write_bytes(b"junk")  # e.g. macOS resource forks
    with _no_warnings():
        task = Task.from_folder(root, resolution=12, progress=True)  # no bar: not a TTY
    assert np.bincount(task.labels).tolist() == [4, 4]
    assert task.images(range(len(task))).shape == (8, 3, 12, 12)


def test_grayscale_png_becomes_rgb_with_equal_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "g" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8), "L").save(
                tmp_path / "g" / c / f"{i}.png"
            )
    task = Task.from_folder(tmp_path / "g", resolution=10, channels=3)
    x = task.images(range(6))
    assert x.shape == (6, 3, 10, 10)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert task.describe()["is_grayscale"] == 1.0
    # Channel repetition keeps the pixel values themselves.
    first = np.asarray(Image.open(tmp_path / "g" / "a" / "0.png"))
    assert np.array_equal(x[0, 0].numpy(), first)


def test_rgb_to_grayscale_by_luminance(tmp_path: Path) -> None:
    for c, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / "c" / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (6, 6), colour).save(tmp_path / "c" / c / f"{i}.png")
    task = Task.from_folder(tmp_path / "c", resolution=6, channels=1)
    x = task.images(range(len(task)))
    assert x.shape == (6, 1, 6, 6)
    blue, red = x[task.labels == 0], x[task.labels == 1]
    assert int(red.float().mean().round()) == 76 and int(blue.float().mean().round()) == 29
    assert task.describe()["is_grayscale"] == 0.0


def test_palette_and_alpha_images_load(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "d", n_classes=2, per_class=3)
    rgba = Image.new("RGBA", (12, 12), (200, 10, 10, 0))
    rgba.save(root / "class_0" / "alpha.png")
    pal = Image.new("RGB", (12, 12), (10, 200, 10)).convert("P")
    pal.info["transparency"] = 0
    pal.save(root / "class_1" / "palette.png", transparency=0)
    Image.new("LA", (12, 12), (90, 0)).save(root / "class_1" / "la.png")
    with _no_warnings():
        task = Task.from_folder(root, resolution=12)
    assert len(task) == 9
    i = int(np.flatnonzero(task.labels == 0)[0])  # alpha.png sorts first in class_0
    assert task.images([i])[0, :, 0, 0].tolist() == [200, 10, 10]  # alpha dropped, colour kept


def test_corrupt_files_are_skipped_with_one_counting_warning(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "data", per_class=4, class_names=["cat", "dog"])
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    good = (root / "dog" / "img_000.png").read_bytes()
    (root / "dog" / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning) as record:
        task = Task.from_folder(root, resolution=8)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert re.fullmatch(
        r"Skipped 2 unreadable image file\(s\) under '.*data' \(e\.g\. 'cat/broken\.png', "
        r"'dog/truncated\.png'\)\.",
        messages[0],
    )
    assert len(task) == 8 and np.bincount(task.labels).tolist() == [4, 4]


def test_class_folder_without_images_is_dropped_with_warning(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "d", n_classes=2, per_class=3)
    (root / "empty").mkdir()
    (root / "all_bad").mkdir()
    (root / "all_bad" / "x.jpg").write_bytes(b"nope")
    with pytest.warns(UserWarning) as record:
        task = Task.from_folder(root, resolution=8)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2 and "Skipped 1 unreadable" in messages[0]
    assert re.match(r"Dropped 2 class folder\(s\) .*: 'empty', 'all_bad'\.$", messages[1])
    assert all(w.filename == __file__ for w in record)  # points at the caller
    assert task.classes == ["class_0", "class_1"]
    assert sorted(set(task.labels.tolist())) == [0, 1]


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match=re.escape(f"'{missing}' does not exist")):
        Task.from_folder(missing)


def test_file_path_is_a_data_error(tmp_path: Path) -> None:
    f = tmp_path / "file.png"
    Image.new("RGB", (4, 4)).save(f)
    with pytest.raises(DataError, match=re.escape(f"'{f}' is not a folder")):
        Task.from_folder(f)


def test_folder_without_class_folders_is_a_data_error(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    root.mkdir()
    Image.new("RGB", (4, 4)).save(root / "a.png")
    with pytest.raises(DataError) as info:
        Task.from_folder(root)
    msg = str(info.value)
    assert msg.startswith(
        f"No images found under '{root}': expected one sub-folder per class (ImageFolder layout)."
    )
    assert "1 image file(s) directly in it" in msg and "\n" not in msg


def test_class_folders_without_images_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "d" / "a").mkdir(parents=True)
    (tmp_path / "d" / "b").mkdir()
    (tmp_path / "d" / "b" / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=re.escape(f"No images found under '{tmp_path / 'd'}'")):
        Task.from_folder(tmp_path / "d")


def test_folder_with_only_unreadable_images_is_a_data_error(tmp_path: Path) -> None:
    for c in ("a", "b"):
        (tmp_path / "d" / c).mkdir(parents=True)
        (tmp_path / "d" / c / "x.png").write_bytes(b"nope")
    with pytest.warns(UserWarning), pytest.raises(
        DataError, match=re.escape(f"No readable images under '{tmp_path / 'd'}'")
    ):
        Task.from_folder(tmp_path / "d")


@pytest.mark.parametrize("max_in_memory", [20000, 0])
def test_single_class_is_a_data_error(tmp_path: Path, max_in_memory: int) -> None:
    root = make_image_folder(tmp_path / "d", n_classes=1, per_class=3, class_names=["cats"])
    with pytest.raises(DataError, match=re.escape(f"'{root}': found 1 class ('cats')")) as info:
        Task.from_folder(root, max_in_memory=max_in_memory)
    assert "at least 2" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, arg", [({"resolution": 0}, "resolution"), ({"channels": 2}, "channels"),
                    ({"max_in_memory": -1}, "max_in_memory"), ({"resolution": 3.5}, "resolution")]
)
def test_from_folder_bad_arguments(folder: Path, kwargs: dict, arg: str) -> None:
    with pytest.raises(InvalidInputError, match=f"'{arg}' argument of Task.from_folder"):
        Task.from_folder(folder, **kwargs)


# ----------------------------------------------------------------------------- streaming


def test_streaming_folder_matches_in_memory(folder: Path) -> None:
    mem = Task.from_folder(folder, resolution=16)
    stream = Task.from_folder(folder, resolution=16, max_in_memory=0)
    assert mem.in_memory and not stream.in_memory
    assert stream.classes == mem.classes and np.array_equal(stream.labels, mem.labels)
    idx = [0, 5, 29, 12]
    assert torch.equal(stream.images(idx), mem.images(idx))
    loader = torch.utils.data.DataLoader(stream.torch_dataset(range(len(stream))), batch_size=7)
    xs, ys = zip(*loader)
    assert torch.equal(torch.cat(xs), mem.images(range(len(mem))))
    assert torch.cat(ys).dtype == torch.int64 and np.array_equal(torch.cat(ys).numpy(), mem.labels)
    assert stream.describe() == mem.describe()


def test_streaming_dataset_works_with_loader_workers(folder: Path) -> None:
    stream = Task.from_folder(folder, resolution=8, max_in_memory=0)
    loader = torch.utils.data.DataLoader(
        stream.torch_dataset(np.arange(0, 30, 2)), batch_size=4, num_workers=2
    )
    xs, ys = zip(*loader)
    assert torch.equal(torch.cat(xs), stream.images(np.arange(0, 30, 2)))
    assert torch.cat(ys).tolist() == stream.labels[::2].tolist()


def test_streaming_corrupt_file_is_replaced_by_next_image_of_same_class(tmp_path: Path) -> None:
    root = make_image_folder(tmp_path / "d", n_classes=2, per_class=3)
    (root / "class_0" / "img_001.png").write_bytes(b"garbage")
    task = Task.from_folder(root, resolution=8, max_in_memory=0)
    assert len(task) == 6
    expected = r"'class_0/img_001\.png'.*next readable image of class 'class_0'"
    with pytest.warns(UserWarning, match=expected):
        x = task.images([1])
    assert torch.equal(x, task.images([2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task.images([1])  # reported once per file


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


# ----------------------------------------------------------------------------- from_arrays


def test_from_arrays_grayscale_nhw() -> None:
    x = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    task = Task.from_arrays(x, np.arange(12) % 3)
    assert task.resolution == 8 and task.channels == 1 and task.name == "arrays"
    assert task.classes == ["0", "1", "2"] and task.source is None and task.in_memory
    assert np.array_equal(task.images(range(12))[:, 0].numpy(), x)
    rgb = Task.from_arrays(x, np.arange(12) % 3, channels=3).images([4])
    assert rgb.shape == (1, 3, 8, 8) and torch.equal(rgb[0, 0], rgb[0, 2])
    assert np.array_equal(rgb[0, 1].numpy(), x[4])


@pytest.mark.parametrize("layout", ["nhwc", "nhwc_alpha", "nchw_torch", "nhwc_torch", "nhw1"])
def test_from_arrays_layouts(layout: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 10, 10, 3), dtype=np.uint8)
    expected = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    if layout == "nhwc":
        images = x
    elif layout == "nhwc_alpha":
        images = np.concatenate([x, np.full((6, 10, 10, 1), 7, np.uint8)], axis=3)
    elif layout == "nchw_torch":
        images = expected.clone()
    elif layout == "nhwc_torch":
        images = torch.from_numpy(x)
    else:
        images = x[..., :1]
        expected = expected[:, :1]
    task = Task.from_arrays(images, [0, 1] * 3)
    assert task.channels == expected.shape[1] and task.resolution == 10
    assert torch.equal(task.images(range(6)), expected)


def test_from_arrays_float_resize_and_luminance() -> None:
    x = np.zeros((4, 16, 16, 3), dtype=np.float32)
    x[:2, ..., 0] = 1.0  # pure red
    x[2:] = 0.5  # mid gray
    task = Task.from_arrays(x, [0, 0, 1, 1], resolution=8, channels=1)
    out = task.images(range(4))
    assert out.shape == (4, 1, 8, 8) and out.dtype == torch.uint8
    assert out[:2].unique().tolist() == [76] and out[2:].unique().tolist() == [128]
    d = task.describe()
    assert d["native_resolution_mean"] == 16.0 and d["is_grayscale"] == 0.0


@pytest.mark.parametrize("bad", [1.5, -0.2])
def test_from_arrays_float_out_of_range(bad: float) -> None:
    x = np.full((4, 4, 4), 0.5, dtype=np.float64)
    x[0, 0, 0] = bad
    with pytest.raises(DataError, match=r"expected values in \[0, 1\]"):
        Task.from_arrays(x, [0, 1, 0, 1])


def test_from_arrays_nan_images_and_labels() -> None:
    x = np.full((4, 4, 4), 0.5)
    x[1, 2, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        Task.from_arrays(x, [0, 1, 0, 1])
    with pytest.raises(DataError, match="NaN"):
        Task.from_arrays(np.zeros((4, 4, 4), np.uint8), [0.0, 1.0, np.nan, 1.0])


def test_from_arrays_string_labels_and_class_names() -> None:
    x = np.zeros((5, 4, 4), dtype=np.uint8)
    task = Task.from_arrays(x, ["dog", "cat", "dog", "bird", "cat"])
    assert task.classes == ["bird", "cat", "dog"]
    assert task.labels.tolist() == [2, 1, 2, 0, 1] and task.labels.dtype == np.int64
    named = Task.from_arrays(x, np.array([7, 3, 7, 3, 3]), class_names=["three", "seven"])
    assert named.classes == ["three", "seven"] and named.labels.tolist() == [1, 0, 1, 0, 0]
    with pytest.raises(InvalidInputError, match="one name per class"):
        Task.from_arrays(x, [0, 1, 0, 1, 0], class_names=["a", "b", "c"])


@pytest.mark.parametrize(
    "images, labels, match",
    [
        (np.zeros((4, 4, 4), np.uint8), [0, 1, 0], "Got 4 images but 3 labels"),
        (np.zeros((0, 4, 4), np.uint8), [], "empty"),
        (np.zeros((4, 4, 4), np.uint8), [5, 5, 5, 5], "same class"),
        (np.zeros((4, 4, 6), np.uint8), [0, 1, 0, 1], "not square"),
        (np.zeros((4, 5, 6, 7), np.uint8), [0, 1, 0, 1], r"shape \(4, 5, 6, 7\)"),
        (np.zeros((4, 4), np.uint8), [0, 1, 0, 1], "shape"),
        (np.full((4, 4, 4), 300, np.int64), [0, 1, 0, 1], "0..255"),
        (np.zeros((4, 4, 4), np.uint8), [0.5, 1, 0, 1], "non-integer"),
    ],
)
def test_from_arrays_errors(images, labels, match) -> None:
    with pytest.raises(DataError, match=match):
        Task.from_arrays(images, labels)


# ----------------------------------------------------------------------------- from_torchvision


class FakeDataset(torch.utils.data.Dataset):
    """A tiny map-style dataset in the style of torchvision: (image, label) items, .classes."""

    classes = ["airplane", "bird", "cat"]

    def __init__(self, n: int = 12, kind: str = "pil") -> None:
        rng = np.random.default_rng(3)
        self.data = rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8)
        self.targets = [i % 3 for i in range(n)]
        self.kind = kind

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        x = self.data[i]
        if self.kind == "pil":
            x = Image.fromarray(x)
        elif self.kind == "tensor":  # like transforms.ToTensor(): float CHW in [0, 1]
            x = torch.from_numpy(x.transpose(2, 0, 1).copy()).float() / 255.0
        return x, self.targets[i]


@pytest.mark.parametrize("kind", ["pil", "tensor", "numpy"])
def test_from_torchvision_item_kinds(kind: str) -> None:
    ds = FakeDataset(kind=kind)
    task = Task.from_torchvision(ds, resolution=12)
    assert task.classes == ["airplane", "bird", "cat"] and task.name == "FakeDataset"
    assert task.labels.tolist() == ds.targets and task.in_memory
    assert torch.equal(task.images([5])[0], torch.from_numpy(ds.data[5].transpose(2, 0, 1).copy()))


def test_from_torchvision_streaming_matches_in_memory() -> None:
    ds = FakeDataset(n=9)
    mem = Task.from_torchvision(ds, resolution=8, channels=1, name="fake")
    stream = Task.from_torchvision(ds, resolution=8, channels=1, name="fake", max_in_memory=0)
    assert not stream.in_memory and stream.name == "fake"
    assert np.array_equal(stream.labels, mem.labels) and stream.classes == mem.classes
    assert torch.equal(stream.images(range(9)), mem.images(range(9)))
    assert stream.images([0]).shape == (1, 1, 8, 8)


def test_from_torchvision_subset_without_some_classes_and_no_classes_attribute() -> None:
    sub = torch.utils.data.Subset(FakeDataset(n=12), [1, 2, 4, 5, 7])  # labels 1, 2 only
    task = Task.from_torchvision(sub, resolution=8, max_in_memory=0)
    assert task.classes == ["bird", "cat"] and task.labels.tolist() == [0, 1, 0, 1, 0]

    class Plain:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.full((5, 5), i * 10, np.uint8), [3, 9][i % 2]

    plain = Task.from_torchvision(Plain(), resolution=5)
    assert plain.classes == ["3", "9"] and plain.channels == 3
    assert plain.images([3])[0].unique().tolist() == [30]


def test_from_torchvision_bad_items() -> None:
    class Normalised(FakeDataset):
        def __getitem__(self, i):
            return torch.full((3, 4, 4), -1.5), 0

    with pytest.raises(DataError, match=r"expected values in \[0, 1\]"):
        Task.from_torchvision(Normalised(n=3))
    with pytest.raises(InvalidInputError, match="map-style dataset"):
        Task.from_torchvision(42)


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

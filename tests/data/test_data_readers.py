"""Tests for hyperstar.data.readers: tasks from folders (in memory and streaming), arrays and datasets."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from image_folders import make_image_folder, no_warnings, small_folder
from PIL import Image

from hyperstar.data import Task
from hyperstar.exceptions import DataError, InvalidInputError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return small_folder(tmp_path)

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
    with no_warnings():
        task = Task.from_folder(root, resolution=12, progress=True)  # no bar: not a TTY
    assert np.bincount(task.labels).tolist() == [4, 4]
    assert task.images(range(len(task))).shape == (8, 3, 12, 12)



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


def test_bad_arguments_use_the_one_error_template(folder: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        Task.from_folder(folder, resolution=0)
    assert str(info.value) == "The 'resolution' argument of Task.from_folder must be an int in [1, 4096]. Got 0."
    with pytest.raises(InvalidInputError) as info:
        Task.from_torchvision([(np.zeros((4, 4), np.uint8), 0)], max_in_memory=-1)
    assert str(info.value) == "The 'max_in_memory' argument of Task.from_torchvision must be an int >= 0. Got -1."


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

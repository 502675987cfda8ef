"""Tests for hyperstar.data.decode: pixel formats, layouts, grayscale and luminance, resizing, bad pixel values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from image_folders import make_image_folder, no_warnings
from PIL import Image

from hyperstar.data import Task
from hyperstar.exceptions import DataError


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
    with no_warnings():
        task = Task.from_folder(root, resolution=12)
    assert len(task) == 9
    i = int(np.flatnonzero(task.labels == 0)[0])  # alpha.png sorts first in class_0
    assert task.images([i])[0, :, 0, 0].tolist() == [255, 255, 255]  # fully transparent: the white background
    j = int(np.flatnonzero(task.labels == 1)[3])  # img_000..002.png, then la.png in class_1
    assert task.images([j])[0, :, 0, 0].tolist() == [255, 255, 255]


def _icon(under: tuple[int, int, int]) -> np.ndarray:
    """A 16x16 RGBA icon: an opaque red square, a half-transparent blue band, and a transparent background
    whose stored colour is ``under``."""
    arr = np.zeros((16, 16, 4), np.uint8)
    arr[...] = (*under, 0)
    arr[4:12, 4:12] = (220, 20, 20, 255)
    arr[13:15, :] = (0, 0, 200, 128)
    return arr


@pytest.mark.parametrize("fmt", ["png", "tiff", "webp"])
def test_two_rgba_files_that_differ_only_under_transparent_pixels_decode_identically(tmp_path: Path, fmt) -> None:
    from PIL import features

    if fmt == "webp" and not features.check("webp"):
        pytest.skip("this Pillow has no WebP support")
    root = tmp_path / "icons"
    for name, under in (("black", (0, 0, 0)), ("white", (255, 255, 255)), ("green", (0, 255, 0))):
        (root / name).mkdir(parents=True)
        kwargs = {"lossless": True, "exact": True} if fmt == "webp" else {}
        Image.fromarray(_icon(under), "RGBA").save(root / name / f"icon.{fmt}", **kwargs)
    stored = [np.asarray(Image.open(root / n / f"icon.{fmt}"))[0, 0, :3].tolist() for n in ("black", "green")]
    assert stored[0] != stored[1]  # the files really differ under the transparent pixels
    with no_warnings():
        task = Task.from_folder(root, resolution=16)
    x = task.images(range(3))
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
    assert x[0, :, 0, 0].tolist() == [255, 255, 255]  # transparent -> white
    assert x[0, :, 8, 8].tolist() == [220, 20, 20]  # opaque pixels keep their colour
    # half-transparent blue over white: round((c * 128 + 255 * 127) / 255)
    assert x[0, :, 14, 0].tolist() == [127, 127, round((200 * 128 + 255 * 127) / 255)]
    # the same icon given as an RGBA array gives the same pixels as its files
    arrays = Task.from_arrays(np.stack([_icon((0, 0, 0)), _icon((9, 99, 199))]), [0, 1])
    assert torch.equal(arrays.images([0])[0], x[0]) and torch.equal(arrays.images([1])[0], x[0])


def test_transparent_colour_entries_are_composited_too(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir(parents=True)
    rgb = np.full((8, 8, 3), (10, 20, 30), np.uint8)
    rgb[2:6, 2:6] = (200, 100, 0)
    Image.fromarray(rgb, "RGB").save(root / "a" / "trns.png", transparency=(10, 20, 30))  # PNG tRNS colour
    gray = np.full((8, 8), 40, np.uint8)
    gray[2:6, 2:6] = 180
    Image.fromarray(gray, "L").save(root / "a" / "gray.png", transparency=40)
    pal = Image.fromarray(rgb, "RGB").quantize(4)
    index = int(np.asarray(pal)[0, 0])
    pal.save(root / "b" / "pal.gif", transparency=index)
    Image.fromarray(gray, "L").save(root / "b" / "plain.png")
    with no_warnings():
        task = Task.from_folder(root, resolution=8)
    x = task.images(range(4))  # gray.png, trns.png, pal.gif, plain.png
    assert x[0, :, 0, 0].tolist() == [255] * 3 and x[0, :, 3, 3].tolist() == [180] * 3
    assert x[1, :, 0, 0].tolist() == [255] * 3 and x[1, :, 3, 3].tolist() == [200, 100, 0]
    assert x[2, :, 0, 0].tolist() == [255] * 3 and x[2, :, 3, 3].tolist() != [255] * 3
    assert x[3, :, 0, 0].tolist() == [40] * 3  # no transparency: untouched


def test_float_and_uint8_rgba_arrays_composite_alike() -> None:
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (4, 6, 6, 4), dtype=np.uint8)
    a = Task.from_arrays(rgba, [0, 1, 0, 1]).images(range(4))
    b = Task.from_arrays(rgba.astype(np.float32) / 255, [0, 1, 0, 1]).images(range(4))
    assert (a.int() - b.int()).abs().max() <= 1
    alpha = rgba[..., 3:].astype(int)
    expected = (rgba[..., :3].astype(int) * alpha + 255 * (255 - alpha) + 127) // 255
    assert np.array_equal(a.numpy().transpose(0, 2, 3, 1), expected)



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
    elif layout == "nhwc_alpha":  # opaque: compositing keeps the colours
        images = np.concatenate([x, np.full((6, 10, 10, 1), 255, np.uint8)], axis=3)
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

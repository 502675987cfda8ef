"""Pixels: PIL images, tensors and arrays brought to ``uint8 [C, r, r]`` at a fixed resolution.

Every image of a task goes through here, whatever its source: transparency is composited onto a
white background, palettes are expanded, 16-bit and float images are scaled (not clipped), RGB ->
grayscale uses luminance, and resizing is antialiased. Along the way each image's native size and
whether it is natively grayscale are recorded (for :meth:`Task.describe <hyperstar.data.Task.describe>`).

Transparency: an image with an alpha channel (RGBA, LA, PA, premultiplied RGBa/La), a palette or
grayscale/RGB image with a transparent colour (PNG ``tRNS``, GIF), or an array with a 4th channel,
is composited onto :data:`BACKGROUND` (white, 255) before anything else:
``out = round((colour * alpha + 255 * (255 - alpha)) / 255)``. So a fully transparent pixel is
white whatever colour the file stores under it, and the same icon gives the same pixels from any
file format or editor. White because icons, logos and drawings with transparent backgrounds are
made to be shown on white pages; keeping the stored colour (what dropping alpha did) turned the same
icon black in one file and white in another.

    >>> import numpy as np
    >>> chw, native_hw, gray = item_to_chw(np.full((6, 4), 200, np.uint8), 2, 3, "The image")
    >>> chw.shape, native_hw, gray
    ((3, 2, 2), (6, 4), True)
    >>> to_nchw(np.zeros((5, 8, 8, 3), np.uint8), "The images").shape
    (5, 3, 8, 8)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from hyperstar.exceptions import DataError

__all__ = ["BACKGROUND", "pil_to_chw", "item_to_chw", "convert_batch", "to_nchw", "to_uint8", "to_numpy",
           "check_pixel_values", "composite_alpha"]

#: the grey level (0..255, every channel) transparent pixels are composited onto
BACKGROUND = 255

# PIL modes that carry an alpha channel (``RGBa``/``La``: premultiplied)
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")

# Two channels that differ by at most this much (0..255) still count as "grayscale": JPEG
# decoding of a gray image stored as RGB leaves +-1 chroma noise.
GRAY_TOLERANCE = 2

# ITU-R 601-2 luma, the weights PIL's convert("L") uses.
LUMA = (0.299, 0.587, 0.114)


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (detached, on the CPU) or anything array-like as a numpy array."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _is_gray_hwc(arr: np.ndarray) -> bool:
    """True when an ``[H, W, 3]`` uint8 image has (nearly) equal channels."""
    a = arr.astype(np.int16)
    return bool(
        np.abs(a[..., 0] - a[..., 1]).max(initial=0) <= GRAY_TOLERANCE
        and np.abs(a[..., 1] - a[..., 2]).max(initial=0) <= GRAY_TOLERANCE
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


def composite_alpha(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``colour`` (uint8 ``[..., C]`` or ``[C, ...]``) over :data:`BACKGROUND` with ``alpha`` (uint8, broadcastable):
    ``round((colour * alpha + BACKGROUND * (255 - alpha)) / 255)`` in exact integer arithmetic."""
    c = colour.astype(np.uint32)
    a = alpha.astype(np.uint32)
    return ((c * a + BACKGROUND * (255 - a) + 127) // 255).astype(np.uint8)


def _flatten_transparency(img: Image.Image) -> Image.Image:
    """An image with transparency as ``RGB`` or ``L`` composited onto :data:`BACKGROUND`; others unchanged."""
    if img.mode not in _ALPHA_MODES and "transparency" not in img.info:
        return img
    gray = img.mode in ("1", "L", "LA", "La") or (img.mode in ("I", "F") or img.mode.startswith("I;16"))
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _numeric_mode_to_l(img)  # a transparent colour of a 16-bit image: rare; keep the pixels
        return img
    rgba = np.asarray(img.convert("LA" if gray else "RGBA"))
    out = composite_alpha(rgba[..., :-1], rgba[..., -1:])
    return Image.fromarray(out[..., 0], "L") if gray else Image.fromarray(out, "RGB")


def pil_to_chw(
    img: Image.Image, resolution: int, channels: int
) -> tuple[np.ndarray, tuple[int, int], bool]:
    """Convert a PIL image to ``uint8 [channels, resolution, resolution]``.

    Returns the array, the native ``(height, width)`` and whether the native image is grayscale.
    Transparency is composited onto white, palettes are expanded, RGB -> grayscale uses luminance.
    """
    width, height = img.size
    native = (int(height), int(width))
    if img.format in ("JPEG", "MPO") and img.mode in ("RGB", "L"):
        # DCT-domain downscaling: much faster decoding of large JPEGs, still antialiased.
        img.draft(img.mode, (resolution, resolution))
    img = _flatten_transparency(img)
    mode = img.mode
    if mode in ("1", "L"):
        img = img.convert("L")
    elif mode in ("I", "F") or mode.startswith("I;16"):
        img = _numeric_mode_to_l(img)
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


def check_pixel_values(arr: np.ndarray, what: str) -> None:
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


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """Checked pixel values (see :func:`check_pixel_values`) as ``uint8``: floats in [0, 1] are scaled."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return arr.astype(np.uint8)


def to_nchw(arr: np.ndarray, what: str, prefer_channels_first: bool = False) -> np.ndarray:
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
        out = _composite_batch(out)
    return out


def _composite_batch(nchw: np.ndarray) -> np.ndarray:
    """``[N, 4, H, W]`` (RGB + alpha; uint8, integers in 0..255 or floats in [0, 1]) -> ``[N, 3, H, W]`` composited
    onto :data:`BACKGROUND`, in the input's value range (chunked: no float copy of a large batch)."""
    floating = np.issubdtype(nchw.dtype, np.floating)
    out = np.empty((nchw.shape[0], 3, *nchw.shape[2:]), dtype=nchw.dtype if floating else np.uint8)
    step = 1024
    for s in range(0, nchw.shape[0], step):
        chunk = nchw[s : s + step]
        if floating:
            a = chunk[:, 3:4].astype(np.float64)
            out[s : s + step] = chunk[:, :3] * a + (BACKGROUND / 255.0) * (1.0 - a)
        else:
            out[s : s + step] = composite_alpha(chunk[:, :3], chunk[:, 3:4])
    return out


def convert_batch(
    batch: np.ndarray, resolution: int, channels: int
) -> tuple[torch.Tensor, np.ndarray]:
    """uint8 ``[n, C0, H, W]`` -> (uint8 ``[n, C, r, r]``, native grayscale flags ``[n]``).

    C is ``channels``, except that a single-channel batch stays single-channel; the caller
    repeats it to 3 channels on read.
    """
    c0 = batch.shape[1]
    if c0 == 1:
        gray = np.ones(len(batch), dtype=bool)
    else:
        b = batch.astype(np.int16)
        d01 = np.abs(b[:, 0] - b[:, 1]).reshape(len(b), -1).max(axis=1, initial=0)
        d12 = np.abs(b[:, 1] - b[:, 2]).reshape(len(b), -1).max(axis=1, initial=0)
        gray = (d01 <= GRAY_TOLERANCE) & (d12 <= GRAY_TOLERANCE)
    need_resize = batch.shape[2:] != (resolution, resolution)
    need_luma = c0 == 3 and channels == 1
    x = torch.from_numpy(np.ascontiguousarray(batch))
    if need_resize or need_luma:
        xf = x.float()
        if need_luma:
            w = torch.tensor(LUMA, dtype=torch.float32).view(1, 3, 1, 1)
            xf = (xf * w).sum(dim=1, keepdim=True)
        if need_resize:
            xf = F.interpolate(
                xf, size=(resolution, resolution), mode="bilinear", align_corners=False,
                antialias=True,
            )
        x = xf.round_().clamp_(0, 255).to(torch.uint8)
    return x.contiguous(), gray


def item_to_chw(
    image: Any, resolution: int, channels: int, what: str
) -> tuple[np.ndarray, tuple[int, int], bool]:
    """One image (PIL, tensor CHW/HW or ndarray HWC/HW) -> uint8 ``[C, r, r]``, native hw, gray."""
    if isinstance(image, Image.Image):
        return pil_to_chw(image, resolution, channels)
    if isinstance(image, (torch.Tensor, np.ndarray)):
        arr = to_numpy(image)
        check_pixel_values(arr, what)
        if arr.ndim not in (2, 3):
            raise DataError(
                f"{what} has shape {tuple(arr.shape)}; expected one image [H, W], [C, H, W] or "
                "[H, W, C]."
            )
        # torch images are conventionally CHW (ToTensor), numpy images HWC (PIL, CIFAR arrays).
        nchw = to_nchw(to_uint8(arr)[None], what, isinstance(image, torch.Tensor))
        native = (int(nchw.shape[2]), int(nchw.shape[3]))
        out, gray = convert_batch(nchw, resolution, channels)
        out = out[0]
        if out.shape[0] == 1 and channels == 3:
            out = out.expand(3, -1, -1)
        return np.require(out.numpy(), requirements=["C", "W"]), native, bool(gray[0])
    raise DataError(
        f"{what} is a {type(image).__name__}; expected a PIL image, a torch tensor or a numpy "
        "array."
    )

"""The cheap meta-features of a task (what :meth:`Task.describe <hyperstar.data.Task.describe>`
returns): class counts and balance, resolution and channels, and image statistics on a seeded
sample of the images.

    >>> import numpy as np, torch
    >>> d = meta_features(np.array([0, 0, 1]), 2, torch.zeros((3, 1, 4, 4), dtype=torch.uint8),
    ...                   native_hw=None, native_gray=None)
    >>> d["class_balance"], d["channel_mean"], d["edge_density"]
    (0.5, [0.0], 0.0)
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["DESCRIBE_SAMPLE", "describe_sample", "meta_features"]

#: Images sampled (seeded) by :meth:`Task.describe` to compute image statistics.
DESCRIBE_SAMPLE = 500


def describe_sample(n: int) -> np.ndarray:
    """The task indices (sorted) whose images the statistics are computed on: all of them, or a
    seeded sample of :data:`DESCRIBE_SAMPLE`; the same for every call."""
    rng = np.random.default_rng(0)
    return np.arange(n) if n <= DESCRIBE_SAMPLE else np.sort(
        rng.choice(n, size=DESCRIBE_SAMPLE, replace=False)
    )


def meta_features(
    labels: np.ndarray, n_classes: int, images: torch.Tensor, native_hw: np.ndarray | None,
    native_gray: np.ndarray | None,
) -> dict:
    """Meta-features from all ``labels`` (int codes) and sampled ``images`` (uint8 ``[m, C, r, r]``).

    ``native_hw`` (``[m, 2]``) and ``native_gray`` (``[m]``) describe the sampled images before
    conversion, when known. Pixel values are scaled to [0, 1]; ``is_grayscale`` is 1.0 when more
    than half of the sampled images are natively grayscale.
    """
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    n = len(labels)
    resolution, channels = int(images.shape[-1]), int(images.shape[1])
    p = counts[counts > 0] / max(n, 1)
    entropy = (
        float(-(p * np.log(p)).sum() / math.log(n_classes)) if n_classes > 1 else 1.0
    )
    x = images.double() / 255.0  # [m, C, r, r]
    m, c = x.shape[0], x.shape[1]
    per_channel = x.transpose(0, 1).reshape(c, -1)
    lum = x.mean(dim=1)
    if resolution > 1:
        dx = (lum[:, :, 1:] - lum[:, :, :-1]).abs().mean()
        dy = (lum[:, 1:, :] - lum[:, :-1, :]).abs().mean()
        edge = float(0.5 * (dx + dy))
    else:
        edge = 0.0
    hw, gray = native_hw, native_gray
    native = float(hw.mean()) if hw is not None and len(hw) else float(resolution)
    return {
        "n_images": int(n),
        "n_classes": int(n_classes),
        "images_per_class_min": int(counts.min()),
        "images_per_class_mean": float(counts.mean()),
        "images_per_class_max": int(counts.max()),
        "class_balance": float(counts.min() / counts.max()) if counts.max() > 0 else 0.0,
        "class_entropy": min(1.0, max(0.0, entropy)),
        "resolution": resolution,
        "channels": channels,
        "native_resolution_mean": native,
        "is_grayscale": 1.0 if gray is not None and len(gray) and gray.mean() > 0.5 else 0.0,
        "channel_mean": [float(v) for v in per_channel.mean(dim=1)],
        "channel_std": [float(v) for v in per_channel.std(dim=1, unbiased=False)],
        "mean_pixel_std_within_image": float(
            x.reshape(m, c, -1).std(dim=2, unbiased=False).mean()
        ),
        "edge_density": edge,
    }

"""The shifted evaluation split: a task's test images under a fixed, seeded corruption, so that robustness
(out-of-distribution accuracy) is measured beside the in-distribution test accuracy.

Each image gets one of four corruptions, drawn from a generator seeded with :data:`SHIFT_SEED` (the same
images get the same corruption in every run and on every machine): Gaussian noise (sigma 0.1 of the
pixel range), a Gaussian blur (sigma 1 pixel per 32 pixels of resolution), lowered contrast (x0.4 around
the image mean) or a colour shift (per-channel gains in [0.6, 1.4] and an offset in [-0.15, 0.15]; for
grey images a brightness shift).

    >>> import torch
    >>> x = torch.full((8, 3, 16, 16), 128, dtype=torch.uint8)
    >>> y = shifted_images(x)
    >>> y.shape == x.shape, y.dtype, bool((y != x).any()), torch.equal(y, shifted_images(x))
    (True, torch.uint8, True, True)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CORRUPTIONS", "SHIFT_SEED", "shifted_images"]

#: the corruptions, in the order of their codes
CORRUPTIONS = ("noise", "blur", "contrast", "colour")
#: the seed of the shifted split (fixed: every run sees the same shifted images)
SHIFT_SEED = 20200613


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def shifted_images(images: torch.Tensor, seed: int = SHIFT_SEED) -> torch.Tensor:
    """The corrupted copy of uint8 images ``[N, C, H, W]`` (uint8, same shape); image ``i``'s corruption
    depends only on ``seed``, ``i`` and ``N``."""
    n, c, h, _w = images.shape
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, len(CORRUPTIONS), n)
    gains = rng.uniform(0.6, 1.4, (n, c))
    offsets = rng.uniform(-0.15, 0.15, n)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=gen)
    x = images.detach().cpu().float().div(255)
    out = x.clone()
    kinds_t = torch.as_tensor(kinds)
    for code, name in enumerate(CORRUPTIONS):
        idx = torch.nonzero(kinds_t == code).flatten()
        if not len(idx):
            continue
        part = x[idx]
        if name == "noise":
            part = part + 0.1 * noise[idx]
        elif name == "blur":
            part = _blur(part, max(0.5, h / 32))
        elif name == "contrast":
            mean = part.mean(dim=(1, 2, 3), keepdim=True)
            part = (part - mean) * 0.4 + mean
        else:
            gain = torch.as_tensor(gains[idx.numpy()], dtype=torch.float32).view(-1, c, 1, 1)
            off = torch.as_tensor(offsets[idx.numpy()], dtype=torch.float32).view(-1, 1, 1, 1)
            part = part * (gain if c > 1 else 1.0) + off
        out[idx] = part
    return out.clamp_(0, 1).mul_(255).round_().to(torch.uint8)

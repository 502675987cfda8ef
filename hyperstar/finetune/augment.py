"""Training-time augmentation on the device: random translation, colour jitter and flips.

All randomness comes from the run's CPU generator, and every random number is drawn whether it is
used or not, so CPU and GPU runs see the same draws and a resumed run continues the same stream.

    >>> import torch
    >>> x = torch.rand(4, 3, 8, 8)
    >>> y = augment(x, {"augment": 0.5, "hflip": "yes"}, torch.Generator().manual_seed(0))
    >>> y.shape, bool(y.min() >= 0 and y.max() <= 1)
    (torch.Size([4, 3, 8, 8]), True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["augment"]


def augment(x: torch.Tensor, config: Mapping[str, Any], gen: torch.Generator) -> torch.Tensor:
    """Random translation, colour jitter and flips on a float batch in [0, 1].

    ``config["augment"]`` (0..1) scales the translation (up to 1/8 of the image side) and the
    jitter; ``config["hflip"] == "yes"`` flips half of the images. ``gen`` is a CPU generator.
    """
    b, _, h, w = x.shape
    strength = float(config.get("augment", 0.0))
    flip = config.get("hflip", "no") == "yes"
    # Draw every random number, used or not, so the stream does not depend on the device.
    shift = max(0, round(strength * min(h, w) / 8))
    dy = torch.randint(-shift, shift + 1, (b,), generator=gen)
    dx = torch.randint(-shift, shift + 1, (b,), generator=gen)
    bright = (torch.rand(b, generator=gen) * 2 - 1) * 0.4 * strength
    contrast = 1 + (torch.rand(b, generator=gen) * 2 - 1) * 0.4 * strength
    flips = torch.rand(b, generator=gen) < 0.5
    dev = x.device
    if dev.type == "cuda":  # one pinned, asynchronous copy of the draws, not five blocking ones per batch
        draws = torch.stack([dy.float(), dx.float(), bright, contrast, flips.float()]).pin_memory()
        dy, dx, bright, contrast, flips = draws.to(dev, non_blocking=True).unbind(0)
        dy, dx, flips = dy.long(), dx.long(), flips.bool()
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
        rows = torch.arange(h, device=dev)[None, :] + shift + dy[:, None]
        cols = torch.arange(w, device=dev)[None, :] + shift + dx[:, None]
        bidx = torch.arange(b, device=dev)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if strength > 0:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast.to(dev).view(-1, 1, 1, 1) + mean + bright.to(dev).view(-1, 1, 1, 1)
        x = x.clamp(0.0, 1.0)
    if flip:
        x = torch.where(flips.to(dev).view(-1, 1, 1, 1), x.flip(-1), x)
    return x.contiguous()

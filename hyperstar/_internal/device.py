"""``device="auto"`` and the GPUs a run may use (torch is imported on first use only)."""

from __future__ import annotations

import os
from typing import Any

from hyperstar.exceptions import InvalidInputError


def resolve_device(device: Any = "auto"):
    """``"auto"``: CUDA when present, else CPU. Anything else is checked and returned as a ``torch.device``."""
    import torch

    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"Unknown device {device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"Device {device!r} was asked for but CUDA is not available here. Use device='auto' or 'cpu'.")
    return dev


def gpu_ids(device: str) -> list[str]:
    """The GPU ids one worker each should get (``CUDA_VISIBLE_DEVICES`` respected); none for CPU devices."""
    if device not in ("auto", "cuda"):
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [v.strip() for v in visible.split(",") if v.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]

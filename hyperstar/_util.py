"""Small helpers shared by several modules (no hyperstar imports: safe to use from anywhere)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_safe(obj: Any) -> Any:
    """``obj`` with numpy scalars made plain and non-finite floats replaced by ``None`` (strict JSON)."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def as_float(value: Any) -> float:
    """A descriptor value as a float: lists (per-channel statistics) become their mean; junk is NaN."""
    if isinstance(value, (list, tuple)):
        return float(np.mean(value)) if len(value) else float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

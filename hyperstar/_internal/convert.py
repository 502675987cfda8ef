"""Plain Python types out of numpy (for strict JSON, Pyro's serpent and ConfigSpace)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """A numpy scalar (or 0-d array) as the matching Python scalar; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def plain_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping with ``str`` keys and :func:`plain` values."""
    return {str(k): plain(v) for k, v in values.items()}


def json_safe(obj: Any, *, unknown: Callable[[Any], Any] | None = None) -> Any:
    """``obj`` made strict-JSON-safe: numpy to Python, tuples to lists, mapping keys to ``str``, arrays to
    lists, paths to ``str``, non-finite floats to ``None``. Other objects are returned unchanged, or as
    ``unknown(obj)`` when given (``unknown=repr`` makes anything safe to send, e.g. through Pyro)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, unknown=unknown) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, unknown=unknown) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist() if obj.ndim else obj.item(), unknown=unknown)
    obj = plain(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, PurePath):
        return str(obj)
    return unknown(obj) if unknown is not None else obj


def as_float(value: Any) -> float:
    """A descriptor value as a float: lists (per-channel statistics) become their mean; junk is NaN."""
    if isinstance(value, (list, tuple)):
        return float(np.mean(value)) if len(value) else float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

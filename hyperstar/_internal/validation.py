"""Argument checks that raise the one error template: what was wrong, what was got, what to do.

    >>> check_int(3, "k", "recommend", 1, 500)
    3
    >>> check_int(0, "k", "recommend", 1, 500)
    Traceback (most recent call last):
    ...
    hyperstar.exceptions.InvalidInputError: The 'k' argument of recommend must be an int in [1, 500]. Got 0.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from hyperstar.exceptions import InvalidInputError


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def check_int(value: Any, arg: str, where: str, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) in ``[low, high]``; else a clear error."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        raise InvalidInputError(f"The '{arg}' argument of {where} must be an int{_range(low, high)}. Got {value!r}.")
    return int(value)


def check_float(value: Any, arg: str, where: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``); else a clear error."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (low is None or (v > low if low_open else v >= low)) and (high is None or v <= high)
    if not ok:
        rng = f" in ({low}, {high}]" if low_open and high is not None else (
            f" > {low}" if low_open else _range(low, high))
        raise InvalidInputError(f"The '{arg}' argument of {where} must be a finite number{rng}. Got {value!r}.")
    return float(value)


def check_choice(value: Any, arg: str, where: str, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``; else a clear error listing them."""
    if isinstance(value, bool) or value not in choices:
        raise InvalidInputError(
            f"The '{arg}' argument of {where} must be one of {', '.join(map(repr, choices))}. Got {value!r}."
        )
    return value


#: the largest seed: numpy's ``RandomState`` (which hpbandster and the generators use) takes 32 bits
MAX_SEED = 2**32 - 1


def check_seed(seed: Any, where: str) -> int:
    """A seed: an int in [0, 2**32 - 1]."""
    return check_int(seed, "seed", where, 0, MAX_SEED)

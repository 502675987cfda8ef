"""The learning-rate schedule, defined over a fixed horizon (``max_budget`` epochs), never over the
budget: a run to budget ``b`` is exactly the first ``b`` epochs of the run to the horizon.

    >>> lr_multiplier({"lr_schedule": "cosine"}, 50, 100)
    0.5
    >>> [round(lr_multiplier({"lr_schedule": "step"}, s, 100), 6) for s in (0, 50, 75)]
    [1.0, 0.1, 0.01]
    >>> lr_multiplier({"warmup": "linear"}, 0, 100)
    0.1
    >>> steps_per_epoch(33, 16)   # the last batch of one image is dropped
    2
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["STEP_MILESTONES", "WARMUP_FRACTION", "drops_last_image", "lr_multiplier", "steps_per_epoch"]

#: Linear warm-up lasts this fraction of the horizon's steps (at least one step).
WARMUP_FRACTION = 0.1
#: The "step" schedule multiplies the rate by 0.1 at these fractions of the horizon.
STEP_MILESTONES = (0.5, 0.75)


def lr_multiplier(config: Mapping[str, Any], step: int, total_steps: int) -> float:
    """The schedule's factor on the base learning rate at optimiser step ``step`` (0-based).

    It depends only on the step and the horizon's total steps, never on the budget.
    """
    total = max(int(total_steps), 1)
    t = min(step, total - 1)
    factor = 1.0
    schedule = config.get("lr_schedule", "constant")
    if schedule == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * t / total))
    elif schedule == "step":
        factor = 0.1 ** sum(t >= m * total for m in STEP_MILESTONES)
    if config.get("warmup", "none") == "linear":
        warm = max(1, math.ceil(WARMUP_FRACTION * total))
        if t < warm:
            factor *= (t + 1) / warm
    return factor


def drops_last_image(n_train: int, batch_size: int) -> bool:
    """Whether an epoch drops its last training image: a batch of one breaks BatchNorm (the same
    image every epoch, since the order is drawn from the run's generator)."""
    return n_train % batch_size == 1 and n_train > 1


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps in one epoch over ``n_train`` images (at least one)."""
    return max(1, math.ceil(n_train / batch_size) - int(drops_last_image(n_train, batch_size)))

"""The learning-rate schedule, defined over a fixed horizon (``max_budget`` epochs), never over the
budget: a run to budget ``b`` is exactly the first ``b`` epochs of the run to the horizon.

    >>> lr_multiplier({"lr_schedule": "cosine"}, 50, 100)
    0.5
    >>> [round(lr_multiplier({"lr_schedule": "step"}, s, 100), 6) for s in (0, 50, 75)]
    [1.0, 0.1, 0.01]
    >>> lr_multiplier({"warmup": "linear"}, 0, 100)
    0.1
    >>> [round(lr_multiplier({"lr_schedule": "slanted_triangular"}, s, 100), 4) for s in (0, 10, 55, 99)]
    [0.0312, 1.0, 0.5156, 0.042]
    >>> [unfrozen_groups({"unfreeze": "gradual"}, e, 4) for e in range(6)]
    [1, 2, 3, 4, 4, 4]
    >>> steps_per_epoch(33, 16)   # the last batch of one image is dropped
    2
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["STEP_MILESTONES", "WARMUP_FRACTION", "STLR_CUT_FRACTION", "STLR_RATIO", "drops_last_image",
           "lr_multiplier", "steps_per_epoch", "unfrozen_groups"]

#: Linear warm-up lasts this fraction of the horizon's steps (at least one step).
WARMUP_FRACTION = 0.1
#: The "step" schedule multiplies the rate by 0.1 at these fractions of the horizon.
STEP_MILESTONES = (0.5, 0.75)
#: ULMFiT's slanted triangular schedule (Howard & Ruder 2018, eq. 3): the rate rises linearly over this
#: fraction of the horizon's steps, then decays linearly; it runs from lr / STLR_RATIO up to lr and back.
STLR_CUT_FRACTION = 0.1
STLR_RATIO = 32.0


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
    elif schedule == "slanted_triangular":
        cut = max(1, math.floor(total * STLR_CUT_FRACTION))
        p = t / cut if t < cut else 1.0 - (t - cut) / max(total - cut, 1)
        factor = (1.0 + p * (STLR_RATIO - 1.0)) / STLR_RATIO
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


def unfrozen_groups(config: Mapping[str, Any], epoch: int, n_groups: int) -> int:
    """How many layer groups (from the head) train in epoch ``epoch`` (0-based): all of them, or with
    ``unfreeze="gradual"`` (ULMFiT) one more each epoch: the head alone first. It depends only on the
    epoch, never on the budget, so a run to budget ``b`` is the first ``b`` epochs of the longer run."""
    if config.get("unfreeze", "off") != "gradual":
        return n_groups
    return min(n_groups, int(epoch) + 1)

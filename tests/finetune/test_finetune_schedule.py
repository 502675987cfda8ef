"""Tests for hyperstar.finetune.schedule: the schedule is defined on the horizon, so a budget is a prefix of it."""

import pytest
from tiny_runs import FAST, TINY, curve_values

from hyperstar.finetune import fine_tune, lr_multiplier
from hyperstar.finetune.schedule import drops_last_image, steps_per_epoch


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_budget_b_is_the_prefix_of_the_horizon_run(tiny_task, schedule):
    config = {**FAST, "lr_schedule": schedule, "warmup": "linear"}
    short = fine_tune(tiny_task, config, budget=2, max_budget=4, seed=0, **TINY)
    full = fine_tune(tiny_task, config, budget=4, max_budget=4, seed=0, **TINY)
    assert curve_values(short) == curve_values(full)[:2]


def test_schedule_is_defined_on_the_horizon():
    cos = {"lr_schedule": "cosine"}
    assert lr_multiplier(cos, 0, 100) == 1.0
    assert lr_multiplier(cos, 50, 100) == pytest.approx(0.5)
    step = {"lr_schedule": "step"}
    assert [lr_multiplier(step, s, 100) for s in (0, 49, 50, 75)] == pytest.approx([1, 1, 0.1, 0.01])
    warm = {"lr_schedule": "constant", "warmup": "linear"}
    assert lr_multiplier(warm, 0, 100) == pytest.approx(0.1) and lr_multiplier(warm, 10, 100) == 1.0


def test_steps_per_epoch_drops_a_last_batch_of_one():
    assert steps_per_epoch(32, 16) == 2 and steps_per_epoch(31, 16) == 2
    assert steps_per_epoch(33, 16) == 2 and drops_last_image(33, 16)
    assert steps_per_epoch(1, 16) == 1 and not drops_last_image(1, 16)
    assert steps_per_epoch(17, 1) == 17 and not drops_last_image(17, 1)

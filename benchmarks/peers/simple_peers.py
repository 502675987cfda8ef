"""The searches people run without a tuning library: a grid over the main axes, and random search in the
real space (its proposals mapped onto the stored configurations like every peer's, the control that shows
what the mapping itself does: compare it with hpbandster's random search over the stored configurations)."""

from __future__ import annotations

import math
from itertools import product

import numpy as np

#: learning rates nearest the common default (0.01) first, then outwards; per rate SGD then AdamW, and the
#: training modes from the most to the least trained. Other hyperparameters keep the space's defaults.
GRID_LRS = (1e-2, 1e-3, 1e-1, 1e-4, 1.0, 1e-5, 10.0)
GRID_OPTIMIZERS = ("sgd", "adamw")
GRID_MODES = ("full", "last_block", "linear_probe", "bitfit")


def grid_points(space) -> list[dict]:
    base = dict(space.get_default_configuration())
    return [{**base, "lr": lr, "optimizer": opt, "train_mode": mode}
            for lr, opt, mode in product(GRID_LRS, GRID_OPTIMIZERS, GRID_MODES)]


def _main_axes(config: dict) -> np.ndarray:
    return np.array([math.log10(float(config["lr"])), config["optimizer"] == "adamw",
                     *[config["train_mode"] == m for m in GRID_MODES]], dtype=float)


def grid_indices(meta) -> list[int]:
    """The stored configuration standing for each grid point, in grid order: the nearest on the main axes
    (log10 learning rate, optimizer, training mode; a training-mode or optimizer mismatch counts as 1, like a
    decade of learning rate) among those not yet taken, so the grid never trains one configuration twice.
    Mapping on the main axes only (not the whole encoding) keeps the grid a grid on a 97-configuration table,
    where the whole-encoding nearest neighbour of most grid points is the common-practice default."""
    stored = np.stack([_main_axes(c) for c in meta.configs])
    taken: set[int] = set()
    out = []
    for point in grid_points(meta.space):
        d = np.abs(stored - _main_axes(point)).sum(axis=1)
        d[list(taken)] = np.inf
        i = int(np.argmin(d))
        taken.add(i)
        out.append(i)
    return out


def run_grid(oracle, seed: int) -> dict:
    """Every grid point trained to the maximum budget, in grid order, until the budget is spent. The grid is
    deterministic: its runs are the same for every seed."""
    order = grid_indices(oracle.meta)
    n = 0
    for i in order:
        if oracle.done:
            break
        oracle.evaluate_index(i, oracle.max_budget)
        n += 1
    return {"grid_points_run": n, "grid_size": len(order)}


def run_random_mapped(oracle, seed: int) -> dict:
    oracle.space.seed(int(seed))
    while not oracle.done:
        oracle.evaluate(dict(oracle.space.sample_configuration()), oracle.max_budget)
    return {}

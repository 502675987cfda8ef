"""Objectives of the optimize tests, importable by worker processes (they import them by 'module:function')."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer


def forest_like_space(seed: int = 0) -> ConfigurationSpace:
    """Integer, conditional and categorical hyperparameters, no 'lr'."""
    cs = ConfigurationSpace(seed=seed)
    mode = Categorical("depth_mode", ["auto", "fixed"], default="auto")
    depth = Integer("max_depth", (2, 30), default=8)
    cs.add([Integer("n_trees", (10, 500), log=True, default=100), mode, depth, Float("max_features", (0.1, 1.0)),
            EqualsCondition(depth, mode, "fixed")])
    return cs


def score(config, budget, *, checkpoint_dir, previous_checkpoint):
    """A smooth function of the configuration that grows with the budget; fails for max_features > 0.9.

    Writes what it has 'trained' to its checkpoint folder and reads the previous one (the contract)."""
    if config["max_features"] > 0.9:
        raise ValueError("max_features above 0.9 is not allowed here")
    done = 0.0
    if previous_checkpoint is not None:
        done = json.loads((Path(previous_checkpoint) / "state.json").read_text())["budget"]
    (Path(checkpoint_dir) / "state.json").write_text(json.dumps({"budget": budget, "continued_from": done}))
    delay = float(os.environ.get("HYPERSTAR_TEST_OBJECTIVE_DELAY", "0"))
    if delay:
        time.sleep(delay * (budget - done))
    depth = config.get("max_depth", 12)
    acc = 0.9 - 0.3 * abs(config["max_features"] - 0.4) - 0.002 * abs(depth - 12) - 0.05 / budget
    return {"accuracy": acc, "info": {"continued_from": done, "pid": os.getpid()}}

"""A user's own ConfigSpace space (integer, constant, conditional, forbidden; no ``lr``): validation,
sampling and encoding work on it as on the default space (issue 18)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    Float,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    Integer,
)

from hyperstar.exceptions import ConfigurationError
from hyperstar.space import encode, feature_names, sample_configurations, validate_configuration


@pytest.fixture
def forest_space():
    cs = ConfigurationSpace(seed=0)
    depth_mode = Categorical("depth_mode", ["auto", "fixed"], default="auto")
    max_depth = Integer("max_depth", (2, 30), default=8)
    criterion = Categorical("criterion", ["gini", "entropy"], default="gini")
    cs.add([Integer("n_trees", (10, 500), log=True, default=100), depth_mode, max_depth,
            Float("max_features", (0.1, 1.0), default=0.5), criterion, Constant("bootstrap", "yes"),
            EqualsCondition(max_depth, depth_mode, "fixed")])
    cs.add(ForbiddenAndConjunction(ForbiddenEqualsClause(depth_mode, "fixed"), ForbiddenEqualsClause(criterion, "entropy")))
    return cs


def test_validation_knows_integers_constants_conditions_and_forbidden_clauses(forest_space):
    ok = validate_configuration({"n_trees": 50.0, "depth_mode": "fixed", "max_depth": 5}, forest_space)
    assert ok == {"bootstrap": "yes", "criterion": "gini", "depth_mode": "fixed", "max_depth": 5,
                  "max_features": 0.5, "n_trees": 50} and type(ok["n_trees"]) is int
    assert "max_depth" not in validate_configuration({"depth_mode": "auto"}, forest_space)  # inactive: dropped
    for bad, message in [({"n_trees": 5}, "integer in [10, 500] (log scale). Got 5"),
                         ({"n_trees": 50.5}, "Got 50.5"), ({"n_trees": True}, "Got True"),
                         ({"bootstrap": "no"}, "constant 'yes'"),
                         ({"depth_mode": "fixed", "criterion": "entropy"}, "forbidden")]:
        with pytest.raises(ConfigurationError, match=re.escape(message)):
            validate_configuration(bad, forest_space)


def test_sampling_and_encoding_work_without_lr(forest_space):
    configs = sample_configurations(forest_space, n=16, seed=0)
    assert all(validate_configuration(c, forest_space) == c for c in configs)
    names = feature_names(forest_space)
    assert names == ["criterion=entropy", "criterion=gini", "depth_mode=auto", "depth_mode=fixed", "max_features",
                     "n_trees", "max_depth", "max_depth:active"] or set(names) >= {"n_trees", "max_depth:active"}
    assert not any("lr" in n for n in names)  # derived learning-rate features need lr: absent here
    X = encode(configs, forest_space)
    assert X.shape == (16, len(names)) and np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    fixed = [c for c in configs if c["depth_mode"] == "fixed"]
    col = names.index("max_depth:active")
    assert all(row[col] == (1.0 if c["depth_mode"] == "fixed" else 0.0) for row, c in zip(X, configs))
    assert fixed  # the sample covers the conditional branch


def test_the_default_space_keeps_its_derived_features():
    names = feature_names()
    assert names[-4:] == ["log_effective_lr", "log_effective_weight_decay", "log_l2sp", "log_effective_lr_x_batch"]

"""Configuration -> fixed-length vector encoding (the configuration encoder's input).

    >>> from hyperstar.space import default_configuration, encode, feature_names
    >>> encode(default_configuration()).shape == (1, len(feature_names()))
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, OrdinalHyperparameter
from ConfigSpace.hyperparameters import Constant

from hyperstar._internal.convert import plain
from hyperstar.space.default import default_space, effective_learning_rate, validate_configuration

__all__ = ["encode", "feature_names", "DERIVED_FEATURES"]


#: derived features: (name, the hyperparameters they need, the function of a configuration, scaled to about
#: [0, 1]). A space without all of them (a user's own space) simply has no such column.
def _log_lr_eff(c: Mapping[str, Any]) -> float:  # lr_eff in [1e-5, 1e3]
    return (math.log10(effective_learning_rate(c)) + 5.0) / 8.0


def _log_wd(c: Mapping[str, Any]) -> float:  # in [1e-7, 1]; 0 when off
    wd = float(c.get("weight_decay", 0.0)) if c.get("use_weight_decay") == "yes" else 0.0
    return (math.log10(max(wd, 1e-7)) + 7.0) / 5.0


def _log_l2sp(c: Mapping[str, Any]) -> float:
    l2sp = float(c.get("l2sp_strength", 0.0)) if c.get("use_l2sp") == "yes" else 0.0
    return (math.log10(max(l2sp, 1e-7)) + 7.0) / 6.0


def _log_lr_per_sample(c: Mapping[str, Any]) -> float:
    return (math.log10(effective_learning_rate(c) / float(c["batch_size"])) + 7.5) / 9.5


DERIVED_FEATURES: tuple[tuple[str, frozenset[str], Callable[[Mapping[str, Any]], float]], ...] = (
    ("log_effective_lr", frozenset({"lr"}), _log_lr_eff),
    ("log_effective_weight_decay", frozenset({"weight_decay", "use_weight_decay"}), _log_wd),
    ("log_l2sp", frozenset({"l2sp_strength", "use_l2sp"}), _log_l2sp),
    ("log_effective_lr_x_batch", frozenset({"lr", "batch_size"}), _log_lr_per_sample),
)


def _derived(space: ConfigurationSpace) -> list[tuple[str, Callable[[Mapping[str, Any]], float]]]:
    names = set(space.keys())
    return [(name, fn) for name, needs, fn in DERIVED_FEATURES if needs <= names]


def _unit(value: float, hp) -> float:
    lower, upper = float(hp.lower), float(hp.upper)
    if upper <= lower:
        return 0.0
    if hp.log:
        return (math.log(value) - math.log(lower)) / (math.log(upper) - math.log(lower))
    return (value - lower) / (upper - lower)


def _conditional_names(space: ConfigurationSpace) -> set[str]:
    return {c.child.name for c in space.conditions}


def feature_names(space: ConfigurationSpace | None = None) -> list[str]:
    """Names of the columns of :func:`encode`'s output."""
    space = space or default_space()
    names: list[str] = []
    conditional = _conditional_names(space)
    for hp in space.values():
        if isinstance(hp, Constant):
            continue
        if isinstance(hp, CategoricalHyperparameter):
            names += [f"{hp.name}={plain(c)}" for c in hp.choices]
        else:
            names.append(hp.name)
            if hp.name in conditional:
                names.append(f"{hp.name}:active")
    names += [name for name, _ in _derived(space)]
    return names


def encode(configs: Mapping[str, Any] | Iterable[Mapping[str, Any]], space: ConfigurationSpace | None = None) -> np.ndarray:
    """Fixed-length numeric vectors for configurations (float32, shape [n, len(feature_names())]).

    Numerics (float and integer) are scaled to [0, 1] (log-scaled where the space is log), ordinals
    by rank, categoricals one-hot, constants not at all. An inactive numeric encodes as 0 with its
    ``:active`` flag 0; an inactive categorical is all zeros. Derived features, scaled to about
    [0, 1], where the space has what they need (:data:`DERIVED_FEATURES`): the effective learning
    rate lr/(1-momentum), the effective weight decay (0 when off), the L2-SP strength (0 when off)
    and the effective learning rate per sample (lr_eff / batch size). Any ConfigSpace space works;
    a space without ``lr`` has no learning-rate features.
    """
    space = space or default_space()
    single = isinstance(configs, Mapping)
    config_list = [configs] if single else list(configs)
    conditional = _conditional_names(space)
    derived = _derived(space)
    rows = []
    for config in config_list:
        config = validate_configuration(config, space)
        row: list[float] = []
        for hp in space.values():
            if isinstance(hp, Constant):
                continue
            value = config.get(hp.name)
            if isinstance(hp, CategoricalHyperparameter):
                row += [1.0 if value is not None and plain(c) == value else 0.0 for c in hp.choices]
                continue
            if isinstance(hp, OrdinalHyperparameter):
                seq = [plain(s) for s in hp.sequence]
                row.append(0.0 if value is None else seq.index(value) / max(len(seq) - 1, 1))
            else:
                row.append(0.0 if value is None else _unit(float(value), hp))
            if hp.name in conditional:
                row.append(0.0 if value is None else 1.0)
        row += [fn(config) for _, fn in derived]
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)

"""Configuration -> fixed-length vector encoding (the configuration encoder's input).

    >>> from hyperstar.space import default_configuration, encode, feature_names
    >>> encode(default_configuration()).shape == (1, len(feature_names()))
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from ConfigSpace import CategoricalHyperparameter, ConfigurationSpace, OrdinalHyperparameter, UniformFloatHyperparameter

from hyperstar._internal.convert import plain
from hyperstar.space.default import default_space, effective_learning_rate, validate_configuration

__all__ = ["encode", "feature_names"]


def _unit(value: float, hp: UniformFloatHyperparameter) -> float:
    if hp.log:
        return (math.log(value) - math.log(hp.lower)) / (math.log(hp.upper) - math.log(hp.lower))
    return (value - hp.lower) / (hp.upper - hp.lower)


def _conditional_names(space: ConfigurationSpace) -> set[str]:
    return {c.child.name for c in space.conditions}


def feature_names(space: ConfigurationSpace | None = None) -> list[str]:
    """Names of the columns of :func:`encode`'s output."""
    space = space or default_space()
    names: list[str] = []
    conditional = _conditional_names(space)
    for hp in space.values():
        if isinstance(hp, CategoricalHyperparameter):
            names += [f"{hp.name}={plain(c)}" for c in hp.choices]
        else:
            names.append(hp.name)
            if hp.name in conditional:
                names.append(f"{hp.name}:active")
    names += ["log_effective_lr", "log_effective_weight_decay", "log_l2sp", "log_effective_lr_x_batch"]
    return names


def encode(configs: Mapping[str, Any] | Iterable[Mapping[str, Any]], space: ConfigurationSpace | None = None) -> np.ndarray:
    """Fixed-length numeric vectors for configurations (float32, shape [n, len(feature_names())]).

    Numerics are scaled to [0, 1] (log-scaled where the space is log), ordinals by rank,
    categoricals one-hot. An inactive numeric encodes as 0 with its ``:active`` flag 0; an
    inactive categorical is all zeros. Derived features, scaled to about [0, 1]: the effective
    learning rate lr/(1-momentum), the effective weight decay (0 when off), the L2-SP strength
    (0 when off) and the effective learning rate per sample (lr_eff / batch size).
    """
    space = space or default_space()
    single = isinstance(configs, Mapping)
    config_list = [configs] if single else list(configs)
    conditional = _conditional_names(space)
    rows = []
    for config in config_list:
        config = validate_configuration(config, space)
        row: list[float] = []
        for hp in space.values():
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
        lr_eff = effective_learning_rate(config)
        wd = float(config.get("weight_decay", 0.0)) if config.get("use_weight_decay") == "yes" else 0.0
        l2sp = float(config.get("l2sp_strength", 0.0)) if config.get("use_l2sp") == "yes" else 0.0
        batch = float(config.get("batch_size", 64))
        # log10 ranges chosen to cover the space: lr_eff in [1e-5, 1e3], wd/l2sp in [1e-7, 1].
        row.append((math.log10(lr_eff) + 5.0) / 8.0)
        row.append((math.log10(max(wd, 1e-7)) + 7.0) / 5.0)
        row.append((math.log10(max(l2sp, 1e-7)) + 7.0) / 6.0)
        row.append((math.log10(lr_eff / batch) + 7.5) / 9.5)
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)

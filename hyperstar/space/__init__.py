"""The fine-tuning search space: the default space, validation and sampling (``default``), the
configuration -> vector encoding (``encoding``), and exports of recommendations to Optuna, Ray Tune,
SMAC3 and NePS (``export``).

A configuration is a plain ``dict`` of Python scalars (``str``, ``int``, ``float``) holding only
the hyperparameters that are active for it. Every value that leaves this package is a plain
Python type: ConfigSpace hands out ``numpy.str_`` / ``numpy.float64``, which break JSON and
hpbandster's Pyro transport (see DESIGN.md, section 2).

Example::

    >>> from hyperstar.space import default_space, sample_configurations, encode
    >>> space = default_space()
    >>> configs = sample_configurations(space, n=8, seed=0)
    >>> encode(configs).shape[0]
    8
"""

from hyperstar.space.default import (
    DEFAULT_CONFIG,
    LAYERED_MODES,
    SPACE_VERSION,
    TECHNIQUE_DEFAULTS,
    TRAIN_MODES,
    as_configuration,
    complete_configuration,
    config_from_json,
    config_key,
    config_to_json,
    default_configuration,
    default_space,
    effective_learning_rate,
    sample_configurations,
    validate_configuration,
)
from hyperstar.space.encoding import encode, feature_names
from hyperstar.space.serialize import load_space, same_space, space_from_json, space_to_json
from hyperstar.space.export import (
    active_values,
    describe_space,
    enqueue_in_optuna,
    neps_prior,
    optuna_distributions,
    optuna_suggest,
    ray_points_to_evaluate,
    ray_search_space,
    smac_initial_design,
)

__all__ = [
    "DEFAULT_CONFIG",
    "LAYERED_MODES",
    "SPACE_VERSION",
    "TECHNIQUE_DEFAULTS",
    "TRAIN_MODES",
    "default_space",
    "default_configuration",
    "sample_configurations",
    "validate_configuration",
    "complete_configuration",
    "effective_learning_rate",
    "as_configuration",
    "encode",
    "feature_names",
    "config_to_json",
    "config_from_json",
    "config_key",
    "space_to_json",
    "space_from_json",
    "load_space",
    "same_space",
    "active_values",
    "describe_space",
    "enqueue_in_optuna",
    "optuna_distributions",
    "optuna_suggest",
    "ray_points_to_evaluate",
    "ray_search_space",
    "smac_initial_design",
    "neps_prior",
]

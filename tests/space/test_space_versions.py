"""The search space's versions: version 2 adds the fine-tuning techniques with exact conditions; version 1 (meta-data
v1's and the recommender fitted on it) is unchanged; a configuration without the new keys reads as "off"."""

import warnings

import pytest

from hyperstar.exceptions import ConfigurationError, InvalidInputError
from hyperstar.space import (
    TECHNIQUE_DEFAULTS,
    default_space,
    encode,
    feature_names,
    sample_configurations,
    validate_configuration,
)

#: the encoding of version 1 (the recommender fitted on meta-data v1 ranks over it), column by column
V1_FEATURES = [
    "augment", "batch_size", "hflip=yes", "hflip=no", "label_smoothing", "lr", "lr_schedule=constant",
    "lr_schedule=cosine", "lr_schedule=step", "optimizer=sgd", "optimizer=adamw", "train_mode=full",
    "train_mode=last_block", "train_mode=linear_probe", "train_mode=bitfit", "use_weight_decay=yes",
    "use_weight_decay=no", "warmup=none", "warmup=linear", "momentum", "momentum:active", "use_l2sp=yes",
    "use_l2sp=no", "weight_decay", "weight_decay:active", "l2sp_strength", "l2sp_strength:active",
    "log_effective_lr", "log_effective_weight_decay", "log_l2sp", "log_effective_lr_x_batch",
]


def test_version_one_is_the_space_before_the_techniques():
    v1 = default_space(version=1)
    assert "layer_lr_decay" not in v1 and "unfreeze" not in v1
    assert "slanted_triangular" not in v1["lr_schedule"].choices
    assert feature_names(v1) == V1_FEATURES


def test_version_two_has_the_techniques_and_the_encoding_covers_them():
    names = feature_names(default_space())
    for col in ("layer_lr_decay", "layer_lr_decay:active", "unfreeze=off", "unfreeze=gradual",
                "lr_schedule=slanted_triangular"):
        assert col in names
    a = encode({"layer_lr_decay": 0.5})
    b = encode({})
    assert (a != b).any()
    with pytest.raises(InvalidInputError, match="version must be one of"):
        default_space(version=3)


def test_a_configuration_without_the_new_keys_reads_as_off():
    config = validate_configuration({"lr": 0.1})
    assert {k: config[k] for k in TECHNIQUE_DEFAULTS} == TECHNIQUE_DEFAULTS
    v1_config = sample_configurations(default_space(version=1), n=4, seed=0)[0]
    assert validate_configuration(v1_config) == {**validate_configuration(v1_config), **TECHNIQUE_DEFAULTS}


@pytest.mark.parametrize("given, mode, active", [
    ({"layer_lr_decay": 0.5}, "linear_probe", False), ({"layer_lr_decay": 0.5}, "full", True),
    ({"layer_lr_decay": 0.5}, "last_block", True), ({"layer_lr_decay": 0.5}, "bitfit", True),
    ({"unfreeze": "gradual"}, "linear_probe", False), ({"unfreeze": "gradual"}, "bitfit", True),
])
def test_techniques_apply_only_where_more_than_the_head_trains(given, mode, active):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = validate_configuration({**given, "train_mode": mode})
    name = next(iter(given))
    assert (name in config) == active
    assert bool(caught) == (not active)
    if not active:
        assert "applies only when" in str(caught[0].message)


def test_warmup_is_inactive_for_the_slanted_triangular_schedule():
    assert "warmup" not in validate_configuration({"lr_schedule": "slanted_triangular"})
    assert validate_configuration({"lr_schedule": "cosine"})["warmup"] == "none"


@pytest.mark.parametrize("bad, fragment", [
    ({"layer_lr_decay": 1.5}, "'layer_lr_decay' must be in [0.25, 1]"),
    ({"layer_lr_decay": "half"}, "'layer_lr_decay' must be a number"),
    ({"unfreeze": "yes"}, "'unfreeze' must be one of ['off', 'gradual']"),
    ({"lr_schedule": "stlr"}, "'lr_schedule' must be one of"),
])
def test_bad_technique_values_are_one_line_errors(bad, fragment):
    with pytest.raises(ConfigurationError) as info:
        validate_configuration(bad)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_the_design_samples_the_techniques():
    configs = sample_configurations(n=64, seed=0)
    assert any(c.get("unfreeze") == "gradual" for c in configs)
    assert any(c["lr_schedule"] == "slanted_triangular" for c in configs)
    assert any(c.get("layer_lr_decay", 1.0) < 1.0 for c in configs)

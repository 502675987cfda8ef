import json

import numpy as np
import pytest

from hyperstar.exceptions import ConfigurationError, InvalidInputError
from hyperstar.space import (
    DEFAULT_CONFIG,
    config_from_json,
    config_key,
    config_to_json,
    default_configuration,
    default_space,
    effective_learning_rate,
    encode,
    feature_names,
    sample_configurations,
    validate_configuration,
)

PLAIN = (str, int, float)


def _all_plain(config):
    return all(type(v) in PLAIN for v in config.values()) and all(type(k) is str for k in config)


def test_space_covers_the_fine_tuning_hyperparameters():
    names = set(default_space().keys())
    for name in ["optimizer", "lr", "momentum", "weight_decay", "use_weight_decay", "batch_size", "lr_schedule",
                 "warmup", "train_mode", "use_l2sp", "l2sp_strength", "label_smoothing", "augment"]:
        assert name in names
    assert set(default_space()["train_mode"].choices) == {"full", "last_block", "linear_probe", "bitfit"}


def test_default_is_common_practice_and_plain():
    config = default_configuration()
    assert config == validate_configuration(DEFAULT_CONFIG)
    assert (config["optimizer"], config["lr"], config["momentum"], config["weight_decay"]) == ("sgd", 0.01, 0.9, 1e-4)
    assert _all_plain(config)


def test_design_is_seeded_space_filling_distinct_and_plain():
    a = sample_configurations(n=32, seed=3)
    b = sample_configurations(n=32, seed=3)
    c = sample_configurations(n=32, seed=4)
    assert a == b and a != c
    assert len({config_key(x) for x in a}) == 32
    assert all(_all_plain(x) for x in a)
    # Space-filling: every optimizer and train mode shows up, and learning rates span decades.
    assert {x["optimizer"] for x in a} == {"sgd", "adamw"}
    assert len({x["train_mode"] for x in a}) == 4
    lrs = np.log10([x["lr"] for x in a])
    assert lrs.max() - lrs.min() > 4


def test_conditional_hyperparameters_inactive_where_they_do_not_apply():
    for config in sample_configurations(n=64, seed=0):
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        assert ("weight_decay" in config) == (config["use_weight_decay"] == "yes")
        assert ("use_l2sp" in config) == (config["train_mode"] in ("full", "last_block"))
        assert ("l2sp_strength" in config) == (config.get("use_l2sp") == "yes")


def test_validation_fills_defaults_and_drops_inactive_with_a_one_line_warning():
    import warnings

    from hyperstar.exceptions import ConfigurationWarning

    with pytest.warns(ConfigurationWarning) as record:
        config = validate_configuration({"optimizer": "adamw", "lr": 0.001, "momentum": 0.5})
    assert "momentum" not in config and config["lr"] == 0.001
    assert [str(w.message) for w in record] == [
        "Hyperparameter 'momentum' applies only when optimizer == 'sgd' (here optimizer='adamw'); "
        "the value given for it is dropped."]
    with pytest.warns(ConfigurationWarning, match="'l2sp_strength' applies only when use_l2sp == 'yes' "
                                                  r"\(here use_l2sp is itself inactive\)"):
        validate_configuration({"train_mode": "linear_probe", "l2sp_strength": 0.01})
    with warnings.catch_warnings():  # values that apply, and defaults of inactive ones, pass silently
        warnings.simplefilter("error")
        assert validate_configuration({"batch_size": np.int64(32)})["batch_size"] == 32
        assert "momentum" not in validate_configuration({"optimizer": "adamw"})
        validate_configuration({"optimizer": "sgd", "momentum": 0.5, "use_weight_decay": "yes", "weight_decay": 1e-3})


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ({"lr": 100.0}, "'lr' must be in"),
        ({"lr": "fast"}, "'lr' must be a number"),
        ({"batch_size": 17}, "'batch_size' must be one of"),
        ({"optimizer": "lion"}, "'optimizer' must be one of"),
        ({"learning_rate": 0.1}, "Unknown hyperparameter"),
    ],
)
def test_invalid_configuration_has_a_clear_error(bad, fragment):
    with pytest.raises(ConfigurationError, match=fragment):
        validate_configuration(bad)


def test_encoding_fixed_length_bounded_and_distinguishes_configs():
    configs = sample_configurations(n=40, seed=1)
    x = encode(configs)
    assert x.shape == (40, len(feature_names())) and x.dtype == np.float32
    assert np.all(x >= -1e-6) and np.all(x <= 1 + 1e-6)
    assert len({row.tobytes() for row in x}) == 40
    assert np.array_equal(encode(configs[0])[0], x[0])


def test_encoding_carries_effective_learning_rate():
    names = feature_names()
    col = names.index("log_effective_lr")
    a = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}
    b = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0}
    assert effective_learning_rate(a) == pytest.approx(0.1)
    assert encode(a)[0, col] == pytest.approx(encode(b)[0, col])
    inactive = encode({"optimizer": "adamw"})[0]
    assert inactive[names.index("momentum")] == 0 and inactive[names.index("momentum:active")] == 0


def test_json_round_trip(tmp_path):
    for config in sample_configurations(n=10, seed=2) + [default_configuration()]:
        assert config_from_json(config_to_json(config)) == config
        path = tmp_path / "c.json"
        config_to_json(config, path)
        assert config_from_json(str(path)) == config
        assert json.loads(json.dumps(config)) == config


def test_bad_json_and_missing_file_are_clear():
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        config_from_json("{lr: 0.1}")
    with pytest.raises(ConfigurationError, match="neither JSON text"):
        config_from_json("no/such/file.json")


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_configuration_is_an_error_not_the_defaults(text):
    with pytest.raises(ConfigurationError, match=r"The configuration is empty\. Pass JSON text"):
        config_from_json(text)


@pytest.mark.parametrize("content, fragment", [
    (bytes(range(256)) * 4, r"is not a JSON text file \(byte 0x80 at position 128 is not UTF-8\)"),
    (b"\x00\x01{}", "is not valid JSON"),
    (b"", "is empty. Write a JSON object"),
    (b'{"lr": ', "is not valid JSON: Expecting value at line 1"),
])
def test_a_binary_or_broken_configuration_file_gives_one_line_naming_the_file(tmp_path, content, fragment):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=fragment) as info:
        config_from_json(str(path))
    assert f"'{path}'" in str(info.value) and "\n" not in str(info.value)


def test_bad_sample_count():
    with pytest.raises(InvalidInputError, match="'n' argument"):
        sample_configurations(n=0)


def test_fast_activity_path_agrees_with_configspace():
    from ConfigSpace import Configuration

    from hyperstar._internal.convert import plain

    space = default_space()
    for config in sample_configurations(space, n=64, seed=11):
        via_configspace = {k: plain(v) for k, v in dict(Configuration(space, values=config)).items()}
        assert via_configspace == config


def test_shipped_meta_data_uses_the_design_its_command_generates():
    """`hyperstar metadata build --n-configs 96 --space-version 1` must regenerate the shipped v1 configuration set."""
    import json

    from hyperstar.meta.builder import design_configurations
    from shipped_v1 import v1_folder

    manifest = v1_folder() / "manifest.json"
    shipped = [c["config"] for c in json.loads(manifest.read_text())["configs"]]
    assert [config_key(c) for c in shipped] == [config_key(c) for c in design_configurations(len(shipped) - 1, 0, space_version=1)]

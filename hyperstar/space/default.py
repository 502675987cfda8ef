"""The default search space of fine-tuning hyperparameters: building it, validating, completing and
sampling configurations, and reading / writing them as JSON (every value a plain Python type).

    >>> validate_configuration({"lr": 0.1})["lr"]
    0.1
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    EqualsCondition,
    InCondition,
    OrdinalHyperparameter,
    UniformFloatHyperparameter,
)
from ConfigSpace.exceptions import ForbiddenValueError
from ConfigSpace.hyperparameters import Constant, FloatHyperparameter, IntegerHyperparameter
from ConfigSpace.util import deactivate_inactive_hyperparameters

from hyperstar._internal.convert import plain, plain_dict
from hyperstar._internal.io import atomic_write_text
from hyperstar.exceptions import ConfigurationError, ConfigurationWarning, InvalidInputError

__all__ = [
    "DEFAULT_CONFIG",
    "SPACE_VERSION",
    "TECHNIQUE_DEFAULTS",
    "LAYERED_MODES",
    "TRAIN_MODES",
    "default_space",
    "default_configuration",
    "sample_configurations",
    "validate_configuration",
    "complete_configuration",
    "effective_learning_rate",
    "config_to_json",
    "config_from_json",
    "config_key",
    "as_configuration",
]

TRAIN_MODES = ("full", "last_block", "linear_probe", "bitfit")

#: The version of :func:`default_space`. Version 1 is the space the shipped meta-data and recommender were
#: built on; version 2 adds the fine-tuning techniques (``layer_lr_decay``, ``unfreeze``, the
#: ``slanted_triangular`` schedule). A configuration of version 1 is one of version 2 with the techniques
#: off: the new hyperparameters' defaults are "off".
SPACE_VERSION = 2
SPACE_VERSIONS = (1, 2)

#: The techniques of space version 2 at their "off" values (what a configuration without them means).
TECHNIQUE_DEFAULTS: dict[str, Any] = {"layer_lr_decay": 1.0, "unfreeze": "off"}
#: train modes in which more than the head trains (discriminative rates and gradual unfreezing apply)
LAYERED_MODES = ("full", "last_block", "bitfit")

#: The common-practice fine-tuning default (SGD lr 0.01, momentum 0.9, weight decay 1e-4,
#: cosine schedule, whole network trained, light augmentation).
DEFAULT_CONFIG: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.01,
    "momentum": 0.9,
    "use_weight_decay": "yes",
    "weight_decay": 1e-4,
    "batch_size": 64,
    "lr_schedule": "cosine",
    "warmup": "none",
    "train_mode": "full",
    "use_l2sp": "no",
    "label_smoothing": 0.0,
    "augment": 0.25,
    "hflip": "yes",
}


def default_space(seed: int | None = None, version: int = SPACE_VERSION) -> ConfigurationSpace:
    """The default space of fine-tuning hyperparameters (``version``: :data:`SPACE_VERSION`; ``1`` is the
    space before the fine-tuning techniques, on which the shipped meta-data and recommender were built).

    =================  ==========================================================
    optimizer          ``sgd`` (with momentum) or ``adamw``
    lr                 learning rate, log-uniform in [1e-5, 10] (wide on purpose: the
                       meta-data must show where fine-tuning diverges)
    momentum           SGD momentum in [0, 0.99] (inactive for AdamW)
    use_weight_decay   ``yes``/``no``; ``no`` is a weight decay of exactly zero
    weight_decay       log-uniform in [1e-6, 1e-2] (active when use_weight_decay=yes)
    batch_size         16, 32, 64 or 128
    lr_schedule        ``constant``, ``cosine`` or ``step`` (x0.1 at 50% and 75% of the horizon);
                       version 2 adds ``slanted_triangular`` (ULMFiT: a short linear rise, then a long
                       linear decay, over the horizon)
    warmup             ``none`` or ``linear`` (linear warm-up over 10% of the horizon); in version 2
                       inactive for ``slanted_triangular``, which has its own rise
    train_mode         ``full``, ``last_block``, ``linear_probe`` (head only), ``bitfit``
                       (bias terms plus head)
    layer_lr_decay     (version 2) discriminative rates (ULMFiT): layer group k from the head (head = 0)
                       trains at lr * layer_lr_decay**k; in [0.25, 1], 1 = off; active where more than
                       the head trains (full, last_block, bitfit)
    unfreeze           (version 2) ``off`` or ``gradual`` (ULMFiT: epoch e trains the first e + 1 layer
                       groups from the head, of those the train mode trains); same condition
    use_l2sp           pull towards the pre-trained weights (L2-SP), for full / last_block
    l2sp_strength      log-uniform in [1e-5, 1e-1] (active when use_l2sp=yes)
    label_smoothing    uniform in [0, 0.3]
    augment            augmentation strength in [0, 1] (random translation, colour jitter)
    hflip              ``yes``/``no``: random horizontal flips
    =================  ==========================================================
    """
    cs = ConfigurationSpace(name="hyperstar-finetune", seed=seed)
    d = DEFAULT_CONFIG
    optimizer = CategoricalHyperparameter("optimizer", ["sgd", "adamw"], default_value=d["optimizer"])
    lr = UniformFloatHyperparameter("lr", 1e-5, 10.0, log=True, default_value=d["lr"])
    momentum = UniformFloatHyperparameter("momentum", 0.0, 0.99, default_value=d["momentum"])
    use_wd = CategoricalHyperparameter("use_weight_decay", ["yes", "no"], default_value=d["use_weight_decay"])
    wd = UniformFloatHyperparameter("weight_decay", 1e-6, 1e-2, log=True, default_value=d["weight_decay"])
    batch = OrdinalHyperparameter("batch_size", [16, 32, 64, 128], default_value=d["batch_size"])
    if version not in SPACE_VERSIONS:
        raise InvalidInputError(f"The search space version must be one of {list(SPACE_VERSIONS)}. Got {version!r}.")
    schedules = ["constant", "cosine", "step"] + (["slanted_triangular"] if version >= 2 else [])
    schedule = CategoricalHyperparameter("lr_schedule", schedules, default_value=d["lr_schedule"])
    warmup = CategoricalHyperparameter("warmup", ["none", "linear"], default_value=d["warmup"])
    train_mode = CategoricalHyperparameter("train_mode", list(TRAIN_MODES), default_value=d["train_mode"])
    use_l2sp = CategoricalHyperparameter("use_l2sp", ["yes", "no"], default_value=d["use_l2sp"])
    l2sp = UniformFloatHyperparameter("l2sp_strength", 1e-5, 1e-1, log=True, default_value=1e-3)
    smoothing = UniformFloatHyperparameter("label_smoothing", 0.0, 0.3, default_value=d["label_smoothing"])
    augment = UniformFloatHyperparameter("augment", 0.0, 1.0, default_value=d["augment"])
    hflip = CategoricalHyperparameter("hflip", ["yes", "no"], default_value=d["hflip"])
    cs.add(
        [optimizer, lr, momentum, use_wd, wd, batch, schedule, warmup, train_mode, use_l2sp, l2sp,
         smoothing, augment, hflip]
    )
    cs.add(
        [
            EqualsCondition(momentum, optimizer, "sgd"),
            EqualsCondition(wd, use_wd, "yes"),
            InCondition(use_l2sp, train_mode, ["full", "last_block"]),
            EqualsCondition(l2sp, use_l2sp, "yes"),
        ]
    )
    if version >= 2:
        t = TECHNIQUE_DEFAULTS
        decay = UniformFloatHyperparameter("layer_lr_decay", 0.25, 1.0, default_value=t["layer_lr_decay"])
        unfreeze = CategoricalHyperparameter("unfreeze", ["off", "gradual"], default_value=t["unfreeze"])
        cs.add([decay, unfreeze])
        cs.add([InCondition(decay, train_mode, list(LAYERED_MODES)),
                InCondition(unfreeze, train_mode, list(LAYERED_MODES)),
                InCondition(warmup, schedule, ["constant", "cosine", "step"])])
    return cs


def default_configuration(space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """The space's default configuration, as a plain dict (the common-practice default)."""
    space = space or default_space()
    return plain_dict(dict(space.get_default_configuration()))


def validate_configuration(config: Mapping[str, Any], space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Check ``config`` against ``space`` and return it as a plain dict of its active values.

    Inactive hyperparameters that are given are dropped (e.g. ``momentum`` for AdamW), each with a one-line
    :class:`~hyperstar.exceptions.ConfigurationWarning` naming the condition it needs. Raises
    :class:`ConfigurationError` naming the offending hyperparameter and the legal range.
    """
    space = space or default_space()
    if not isinstance(config, Mapping):
        raise ConfigurationError(
            f"A configuration must be a mapping of hyperparameter names to values. Got {type(config).__name__}."
        )
    names = set(space.keys())
    unknown = sorted(set(config) - names)
    if unknown:
        raise ConfigurationError(
            f"Unknown hyperparameter(s) {', '.join(map(repr, unknown))} in the configuration. "
            f"Known: {', '.join(sorted(names))}."
        )
    values: dict[str, Any] = {}
    for name, value in config.items():
        hp = space[name]
        value = plain(value)
        if isinstance(hp, IntegerHyperparameter):
            whole = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
            if isinstance(value, bool) or not whole or not hp.lower <= value <= hp.upper:
                raise ConfigurationError(
                    f"Hyperparameter '{name}' must be an integer in [{hp.lower}, {hp.upper}]"
                    f"{' (log scale)' if hp.log else ''}. Got {value!r}."
                )
            value = int(value)
        elif isinstance(hp, Constant):
            if value != plain(hp.value):
                raise ConfigurationError(f"Hyperparameter '{name}' is the constant {plain(hp.value)!r}. Got {value!r}.")
        elif isinstance(hp, FloatHyperparameter):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigurationError(
                    f"Hyperparameter '{name}' must be a number in [{hp.lower:g}, {hp.upper:g}]. Got {value!r}."
                )
            value = float(value)
            if not hp.lower <= value <= hp.upper:
                raise ConfigurationError(
                    f"Hyperparameter '{name}' must be in [{hp.lower:g}, {hp.upper:g}]"
                    f"{' (log scale)' if hp.log else ''}. Got {value:g}."
                )
        else:
            legal = list(hp.choices if isinstance(hp, CategoricalHyperparameter) else hp.sequence)
            legal = [plain(x) for x in legal]
            if isinstance(hp, OrdinalHyperparameter) and isinstance(value, float) and value.is_integer():
                value = int(value)
            if value not in legal:
                raise ConfigurationError(
                    f"Hyperparameter '{name}' must be one of {legal}. Got {value!r}."
                )
        values[name] = value
    # Fill what is missing with the defaults, then drop what the conditions make inactive.
    full = default_configuration(space)
    for name in space.keys():
        if name not in full:
            full[name] = plain(space[name].default_value)
    full.update(values)
    active = _active(space, full)
    if active is not None:
        out = {name: full[name] for name in space.keys() if name in active}
    else:
        try:
            out = plain_dict(dict(deactivate_inactive_hyperparameters(full, space)))
        except Exception as exc:  # ConfigSpace raises several types; one message for all
            raise ConfigurationError(f"The configuration is not valid in the search space: {exc}") from None
    for name in values:
        if name not in out:
            warnings.warn(_dropped_message(space, name, out), ConfigurationWarning, stacklevel=2)
    return out


def _dropped_message(space: ConfigurationSpace, name: str, active: Mapping[str, Any]) -> str:
    """Why a given value is dropped: the condition that makes its hyperparameter inactive."""
    conds = [c for c in space.conditions if getattr(getattr(c, "child", None), "name", None) == name]
    if not conds:
        return f"Hyperparameter '{name}' is inactive in this configuration; the value given for it is dropped."
    cond = conds[0]
    parent = getattr(getattr(cond, "parent", None), "name", None)
    need = str(cond).split("|")[-1].strip()
    here = (f"here {parent}={active[parent]!r}" if parent in active else f"here {parent} is itself inactive") \
        if parent else "not met here"
    return f"Hyperparameter '{name}' applies only when {need} ({here}); the value given for it is dropped."


def _active(space: ConfigurationSpace, values: Mapping[str, Any]) -> set[str] | None:
    """Names of the active hyperparameters, for spaces whose conditions are all Equals/In
    conditions (ConfigSpace's generic routine is ~100x slower); ``None`` for other spaces."""
    parents: dict[str, tuple[str, list[Any]]] = {}
    for cond in space.conditions:
        if isinstance(cond, EqualsCondition):
            parents[cond.child.name] = (cond.parent.name, [plain(cond.value)])
        elif isinstance(cond, InCondition):
            parents[cond.child.name] = (cond.parent.name, [plain(v) for v in cond.values])
        else:
            return None
    if space.forbidden_clauses:
        return None
    active: set[str] = set()

    def is_active(name: str) -> bool:
        if name not in parents:
            return True
        parent, allowed = parents[name]
        return is_active(parent) and values.get(parent) in allowed

    for name in space.keys():
        if is_active(name):
            active.add(name)
    return active


def complete_configuration(config: Mapping[str, Any], space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Alias of :func:`validate_configuration`: missing values take the defaults."""
    return validate_configuration(config, space)


def sample_configurations(
    space: ConfigurationSpace | None = None, n: int = 64, seed: int = 0, method: str = "sobol"
) -> list[dict[str, Any]]:
    """A space-filling design of ``n`` distinct configurations (scrambled Sobol, seeded).

    ``method="random"`` draws uniformly at random (ConfigSpace's own sampler) instead.
    Same seed, same configurations.
    """
    space = space or default_space()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidInputError(f"The 'n' argument of sample_configurations must be an int >= 1. Got {n!r}.")
    n = int(n)
    hps = list(space.values())
    if method == "random":
        rng = np.random.default_rng(seed)
        draw = lambda m: rng.random((m, len(hps)))  # noqa: E731
    elif method == "sobol":
        from scipy.stats import qmc

        sampler = qmc.Sobol(d=len(hps), scramble=True, rng=np.random.default_rng(seed))

        def draw(m):
            with warnings.catch_warnings():  # balance warning when n is not a power of two
                warnings.simplefilter("ignore")
                return sampler.random(m)
    else:
        raise InvalidInputError(f"The 'method' argument must be 'sobol' or 'random'. Got {method!r}.")
    configs: list[dict[str, Any]] = []
    rounds = 0
    # A space with forbidden clauses: the forbidden points are skipped and the sequence continues.
    while len(configs) < n:
        rounds += 1
        if rounds > 50:
            raise InvalidInputError(
                f"Could not sample {n} configurations outside the forbidden clauses of the space in 50 rounds "
                f"(got {len(configs)}); are almost all configurations forbidden?"
            )
        for row in draw(n - len(configs) if rounds == 1 else max(n, 16)):
            config = _config_of_unit_row(space, hps, row)
            if config is not None:
                configs.append(config)
            if len(configs) == n:
                break
    return configs


def _config_of_unit_row(space: ConfigurationSpace, hps: list, row) -> dict[str, Any] | None:
    """The configuration at a point of the unit cube (None when a forbidden clause excludes it)."""
    values = {}
    for hp, u in zip(hps, row):
        if isinstance(hp, (CategoricalHyperparameter, OrdinalHyperparameter)):
            k = len(hp.choices) if isinstance(hp, CategoricalHyperparameter) else len(hp.sequence)
            vec = float(min(int(u * k), k - 1))
        elif isinstance(hp, Constant):
            vec = 0.0
        else:
            vec = float(u)
        value = plain(hp.to_value(np.array([vec]))[0])
        if isinstance(hp, FloatHyperparameter):
            value = float(np.round(value, 13))  # what a ConfigSpace Configuration stores
        values[hp.name] = value
    active = _active(space, values)
    if active is not None:
        return {name: values[name] for name in space.keys() if name in active}
    try:
        return plain_dict(dict(deactivate_inactive_hyperparameters(values, space)))
    except ForbiddenValueError:
        return None


def effective_learning_rate(config: Mapping[str, Any]) -> float:
    """lr / (1 - momentum) for SGD (Li et al., ICLR 2020), lr for AdamW."""
    lr = float(config["lr"])
    if config.get("optimizer", "sgd") == "sgd":
        return lr / (1.0 - float(config.get("momentum", 0.0)))
    return lr


def config_key(config: Mapping[str, Any]) -> str:
    """A canonical string for a configuration (sorted keys, JSON): equal configs, equal keys."""
    return json.dumps(plain_dict(config), sort_keys=True, separators=(",", ":"))


def config_to_json(config: Mapping[str, Any], path: str | Path | None = None) -> str:
    """The configuration as JSON text; written to ``path`` too when given."""
    text = json.dumps(plain_dict(config), sort_keys=True, indent=2)
    if path is not None:
        atomic_write_text(path, text + "\n")
    return text


def config_from_json(text_or_path: str | Path, space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Read a configuration from JSON text or from a JSON file, and validate it.

    Missing hyperparameters take their defaults, so ``'{"lr": 0.1}'`` is a valid input.
    """
    text = str(text_or_path)
    stripped = text.strip()
    where = "The configuration"
    if not stripped:
        raise ConfigurationError(
            "The configuration is empty. Pass JSON text such as '{\"lr\": 0.01}' or the path of a JSON file."
        )
    if not stripped.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise ConfigurationError(
                f"The configuration {text!r} is neither JSON text (starting with '{{') nor an existing file."
            )
        where = f"The configuration file '{path}'"
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{where} cannot be read ({exc.strerror or exc}).") from None
        try:
            stripped = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"{where} is not a JSON text file (byte 0x{raw[exc.start]:02x} at position {exc.start} is not UTF-8). "
                "Pass a JSON object such as {\"lr\": 0.01}."
            ) from None
        if not stripped.strip():
            raise ConfigurationError(f"{where} is empty. Write a JSON object such as {{\"lr\": 0.01}} in it.")
    try:
        values = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Pass a JSON object such as {\"lr\": 0.01}."
        ) from None
    except RecursionError:
        raise ConfigurationError(f"{where} is not a flat JSON object (it is nested too deeply).") from None
    return validate_configuration(values, space)


def as_configuration(config: Mapping[str, Any], space: ConfigurationSpace | None = None) -> Configuration:
    """A ConfigSpace ``Configuration`` object for a plain configuration dict."""
    space = space or default_space()
    return Configuration(space, values=validate_configuration(config, space))

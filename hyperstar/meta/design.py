"""The configurations a meta-data build fine-tunes: the common-practice default, known-good recipes of the
fine-tuning literature, and a scrambled Sobol design (:func:`design_configurations`)."""

from __future__ import annotations

from typing import Any

from hyperstar.space import DEFAULT_CONFIG, SPACE_VERSION, config_key, sample_configurations, validate_configuration

__all__ = ["LITERATURE_RECIPES", "literature_configurations", "design_configurations"]


#: Known-good fine-tuning recipes from the literature, in the version-2 space (each dict is completed with the
#: space's defaults). ``design_configurations(..., recipes=True)`` puts them right after the common-practice
#: default, before the Sobol design.
#:
#: - ``linear_probe``: train the head only on frozen features (Kornblith, Shlens & Le, "Do Better ImageNet
#:   Models Transfer Better?", CVPR 2019; the first stage of LP-FT, Kumar et al., ICLR 2022), with a large
#:   SGD rate and, as a second variant, AdamW.
#: - ``bitfit``: bias terms and head only (Ben Zaken, Ravfogel & Goldberg, "BitFit", ACL 2022): AdamW at
#:   1e-3, no weight decay.
#: - ``l2sp``: full fine-tuning pulled towards the pre-trained weights instead of towards zero (Li,
#:   Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with Convolutional Networks",
#:   ICML 2018): SGD 0.01 / momentum 0.9 with the paper's alpha of 0.1 and 0.01, no plain weight decay.
#: - ``wiseft_low_lr``: the low learning rates with which fine-tuned weights stay close enough to the
#:   pre-trained ones for weight-space ensembling to help (Wortsman et al., "Robust fine-tuning of zero-shot
#:   models" (WiSE-FT), CVPR 2022): AdamW 3e-5 with weight decay and warm-up, and SGD 1e-3.
#: - ``ulmfit``: discriminative rates (decay 1/2.6 per layer group), gradual unfreezing and the slanted
#:   triangular schedule (Howard & Ruder, "Universal Language Model Fine-tuning for Text Classification",
#:   ACL 2018), with SGD and with AdamW.
LITERATURE_RECIPES: dict[str, dict[str, Any]] = {
    "linear_probe_sgd": {"train_mode": "linear_probe", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9,
                         "use_weight_decay": "yes", "weight_decay": 1e-5, "lr_schedule": "cosine", "augment": 0.0},
    "linear_probe_adamw": {"train_mode": "linear_probe", "optimizer": "adamw", "lr": 1e-3, "use_weight_decay": "no",
                           "lr_schedule": "cosine", "augment": 0.0},
    "bitfit": {"train_mode": "bitfit", "optimizer": "adamw", "lr": 1e-3, "use_weight_decay": "no",
               "lr_schedule": "cosine", "warmup": "linear"},
    "l2sp_0.1": {"train_mode": "full", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "use_weight_decay": "no",
                 "use_l2sp": "yes", "l2sp_strength": 0.1, "lr_schedule": "step"},
    "l2sp_0.01": {"train_mode": "full", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "use_weight_decay": "no",
                  "use_l2sp": "yes", "l2sp_strength": 0.01, "lr_schedule": "cosine"},
    "wiseft_low_lr_adamw": {"train_mode": "full", "optimizer": "adamw", "lr": 3e-5, "use_weight_decay": "yes",
                            "weight_decay": 1e-2, "lr_schedule": "cosine", "warmup": "linear", "batch_size": 128},
    "wiseft_low_lr_sgd": {"train_mode": "full", "optimizer": "sgd", "lr": 1e-3, "momentum": 0.9,
                          "use_weight_decay": "yes", "weight_decay": 1e-4, "lr_schedule": "cosine"},
    "ulmfit_sgd": {"train_mode": "full", "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "layer_lr_decay": 1 / 2.6,
                   "unfreeze": "gradual", "lr_schedule": "slanted_triangular"},
    "ulmfit_adamw": {"train_mode": "full", "optimizer": "adamw", "lr": 1e-3, "use_weight_decay": "yes",
                     "weight_decay": 1e-2, "layer_lr_decay": 1 / 2.6, "unfreeze": "gradual",
                     "lr_schedule": "slanted_triangular"},
}


def literature_configurations(space_version: int = SPACE_VERSION) -> list[tuple[str, dict[str, Any]]]:
    """``(name, configuration)`` of the :data:`LITERATURE_RECIPES` that the space of ``space_version`` can
    express (version 1 has no discriminative rates, gradual unfreezing or slanted triangular schedule)."""
    import warnings

    from hyperstar.exceptions import ConfigurationError
    from hyperstar.space import default_space

    space = default_space(version=space_version)
    out = []
    for name, partial in LITERATURE_RECIPES.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a value the space would drop: the recipe is not expressible
                out.append((name, validate_configuration(partial, space)))
        except (ConfigurationError, Warning):
            continue
    return out


def design_configurations(n_configs: int = 64, seed: int = 0, space_version: int = SPACE_VERSION,
                          recipes: bool = False) -> list[dict[str, Any]]:
    """The shared configuration set: the common-practice default first, then (``recipes=True``) the
    known-good recipes of :data:`LITERATURE_RECIPES` the space can express, then an ``n_configs``-point
    scrambled Sobol design over the default space of ``space_version`` (1: the design of the shipped
    meta-data); duplicates are dropped. ``recipes=False`` is the design of earlier builds, unchanged.

        >>> len(design_configurations(8, seed=0)), len(design_configurations(8, seed=0, recipes=True))
        (9, 18)
    """
    from hyperstar.space import default_space

    space = default_space(version=space_version)
    configs = [validate_configuration(DEFAULT_CONFIG, space)]
    seen = {config_key(configs[0])}
    extra = [c for _, c in literature_configurations(space_version)] if recipes else []
    for c in extra + (sample_configurations(space, n=n_configs, seed=seed) if n_configs else []):
        if config_key(c) not in seen:
            configs.append(c)
            seen.add(config_key(c))
    return configs

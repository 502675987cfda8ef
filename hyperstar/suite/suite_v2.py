"""The meta-data v2 suite: 16 families, 64 tasks, real images beside the synthetic families.

Version 1 (:func:`hyperstar.suite.default_suite`) had 29 tasks of 60 to 1200 images, so validation
sets of 12 to 240 images and a seed-to-seed difference of 7.5 accuracy points. Version 2 sizes every
task to about 1500 images (300 validation images under the builder's 60/20/20 split) where the
source allows it, and says where it does not (:data:`SMALL_BY_SOURCE`). Four tasks per family vary
what moves the best fine-tuning hyperparameters: the number of classes, shots per class, colour and
difficulty, and for the real-image families which part of the package the classes come from.

The synthetic families keep version 1's recipes' idea at a larger size. ``faces`` is the one family
the source caps (scikit-image's ``lfw_subset`` holds 100 faces and 100 non-faces).
"""

from __future__ import annotations

from hyperstar.suite._core import TaskRecipe

__all__ = ["suite_v2", "SMALL_BY_SOURCE"]

#: Task name -> why it has fewer than about 1500 images (the source has no more).
SMALL_BY_SOURCE: dict[str, str] = {}


def _r(name: str, family: str, **params) -> TaskRecipe:
    return TaskRecipe(family=family, params=params, seed=0, name=name)


def _small(name: str, why: str, family: str, **params) -> TaskRecipe:
    SMALL_BY_SOURCE[name] = why
    return _r(name, family, **params)


_SKLEARN_DIGITS = "scikit-learn's digits hold 174 to 183 images per class (1797 in all)"
_LFW = "scikit-image's lfw_subset holds 100 faces and 100 non-faces"


def _synthetic() -> list[TaskRecipe]:
    return [
        # Near the source: rendered characters (never upper-case Latin, the source's classes).
        _r("v2-glyphs-digits-serif-10c-150s", "glyphs", charset="digits", fonts="serif",
           n_classes=10, per_class=150, difficulty=0.3, color="gray"),
        _r("v2-glyphs-lower-sans-20c-75s-color", "glyphs", charset="lower", fonts="sans",
           n_classes=20, per_class=75, difficulty=0.4, color="color"),
        _r("v2-glyphs-greek-all-15c-100s-hard", "glyphs", charset="greek", fonts="all",
           n_classes=15, per_class=100, difficulty=0.7, color="gray"),
        _r("v2-glyphs-symbols-mono-12c-125s-mixed", "glyphs", charset="symbols", fonts="mono",
           n_classes=12, per_class=125, difficulty=0.3, color="mixed"),
        # Near-ish: procedural shapes (other shapes than the source's).
        _r("v2-shapes-12c-125s-color", "shapes", n_classes=12, per_class=125, difficulty=0.2,
           color="color"),
        _r("v2-shapes-8c-190s-clutter", "shapes", n_classes=8, per_class=190, difficulty=0.7,
           color="color"),
        _r("v2-shapes-6c-250s-gray-hard", "shapes", n_classes=6, per_class=250, difficulty=0.9,
           color="gray"),
        _r("v2-shapes-10c-150s-mixed", "shapes", n_classes=10, per_class=150, difficulty=0.4,
           color="mixed"),
        # Hand-written digits.
        _r("v2-sklearn-digits-10c-150s", "sklearn_digits", n_classes=10, per_class=150),
        _small("v2-sklearn-digits-5c-174s-noisy", _SKLEARN_DIGITS, "sklearn_digits", n_classes=5,
               per_class=174, noise=0.5),
        _r("v2-sklearn-digits-9c-170s-noisy", "sklearn_digits", n_classes=9, per_class=170,
           noise=0.3),
        _small("v2-sklearn-digits-2c-174s", _SKLEARN_DIGITS, "sklearn_digits", classes=[3, 8],
               per_class=174),
        _r("v2-mnist-10c-150s", "mnist", n_classes=10, per_class=150),
        _r("v2-mnist-6c-250s-noisy", "mnist", n_classes=6, per_class=250, noise=0.5),
        _r("v2-mnist-4c-375s", "mnist", n_classes=4, per_class=375),
        _r("v2-mnist-10c-150s-noisy", "mnist", n_classes=10, per_class=150, noise=0.8),
        # Far from the source: photo crops, textures, faces, gratings.
        _r("v2-photos-9c-170s", "photo_patches", n_classes=9, per_class=170, difficulty=0.3),
        _r("v2-photos-5c-300s", "photo_patches", n_classes=5, per_class=300, difficulty=0.2),
        _r("v2-photos-8c-190s-gray", "photo_patches", n_classes=8, per_class=190,
           difficulty=0.4, color="gray"),
        _r("v2-photos-4c-375s-hard", "photo_patches", n_classes=4, per_class=375,
           difficulty=0.9),
        _r("v2-textures-10c-150s", "textures", n_classes=10, per_class=150, difficulty=0.2),
        _r("v2-textures-6c-250s", "textures", n_classes=6, per_class=250, difficulty=0.4),
        _r("v2-textures-4c-375s-hard", "textures", n_classes=4, per_class=375, difficulty=0.9),
        _r("v2-textures-8c-190s-mid", "textures", n_classes=8, per_class=190, difficulty=0.6),
        _small("v2-faces-2c-100s", _LFW, "faces", per_class=100),
        _small("v2-faces-2c-100s-noisy", _LFW, "faces", per_class=100, noise=0.4),
        _small("v2-faces-2c-100s-very-noisy", _LFW, "faces", per_class=100, noise=0.7),
        _small("v2-faces-2c-60s-noisy", _LFW, "faces", per_class=60, noise=0.2),
        _r("v2-gratings-orient-4c-375s", "gratings", kind="orientation", n_classes=4,
           per_class=375, difficulty=0.2),
        _r("v2-gratings-orient-12c-125s-hard", "gratings", kind="orientation", n_classes=12,
           per_class=125, difficulty=0.7),
        _r("v2-gratings-freq-6c-250s", "gratings", kind="frequency", n_classes=6, per_class=250,
           difficulty=0.3),
        _r("v2-gratings-freq-8c-190s-mid", "gratings", kind="frequency", n_classes=8,
           per_class=190, difficulty=0.5),
    ]


def suite_v2() -> list[TaskRecipe]:
    """The meta-data v2 suite (see the module docstring); deterministic, every name unique."""
    return _synthetic()

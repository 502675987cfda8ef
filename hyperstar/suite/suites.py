"""The shipped suites (the meta-training tasks) and the source (pre-training) task."""

from __future__ import annotations

import numbers
import zlib

import numpy as np

from hyperstar.data import Task
from hyperstar.exceptions import InvalidInputError
from hyperstar.suite import _draw
from hyperstar.suite._core import TaskRecipe

SOURCE_DESCRIPTION = (
    "The source (pre-training) task has 34 classes: the 26 upper-case Latin letters A-Z, each "
    "rendered in every font that ships with matplotlib and draws them (23 DejaVu, STIX and "
    "Computer Modern faces in regular, bold, italic, mono and calligraphic styles), plus 8 "
    "procedural shapes (ellipse, pie, lens, bowtie, frame, trapezoid, parallelogram, dumbbell) "
    "that the 'shapes' family never uses; every image gets a random size, rotation, offset, stroke "
    "weight and blur, and a random difficulty (0 to 0.6) that adds clutter strokes, background "
    "blotches, pixel noise and lower contrast; half of the images are coloured and half "
    "grayscale, 32x32. No suite task shares a class with it: glyph tasks (digits, lower-case, "
    "Greek, symbols) and shapes are near the source domain, while hand-written digits, faces, "
    "photo crops, textures and gratings are far from it."
)

_SOURCE_DIFFICULTIES = (0.0, 0.2, 0.4, 0.6)


def source_task(seed: int = 0, per_class: int = 150, resolution: int = 32) -> Task:
    """The pre-training source task (see :data:`SOURCE_DESCRIPTION`); not in any suite.

    ``34 * per_class`` images; deterministic in ``seed``. Takes a few seconds for 150/class.

    Example::

        >>> task = source_task(per_class=5)
        >>> task.n_classes, len(task)
        (34, 170)
    """
    where = "source_task"
    for arg, value, low, high in (
        ("seed", seed, 0, None),
        ("per_class", per_class, 5, 5000),
        ("resolution", resolution, 8, 512),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high
        ):
            span = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise InvalidInputError(
                f"The '{arg}' argument of {where} must be an int {span}. Got {value!r}."
            )
    rng = np.random.default_rng([int(seed), zlib.crc32(b"hyperstar-source")])
    letters = list(_draw.UPPER)
    shapes = list(_draw.SOURCE_SHAPES)
    classes = letters + shapes
    fonts = _draw.fonts_for("upper", "all")
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), int(per_class))
    n = len(labels)
    level = rng.integers(0, len(_SOURCE_DIFFICULTIES), n)
    colored = rng.random(n) < 0.5
    images = np.empty((n, resolution, resolution, 3), dtype=np.uint8)
    for g, d in enumerate(_SOURCE_DIFFICULTIES):
        idx = np.flatnonzero(level == g)
        is_letter = labels[idx] < len(letters)
        masks = np.empty((len(idx), resolution, resolution), dtype=np.float32)
        li, si = idx[is_letter], idx[~is_letter]
        font_of = [fonts[j] for j in rng.integers(0, len(fonts), len(li))]
        masks[is_letter] = _draw.glyph_masks(
            [classes[y] for y in labels[li]], font_of, rng, resolution, d
        )
        masks[~is_letter] = _draw.shape_masks([classes[y] for y in labels[si]], rng, resolution, d)
        clutter = _draw.clutter_masks(rng, len(idx), resolution, max(0.0, d - 0.2))
        images[idx] = _draw.compose(masks, rng, colored[idx], d, clutter)
    return Task.from_arrays(
        images, labels, resolution=resolution, channels=3,
        name=f"source-upper26-shapes8-{per_class}s-seed{seed}", class_names=classes,
    )


def _r(name: str, family: str, **params) -> TaskRecipe:
    return TaskRecipe(family=family, params=params, seed=0, name=name)


def default_suite() -> list[TaskRecipe]:
    """The 29 meta-training tasks: 8 families, 2-20 classes, 5-150 images per class.

    They vary what moves the best fine-tuning hyperparameters: distance to the source domain
    (rendered glyphs and shapes are near it; hand-written digits, faces, photos, textures and
    gratings are far), shots per class, number of classes, colour vs grayscale, difficulty.
    Every task has 60 to 1200 images.
    """
    return [
        # Near the source: rendered characters (never upper-case Latin, the source's classes).
        _r("glyphs-digits-serif-10c-20s", "glyphs", charset="digits", fonts="serif",
           n_classes=10, per_class=20, difficulty=0.3, color="gray"),
        _r("glyphs-lower-sans-20c-10s-color", "glyphs", charset="lower", fonts="sans",
           n_classes=20, per_class=10, difficulty=0.3, color="color"),
        _r("glyphs-greek-all-15c-40s", "glyphs", charset="greek", fonts="all",
           n_classes=15, per_class=40, difficulty=0.5, color="gray"),
        _r("glyphs-symbols-mono-12c-5s", "glyphs", charset="symbols", fonts="mono",
           n_classes=12, per_class=5, difficulty=0.2, color="gray"),
        _r("glyphs-digits-all-10c-100s-hard-color", "glyphs", charset="digits", fonts="all",
           n_classes=10, per_class=100, difficulty=0.9, color="color"),
        _r("glyphs-lower-serif-6c-150s", "glyphs", charset="lower", fonts="serif",
           n_classes=6, per_class=150, difficulty=0.6, color="gray"),
        _r("glyphs-symbols-all-20c-30s-mixed", "glyphs", charset="symbols", fonts="all",
           n_classes=20, per_class=30, difficulty=0.4, color="mixed"),
        # Near-ish: procedural shapes (other shapes than the source's).
        _r("shapes-12c-5s-color", "shapes", n_classes=12, per_class=5, difficulty=0.2,
           color="color"),
        _r("shapes-8c-40s-color-clutter", "shapes", n_classes=8, per_class=40, difficulty=0.7,
           color="color"),
        _r("shapes-4c-150s-gray-hard", "shapes", n_classes=4, per_class=150, difficulty=0.9,
           color="gray"),
        _r("shapes-6c-20s-gray", "shapes", n_classes=6, per_class=20, difficulty=0.3,
           color="gray"),
        # Hand-written digits: same "characters" idea, different stroke statistics.
        _r("sklearn-digits-10c-10s", "sklearn_digits", n_classes=10, per_class=10),
        _r("sklearn-digits-5c-60s-noisy", "sklearn_digits", n_classes=5, per_class=60,
           noise=0.5),
        _r("sklearn-digits-2c-150s", "sklearn_digits", classes=[3, 8], per_class=150),
        _r("mnist-10c-6s", "mnist", n_classes=10, per_class=6),
        _r("mnist-4c-100s-noisy", "mnist", n_classes=4, per_class=100, noise=0.6),
        _r("mnist-10c-120s", "mnist", n_classes=10, per_class=120),
        # Far from the source: natural photos, textures, faces, gratings.
        _r("photos-9c-20s", "photo_patches", n_classes=9, per_class=20, difficulty=0.3),
        _r("photos-5c-100s", "photo_patches", n_classes=5, per_class=100, difficulty=0.2),
        _r("photos-8c-60s-gray", "photo_patches", n_classes=8, per_class=60, difficulty=0.4,
           color="gray"),
        _r("photos-2c-150s-hard", "photo_patches", n_classes=2, per_class=150,
           difficulty=0.9),
        _r("textures-10c-10s", "textures", n_classes=10, per_class=10, difficulty=0.2),
        _r("textures-6c-80s", "textures", n_classes=6, per_class=80, difficulty=0.4),
        _r("textures-4c-150s-hard", "textures", n_classes=4, per_class=150, difficulty=0.9),
        _r("faces-2c-100s", "faces", per_class=100),
        _r("faces-2c-30s-noisy", "faces", per_class=30, noise=0.4),
        _r("gratings-orient-4c-50s", "gratings", kind="orientation", n_classes=4,
           per_class=50, difficulty=0.2),
        _r("gratings-orient-12c-50s-hard", "gratings", kind="orientation", n_classes=12,
           per_class=50, difficulty=0.7),
        _r("gratings-freq-6c-20s", "gratings", kind="frequency", n_classes=6, per_class=20,
           difficulty=0.3),
    ]


def tiny_suite() -> list[TaskRecipe]:
    """Three small, fast tasks (30 images each) with no optional dependency, for tests."""
    return [
        _r("tiny-glyphs-digits-3c-10s", "glyphs", charset="digits", n_classes=3, per_class=10,
           difficulty=0.2),
        _r("tiny-shapes-3c-10s", "shapes", n_classes=3, per_class=10, difficulty=0.2),
        _r("tiny-gratings-3c-10s", "gratings", n_classes=3, per_class=10, difficulty=0.2),
    ]

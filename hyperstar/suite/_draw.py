"""Drawing primitives shared by the procedural families and the source task.

Everything here works in float32 pixel values in [0, 1] and draws with Pillow on a canvas twice
the output size, then shrinks it (Pillow's shrinking is antialiased). All randomness comes from
the ``numpy.random.Generator`` passed in, so the same generator state gives the same pixels.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from hyperstar.exceptions import HyperstarError

# ----------------------------------------------------------------------------- fonts

#: Character sets of the ``glyphs`` family. Upper-case Latin letters are deliberately absent:
#: they are the source task's classes, and no suite task may share them.
CHARSETS: dict[str, str] = {
    "digits": "0123456789",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "greek": "αβγδεζηθικλμνξπρστυφχψω",
    "symbols": "+-*/=<>%&@#$?!~^()[]",
}

#: The source task's letters.
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_FULL = frozenset({"digits", "lower", "greek", "symbols", "upper"})
# The Computer Modern fonts matplotlib ships use TeX's text encoding: letters and digits sit at
# their ASCII code points, but many symbols do not ('<' draws an inverted '!'), and there is no
# Greek. cmmi10's digits are old-style; cmsy10's capitals are calligraphic, the rest symbols.
_CM_TEXT = frozenset({"digits", "lower", "upper"})

#: Font files (inside matplotlib's ``fonts/ttf``): style group and the charsets each draws right.
FONTS: dict[str, tuple[str, frozenset[str]]] = {
    "DejaVuSans.ttf": ("sans", _FULL),
    "DejaVuSans-Bold.ttf": ("sans", _FULL),
    "DejaVuSans-Oblique.ttf": ("sans", _FULL),
    "DejaVuSans-BoldOblique.ttf": ("sans", _FULL),
    "cmss10.ttf": ("sans", _CM_TEXT),
    "DejaVuSerif.ttf": ("serif", _FULL),
    "DejaVuSerif-Bold.ttf": ("serif", _FULL),
    "DejaVuSerif-Italic.ttf": ("serif", _FULL),
    "DejaVuSerif-BoldItalic.ttf": ("serif", _FULL),
    "STIXGeneral.ttf": ("serif", _FULL),
    "STIXGeneralBol.ttf": ("serif", _FULL),
    "STIXGeneralItalic.ttf": ("serif", _FULL),
    "STIXGeneralBolIta.ttf": ("serif", _FULL),
    "cmr10.ttf": ("serif", _CM_TEXT),
    "cmb10.ttf": ("serif", _CM_TEXT),
    "cmti10.ttf": ("serif", _CM_TEXT),
    "cmmi10.ttf": ("serif", frozenset({"lower", "upper"})),
    "DejaVuSansMono.ttf": ("mono", _FULL),
    "DejaVuSansMono-Bold.ttf": ("mono", _FULL),
    "DejaVuSansMono-Oblique.ttf": ("mono", _FULL),
    "DejaVuSansMono-BoldOblique.ttf": ("mono", _FULL),
    "cmtt10.ttf": ("mono", _CM_TEXT),
    "cmsy10.ttf": ("script", frozenset({"upper"})),
}

#: Font groups accepted by the ``fonts`` parameter of the ``glyphs`` family.
FONT_GROUPS = ("sans", "serif", "mono", "all")


@functools.lru_cache(maxsize=1)
def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def fonts_for(charset: str, group: str) -> list[str]:
    """Font files of ``group`` ("all" for every group) that draw ``charset``, present here."""
    found = [
        name
        for name, (g, sets) in FONTS.items()
        if charset in sets and (group == "all" or g == group) and (font_dir() / name).is_file()
    ]
    if not found:
        raise HyperstarError(
            f"No font of group '{group}' that draws the '{charset}' characters was found under "
            f"'{font_dir()}'; expected the TrueType fonts that ship with matplotlib."
        )
    return found


#: ITU-R BT.601 luma weights (float32), the suite's grey conversion
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma32(rgb: np.ndarray) -> np.ndarray:
    """``[..., 3]`` -> ``[...]`` float32 luma, ``(r * 0.299 + g * 0.587) + b * 0.114``, every product and sum
    rounded to float32 on its own. Not a matrix product: BLAS picks a kernel per CPU (with or without fused
    multiply-add), so ``rgb @ LUMA`` can differ in the last bit between machines and a rounded pixel with it,
    and a task would no longer rebuild the images its meta-data was built on. This order is what the suite's
    recorded images were made with (checked against their digests)."""
    x = np.asarray(rgb, dtype=np.float32)
    return (x[..., 0] * LUMA[0] + x[..., 1] * LUMA[1]) + x[..., 2] * LUMA[2]


@functools.lru_cache(maxsize=512)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), size)


# ----------------------------------------------------------------------------- masks


def _shrink(img: Image.Image, res: int) -> np.ndarray:
    return np.asarray(img.resize((res, res), Image.BILINEAR), dtype=np.float32) / 255.0


def glyph_masks(
    chars: list[str], fonts: list[str], rng: np.random.Generator, res: int, difficulty: float
) -> np.ndarray:
    """Coverage masks ``[n, res, res]`` of one character per image, jittered by ``difficulty``.

    Jitter: font size, rotation, offset, stroke thickening and blur, all growing with difficulty.
    """
    n = len(chars)
    canvas = 2 * res
    d = float(difficulty)
    sizes = np.rint(canvas * rng.uniform(0.80 - 0.30 * d, 0.86, n)).astype(int)
    angles = rng.uniform(-1.0, 1.0, n) * (6.0 + 24.0 * d)
    shift = (0.03 + 0.12 * d) * canvas
    offsets = rng.uniform(-shift, shift, (n, 2))
    strokes = (rng.random(n) < 0.15 + 0.35 * d) * rng.integers(1, 3, n)
    blurs = rng.uniform(0.0, 0.3 + 1.5 * d, n) * (rng.random(n) < 0.5)
    out = np.empty((n, res, res), dtype=np.float32)
    for i in range(n):
        font = _font(fonts[i], int(sizes[i]))
        img = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(img)
        sw = int(strokes[i])
        x0, y0, x1, y1 = draw.textbbox((0, 0), chars[i], font=font, anchor="lt", stroke_width=sw)
        # Centre the ink, not the em box: glyph metrics differ a lot between fonts.
        origin = (canvas / 2 - (x0 + x1) / 2, canvas / 2 - (y0 + y1) / 2)
        draw.text(origin, chars[i], font=font, fill=255, anchor="lt", stroke_width=sw,
                  stroke_fill=255)
        img = img.rotate(
            float(angles[i]), resample=Image.BILINEAR,
            translate=(float(offsets[i, 0]), float(offsets[i, 1])),
        )
        if blurs[i] > 0.05:
            img = img.filter(ImageFilter.GaussianBlur(float(blurs[i])))
        out[i] = _shrink(img, res)
    return out


def _regular(k: int, r: float = 1.0, phase: float = 0.0) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(k) / k - np.pi / 2
    return r * np.stack([np.cos(a), np.sin(a)], axis=1)


def _star(k: int, inner: float) -> np.ndarray:
    outer = _regular(k)
    inn = _regular(k, inner, np.pi / k)
    return np.stack([outer, inn], axis=1).reshape(-1, 2)


def _circle(r: float = 1.0, cx: float = 0.0, cy: float = 0.0, k: int = 48) -> np.ndarray:
    return _regular(k, r) + np.array([cx, cy])


def _poly(*pts: tuple[float, float]) -> np.ndarray:
    return np.asarray(pts, dtype=np.float64)


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 2.5], axis=1) / 16.0


def _semicircle() -> np.ndarray:
    t = np.linspace(0, np.pi, 25)
    return np.stack([np.cos(t), -np.sin(t) + 0.4], axis=1)


def _ellipse() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    return np.stack([np.cos(t), 0.45 * np.sin(t)], axis=1)


def _lens() -> np.ndarray:
    # Intersection of two unit circles centred at (-0.55, 0) and (0.55, 0), stretched a bit.
    t0 = math.acos(0.55)
    t = np.linspace(-t0, t0, 20)
    right = np.stack([-0.55 + np.cos(t), np.sin(t)], axis=1)
    left = np.stack([0.55 - np.cos(t[::-1]), np.sin(t[::-1])], axis=1)
    return np.concatenate([right, left]) * [1.3, 1.1]


# Each shape: list of (polygon in unit coordinates, fill) drawn in order; fill 0 cuts a hole.
_SHAPES: dict[str, list[tuple[np.ndarray, int]]] = {
    "circle": [(_circle(0.9), 255)],
    "triangle": [(_regular(3, 1.05, 0.0) + [0, 0.15], 255)],
    "square": [(_regular(4, 1.0, np.pi / 4), 255)],
    "pentagon": [(_regular(5, 0.95), 255)],
    "hexagon": [(_regular(6, 0.95), 255)],
    "star": [(_star(5, 0.42), 255)],
    "cross": [(_poly((-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3),
                     (0.3, 1), (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)), 255)],
    "ring": [(_circle(0.95), 255), (_circle(0.55), 0)],
    "crescent": [(_circle(0.95), 255), (_circle(0.8, 0.45, -0.1), 0)],
    "heart": [(_heart(), 255)],
    "arrow": [(_poly((-1, -0.25), (0.15, -0.25), (0.15, -0.65), (1, 0), (0.15, 0.65),
                     (0.15, 0.25), (-1, 0.25)), 255)],
    "semicircle": [(_semicircle(), 255)],
    # The source task's shapes (never used by the `shapes` family).
    "ellipse": [(_ellipse(), 255)],
    "pie": [(np.concatenate([[[0.0, 0.0]], _circle(0.95, k=48)[6:43]]), 255)],
    "lens": [(_lens(), 255)],
    "bowtie": [(_poly((-1, -0.8), (0, 0), (-1, 0.8)), 255),
               (_poly((1, -0.8), (0, 0), (1, 0.8)), 255)],
    "frame": [(_regular(4, 1.15, np.pi / 4), 255), (_regular(4, 0.7, np.pi / 4), 0)],
    "trapezoid": [(_poly((-1, 0.6), (1, 0.6), (0.45, -0.6), (-0.45, -0.6)), 255)],
    "parallelogram": [(_poly((-1, -0.5), (0.35, -0.5), (1, 0.5), (-0.35, 0.5)), 255)],
    "dumbbell": [(_circle(0.45, -0.6, 0), 255), (_circle(0.45, 0.6, 0), 255),
                 (_poly((-0.6, -0.15), (0.6, -0.15), (0.6, 0.15), (-0.6, 0.15)), 255)],
}

#: Shapes of the ``shapes`` family.
SUITE_SHAPES = (
    "circle", "triangle", "square", "pentagon", "hexagon", "star", "cross", "ring", "crescent",
    "heart", "arrow", "semicircle",
)
#: Shapes of the source task only.
#: None resembles a letter (an L- or T-shape would collide with the letters L and T).
SOURCE_SHAPES = (
    "ellipse", "pie", "lens", "bowtie", "frame", "trapezoid", "parallelogram", "dumbbell",
)


def shape_masks(
    shapes: list[str], rng: np.random.Generator, res: int, difficulty: float
) -> np.ndarray:
    """Coverage masks ``[n, res, res]`` of one shape per image: random size, rotation, position."""
    n = len(shapes)
    canvas = 2 * res
    d = float(difficulty)
    radii = canvas * rng.uniform(0.30 - 0.12 * d, 0.40, n)
    angles = rng.uniform(0, 2 * np.pi, n)
    aspect = rng.uniform(1.0 - 0.3 * d, 1.0, n)  # mild squash, grows with difficulty
    out = np.empty((n, res, res), dtype=np.float32)
    for i in range(n):
        room = max(0.0, canvas / 2 - radii[i] * 1.05)
        centre = canvas / 2 + rng.uniform(-1, 1, 2) * min(room, (0.05 + 0.2 * d) * canvas)
        c, s = math.cos(angles[i]), math.sin(angles[i])
        rot = np.array([[c, -s], [s, c]]) * radii[i]
        img = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(img)
        for poly, fill in _SHAPES[shapes[i]]:
            q = poly * [aspect[i], 1.0]  # q @ rot.T, written out: BLAS rounds differently per CPU (see luma32)
            pts = np.stack([q[:, 0] * rot[0, 0] + q[:, 1] * rot[0, 1], q[:, 0] * rot[1, 0] + q[:, 1] * rot[1, 1]], axis=1) + centre
            draw.polygon([tuple(p) for p in pts.tolist()], fill=fill)
        out[i] = _shrink(img, res)
    return out


def clutter_masks(rng: np.random.Generator, n: int, res: int, amount: float) -> np.ndarray | None:
    """Distractor strokes and blobs ``[n, res, res]`` (about ``4 * amount`` per image), or None."""
    if amount <= 0:
        return None
    canvas = 2 * res
    counts = rng.poisson(4.0 * amount, n)
    out = np.zeros((n, res, res), dtype=np.float32)
    for i in range(n):
        if counts[i] == 0:
            continue
        img = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(img)
        for _ in range(int(counts[i])):
            x, y = rng.uniform(0, canvas, 2)
            if rng.random() < 0.6:
                a = rng.uniform(0, np.pi)
                length = rng.uniform(0.2, 0.8) * canvas
                dx, dy = math.cos(a) * length / 2, math.sin(a) * length / 2
                draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=255,
                          width=int(rng.integers(1, 4)))
            else:
                r = rng.uniform(0.03, 0.1) * canvas
                draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
        out[i] = _shrink(img, res)
    return out


# ----------------------------------------------------------------------------- compositing


def color_flags(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """Which images are coloured: all ("color"), none ("gray") or a random half ("mixed")."""
    if color == "color":
        return np.ones(n, dtype=bool)
    if color == "gray":
        return np.zeros(n, dtype=bool)
    return rng.random(n) < 0.5


def _pair_colors(
    rng: np.random.Generator, colored: np.ndarray, min_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background colours ``[n, 3]`` at least ``min_dist`` apart (per channel
    mean absolute difference for colour, level difference for gray)."""
    n = len(colored)
    fg = np.empty((n, 3), dtype=np.float32)
    bg = np.empty((n, 3), dtype=np.float32)
    todo = np.arange(n)
    for _ in range(64):
        if len(todo) == 0:
            break
        m = len(todo)
        a = rng.random((m, 3)).astype(np.float32)
        b = rng.random((m, 3)).astype(np.float32)
        gray = ~colored[todo]
        a[gray] = a[gray, :1]
        b[gray] = b[gray, :1]
        dist = np.abs(a - b).mean(axis=1)
        # Colour pairs also need some luminance contrast, or they vanish in grayscale.
        lum = np.abs(luma32(a - b))
        ok = (dist >= min_dist) & (lum >= 0.5 * min_dist)
        fg[todo[ok]], bg[todo[ok]] = a[ok], b[ok]
        todo = todo[~ok]
    if len(todo):  # practically unreachable for min_dist <= 0.6: fall back to black on white
        fg[todo], bg[todo] = 0.0, 1.0
    return fg, bg


def _smooth_field(rng: np.random.Generator, n: int, res: int, cells: int) -> np.ndarray:
    """Smooth random fields ``[n, res, res]`` in [0, 1]: bilinear upsampling of a coarse grid."""
    coarse = rng.random((n, cells, cells)).astype(np.float32)
    pos = (np.arange(res) + 0.5) * cells / res - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, cells - 1)
    hi = np.clip(lo + 1, 0, cells - 1)
    w = np.clip(pos - lo, 0, 1).astype(np.float32)
    m = np.zeros((res, cells), dtype=np.float32)
    m[np.arange(res), lo] += 1 - w
    m[np.arange(res), hi] += w
    return np.einsum("ik,nkl,jl->nij", m, coarse, m)


def compose(
    masks: np.ndarray,
    rng: np.random.Generator,
    colored: np.ndarray,
    difficulty: float,
    clutter: np.ndarray | None = None,
) -> np.ndarray:
    """Paint masks ``[n, r, r]`` as uint8 images ``[n, r, r, 3]`` (grays: equal channels).

    Difficulty lowers the figure/ground contrast and adds background blotches, distractor
    clutter (in a third colour) and pixel noise.
    """
    n, res = masks.shape[0], masks.shape[1]
    d = float(difficulty)
    fg, bg = _pair_colors(rng, colored, 0.55 - 0.35 * d)
    bg2, clut = _pair_colors(rng, colored, 0.1)
    textured = rng.random(n) < 0.15 + 0.7 * d
    field = _smooth_field(rng, n, res, int(rng.integers(2, 7)))
    field *= (textured * rng.uniform(0.3, 0.5 + 0.5 * d, n)).astype(np.float32)[:, None, None]
    img = bg[:, None, None, :] + field[..., None] * (bg2 - bg)[:, None, None, :]
    if clutter is not None:
        cm = clutter[..., None]
        # Clutter sits behind the figure, half-way between ground and its own colour.
        img = img * (1 - 0.7 * cm) + 0.7 * cm * clut[:, None, None, :]
    m = masks[..., None]
    img = img * (1 - m) + m * fg[:, None, None, :]
    sigma = rng.uniform(0.0, 0.02 + 0.13 * d, n).astype(np.float32)
    noise = rng.standard_normal((n, res, res, 3), dtype=np.float32) * sigma[:, None, None, None]
    noise[~colored] = noise[~colored][..., :1]
    img = img + noise
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (any shape) -> uint8, rounded and clipped."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def resize_crop(arr: np.ndarray, res: int) -> np.ndarray:
    """Resize one uint8 image ``[h, w]`` or ``[h, w, 3]`` to ``[res, res(, 3)]`` (antialiased)."""
    return np.asarray(Image.fromarray(arr).resize((res, res), Image.BILINEAR))

"""Reading images out of installed Debian packages: versions, discovery, dedup.

The engine behind :mod:`hyperstar.suite.packaged`. Pure functions on a file tree (discovery,
deduplication) are separate from the ``dpkg-query`` calls, so they can
be tested on a fake package tree.

Deduplication, in this order, so that no two images of a task come from the same drawing:

1. a file reached twice (symlinks, icon-theme aliases) counts once (its real path);
2. files with identical bytes count once (only files of equal size are hashed);
3. frames of one sprite (animation frames, attack poses, sizes of one icon) form a *group*, and a
   group gives one file (the source's ``group_of`` rule; the base image when there is one);
4. at build time, an image whose render is within a few grey levels of an image already in the
   task is skipped (the same drawing re-encoded or re-coloured by a hair), in colour or in its
   luminance-normalised grayscale (the same drawing recoloured); so is a mirrored or rotated copy
   (every packaged family; see :class:`ThumbnailIndex`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from hyperstar.exceptions import HyperstarError, InvalidInputError
from hyperstar.suite import _draw

class DebianPackageError(HyperstarError):
    """A Debian package a task reads is missing, or installed at another version than recorded."""


# ----------------------------------------------------------------------------- dpkg


def installed_version(package: str) -> str | None:
    """The installed version of a Debian package (``dpkg-query``), None when not installed."""
    if shutil.which("dpkg-query") is None:
        return None
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", package],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or "|" not in out.stdout:
        return None
    status, version = out.stdout.split("|", 1)
    return version.strip() if status.startswith("ii") and version.strip() else None


def check_packages(packages: Sequence[str], expected: dict | None, family: str) -> dict[str, str]:
    """``{package: installed version}``; DebianPackageError when one is missing or differs from
    ``expected`` (``{package: version}``, from the recipe)."""
    expected = expected or {}
    unknown = sorted(set(expected) - set(packages))
    if unknown:
        raise InvalidInputError(
            f"The 'versions' parameter of task family '{family}' names package(s) {unknown} the "
            f"task does not read; it reads {list(packages)}."
        )
    versions = {}
    for package in packages:
        version = installed_version(package)
        if version is None:
            raise DebianPackageError(
                f"Task family '{family}' reads the Debian package '{package}', which is not "
                f"installed; install it with: sudo apt-get install -y {package}"
            )
        want = expected.get(package)
        if want is not None and want != version:
            raise DebianPackageError(
                f"Task family '{family}' was recorded with {package} {want}, but {package} "
                f"{version} is installed, so the images would differ; install the recorded one "
                f"with: sudo apt-get install -y --allow-downgrades {package}={want} (or drop "
                "'versions' from the recipe to accept the installed one)."
            )
        versions[package] = version
    return versions


# ----------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Entry:
    """One usable source file: its class, its sprite group and where it lies."""

    path: str  # real path on disk
    rel: str  # path shown in provenance: '<package>:<path relative to its root>'
    label: str
    group: str
    box: tuple[int, int, int, int] | None = None  # (left, top, right, bottom) of a sheet's cell


#: ``rule(relative path) -> (class, group)`` or None to skip the file.
Rule = Callable[[PurePosixPath], "tuple[str, str] | None"]


def _walk(root: Path, exts: tuple[str, ...]) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(exts):
                found.append(Path(dirpath) / name)
    return found


def _pixels(path: str) -> int:
    """Width x height from the file's header (unreadable: huge, so that it is left out)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # a header read only
            with Image.open(path) as img:
                return int(img.size[0]) * int(img.size[1])
    except (OSError, ValueError, Image.DecompressionBombError):
        return 1 << 62


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def discover(
    parts: Sequence[tuple[str, str | os.PathLike]], rule: Rule, exts: tuple[str, ...] = (".png",),
    prefer: Callable[[Entry], tuple] | None = None, where: str = "discover",
    merge_prefixed: bool = False, max_pixels: int | None = None,
) -> dict[str, list[Entry]]:
    """Class -> distinct source files (sorted by ``rel``), over ``parts`` ``(package, root)``.

    ``rule`` maps a path relative to its root to ``(class, group)`` or None (skipped). Identical
    files (same real path, or same bytes) count once, the first in sorted order, whatever class it
    fell in; each ``(class, package, group)`` keeps one file, the smallest by ``prefer`` (default: the
    shortest file name, then the path). ``merge_prefixed``: animation frames join their sprite
    (see :func:`_sprite_name`): 'dark-adept-attack-1' joins 'dark-adept' (not 'dark'), and
    'ghost-n-2' joins 'ghost' even with no 'ghost.png'. ``max_pixels``: files larger than this
    (read from their header) are left out: decoding a 100-megapixel poster to 32x32 costs
    seconds and adds nothing.
    """
    prefer = prefer or (lambda e: (len(PurePosixPath(e.rel).name), e.rel))
    candidates: list[Entry] = []
    for package, root in parts:
        root = Path(root)
        if not root.is_dir():
            raise DebianPackageError(
                f"{where}: the folder {str(root)!r} of Debian package '{package}' does not exist; "
                f"install (or reinstall) it with: sudo apt-get install -y --reinstall {package}"
            )
        for path in _walk(root, exts):
            rel = PurePosixPath(path.relative_to(root).as_posix())
            hit = rule(rel)
            if hit is None:
                continue
            real = os.path.realpath(path)
            if not os.path.isfile(real):
                continue  # a broken link: never read
            if max_pixels is not None and not real.lower().endswith(".svg") and _pixels(real) > max_pixels:
                continue
            entry = Entry(real, f"{package}:{rel}", hit[0], f"{package}:{hit[1]}")
            candidates.append((path.is_symlink(), entry))
    # Of identical files, keep the real file over a link, then the shortest name, then the path.
    candidates.sort(key=lambda c: (c[0], len(PurePosixPath(c[1].rel).name), c[1].rel))
    # 1-2: one entry per real file, then per content (hash only sizes that collide).
    seen_real: set[str] = set()
    unique = []
    for _, e in candidates:
        if e.path not in seen_real:
            seen_real.add(e.path)
            unique.append(e)
    by_size: dict[int, list[Entry]] = {}
    for e in unique:
        by_size.setdefault(os.path.getsize(e.path), []).append(e)
    dropped: set[str] = set()
    for same in by_size.values():
        if len(same) > 1:
            seen_hash: set[str] = set()
            for e in same:
                h = _sha256(e.path)
                if h in seen_hash:
                    dropped.add(e.path)
                seen_hash.add(h)
    if merge_prefixed:
        unique = _merge_prefixed(unique)
    # 3: one file per (class, group).
    groups: dict[tuple[str, str], Entry] = {}
    for e in unique:
        if e.path in dropped:
            continue
        key = (e.label, e.group)
        if key not in groups or prefer(e) < prefer(groups[key]):
            groups[key] = e
    out: dict[str, list[Entry]] = {}
    for e in sorted(groups.values(), key=lambda e: e.rel):
        out.setdefault(e.label, []).append(e)
    return dict(sorted(out.items()))


# Name tokens of animation frames and poses (Wesnoth: 'ghost-n-attack-2', 'bat-se-3').
_FRAME_TOKEN = re.compile(
    r"^(\d+|n|ne|nw|s|se|sw|attack|defend|die|death|dying|melee|ranged|idle|fly|flying|takeoff|"
    r"landing|magic|fire|breath|leading|moving|run|bob|blade|pierce|impact|upstroke|inhale|cast|"
    r"shoot|throw|bite|claw|kick|swoop|dive|hit)$"
)


def _sprite_name(stem: str, bases: set[str]) -> str:
    """The sprite a frame belongs to: the longest other name of its folder it extends with '-'
    (followed up to a fixed point), else the stem cut before its first frame token."""
    while True:
        longer = [b for b in bases if stem.startswith(b + "-")]
        if not longer:
            break
        stem = max(longer, key=len)
    if stem in bases and not any(_FRAME_TOKEN.match(t) for t in stem.split("-")[1:]):
        return stem
    tokens = stem.split("-")
    for i, t in enumerate(tokens[1:], start=1):
        if _FRAME_TOKEN.match(t):
            return "-".join(tokens[:i])
    return stem


def _merge_prefixed(entries: list[Entry]) -> list[Entry]:
    names: dict[str, set[str]] = {}
    for e in entries:
        folder, _, stem = e.group.rpartition("/")
        names.setdefault(folder, set()).add(stem)
    out = []
    for e in entries:
        folder, _, stem = e.group.rpartition("/")
        out.append(Entry(e.path, e.rel, e.label, f"{folder}/{_sprite_name(stem, names[folder])}"))
    return out


_FRAME_SUFFIX = re.compile(r"[-_]?\d+$")


def folder_rule(
    level: int, group: str = "stem", skip: Sequence[str] = (), min_depth: int | None = None,
    group_folders: bool = True,
) -> Rule:
    """Class = the first ``level`` folders of the relative path (joined by '/').

    ``group``: "stem" (one file per name stem: foo.png and foo.svg are one drawing), "first_dash"
    (the stem up to its first '-': the frames 'archer-attack-2', 'archer-defend' of 'archer'), or
    "frames" (the stem without a trailing frame number: 'torch_1', 'torch_2'). ``skip``: class
    names (or prefixes ending in '/') left out. Files with fewer than ``min_depth`` folders
    (default ``level``) are skipped. ``group_folders=False`` groups by class and stem only, so
    'humans/bowman.png' and 'humans/transparent/bowman.png' are one drawing.
    """
    need = level if min_depth is None else min_depth

    def rule(rel: PurePosixPath) -> tuple[str, str] | None:
        folders = rel.parts[:-1]
        if len(folders) < max(need, level):
            return None
        label = "/".join(folders[:level])
        if any(label == s or label.startswith(s.rstrip("/") + "/") for s in skip):
            return None
        stem = PurePosixPath(rel.name).stem
        if group == "first_dash":
            stem = stem.split("-", 1)[0]
        elif group == "frames":
            stem = _FRAME_SUFFIX.sub("", stem) or stem
        return label, ("/".join(folders) if group_folders else label) + "/" + stem

    return rule


# ----------------------------------------------------------------------------- digests


def files_digest(entries: Sequence[Entry]) -> str:
    """SHA-256 (first 16 hex digits) over the sorted ``rel`` names and contents of ``entries``."""
    h = hashlib.sha256()
    sums: dict[str, str] = {}  # cells of one sheet share its file
    for e in sorted(entries, key=lambda e: e.rel):
        if e.path not in sums:
            sums[e.path] = _sha256(e.path)
        h.update(e.rel.encode("utf-8") + b"\0" + sums[e.path].encode("ascii") + b"\n")
    return h.hexdigest()[:16]


def discover_sheets(
    parts: Sequence[tuple[str, str | os.PathLike]], sheets: dict[str, str], cell: int,
    min_cover: float = 0.1, where: str = "discover_sheets",
) -> dict[str, list[Entry]]:
    """Class -> the cells of tile sheets (``sheets``: file name -> class), cut on a ``cell``-pixel
    grid; cells less than ``min_cover`` opaque are empty slots; cells with identical pixels (in
    any sheet) count once, the first in sheet then row order."""
    from PIL import Image

    out: dict[str, list[Entry]] = {}
    seen: set[bytes] = set()
    for package, root in parts:
        for name, label in sorted(sheets.items()):
            path = Path(root) / name
            if not path.is_file():
                raise DebianPackageError(
                    f"{where}: the tile sheet {str(path)!r} of Debian package '{package}' does not "
                    f"exist; install (or reinstall) it with: sudo apt-get install -y --reinstall {package}"
                )
            real = os.path.realpath(path)
            with Image.open(real) as img:
                rgba = np.asarray(img.convert("RGBA"))
            h, w = rgba.shape[:2]
            for y in range(0, h - cell + 1, cell):
                for x in range(0, w - cell + 1, cell):
                    c = rgba[y : y + cell, x : x + cell]
                    if (c[..., 3] > 0).mean() < min_cover:
                        continue
                    key = hashlib.sha256(np.ascontiguousarray(c).tobytes()).digest()
                    if key in seen:
                        continue
                    seen.add(key)
                    rel = f"{package}:{name}#{x},{y}"
                    out.setdefault(label, []).append(
                        Entry(real, rel, label, rel, (x, y, x + cell, y + cell))
                    )
    return dict(sorted(out.items()))


class ThumbnailIndex:
    """Near-duplicate guard at the task's resolution. Two renders are near-duplicates when their
    mean absolute pixel difference is at most ``tolerance`` grey levels (of 255), in colour (the
    same drawing re-encoded or re-coloured by a hair) or in their luminance-normalised grayscale
    (:meth:`normalised_gray`; ``gray_tolerance``, default ``tolerance``): the same drawing
    recoloured, or with its contrast changed.

    8x8 thumbnails find the candidates fast: a thumbnail's distance never exceeds the
    full-resolution distance, so no near-duplicate is missed; only the candidates are compared
    pixel by pixel (so that a 3 of clubs is not taken for the 3 of spades of the same deck).
    A shaded drawing recoloured into another hue keeps its normalised luminance only roughly (Open
    Clip Art's five coloured 'arrow-down' arrows are 0.1 to 8 levels apart): at the default
    tolerance such a set keeps about two of its copies, not all of them; a looser one would merge
    playing cards of one deck (2 and 3 of clubs: 4 levels apart).
    """

    def __init__(self, tolerance: float = 2.5, gray_tolerance: float | None = None) -> None:
        self.tolerance = float(tolerance)
        self.gray_tolerance = self.tolerance if gray_tolerance is None else float(gray_tolerance)
        self._stacks = {"rgb": np.empty((64, 192), dtype=np.float32),
                        "gray": np.empty((64, 64), dtype=np.float32)}
        self._images: dict[str, list[np.ndarray]] = {"rgb": [], "gray": []}

    @staticmethod
    def thumbnail(image: np.ndarray) -> np.ndarray:
        """``[r, r, c]`` (or ``[r, r]``) -> ``64 c`` float32: the means over an 8x8 grid of blocks."""
        r = image.shape[0]
        edges = np.linspace(0, r, 9).round().astype(int)
        img = image.astype(np.float32)
        if img.ndim == 2:
            img = img[:, :, None]
        rows = np.add.reduceat(img, edges[:-1], axis=0) / np.diff(edges)[:, None, None]
        cells = np.add.reduceat(rows, edges[:-1], axis=1) / np.diff(edges)[None, :, None]
        return cells.reshape(-1)

    @staticmethod
    def normalised_gray(image: np.ndarray) -> np.ndarray:
        """``[r, r, 3]`` uint8 -> ``[r, r]`` uint8: the luminance stretched to span 0..255 (a flat
        image stays as it is), so that the same drawing in other colours gives a close image."""
        y = _draw.luma32(image)  # not a matrix product: BLAS rounds differently per CPU
        lo, hi = float(y.min()), float(y.max())
        if hi - lo >= 1.0:
            y = (y - lo) * (255.0 / (hi - lo))
        return np.clip(y + 0.5, 0, 255).astype(np.uint8)

    def _close(self, kind: str, image: np.ndarray, tolerance: float) -> list[int]:
        images = self._images[kind]
        if not images:
            return []
        stack = self._stacks[kind][: len(images)]
        close = np.flatnonzero(np.abs(stack - self.thumbnail(image)).mean(axis=1) <= tolerance)
        x = image.astype(np.int16)
        return [int(i) for i in close
                if float(np.abs(images[i].astype(np.int16) - x).mean()) <= tolerance]

    def _add(self, kind: str, image: np.ndarray) -> None:
        n = len(self._images[kind])
        if n == len(self._stacks[kind]):
            self._stacks[kind] = np.concatenate([self._stacks[kind], np.empty_like(self._stacks[kind])])
        self._stacks[kind][n] = self.thumbnail(image)
        self._images[kind].append(image)

    def has(self, image: np.ndarray) -> bool:
        """Whether a near-duplicate of ``image`` (in colour, or recoloured) is indexed."""
        return bool(self._close("rgb", image, self.tolerance)
                    or self._close("gray", self.normalised_gray(image), self.gray_tolerance))

    def add_if_new(self, image: np.ndarray, dihedral: bool = False) -> bool:
        """Add ``image`` and return True, or return False when a near-duplicate is indexed;
        ``dihedral``: a mirrored or rotated (by 90, 180, 270 degrees) copy counts as one too."""
        variants = [image]
        if dihedral:
            variants += [np.rot90(image, k) for k in (1, 2, 3)]
            variants += [np.rot90(image[:, ::-1], k) for k in (0, 1, 2, 3)]
        if any(self.has(v) for v in variants):
            return False
        self._add("rgb", image)
        self._add("gray", self.normalised_gray(image))
        return True

"""Task families of real images (drawn by people) read from installed Debian packages.

Each family is one package (or a few) and a class rule a person recognises: the package's own
category folders (Tux Paint's stamp categories, Open Clip Art's categories, Wesnoth's unit races)
or the freedesktop icon contexts and icon names of several icon themes. Nothing is downloaded:
a missing package raises :class:`DebianPackageError` with its ``apt-get install`` line.

Families (``list_families()``): ``tuxpaint_stamps``, ``openclipart``, ``playing_cards``,
``wesnoth_units``, ``wesnoth_portraits``, ``hedgewars_themes``, ``crawl_tiles``, ``icons``
(``by``: "context" or "name"), ``supertux_sprites``, ``pingus_groundpieces``. Parameters common
to all:

- ``classes`` (list of class names) or ``n_classes`` (a seeded random subset of the classes
  that have enough images); default: every class with enough images.
- ``per_class``: images per class (balanced), or None: every distinct image of each class.
- ``min_per_class`` (default 10): with ``per_class=None``, classes with fewer are left out;
  ``max_per_class``: with ``per_class=None``, at most this many of a class (a seeded draw).
- ``versions``: ``{package: version}`` the recipe was recorded with; building on another
  installed version raises (the images would differ). ``digest``: the recorded digest of the
  files used (see the task's ``provenance``); a different one raises.

Every image comes from a distinct source drawing (see :mod:`hyperstar.suite._debian` for the
four deduplication steps); no image is an augmented copy of another: a flipped, turned or
recoloured copy of an image already in the task is left out, in every family. Images are RGB at the task's
resolution: transparency is composited onto white by :func:`hyperstar.data.decode.pil_to_chw`
(the project's one compositing rule) after padding to a square (and, for clip art, trimming
to the drawing's bounding box). The task built carries ``task.provenance``: the packages and
their versions, the number of files and their digest. Same recipe and same installed versions
-> identical images.

Example (needs ``apt-get install tuxpaint-stamps-default``)::

    >>> from hyperstar.suite import TaskRecipe, make_task
    >>> task = make_task(TaskRecipe("tuxpaint_stamps", {"classes": ["food", "vehicles"],
    ...                                                  "per_class": 10}))  # doctest: +SKIP
    >>> task.n_classes, len(task), sorted(task.provenance)  # doctest: +SKIP
    (2, 20, ['digest', 'files', 'packages'])
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from hyperstar.exceptions import InvalidInputError
from hyperstar.suite._core import ChoiceParam, IntParam, pick_classes, register_family
from hyperstar.suite._debian import (
    DebianPackageError,
    Entry,
    Rule,
    ThumbnailIndex,
    check_packages,
    discover,
    discover_sheets,
    files_digest,
    folder_rule,
    installed_version,
)

__all__ = [
    "SOURCES", "ICON_THEMES", "DebianPackageError", "PackagedSource",
    "register_packaged_family", "class_counts", "installed_version", "reads_debian_packages", "builds_here",
]


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _NamesParam:
    """None or a list of at least 2 distinct non-empty str (checked against the package later)."""

    default: Any = None

    def valid(self) -> str:
        return "null or a list of at least 2 distinct class names (see class_counts(family))"

    def check(self, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list) or len(v) < 2 or len(set(v)) != len(v):
            return None
        return v if all(isinstance(x, str) and x for x in v) else None


@dataclass(frozen=True)
class _VersionsParam:
    default: Any = None

    def valid(self) -> str:
        return "null or a dict {Debian package: version string}"

    def check(self, v: Any) -> Any:
        if v is None or (
            isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
        ):
            return v
        return None


@dataclass(frozen=True)
class _DigestParam:
    default: Any = None

    def valid(self) -> str:
        return "null or the 16 hex digits of a task's provenance['digest']"

    def check(self, v: Any) -> Any:
        return v if v is None or (isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16}", v)) else None


@dataclass(frozen=True)
class _ThemesParam:
    """None (every theme of the table) or a list of distinct theme keys."""

    vocab: tuple
    default: Any = None

    def valid(self) -> str:
        return f"null or a list of distinct themes of {list(self.vocab)}"

    def check(self, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list) or not v or len(set(map(repr, v))) != len(v):
            return None
        return v if all(isinstance(x, str) and x in self.vocab for x in v) else None


def _common_spec() -> dict:
    return {
        "n_classes": IntParam(2, 1000, None),
        "classes": _NamesParam(),
        "per_class": IntParam(5, 5000, None),
        "min_per_class": IntParam(5, 5000, 10),
        "max_per_class": IntParam(5, 5000, None),
        "versions": _VersionsParam(),
        "digest": _DigestParam(),
    }


# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class PackagedSource:
    """A family's data: ``parts`` ``{part: (Debian package, folder)}`` and how files get classes.

    ``rule(params, resolution)`` returns the :data:`~hyperstar.suite._debian.Rule` and an
    optional ``prefer`` key (which file of a group to keep); ``parts_of(params)`` the parts a
    recipe reads (default: all). ``trim``: crop to the bounding box of the opaque pixels.
    ``dihedral`` (default True): a mirrored or rotated copy of an image in the task is left out.
    """

    family: str
    description: str
    parts: dict[str, tuple[str, str]]
    rule: Callable[[dict, int], tuple[Rule, Callable[[Entry], tuple] | None]]
    trim: bool = False
    extra_spec: dict = field(default_factory=dict)
    parts_of: Callable[[dict], list[str]] | None = None
    size_dependent: bool = False  # the files chosen depend on the resolution (icon sizes)
    merge_prefixed: bool = False  # frames 'unit-attack-1' join the base sprite 'unit'
    max_pixels: int | None = 4_000_000  # larger files (posters) are left out
    exts: tuple[str, ...] = (".png",)  # with ".svg": a drawing's PNG is preferred to its SVG
    sheets: dict[str, str] | None = None  # tile sheets {file: class}, cut into cells of `cell`
    cell: int = 32
    dihedral: bool = True  # a mirrored or rotated copy of an image already in the task is dropped


#: family -> its source; filled by :func:`register_packaged_family`.
SOURCES: dict[str, PackagedSource] = {}


def _selected_parts(src: PackagedSource, params: dict) -> list[tuple[str, str]]:
    names = src.parts_of(params) if src.parts_of else list(src.parts)
    return [src.parts[n] for n in names]


def _rule_key(src: PackagedSource, params: dict) -> str:
    """The parameters that decide which files a recipe sees, as canonical JSON (a cache key)."""
    return json.dumps({k: params.get(k) for k in sorted(src.extra_spec)}, sort_keys=True)


def _lookup(src: PackagedSource, params: dict, versions: dict, resolution: int) -> dict:
    size = resolution if src.size_dependent else 0
    return _catalogue(src.family, _rule_key(src, params), tuple(sorted(versions.items())), size)


@functools.lru_cache(maxsize=32)
def _catalogue(family: str, rule_key: str, versions: tuple, resolution: int) -> dict[str, list[Entry]]:
    # Keyed on the installed versions: an upgrade of a package rediscovers its files.
    src = SOURCES[family]
    params = json.loads(rule_key)
    if src.sheets is not None:
        return discover_sheets(_selected_parts(src, params), src.sheets, src.cell,
                               where=f"Task family '{family}'")
    rule, prefer = src.rule(params, resolution)
    if prefer is None and ".svg" in src.exts:
        def prefer(e: Entry) -> tuple:
            return (e.rel.lower().endswith(".svg"), len(PurePosixPath(e.rel).name), e.rel)
    return discover(
        _selected_parts(src, params), rule, exts=src.exts, prefer=prefer,
        where=f"Task family '{family}'", merge_prefixed=src.merge_prefixed,
        max_pixels=src.max_pixels,
    )


def class_counts(family: str, resolution: int = 32, **params: Any) -> dict[str, int]:
    """Distinct source images per class of a packaged family (after deduplication steps 1-3;
    step 4, near-duplicate, flipped, turned or recoloured renders, drops more at build time: a
    few percent; about 6% of Dungeon Crawl's tiles, which ship recoloured floors and walls).

    Example (needs the package)::

        >>> class_counts("wesnoth_units")["drakes"]  # doctest: +SKIP
        27
    """
    src = _source(family)
    params = {**{k: spec.default for k, spec in src.extra_spec.items()}, **params}  # as make_task
    versions = check_packages(_packages(src, params), None, family)
    return {c: len(v) for c, v in _lookup(src, params, versions, resolution).items()}


def _source(family: str) -> PackagedSource:
    if family not in SOURCES:
        raise InvalidInputError(
            f"Unknown packaged task family {family!r}. Packaged families: {', '.join(sorted(SOURCES))}."
        )
    return SOURCES[family]


def _packages(src: PackagedSource, params: dict) -> list[str]:
    return list(dict.fromkeys(pkg for pkg, _ in _selected_parts(src, params)))


def reads_debian_packages(recipe: dict | None) -> bool:
    """Whether a task recipe (a dict) reads its images from Debian packages, which a fresh machine may lack; the
    other families build from what ``pip install 'hyperstar[suite]'`` installs."""
    return recipe is not None and recipe.get("family") in SOURCES


def builds_here(recipe: dict | None) -> bool:
    """Whether a task recipe's images can be built on this machine: the Debian packages it reads (if any) are
    installed, at the versions the recipe pins. ``None`` (an imported task, without images) never builds."""
    if recipe is None:
        return False
    if not reads_debian_packages(recipe):
        return True
    src = SOURCES[recipe["family"]]
    params = {**{k: spec.default for k, spec in src.extra_spec.items()}, **(recipe.get("params") or {})}
    try:
        check_packages(_packages(src, params), params.get("versions"), src.family)
    except DebianPackageError:
        return False
    return True


# ----------------------------------------------------------------------------- rendering


def svg_renderer() -> str:
    """The SVG rasteriser and the cairo it draws with (their versions decide an SVG's pixels)."""
    cairosvg = _cairosvg()
    import cairocffi

    return f"cairosvg {cairosvg.__version__}, cairo {cairocffi.cairo_version_string()}"


def _cairosvg() -> Any:
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # OSError: cairocffi finds no libcairo
        raise ImportError(
            "This task family reads SVG drawings, which needs 'cairosvg'; install the suite "
            "extra: pip install 'hyperstar[suite]'."
        ) from exc
    return cairosvg


def _open(path: str, resolution: int) -> Any:
    """A PIL image of ``path``; an SVG is rasterised with its longest side ``max(256, 8r)``."""
    from PIL import Image

    if not path.lower().endswith(".svg"):
        return Image.open(path)
    import io

    side = max(256, 8 * resolution)
    img = Image.open(io.BytesIO(_cairosvg().svg2png(url=path, output_width=side)))
    if img.size[1] > side:  # taller than wide: the height is the long side
        img = Image.open(io.BytesIO(_cairosvg().svg2png(url=path, output_height=side)))
    return img


@functools.lru_cache(maxsize=4)
def _sheet(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA"))


def render(
    path: str, resolution: int, trim: bool, box: tuple[int, int, int, int] | None = None
) -> np.ndarray:
    """One source file -> ``uint8 [r, r, 3]``: first frame, trimmed (optional), padded to a
    square with transparent pixels, then :func:`~hyperstar.data.decode.pil_to_chw` (composites
    transparency onto white and resizes, antialiased). SVG files are rasterised by cairosvg;
    ``box`` cuts one cell out of a tile sheet first."""
    from PIL import Image

    from hyperstar.data.decode import pil_to_chw

    if box is not None:  # a cell of a tile sheet: decode the sheet once, not once per cell
        left, top, right, bottom = box
        img = Image.fromarray(np.ascontiguousarray(_sheet(path)[top:bottom, left:right]), "RGBA")
    else:
        img = _open(path, resolution)
    with img:
        img.seek(0)
        img.load()
        if img.mode in ("I", "F") or img.mode.startswith("I;16"):
            out = img.copy()  # 16-bit / float gray: pil_to_chw scales it; no transparency
        else:
            alpha = img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info
            out = img.convert("RGBA" if alpha else "RGB")
            if trim and alpha:
                box = out.getchannel("A").getbbox()
                if box is not None:
                    out = out.crop(box)
            w, h = out.size
            if w != h:
                side = max(w, h)
                fill = (255, 255, 255, 0) if alpha else (255, 255, 255)
                canvas = Image.new(out.mode, (side, side), fill)
                canvas.paste(out, ((side - w) // 2, (side - h) // 2))
                out = canvas
    chw, _, _ = pil_to_chw(out, resolution, 3)
    return np.ascontiguousarray(chw.transpose(1, 2, 0))


# ----------------------------------------------------------------------------- the family


def _build(src: PackagedSource, params: dict, rng: np.random.Generator, resolution: int) -> tuple:
    family = src.family
    versions = check_packages(_packages(src, params), params.get("versions"), family)
    cat = _lookup(src, params, versions, resolution)
    per_class = params.get("per_class")
    need = per_class if per_class is not None else params.get("min_per_class") or 10
    given = params.get("classes")
    if given is not None:
        unknown = [c for c in given if c not in cat]
        if unknown:
            shown = ", ".join(f"{c} ({len(v)})" for c, v in cat.items())
            raise InvalidInputError(
                f"The 'classes' parameter of task family '{family}' names unknown class(es) "
                f"{unknown}. Classes (distinct images): {shown}."
            )
        short = [f"{c} ({len(cat[c])})" for c in given if len(cat[c]) < need]
        if short:
            raise InvalidInputError(
                f"The 'classes' parameter of task family '{family}' holds class(es) with fewer "
                f"than {need} distinct images: {', '.join(short)}; lower 'per_class' or pick others."
            )
    vocab = [c for c, v in cat.items() if len(v) >= need]
    if len(vocab) < 2 and given is None:
        raise InvalidInputError(
            f"Task family '{family}' has {len(vocab)} class(es) with at least {need} distinct "
            f"images (per_class/min_per_class); lower it. Classes: "
            f"{ {c: len(v) for c, v in cat.items()} }."
        )
    classes = pick_classes(family, params, vocab, rng, max_classes=len(vocab))
    index = ThumbnailIndex()
    images, labels, used, kept, dropped = [], [], [], [], []
    for c in classes:
        j = len(kept)
        pool = cat[c]
        taken = 0
        cap = per_class if per_class is not None else params.get("max_per_class")
        for i in rng.permutation(len(pool)):
            if cap is not None and taken == cap:
                break
            try:
                img = render(pool[int(i)].path, resolution, src.trim, pool[int(i)].box)
            except (OSError, ValueError, SyntaxError):
                continue  # a damaged file: left out, the same way on every build
            if not index.add_if_new(img, dihedral=src.dihedral):
                continue  # a near-duplicate (or, if dihedral, a turned copy) of one in the task
            images.append(img)
            labels.append(j)
            used.append(pool[int(i)])
            taken += 1
        if per_class is None and taken < need and given is None and params.get("n_classes") is None:
            # Every class was asked for: one that near-duplicates left short is left out.
            keep = len(images) - taken
            images, labels, used = images[:keep], labels[:keep], used[:keep]
            dropped.append(c)
            continue
        if taken < need:
            raise InvalidInputError(
                f"Class {c!r} of task family '{family}' has {taken} usable images: {len(pool)} "
                f"distinct files, {len(pool) - taken} of them near-duplicates of other images; "
                f"lower 'per_class'/'min_per_class' to at most {taken} or pick other classes. Got "
                f"{need}."
            )
        kept.append(c)
    if len(kept) < 2:
        raise InvalidInputError(
            f"Task family '{family}' has {len(kept)} class(es) with at least {need} usable images "
            f"after removing near-duplicates (left out: {dropped[:10]}); lower 'min_per_class'."
        )
    digest = files_digest(used)
    if params.get("digest") is not None and params["digest"] != digest:
        raise DebianPackageError(
            f"Task family '{family}' was recorded with files digest {params['digest']}, but the "
            f"installed files give {digest} (packages {versions}); reinstall the recorded "
            "versions, or drop 'digest' from the recipe to accept the installed files."
        )
    provenance = {"packages": versions, "files": len(used), "digest": digest}
    if any(e.path.lower().endswith(".svg") for e in used):
        provenance["renderer"] = svg_renderer()
    return np.stack(images), np.asarray(labels, dtype=np.int64), kept, provenance


def register_packaged_family(src: PackagedSource, *, overwrite: bool = False) -> PackagedSource:
    """Register ``src`` as a task family (see the module docstring for its parameters)."""

    def family_fn(params: dict, rng: np.random.Generator, *, resolution: int = 32) -> tuple:
        return _build(src, params, rng, resolution)

    family_fn.__doc__ = src.description
    family_fn.__name__ = src.family
    register_family(src.family, overwrite=overwrite, spec={**_common_spec(), **src.extra_spec})(family_fn)
    SOURCES[src.family] = src
    _catalogue.cache_clear()
    return src


# ----------------------------------------------------------------------------- the table

_WESNOTH = "/usr/share/games/wesnoth/1.16/data/core/images"
_LEVEL = ChoiceParam((1, 2), 1)


def _folder_source(level_of: Callable[[dict], int], **kw: Any) -> Callable:
    def rule(params: dict, resolution: int) -> tuple[Rule, None]:
        return folder_rule(level_of(params), **kw), None

    return rule


def _tuxpaint_rule(params: dict, resolution: int) -> tuple[Rule, None]:
    """Stamp folders as classes; 'bradley_mirror.png' (the stamp flipped) joins 'bradley.png'."""
    base = folder_rule(params["level"], group="stem")

    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        hit = base(rel)
        return None if hit is None else (hit[0], hit[1].removesuffix("_mirror"))

    return classify, None


register_packaged_family(PackagedSource(
    family="tuxpaint_stamps",
    description=(
        "Tux Paint's stamps (tuxpaint-stamps-default): drawings and photos of things; class = "
        "stamp category (level 1: animals, food, vehicles, ...; level 2: animals/birds, "
        "food/fruit, ...). A stamp's PNG and SVG are one drawing (the PNG is used), and so are a "
        "stamp and its '_mirror' copy; SVG-only stamps are rasterised with cairosvg; trimmed to "
        "the drawing."
    ),
    parts={"stamps": ("tuxpaint-stamps-default", "/usr/share/tuxpaint/stamps")},
    rule=_tuxpaint_rule,
    trim=True,
    exts=(".png", ".svg"),
    extra_spec={"level": _LEVEL},
))

register_packaged_family(PackagedSource(
    family="openclipart",
    description=(
        "Open Clip Art Library drawings (openclipart-png); class = category (level 1: animals, "
        "food, people, transportation, ...; level 2: animals/birds, food/fruit, shapes/stars, "
        "...). 'special' (gradients and patterns) is left out; trimmed to the drawing."
    ),
    parts={"png": ("openclipart-png", "/usr/share/openclipart/png")},
    rule=_folder_source(lambda p: p["level"], group="stem", skip=("special",)),
    trim=True,
    extra_spec={"level": _LEVEL},
))

register_packaged_family(PackagedSource(
    family="wesnoth_units",
    description=(
        "Battle for Wesnoth unit sprites (wesnoth-1.16-data), 72x72 pixel art; class = race or "
        "faction folder (drakes, dwarves, elves-wood, human-loyalists, undead, ...). One image "
        "per unit: its base sprite, never its attack/defend/move frames."
    ),
    parts={"units": ("wesnoth-1.16-data", f"{_WESNOTH}/units")},
    rule=_folder_source(lambda p: 1, group="stem"),
    merge_prefixed=True,
))

register_packaged_family(PackagedSource(
    family="wesnoth_portraits",
    description=(
        "Battle for Wesnoth's painted character portraits (wesnoth-1.16-data); class = race "
        "folder (humans, undead, monsters, elves, ...); a portrait and its transparent-background "
        "copy are one drawing."
    ),
    parts={"portraits": ("wesnoth-1.16-data", f"{_WESNOTH}/portraits")},
    rule=_folder_source(lambda p: 1, group="stem", group_folders=False),
    trim=True,
))

_HEDGEWARS = "/usr/share/games/hedgewars/Data"


# The left and right halves of a theme's sky or horizon ('SkyL', 'SkyR': one is the other flipped).
_SKY_HALF = re.compile(r"^(sky|horizont)[lr]$")


def _theme_rule(params: dict, resolution: int) -> tuple[Rule, None]:
    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        if len(rel.parts) != 2:
            return None
        stem = PurePosixPath(rel.name).stem.removesuffix("@2x").lower()  # the same sprite, twice the size
        if stem.endswith("_mask"):
            return None  # a 3-colour silhouette of another sprite of the theme
        return rel.parts[0], _SKY_HALF.sub(r"\1-halves", stem)

    return classify, None


register_packaged_family(PackagedSource(
    family="hedgewars_themes",
    description=(
        "Hedgewars map themes (hedgewars-data): the props, plants, sky and land textures each "
        "theme draws; class = theme (Beach, Christmas, Desert, Halloween, Underwater, ...). A "
        "sprite and its @2x copy are one drawing, and so are the left and right halves of a sky "
        "or horizon; the sprites' '_mask' silhouettes are left out; trimmed to the drawing."
    ),
    parts={"themes": ("hedgewars-data", f"{_HEDGEWARS}/Themes")},
    rule=_theme_rule,
    trim=True,
))

_CARD = re.compile(r"^(?P<deck>[a-z]+)_(?P<suit>[cdhs])_(?P<rank>[2-9]|10|[ajqk])$")
_SUITS = {"c": "clubs", "d": "diamonds", "h": "hearts", "s": "spades"}
_RANKS = {"a": "ace", "j": "jack", "q": "queen", "k": "king"}


def _card_rule(params: dict, resolution: int) -> tuple[Rule, None]:
    by = params["by"]

    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        m = _CARD.match(PurePosixPath(rel.name).stem)
        if len(rel.parts) != 2 or m is None or m["deck"] == "white":
            return None  # jokers, card backs, loose clip art; 'white' near-duplicates 'simple'

        label = {"suit": _SUITS[m["suit"]], "rank": _RANKS.get(m["rank"], m["rank"]),
                 "deck": m["deck"]}[by]
        return label, m.group(0)

    return classify, None


register_packaged_family(PackagedSource(
    family="playing_cards",
    description=(
        "Three playing-card decks of the Open Clip Art Library (openclipart-png: simple, "
        "ornamental, bordered; 52 cards each); class = suit (4), rank (13) or deck design (3), "
        "set by 'by'. Jokers, card backs and the 'white' deck (most of its cards near-duplicate "
        "'simple') are left out."
    ),
    parts={"cards": ("openclipart-png", "/usr/share/openclipart/png/recreation/games/cards")},
    rule=_card_rule,
    extra_spec={"by": ChoiceParam(("suit", "rank", "deck"), "suit")},
))

register_packaged_family(PackagedSource(
    family="crawl_tiles",
    description=(
        "Dungeon Crawl Stone Soup's 32x32 tiles (crawl-tiles-data), cut from its tile sheets; "
        "class = sheet: floor, wall or feature (doors, stairs, altars, fountains, traps). The "
        "package ships sheets, not files per tile, so the variants an artist drew of one floor "
        "or wall are separate images (identical cells and near-identical renders count once)."
    ),
    parts={"tiles": ("crawl-tiles-data", "/usr/share/crawl/dat/tiles")},
    rule=lambda params, resolution: (folder_rule(1), None),  # unused: sheets
    sheets={"floor.png": "floor", "wall.png": "wall", "feat.png": "feature"},
))

# Icon themes: key -> (Debian package, folder). Only each package's main theme (dark variants
# repeat most of its drawings).
ICON_THEMES: dict[str, tuple[str, str]] = {
    "adwaita": ("adwaita-icon-theme", "/usr/share/icons/Adwaita"),
    "elementary": ("elementary-xfce-icon-theme", "/usr/share/icons/elementary-xfce"),
    "faenza": ("faenza-icon-theme", "/usr/share/icons/Faenza"),
    "gnome": ("gnome-icon-theme", "/usr/share/icons/gnome"),
    "lxde": ("lxde-icon-theme", "/usr/share/icons/nuoveXT2"),
    "mate": ("mate-icon-theme", "/usr/share/icons/mate"),
    "moka": ("moka-icon-theme", "/usr/share/icons/Moka"),
    "tango": ("tango-icon-theme", "/usr/share/icons/Tango"),
}

# freedesktop context folder -> context (the themes spell a few differently)
_CONTEXTS = {
    "actions": "actions", "apps": "apps", "applications": "apps", "categories": "categories",
    "devices": "devices", "emblems": "emblems", "emotes": "emotes", "mimetypes": "mimetypes",
    "mimes": "mimetypes", "places": "places", "status": "status",
}
_SIZE_DIR = re.compile(r"^(\d+)(?:x\d+)?(@2x)?$")


def _icon_parse(rel: PurePosixPath) -> tuple[str, str, int] | None:
    """(context, icon name, pixel size) of a themed PNG icon path, or None."""
    size, context = None, None
    for folder in rel.parts[:-1]:
        m = _SIZE_DIR.match(folder)
        if m:
            size = int(m.group(1)) * (2 if m.group(2) else 1)
        elif folder in _CONTEXTS and context is None:
            context = _CONTEXTS[folder]
    name = PurePosixPath(rel.name).stem
    if size is None or context is None or name.endswith("-symbolic"):
        return None
    return context, name, size


def _icon_rule(params: dict, resolution: int) -> tuple[Rule, Callable]:
    by = params["by"]

    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        hit = _icon_parse(rel)
        if hit is None:
            return None
        context, name, _ = hit
        return (context, f"{context}/{name}") if by == "context" else (name, name)

    def prefer(e: Entry) -> tuple:
        # The smallest size at least the task's resolution, else the largest: the drawing
        # the theme made for that size.
        size = _icon_parse(PurePosixPath(e.rel.split(":", 1)[1]))[2]
        return (0, size, e.rel) if size >= resolution else (1, -size, e.rel)

    return classify, prefer


def _themes_of(params: dict) -> list[str]:
    return list(params.get("themes") or ICON_THEMES)


_THEMES = _ThemesParam(tuple(ICON_THEMES))

register_packaged_family(PackagedSource(
    family="icons",
    max_pixels=None,
    description=(
        "Desktop icons of several icon themes (themes: " + ", ".join(ICON_THEMES) + "); class "
        "set by 'by': 'context' (freedesktop context: actions, apps, categories, devices, "
        "emblems, emotes, mimetypes, places, status) or 'name' (the same icon -- folder, printer, "
        "user-trash, ... -- as drawn by different themes: at most one image per theme, few shots; "
        "near-identical drawings shared by two themes count once). One PNG per icon of a theme "
        "(the size nearest above the resolution). One family, whatever 'by', since both read the "
        "same icon files."
    ),
    parts=dict(ICON_THEMES),
    rule=_icon_rule,
    extra_spec={"themes": _THEMES, "by": ChoiceParam(("context", "name"), "context")},
    parts_of=_themes_of,
    size_dependent=True,
))

# Two more games' data (SuperTux, Pingus): registered by their own module.
from hyperstar.suite import _packaged_games  # noqa: E402, F401

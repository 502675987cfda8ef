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
from hyperstar.suite.suites import _r

__all__ = ["suite_v2", "SMALL_BY_SOURCE"]

#: Task name -> why it has fewer than about 1500 images (the source has no more).
SMALL_BY_SOURCE: dict[str, str] = {}


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


#: The Debian packages the real-image tasks were recorded with (``dpkg-query -W``, 2026-12-03, Debian 12).
#: Each packaged recipe carries its packages' versions, so building it on other files is refused.
PACKAGE_VERSIONS: dict[str, str] = {
    "tuxpaint-stamps-default": "2022.06.04-1",
    "openclipart-png": "1:0.18+dfsg-19",
    "crawl-tiles-data": "2:0.28.0-1.1",
    "wesnoth-1.16-data": "1:1.16.9-1",
    "hedgewars-data": "1.0.2-6",
    "supertux-data": "0.6.3-2",
    "pingus-data": "0.7.6-5.1",
    "adwaita-icon-theme": "43-1",
    "elementary-xfce-icon-theme": "0.17-1",
    "faenza-icon-theme": "1.3.1-3",
    "gnome-icon-theme": "3.12.0-5",
    "lxde-icon-theme": "0.5.1-2.1",
    "mate-icon-theme": "1.26.0-1",
    "moka-icon-theme": "5.5.0-2",
    "tango-icon-theme": "0.8.90-11",
}

_FEW = "the package holds fewer distinct drawings of these classes"


def _pkg(name: str, family: str, **params) -> TaskRecipe:
    """A packaged task, with the versions of the packages it reads (see :data:`PACKAGE_VERSIONS`)."""
    from hyperstar.suite.packaged import SOURCES, _packages

    packages = _packages(SOURCES[family], params)
    params["versions"] = {p: PACKAGE_VERSIONS[p] for p in packages}
    return _r(name, family, **params)


def _pkg_small(name: str, family: str, **params) -> TaskRecipe:
    SMALL_BY_SOURCE[name] = _FEW
    return _pkg(name, family, **params)


def _real() -> list[TaskRecipe]:
    """Real images drawn or photographed by people (:mod:`hyperstar.suite.packaged`); the sizes are what
    the packages hold after deduplication (the recipes proposed with their image counts in
    ``benchmarks/results/packaged_families_timing.jsonl``)."""
    return [
        _pkg_small("v2-tuxpaint-l1-all", "tuxpaint_stamps", level=1, min_per_class=10),
        _pkg_small("v2-tuxpaint-l1-6c-things", "tuxpaint_stamps", level=1, classes=[
            "animals", "food", "household", "seasonal", "town", "vehicles"]),
        _pkg_small("v2-tuxpaint-l2-all", "tuxpaint_stamps", level=2, min_per_class=10),
        _pkg_small("v2-tuxpaint-l1-5c-mixed", "tuxpaint_stamps", level=1, classes=[
            "symbols", "animals", "clothes", "plants", "people"]),
        _pkg_small("v2-openclipart-l1-8c-150s", "openclipart", level=1, classes=[
            "animals", "computer", "food", "people", "recreation", "shapes", "signs_and_symbols",
            "transportation"], per_class=150),
        _pkg_small("v2-openclipart-l2-20c-25s", "openclipart", level=2, classes=[
            "animals/birds", "animals/bugs", "animals/mammals", "buildings/homes", "computer/hardware",
            "food/beverages", "food/desserts", "food/fruit", "people/clothing", "people/stickmen",
            "plants/flowers", "recreation/music", "recreation/sports", "shapes/arrows", "shapes/jigsaw",
            "signs_and_symbols/led", "tools/weapons", "transportation/boating", "transportation/roadsigns",
            "transportation/vehicles"], per_class=25),
        _pkg("v2-openclipart-l1-14c-max150", "openclipart", level=1, min_per_class=60, max_per_class=150),
        _pkg_small("v2-openclipart-l2-6c-40s", "openclipart", level=2, classes=[
            "animals/birds", "animals/bugs", "animals/mammals", "food/beverages", "food/desserts",
            "food/fruit"], per_class=40),
        _pkg("v2-crawl-3c-500s", "crawl_tiles", per_class=500),
        _pkg("v2-crawl-3c-max800", "crawl_tiles", min_per_class=10, max_per_class=800),
        _pkg_small("v2-crawl-floor-wall-2c-300s", "crawl_tiles", classes=["floor", "wall"], per_class=300),
        _pkg_small("v2-crawl-3c-150s", "crawl_tiles", per_class=150),
        # The next three families: every distinct drawing of the classes (the packages hold no more).
        _pkg_small("v2-wesnoth-units-all", "wesnoth_units", min_per_class=10),
        _pkg_small("v2-wesnoth-units-4c", "wesnoth_units", classes=[
            "dunefolk", "elves-wood", "human-loyalists", "monsters"]),
        _pkg_small("v2-wesnoth-units-8c", "wesnoth_units", classes=[
            "drakes", "dwarves", "human-magi", "human-outlaws", "merfolk", "nagas", "orcs", "undead"]),
        _pkg_small("v2-wesnoth-units-2c", "wesnoth_units", classes=["dunefolk", "monsters"]),
        _pkg_small("v2-wesnoth-portraits-all", "wesnoth_portraits", min_per_class=10),
        _pkg_small("v2-wesnoth-portraits-3c", "wesnoth_portraits", classes=["humans", "monsters", "undead"]),
        _pkg_small("v2-wesnoth-portraits-5c", "wesnoth_portraits", classes=[
            "dwarves", "elves", "humans", "orcs", "undead"]),
        _pkg_small("v2-wesnoth-portraits-2c", "wesnoth_portraits", classes=["humans", "undead"]),
        _pkg_small("v2-hedgewars-themes-all", "hedgewars_themes", min_per_class=10),
        _pkg_small("v2-hedgewars-themes-8c", "hedgewars_themes", classes=[
            "Beach", "Christmas", "Desert", "Fruit", "Golf", "Halloween", "Hell", "Underwater"]),
        _pkg_small("v2-hedgewars-themes-16c", "hedgewars_themes", classes=[
            "Art", "Bath", "Beach", "Brick", "Cake", "Castle", "Cave", "Christmas", "Compost", "Desert",
            "Fruit", "Golf", "Hell", "Hoggywood", "Jungle", "Sheep"]),
        _pkg_small("v2-hedgewars-themes-4c", "hedgewars_themes", classes=["Beach", "Cake", "Compost", "Golf"]),
        _pkg_small("v2-pingus-14c-all", "pingus_groundpieces", min_per_class=10),
        _pkg_small("v2-pingus-9c", "pingus_groundpieces", classes=[
            "crystal", "desert", "foliage", "halloween", "industrial", "jungle", "snow", "sweets", "xmas"]),
        _pkg_small("v2-pingus-6c", "pingus_groundpieces", classes=[
            "desert", "foliage", "industrial", "real", "snow", "sweets"]),
        _pkg_small("v2-pingus-4c", "pingus_groundpieces", classes=["halloween", "snow", "sweets", "xmas"]),
        _pkg_small("v2-supertux-l1-9c-all", "supertux_sprites", level=1, min_per_class=10),
        _pkg_small("v2-supertux-l1-5c-80s", "supertux_sprites", level=1, classes=[
            "badguys", "objects", "tiles", "tux", "worldmap"], per_class=80),
        _pkg_small("v2-supertux-l2-min12", "supertux_sprites", level=2, min_per_class=12),
        _pkg_small("v2-supertux-l2-12c", "supertux_sprites", level=2, classes=[
            "badguys/mr_cherry", "badguys/mr_iceblock", "badguys/snowball", "badguys/yeti", "objects/bonus_block",
            "objects/keys", "objects/platforms", "tiles/castle", "tiles/forest", "tiles/snow", "tux/fire",
            "worldmap/forest"]),
        # Icons of eight icon themes (one family: the by-context and by-name tasks read the same files).
        _pkg_small("v2-icons-ctx-6c-150s", "icons", by="context", classes=[
            "actions", "apps", "devices", "mimetypes", "places", "status"], per_class=150),
        _pkg_small("v2-icons-ctx-tango-gnome", "icons", by="context", themes=["gnome", "tango"], min_per_class=20,
                   max_per_class=200),
        _pkg("v2-icons-ctx-9c-max250", "icons", by="context", min_per_class=80, max_per_class=250),
        _pkg_small("v2-icons-names-min5", "icons", by="name", min_per_class=5),
    ]


def suite_v2() -> list[TaskRecipe]:
    """The meta-data v2 suite (see the module docstring); deterministic, every name unique."""
    return _synthetic() + _real()


suite_v2()  # fills SMALL_BY_SOURCE at import (the recipes are plain data; nothing is read from the packages)

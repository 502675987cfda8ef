"""Packaged task families from two more games' data: SuperTux sprites and Pingus ground pieces.

Registered on import by :mod:`hyperstar.suite.packaged` (see its docstring for the parameters
common to all packaged families).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from hyperstar.suite._core import ChoiceParam
from hyperstar.suite._debian import Entry, Rule
from hyperstar.suite.packaged import PackagedSource, register_packaged_family

SUPERTUX = "/usr/share/games/supertux2/images"

_ACTION = re.compile(r"\(action\b(.*?)(?=\(action\b|\Z)", re.S)
_ACTION_NAME = re.compile(r'\(name\s+"([^"]*)"\)')
_IMAGE = re.compile(r'"([^"]+\.png)"')
_SIDE = re.compile(r"(^|[-_])(left|right)(?=$|[-_])")
_FRAMES = re.compile(r"([-_](left|right|\d+))+$")


def sprite_actions(root: str) -> dict[str, tuple[str, int]]:
    """``{png path relative to root: (group, frame index)}`` from SuperTux's ``.sprite`` files.

    A group is one action of one sprite, its left and right versions joined (one is the other
    mirrored): 'creatures/snowball/snowball.sprite#squished'. A file several actions use belongs
    to the first (sorted walk).
    """
    out: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(f for f in filenames if f.endswith(".sprite")):
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            sprite = os.path.relpath(path, root)
            for action in _ACTION.finditer(text):
                body = action.group(1)
                m = _ACTION_NAME.search(body)
                base = _SIDE.sub("", m.group(1)) if m else ""
                for i, img in enumerate(_IMAGE.findall(body)):
                    rel = os.path.normpath(os.path.relpath(os.path.join(dirpath, img), root))
                    out.setdefault(PurePosixPath(rel).as_posix(), (f"{sprite}#{base}", i))
    return out


@functools.lru_cache(maxsize=2)
def _actions(root: str) -> dict[str, tuple[str, int]]:
    return sprite_actions(root)


def _supertux_label(rel: PurePosixPath, level: int) -> str | None:
    parts = list(rel.parts[:-1])
    if not parts or parts[0] in ("engine", "credits"):
        return None  # the editor's and menus' icons; the credits' one picture
    if parts[0] == "creatures":  # the player apart from the bad guys
        parts = ["tux", *parts[2:]] if parts[1:2] == ["tux"] else ["badguys", *parts[1:]]
    return "/".join(parts[:level]) if len(parts) >= level else None


def _supertux_rule(params: dict, resolution: int) -> tuple[Rule, Callable[[Entry], tuple]]:
    level = params["level"]
    actions = _actions(SUPERTUX)

    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        label = _supertux_label(rel, level)
        if label is None:
            return None
        hit = actions.get(rel.as_posix())
        group = hit[0] if hit else f"{rel.parent}/{_FRAMES.sub('', rel.stem) or rel.stem}"
        return label, group

    def prefer(e: Entry) -> tuple:  # an action's first frame; else the shortest name
        rel = e.rel.split(":", 1)[1]
        hit = actions.get(rel)
        return (hit[1] if hit else 0, len(PurePosixPath(rel).name), rel)

    return classify, prefer


register_packaged_family(PackagedSource(
    family="supertux_sprites",
    description=(
        "SuperTux's pixel art (supertux-data); class = kind (level 1: badguys, tux, objects, "
        "tiles, powerups, worldmap, background, particles, decal; level 2: badguys/snowball, "
        "tiles/forest, objects/bonus_block, ...). One image per animation (its first frame, as "
        "the game's .sprite files list them; left and right versions are one); the editor's "
        "icons are left out; a mirrored or turned copy of a drawing counts once; trimmed to the "
        "drawing."
    ),
    parts={"images": ("supertux-data", SUPERTUX)},
    rule=_supertux_rule,
    trim=True,
    dihedral=True,  # spikes, arrows and the map's Tux are one drawing turned four ways
    extra_spec={"level": ChoiceParam((1, 2), 1)},
))

_PINGUS = "/usr/share/games/pingus/data/images/groundpieces"


def _pingus_rule(params: dict, resolution: int) -> tuple[Rule, None]:
    def classify(rel: PurePosixPath) -> tuple[str, str] | None:
        if len(rel.parts) != 3 or rel.parts[0] not in ("ground", "solid", "transparent"):
            return None  # 'bridge' and 'remove' pieces are kinds, not themes
        theme = rel.parts[1]
        if theme in ("misc", "test"):
            return None  # a mix of themes; the developers' test pieces
        return theme, f"{theme}/{rel.stem}"  # one name in ground/ and solid/: one drawing

    return classify, None


register_packaged_family(PackagedSource(
    family="pingus_groundpieces",
    description=(
        "The terrain pieces Pingus levels are built from (pingus-data); class = theme (desert, "
        "foliage, halloween, industrial, jungle, snow, sweets, xmas, crystal, ...). The 'misc' "
        "and 'test' pieces are left out; a mirrored or turned copy of a piece counts once; trimmed "
        "to the drawing."
    ),
    parts={"groundpieces": ("pingus-data", _PINGUS)},
    rule=_pingus_rule,
    trim=True,
    dihedral=True,  # some pieces are shipped mirrored or turned
))

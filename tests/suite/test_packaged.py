"""Tests of hyperstar.suite.packaged: families of real images read from Debian packages.

The pure tests build a fake package tree under tmp_path; the others skip, with the reason, when
the Debian package they read is not installed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import pytest
from PIL import Image

from hyperstar.exceptions import InvalidInputError
from hyperstar.suite import TaskRecipe, list_families, make_task
from hyperstar.suite import _debian, packaged
from hyperstar.suite._debian import DebianPackageError, discover, folder_rule


def needs_deb(package: str):
    """Skip unless the Debian package is installed (pytest.importorskip for apt packages)."""
    version = _debian.installed_version(package)
    return pytest.mark.skipif(
        version is None, reason=f"Debian package {package} not installed (apt-get install {package})"
    )


def _png(path: Path, rgba: tuple, size: int = 24, mark: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.zeros((size, size, 4), np.uint8)
    arr[4:-4, 4:-4] = rgba
    if mark is not None:  # a distinct drawing: a bar at a different place
        arr[mark : mark + 3, :] = (0, 0, 0, 255)
    Image.fromarray(arr, "RGBA").save(path)
    return path


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    root = tmp_path / "stamps"
    _png(root / "animals" / "cat.png", (200, 100, 0, 255), mark=2)
    _png(root / "animals" / "dog.png", (10, 100, 200, 255), mark=8)
    (root / "animals" / "dog-copy.png").write_bytes((root / "animals" / "dog.png").read_bytes())
    _png(root / "animals" / "sub" / "cow.png", (90, 90, 90, 255), mark=14)
    _png(root / "animals" / "bird.png", (0, 200, 100, 255), mark=17)
    _png(root / "animals" / "fish.png", (100, 0, 200, 255), mark=19)
    _png(root / "food" / "apple.png", (220, 0, 0, 255), mark=5)
    _png(root / "food" / "apple.svg.png", (0, 220, 0, 255), mark=11)  # stem 'apple.svg'
    _png(root / "units" / "archer.png", (0, 0, 200, 255), mark=3)
    _png(root / "units" / "archer-attack-1.png", (0, 0, 190, 255), mark=4)
    _png(root / "units" / "archer-attack-2.png", (0, 0, 180, 255), mark=5)
    _png(root / "units" / "ghost-n-1.png", (50, 50, 50, 255), mark=6)
    _png(root / "units" / "ghost-n-2.png", (60, 60, 60, 255), mark=7)
    _png(root / "units" / "dark-adept.png", (5, 5, 5, 255), mark=9)
    _png(root / "units" / "knight.png", (150, 150, 0, 255), mark=12)
    _png(root / "units" / "mage.png", (150, 0, 150, 255), mark=15)
    (root / "loose.png").write_bytes((root / "food" / "apple.png").read_bytes())
    (root / "animals" / "alias.png").symlink_to(root / "animals" / "cat.png")
    return root


# ----------------------------------------------------------------------------- pure logic


def test_discovery_classes_are_folders_and_identical_files_count_once(fake_tree):
    cat = discover([("fake-pkg", fake_tree)], folder_rule(1))
    names = {c: sorted(Path(e.rel.split(":", 1)[1]).name for e in v) for c, v in cat.items()}
    assert set(names) == {"animals", "food", "units"}  # loose.png (no class folder) is skipped
    # dog-copy.png (same bytes) and alias.png (a symlink) are the files cat/dog: counted once.
    assert names["animals"] == ["bird.png", "cat.png", "cow.png", "dog.png", "fish.png"]
    assert all(e.rel.startswith("fake-pkg:") for v in cat.values() for e in v)
    level2 = discover([("fake-pkg", fake_tree)], folder_rule(2))
    assert list(level2) == ["animals/sub"]


def test_animation_frames_of_one_sprite_give_one_image(fake_tree):
    cat = discover([("fake-pkg", fake_tree)], folder_rule(1), merge_prefixed=True)
    units = sorted(Path(e.rel).name for e in cat["units"])
    # archer + its attack frames -> archer.png; ghost-n-1/2 (no base file) -> one; dark-adept stays.
    assert units == ["archer.png", "dark-adept.png", "ghost-n-1.png", "knight.png", "mage.png"]
    plain = discover([("fake-pkg", fake_tree)], folder_rule(1))
    assert len(plain["units"]) == 8


def test_a_fake_package_family_builds_deterministically_with_provenance(fake_tree, monkeypatch):
    monkeypatch.setattr(_debian, "installed_version", lambda p: "1.0-1" if p == "fake-pkg" else None)
    src = packaged.PackagedSource(
        family="fake_stamps", description="fake", parts={"t": ("fake-pkg", str(fake_tree))},
        rule=lambda p, r: (folder_rule(1), None), merge_prefixed=True, trim=True,
    )
    packaged.register_packaged_family(src, overwrite=True)
    assert "fake_stamps" in list_families()
    recipe = TaskRecipe("fake_stamps", {"classes": ["animals", "units"], "min_per_class": 5})
    a, b = make_task(recipe), make_task(recipe)
    assert a.n_classes == 2 and len(a) == 10  # every distinct drawing, none twice
    assert np.array_equal(a.images(range(len(a))).numpy(), b.images(range(len(b))).numpy())
    assert a.provenance == b.provenance
    assert a.provenance["packages"] == {"fake-pkg": "1.0-1"} and a.provenance["files"] == 10
    # Transparency is white (the project's compositing rule), not the black stored under it.
    rendered = packaged.render(str(fake_tree / "food" / "apple.png"), 32, trim=False)
    assert rendered.shape == (32, 32, 3) and rendered[0, 0].tolist() == [255, 255, 255]
    # The recorded version and digest are checked on rebuild.
    pinned = {**recipe.params, "versions": {"fake-pkg": "1.0-1"}, "digest": a.provenance["digest"]}
    assert len(make_task(TaskRecipe("fake_stamps", pinned))) == 10
    with pytest.raises(DebianPackageError, match=r"recorded with fake-pkg 0\.9.*1\.0-1 is installed.*apt-get install"):
        make_task(TaskRecipe("fake_stamps", {**recipe.params, "versions": {"fake-pkg": "0.9"}}))
    with pytest.raises(DebianPackageError, match="digest"):
        make_task(TaskRecipe("fake_stamps", {**recipe.params, "digest": "0" * 16}))
    with pytest.raises(InvalidInputError, match="fewer than 6 distinct images"):
        make_task(TaskRecipe("fake_stamps", {"classes": ["animals", "units"], "per_class": 6}))
    with pytest.raises(InvalidInputError, match="unknown class"):
        make_task(TaskRecipe("fake_stamps", {"classes": ["animals", "plants"]}))


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(_debian, "installed_version", lambda p: None)
    with pytest.raises(DebianPackageError, match=r"^[^\n]*apt-get install -y wesnoth-1\.16-data$"):
        make_task(TaskRecipe("wesnoth_units", {"n_classes": 2, "per_class": 5}))


def test_builds_here_needs_the_packages_a_recipe_reads_at_the_versions_it_pins(monkeypatch):
    installed = {"wesnoth-1.16-data": "1:1.16.9-1", "tango-icon-theme": "0.8.90-11"}
    monkeypatch.setattr(_debian, "installed_version", installed.get)
    glyphs = TaskRecipe("glyphs", {"n_classes": 2, "per_class": 5}).to_dict()
    units = TaskRecipe("wesnoth_units", {"n_classes": 2}).to_dict()
    assert not packaged.reads_debian_packages(glyphs) and packaged.builds_here(glyphs)
    assert packaged.reads_debian_packages(units) and packaged.builds_here(units)
    pinned = {**units, "params": {**units["params"], "versions": {"wesnoth-1.16-data": "1:1.16.8-1"}}}
    assert not packaged.builds_here(pinned)  # another version is installed: other images
    # an icon recipe reads only the themes it names (the default: every theme, most not installed here)
    assert packaged.builds_here(TaskRecipe("icons", {"themes": ["tango"]}).to_dict())
    assert not packaged.builds_here(TaskRecipe("icons", {}).to_dict())
    assert not packaged.builds_here(None) and not packaged.reads_debian_packages(None)  # an imported task


def _needs_cairosvg() -> None:
    """Skip unless cairosvg imports: it needs the suite extra and the system's cairo library (libcairo2)."""
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError) as exc:
        pytest.skip(f"SVG sources need cairosvg and libcairo2 (the suite extra; apt-get install libcairo2): {exc}")


def test_an_svg_is_rasterised_onto_white_the_same_way_twice(tmp_path):
    _needs_cairosvg()
    svg = tmp_path / "dot.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10">'
                   '<circle cx="5" cy="5" r="4" fill="#ff0000"/></svg>')
    a = packaged.render(str(svg), 16, trim=False)
    assert a.shape == (16, 16, 3) and np.array_equal(a, packaged.render(str(svg), 16, trim=False))
    assert a[0, 0].tolist() == [255, 255, 255]  # transparent -> white, like every other source
    assert a[6, 4, 0] > 200 and a[6, 4, 1] < 80  # the red dot, in the upper half (padded square)


def test_tile_sheets_are_cut_into_distinct_cells(tmp_path):
    sheet = np.zeros((16, 24, 4), np.uint8)  # a 2 x 3 grid of 8-pixel cells
    sheet[0:8, 0:8] = (255, 0, 0, 255)
    sheet[0:8, 8:16] = (255, 0, 0, 255)  # the same cell again: counted once
    sheet[0:8, 16:24] = (0, 0, 255, 255)
    sheet[8:16, 0:8] = (0, 255, 0, 255)
    sheet[8:9, 8:9] = (9, 9, 9, 255)  # almost empty: a free slot of the sheet
    root = tmp_path / "tiles"
    root.mkdir()
    Image.fromarray(sheet, "RGBA").save(root / "floor.png")
    cat = _debian.discover_sheets([("fake-tiles", root)], {"floor.png": "floor"}, cell=8)
    assert [e.box for e in cat["floor"]] == [(0, 0, 8, 8), (16, 0, 24, 8), (0, 8, 8, 16)]
    assert cat["floor"][1].rel == "fake-tiles:floor.png#16,0"
    blue = packaged.render(cat["floor"][1].path, 8, trim=False, box=cat["floor"][1].box)
    assert blue[..., 2].min() == 255 and blue[..., 0].max() == 0
    with pytest.raises(DebianPackageError, match="apt-get install"):
        _debian.discover_sheets([("fake-tiles", root)], {"wall.png": "wall"}, cell=8)


def test_near_duplicate_renders_are_caught():
    index = _debian.ThumbnailIndex()
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert index.add_if_new(img)
    assert not index.add_if_new(np.clip(img.astype(int) + 1, 0, 255).astype(np.uint8))
    assert index.add_if_new(255 - img)
    # A mirrored or turned copy is a new image, unless the source asks for the dihedral check
    # (every packaged family does, by default).
    assert not index.add_if_new(np.rot90(img), dihedral=True)
    assert not index.add_if_new(img[:, ::-1], dihedral=True)
    assert index.add_if_new(img[::-1])
    assert packaged.PackagedSource("f", "d", {}, lambda p, r: (folder_rule(1), None)).dihedral
    assert all(src.dihedral for src in packaged.SOURCES.values())


def _arrow(path: Path, ink: tuple, flip: bool = False) -> Path:
    """A drawing on a transparent background: an arrow-like shape in one colour, antialiased edges."""
    yy, xx = np.mgrid[0:64, 0:64]
    shaft = (abs(xx - 32) < 6) & (yy > 8) & (yy < 40)
    head = (yy >= 36) & (yy < 58) & (abs(xx - 32) < (58 - yy))
    alpha = ((shaft | head) * 255).astype(np.uint8)
    if flip:  # another drawing: the arrow points up and has a notch
        alpha = alpha[::-1].copy()
        alpha[20:30, 10:54] = 0
    arr = np.zeros((64, 64, 4), np.uint8)
    arr[..., :3], arr[..., 3] = ink, alpha
    img = Image.fromarray(arr, "RGBA").resize((50, 50), Image.LANCZOS)  # soft edges, as drawn
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def test_a_recoloured_copy_is_a_near_duplicate_and_another_drawing_is_not(tmp_path):
    # openclipart's arrow-down-{blue,green,purple,red}_benji: one silhouette in four colours.
    blue = packaged.render(str(_arrow(tmp_path / "blue.png", (20, 40, 200))), 32, trim=True)
    red = packaged.render(str(_arrow(tmp_path / "red.png", (210, 30, 20))), 32, trim=True)
    green = packaged.render(str(_arrow(tmp_path / "green.png", (30, 160, 40))), 32, trim=True)
    other = packaged.render(str(_arrow(tmp_path / "up.png", (20, 40, 200), flip=True)), 32, trim=True)
    assert np.abs(blue.astype(int) - red.astype(int)).mean() > 10  # colour alone does not catch it
    index = _debian.ThumbnailIndex()
    assert index.add_if_new(blue, dihedral=True)
    assert not index.add_if_new(red, dihedral=True) and not index.add_if_new(green, dihedral=True)
    assert index.add_if_new(other, dihedral=True)  # a genuinely different drawing is kept
    assert index.add_if_new(np.full((32, 32, 3), 128, np.uint8))  # a flat image: no division by zero


def test_group_rules_join_mirrored_stamps_and_sky_halves_and_drop_masks():
    stamps, _ = packaged.SOURCES["tuxpaint_stamps"].rule({"level": 1}, 32)
    base, mirror = stamps(PurePosixPath("vehicles/military/bradley.png")), stamps(PurePosixPath("vehicles/military/bradley_mirror.png"))
    assert base == mirror and base[0] == "vehicles"
    assert stamps(PurePosixPath("vehicles/military/tank.png")) != base
    themes, _ = packaged.SOURCES["hedgewars_themes"].rule({}, 32)
    assert themes(PurePosixPath("Fruit/Watermelon_mask.png")) is None
    assert themes(PurePosixPath("Fruit/Watermelon.png")) == ("Fruit", "watermelon")
    assert themes(PurePosixPath("Castle/SkyL.png")) == themes(PurePosixPath("Castle/SkyR.png")) != themes(PurePosixPath("Castle/Sky.png"))
    assert themes(PurePosixPath("Art/horizontL.png")) == themes(PurePosixPath("Art/horizontR.png"))
    assert themes(PurePosixPath("Art/horizont.png"))[1] == "horizont"
    assert themes(PurePosixPath("Jungle/Skytrees.png"))[1] == "skytrees"


def test_supertux_sprite_files_make_one_group_per_action(tmp_path):
    from hyperstar.suite._packaged_games import sprite_actions

    folder = tmp_path / "creatures" / "snowball"
    folder.mkdir(parents=True)
    (folder / "snowball.sprite").write_text(
        '(supertux-sprite\n (action (name "left") (images "walk-0.png" "walk-1.png"))\n'
        ' (action (name "right") (mirror-action "left"))\n'
        ' (action (name "squished-left") (images "sq-l.png"))\n'
        ' (action (name "squished-right") (images "sq-r.png"))\n'
        ' (action (name "melting") (images "../shared/melt-0.png" "../shared/melt-1.png")))\n'
    )
    groups = sprite_actions(str(tmp_path))
    sprite = "creatures/snowball/snowball.sprite"
    assert groups["creatures/snowball/walk-1.png"] == (f"{sprite}#", 1)  # a frame of 'left'
    # Left and right drawings of one action are one group (one is the other mirrored).
    assert groups["creatures/snowball/sq-l.png"][0] == groups["creatures/snowball/sq-r.png"][0]
    assert groups["creatures/shared/melt-0.png"] == (f"{sprite}#melting", 0)  # paths resolved


# ----------------------------------------------------------------------------- real packages


@needs_deb("wesnoth-1.16-data")
def test_wesnoth_units_are_one_sprite_per_unit():
    counts = packaged.class_counts("wesnoth_units")
    assert {"drakes", "dwarves", "undead"} <= set(counts)
    task = make_task(TaskRecipe("wesnoth_units", {"classes": ["drakes", "dwarves"], "per_class": 8}))
    assert task.n_classes == 2 and len(task) == 16
    assert task.provenance["packages"]["wesnoth-1.16-data"] == _debian.installed_version("wesnoth-1.16-data")


@needs_deb("tango-icon-theme")
def test_icons_by_context_from_one_theme_rebuild_identically():
    recipe = TaskRecipe("icons", {"themes": ["tango"], "classes": ["apps", "devices"],
                                  "per_class": 10})
    a, b = make_task(recipe), make_task(recipe)
    assert a.classes == ["apps", "devices"] and len(a) == 20
    assert np.array_equal(a.images(range(20)).numpy(), b.images(range(20)).numpy())
    assert a.provenance["digest"] == b.provenance["digest"]
    # 'context' is the default of 'by', in make_task and in class_counts alike.
    explicit = make_task(TaskRecipe("icons", {**recipe.params, "by": "context"}))
    assert explicit.provenance == a.provenance
    assert {"apps", "devices"} <= set(packaged.class_counts("icons", themes=["tango"])) <= {
        "actions", "apps", "categories", "devices", "emblems", "emotes", "mimetypes", "places",
        "status"}


@needs_deb("tango-icon-theme")
@needs_deb("gnome-icon-theme")
def test_icons_by_name_are_one_drawing_per_theme():
    counts = packaged.class_counts("icons", by="name", themes=["gnome", "tango"])
    assert counts and max(counts.values()) <= 2  # one icon name: at most one file per theme
    assert counts.get("folder") == 2 and counts.get("printer") == 2  # drawn by both themes
    with pytest.raises(InvalidInputError, match="fewer than 5 distinct images"):
        make_task(TaskRecipe("icons", {"by": "name", "themes": ["gnome", "tango"],
                                       "classes": ["folder", "printer"], "per_class": 5}))


def test_icons_by_is_checked():
    with pytest.raises(InvalidInputError, match="'by'"):
        make_task(TaskRecipe("icons", {"by": "theme"}))
    assert "icon_contexts" not in list_families() and "icon_names" not in list_families()


# One cheap recipe per family whose discovery takes well under a second: (family, params, package).
CHEAP = [
    ("tuxpaint_stamps", {"classes": ["animals", "food"], "per_class": 5}, "tuxpaint-stamps-default"),
    ("playing_cards", {"by": "rank", "classes": ["ace", "king"], "per_class": 5}, "openclipart-png"),
    ("wesnoth_portraits", {"classes": ["humans", "undead"], "per_class": 5}, "wesnoth-1.16-data"),
    ("hedgewars_themes", {"classes": ["Beach", "Christmas"], "per_class": 5}, "hedgewars-data"),
    ("crawl_tiles", {"classes": ["floor", "wall"], "per_class": 5}, "crawl-tiles-data"),
    ("supertux_sprites", {"classes": ["badguys", "tiles"], "per_class": 5}, "supertux-data"),
    ("pingus_groundpieces", {"classes": ["desert", "snow"], "per_class": 5}, "pingus-data"),
]


@pytest.mark.parametrize(
    "family,params", [pytest.param(f, p, marks=needs_deb(pkg), id=f) for f, p, pkg in CHEAP]
)
def test_each_family_builds_the_same_small_task_twice(family, params):
    if family == "tuxpaint_stamps":
        _needs_cairosvg()
    a = make_task(TaskRecipe(family, params))
    b = make_task(TaskRecipe(family, params))
    assert a.classes == params["classes"] and len(a) == 10 and a.resolution == 32
    assert np.array_equal(a.images(range(10)).numpy(), b.images(range(10)).numpy())
    assert a.provenance == b.provenance and a.provenance["files"] == 10
    assert family in list_families()


@needs_deb("supertux-data")
def test_supertux_classes_keep_tux_apart_and_leave_editor_icons_out():
    level1 = packaged.class_counts("supertux_sprites")
    assert {"badguys", "tux", "objects", "tiles", "worldmap"} <= set(level1)
    assert not {"engine", "credits", "creatures"} & set(level1)
    level2 = packaged.class_counts("supertux_sprites", level=2)
    assert level2["badguys/snowball"] >= 10 and level2["tiles/forest"] >= 10
    # One image per animation: the snowball's 80-odd frames give a couple of dozen drawings.
    assert level2["badguys/snowball"] < 40


def test_the_packaged_families_are_registered():
    assert {"tuxpaint_stamps", "openclipart", "playing_cards", "wesnoth_units", "wesnoth_portraits",
            "hedgewars_themes", "crawl_tiles", "icons", "supertux_sprites",
            "pingus_groundpieces"} <= set(list_families())

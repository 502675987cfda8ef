"""User image folders as tasks: the recipe (absolute path, content digest), rebuilding it, and refusals."""

import numpy as np
import pytest
from PIL import Image

from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.suite import TaskRecipe, make_task
from hyperstar.suite.folders import FOLDER_FAMILY, folder_digest, folder_recipe, meta_family


def write_folder(root, classes=("cat", "dog"), per_class=5, color=False, size=12):
    for k, cls in enumerate(classes):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 30 + 60 * k + 3 * i
            pixels = np.full((size, size, 3) if color else (size, size), value, np.uint8)
            if color:
                pixels[..., k % 3] = 255
            Image.fromarray(pixels).save(root / cls / f"img{i}.png")
    return root


def test_recipe_records_absolute_path_and_digest_and_rebuilds_the_images(tmp_path, monkeypatch):
    root = write_folder(tmp_path / "pets", color=True)
    monkeypatch.chdir(tmp_path)
    recipe = folder_recipe("pets")
    assert recipe.family == FOLDER_FAMILY and recipe.name == "folder-pets"
    assert recipe.params["path"] == str(root.resolve()) and recipe.params["n_files"] == 10
    assert recipe.params["digest"] == folder_digest(root)[0] and recipe.params["digest"].startswith("sha256:")
    # the recipe round-trips as JSON-like data and rebuilds the same task
    again = TaskRecipe.from_dict(recipe.to_dict())
    a, b = make_task(recipe, resolution=16), make_task(again, resolution=16)
    assert (a.n_classes, len(a), a.classes) == (2, 10, ["cat", "dog"])
    assert np.array_equal(a.images(np.arange(10)).numpy(), b.images(np.arange(10)).numpy())
    assert a.describe()["is_grayscale"] == 0.0


def test_gray_folders_stay_gray_and_a_readme_does_not_change_the_digest(tmp_path):
    root = write_folder(tmp_path / "scans")
    before = folder_digest(root)
    (root / "README.txt").write_text("notes")
    assert folder_digest(root) == before
    assert make_task(folder_recipe(root), resolution=8).describe()["is_grayscale"] == 1.0


@pytest.mark.parametrize("change", ["edit", "add", "remove", "rename"])
def test_a_changed_folder_is_refused_when_its_recipe_is_rebuilt(tmp_path, change):
    root = write_folder(tmp_path / "pets")
    recipe = folder_recipe(root)
    target = root / "cat" / "img0.png"
    if change == "edit":
        Image.fromarray(np.zeros((12, 12), np.uint8)).save(target)
    elif change == "add":
        Image.fromarray(np.zeros((12, 12), np.uint8)).save(root / "dog" / "new.png")
    elif change == "remove":
        target.unlink()
    else:
        target.rename(root / "cat" / "img0_renamed.png")
    with pytest.raises(DataError, match="changed since its recipe was made") as err:
        make_task(recipe, resolution=8)
    assert str(root.resolve()) in str(err.value) and "\n" not in str(err.value)


def test_a_moved_folder_is_refused_with_its_path(tmp_path):
    root = write_folder(tmp_path / "pets")
    recipe = folder_recipe(root)
    root.rename(tmp_path / "elsewhere")
    with pytest.raises(DataError, match="does not exist any more"):
        make_task(recipe, resolution=8)


def test_a_folder_in_the_wrong_layout_gets_the_readers_message(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(flat / f"{i}.png")
    with pytest.raises(DataError, match="No images found under .*ImageFolder layout.*Found 4 image file"):
        folder_recipe(flat)
    with pytest.raises(DataError, match="does not exist"):
        folder_recipe(tmp_path / "missing")
    one = write_folder(tmp_path / "one", classes=("only",))
    with pytest.raises(DataError, match="at least 2 class"):
        folder_recipe(one)


def test_family_names_for_leave_one_family_out(tmp_path):
    root = write_folder(tmp_path / "xrays")
    recipe = folder_recipe(root, family="xray")
    assert recipe.name == "xray-xrays" and meta_family(recipe) == "xray" and meta_family(recipe.to_dict()) == "xray"
    assert meta_family(TaskRecipe("glyphs", {"n_classes": 2})) == "glyphs"
    assert meta_family(folder_recipe(root)) == "folder"
    with pytest.raises(InvalidInputError, match="built-in task family"):
        folder_recipe(root, family="glyphs")
    with pytest.raises(InvalidInputError, match="lower-case identifier"):
        folder_recipe(root, family="X Rays")


def test_a_hand_made_folder_recipe_without_digest_is_refused(tmp_path):
    root = write_folder(tmp_path / "pets")
    with pytest.raises(InvalidInputError, match="folder_recipe"):
        make_task(TaskRecipe("folder", {"path": str(root)}), resolution=8)

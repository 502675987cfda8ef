"""The meta-data v2 suite: its shape (families, tasks, sizes) and its recipes' provenance."""

from __future__ import annotations

from collections import Counter

import pytest

from hyperstar.suite import list_families, make_task
from hyperstar.suite._core import TaskRecipe
from hyperstar.suite.packaged import SOURCES
from hyperstar.suite.suite_v2 import PACKAGE_VERSIONS, SMALL_BY_SOURCE, suite_v2


def test_suite_v2_has_unique_names_and_known_families():
    recipes = suite_v2()
    names = [r.name for r in recipes]
    assert len(set(names)) == len(names)
    assert {r.family for r in recipes} <= set(list_families())
    # Recipes are plain JSON and round-trip, so a manifest rebuilds them.
    assert all(TaskRecipe.from_dict(r.to_dict()) == r for r in recipes)


def test_every_family_has_four_tasks():
    counts = Counter(r.family for r in suite_v2())
    assert set(counts.values()) == {4}, counts


def test_packaged_recipes_pin_the_versions_of_every_package_they_read():
    for r in suite_v2():
        if r.family in SOURCES:
            versions = r.params["versions"]
            assert versions and set(versions) <= set(PACKAGE_VERSIONS), r.name


def test_small_tasks_say_why_and_exist():
    names = {r.name for r in suite_v2()}
    assert set(SMALL_BY_SOURCE) <= names
    assert all(isinstance(v, str) and v for v in SMALL_BY_SOURCE.values())


@pytest.mark.parametrize("name", ["v2-glyphs-digits-serif-10c-150s", "v2-gratings-freq-6c-250s"])
def test_synthetic_v2_tasks_have_300_validation_images(name):
    recipe = next(r for r in suite_v2() if r.name == name)
    task = make_task(recipe, resolution=16)
    assert len(task) >= 1500  # the builder's 20% validation split: >= 300 images


def test_suite_v2_meets_the_size_the_issue_asks_for():
    recipes = suite_v2()
    families = {r.family for r in recipes}
    real = families & set(SOURCES)
    assert len(recipes) >= 64 and len(families) >= 16 and len(real) >= 6


# Recorded in hyperstar/shipped/v2/manifest.json by the build that ran their cells. The grey photo task goes
# through the suite's luma; written as a matrix product, it gave other pixels on a CPU whose BLAS kernel fuses
# multiply-add, and a resumed build there refused the task.
@pytest.mark.parametrize("name", ["v2-photos-8c-190s-gray", "v2-shapes-12c-125s-color", "v2-glyphs-digits-serif-10c-150s"])
def test_shipped_v2_synthetic_tasks_rebuild_the_images_their_cells_ran_on(name):
    import json

    from hyperstar._internal.paths import meta_data_dir
    from hyperstar.meta.builder import images_digest

    manifest = json.loads((meta_data_dir() / "v2" / "manifest.json").read_text())
    entry = next(t for t in manifest["tasks"] if t["name"] == name)
    task = make_task(entry["recipe"], resolution=int(manifest.get("resolution", 32)))
    assert images_digest(task) == entry["images_digest"]

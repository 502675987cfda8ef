"""The disk cache of built tasks: a saved task reads back the same; the cache serves only images that hash to the
recorded digest, never a user folder, and a build fills it and then runs on it without building again."""

import json

import numpy as np
import pytest

import hyperstar.meta.builder as builder
import hyperstar.suite as suite
from hyperstar.data import Task
from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.meta.builder import build_meta_dataset, images_digest
from hyperstar.meta.dataset import MANIFEST, load_meta_dataset
from hyperstar.meta.task_cache import cache_dir, cached_task
from hyperstar.suite import make_task, tiny_suite

TINY = dict(n_configs=1, max_budget=1, backbone="smallcnn_tiny", weights=None, resolution=16, progress=False)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("HYPERSTAR_TASK_CACHE_DIR", str(folder))
    return folder


def _recipe(i=0):
    return tiny_suite()[i].to_dict()


def test_a_saved_task_reads_back_with_the_same_images_labels_classes_and_meta_features(tmp_path):
    task = make_task(_recipe(0), resolution=16)
    task.provenance = {"packages": {"some-package": "1.0-1"}}
    back = Task.load(task.save(tmp_path / "t.npz"))
    assert images_digest(back) == images_digest(task)
    assert (back.name, back.classes, back.resolution, back.channels) == (task.name, task.classes, 16, 3)
    assert back.labels.tolist() == task.labels.tolist() and back.describe() == task.describe()
    assert back.provenance == task.provenance and back.source == task.source
    assert back.split(seed=3) == task.split(seed=3)
    assert not list(tmp_path.glob(".*tmp"))  # written under a temporary name, then renamed


def test_a_file_that_is_not_a_saved_task_is_a_clear_error(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a task written by Task.save"):
        Task.load(tmp_path / "x.npz")


def test_a_streaming_task_cannot_be_saved(tmp_path, flat_folder):
    root = flat_folder(tmp_path / "f", 10)
    task = Task.from_folder(root, resolution=8, max_in_memory=1)
    with pytest.raises(InvalidInputError, match="only an in-memory task can be saved"):
        task.save(tmp_path / "s.npz")


def test_the_second_call_reads_the_cache_and_never_builds(cache, monkeypatch):
    recipe = _recipe(1)
    digest = images_digest(make_task(recipe, resolution=16))
    first = cached_task(recipe, 16, digest)
    assert (cache / f"{digest}-16.npz").is_file()
    monkeypatch.setattr(suite, "make_task", lambda *a, **k: pytest.fail("built although the cache holds it"))
    again = cached_task(recipe, 16, digest)
    assert images_digest(again) == images_digest(first) == digest


def test_a_cached_file_that_does_not_hash_to_its_name_is_replaced_by_a_build(cache):
    recipe = _recipe(2)
    digest = images_digest(make_task(recipe, resolution=16))
    other = make_task(_recipe(0), resolution=16)  # other images under this task's name
    other.save(cache / f"{digest}-16.npz")
    task = cached_task(recipe, 16, digest)
    assert images_digest(task) == digest
    assert images_digest(Task.load(cache / f"{digest}-16.npz")) == digest
    (cache / f"{digest}-16.npz").write_bytes(b"damaged")       # a damaged file is a miss, not an error
    assert images_digest(cached_task(recipe, 16, digest)) == digest


def test_the_check_sees_every_build_and_a_refused_task_is_not_stored(cache):
    recipe = _recipe(0)

    def refuse(task):
        raise builder.TaskChangedError("changed")

    with pytest.raises(builder.TaskChangedError):
        cached_task(recipe, 16, "0123456789abcdef", check=refuse)
    assert not cache.exists() or not list(cache.iterdir())


def test_no_digest_no_cache_off_and_user_folders_are_never_cached(cache, tmp_path, monkeypatch, flat_folder):
    from hyperstar.suite.folders import folder_recipe

    cached_task(_recipe(0), 16, None)
    folder = folder_recipe(flat_folder(tmp_path / "user", 30)).to_dict()
    task = cached_task(folder, 16, images_digest(make_task(folder, resolution=16)))
    assert len(task) == 10 and not cache.exists()
    monkeypatch.setenv("HYPERSTAR_TASK_CACHE_DIR", "off")
    assert cache_dir() is None
    cached_task(_recipe(0), 16, images_digest(make_task(_recipe(0), resolution=16)))
    assert not cache.exists()


def test_a_build_fills_the_cache_and_its_resume_runs_on_it_without_building(cache, tmp_path, monkeypatch):
    out = tmp_path / "m"
    recipes = tiny_suite()[:2]
    build_meta_dataset(out, recipes=recipes, seeds=1, n_workers=0, **TINY)
    digests = {t["images_digest"] for t in json.loads((out / MANIFEST).read_text())["tasks"]}
    assert {p.name for p in cache.iterdir()} == {f"{d}-16.npz" for d in digests}
    builder._TASK_CACHE.clear()  # a fresh worker
    monkeypatch.setattr(suite, "make_task", lambda *a, **k: pytest.fail("built although the cache holds it"))
    meta = build_meta_dataset(out, recipes=recipes, seeds=2, n_workers=0, **TINY)
    assert np.asarray(meta.n_seeds).min() == 2
    assert load_meta_dataset(out).n_tasks == 2


def test_a_meta_dataset_task_comes_from_the_cache_at_the_build_resolution_only(cache, tmp_path, monkeypatch):
    from hyperstar.meta.task_cache import meta_task

    out = tmp_path / "m"
    build_meta_dataset(out, recipes=tiny_suite()[:1], seeds=1, n_workers=0, **TINY)
    meta = load_meta_dataset(out)
    monkeypatch.setattr(suite, "make_task", lambda *a, **k: pytest.fail("built although the cache holds it"))
    assert images_digest(meta_task(meta, 0)) == meta.manifest["tasks"][0]["images_digest"]
    monkeypatch.undo()
    monkeypatch.setenv("HYPERSTAR_TASK_CACHE_DIR", str(cache))
    other = meta_task(meta, 0, resolution=20)  # another resolution: built, and not stored under the build's digest
    assert other.resolution == 20 and len(list(cache.iterdir())) == 1

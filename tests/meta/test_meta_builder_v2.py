"""The v2 build: every configuration on N seeds, configuration-major order, the literature recipes, a time limit,
sizing a build, and user folders mixed with suite tasks."""

import json

import numpy as np
import pytest
from PIL import Image

import hyperstar.meta.builder as builder
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.builder import (
    LITERATURE_RECIPES,
    build_meta_dataset,
    design_configurations,
    estimate_build,
    literature_configurations,
)
from hyperstar.meta.dataset import MANIFEST, RESULTS, load_meta_dataset, read_records
from hyperstar.space import DEFAULT_CONFIG, default_space, validate_configuration
from shipped_v1 import v1_folder

TINY = dict(n_configs=2, max_budget=1, backbone="smallcnn_tiny", weights=None, resolution=16, progress=False)


def recipes(n=3):
    from hyperstar.suite import tiny_suite

    return tiny_suite()[:n]


def test_the_version_1_design_is_the_shipped_one_byte_for_byte():
    shipped = load_meta_dataset(v1_folder()).manifest
    design = design_configurations(len(shipped["configs"]) - 1, seed=shipped["config_seed"], space_version=1)
    assert json.dumps(design, sort_keys=True) == json.dumps([c["config"] for c in shipped["configs"]], sort_keys=True)


def test_the_v2_design_has_the_default_then_the_literature_recipes_then_sobol():
    configs = design_configurations(128, seed=0, space_version=2, recipes=True)
    named = literature_configurations(2)
    assert len(configs) >= 128 and configs[0] == validate_configuration(DEFAULT_CONFIG, default_space(version=2))
    assert configs[1:1 + len(named)] == [c for _, c in named] and len(named) == len(LITERATURE_RECIPES)
    modes = {c["train_mode"] for _, c in named}
    assert {"linear_probe", "bitfit", "full"} <= modes
    assert any(c.get("use_l2sp") == "yes" for _, c in named)
    assert any(c.get("lr_schedule") == "slanted_triangular" and c.get("unfreeze") == "gradual"
               and c.get("layer_lr_decay", 1) < 1 for _, c in named)
    assert configs[1 + len(named):] == design_configurations(128, seed=0, space_version=2)[1:]
    # version 1 cannot express ULMFiT: only the recipes it can are used
    assert {n for n, _ in literature_configurations(1)} == set(LITERATURE_RECIPES) - {"ulmfit_sgd", "ulmfit_adamw"}


def test_seeds_runs_every_configuration_on_every_seed(tmp_path):
    meta = build_meta_dataset(tmp_path / "m", recipes=recipes(2), n_workers=0, seeds=2, **TINY)
    assert meta.complete and (meta.n_seeds == 2).all()
    manifest = meta.manifest
    assert manifest["seeds"] == 2 and manifest["asked"]["seeds"] == 2 and manifest["asked"]["noise_configs"] is None
    assert manifest["asked"]["order"] == "config" and manifest["asked"]["literature_recipes"] is False
    assert all(isinstance(t["n_val"], int) and t["n_val"] > 0 for t in manifest["tasks"])
    # the first builds' plan still works: seed 1 for the first noise_configs only
    old = build_meta_dataset(tmp_path / "old", recipes=recipes(1), n_workers=0, noise_configs=1, **TINY)
    assert old.n_seeds.tolist() == [[2, 1, 1]] and old.manifest["noise_config_ids"] == ["c0000"]


def test_cells_are_configuration_major_so_the_first_cells_cover_every_task(tmp_path):
    tasks = recipes(3)
    k = len(tasks) * 2  # one configuration, every task, two seeds
    build_meta_dataset(tmp_path / "m", recipes=tasks, n_workers=0, seeds=2, max_cells=k, **TINY)
    rows = read_records(tmp_path / "m" / RESULTS)
    assert [(r["config_id"], r["task"], r["seed"]) for r in rows] == [
        ("c0000", t.name, s) for t in tasks for s in (0, 1)]
    # the task order stays available
    build_meta_dataset(tmp_path / "t", recipes=tasks, n_workers=0, seeds=2, max_cells=k, order="task", **TINY)
    assert {r["task"] for r in read_records(tmp_path / "t" / RESULTS)} == {tasks[0].name}
    with pytest.raises(InvalidInputError, match="'order' argument of build_meta_dataset must be one of"):
        build_meta_dataset(tmp_path / "x", recipes=tasks, n_workers=0, order="random", **TINY)


def test_resuming_with_another_configuration_set_is_refused(tmp_path):
    build_meta_dataset(tmp_path / "m", recipes=recipes(1), n_workers=0, seeds=2, max_cells=1, **TINY)
    with pytest.raises(InvalidInputError, match="a different configuration set .*literature_recipes False"):
        build_meta_dataset(tmp_path / "m", recipes=recipes(1), n_workers=0, seeds=2, literature_recipes=True, **TINY)
    # more seeds on a resume is a plan, not a protocol: it adds cells
    meta = build_meta_dataset(tmp_path / "m", recipes=recipes(1), n_workers=0, seeds=3, **TINY)
    assert (meta.n_seeds == 3).all()


@pytest.mark.parametrize("workers", [0, 2])
def test_max_hours_stops_after_the_cells_in_flight(tmp_path, monkeypatch, workers):
    calls = {"n": 0}
    real = builder.append_record

    def counting(path, record):
        calls["n"] += 1
        real(path, record)

    monkeypatch.setattr(builder, "append_record", counting)
    monkeypatch.setattr(builder, "_time_is_up", lambda deadline: deadline is not None and calls["n"] >= 1)  # after one cell
    meta = build_meta_dataset(tmp_path / "m", recipes=recipes(3), n_workers=workers, seeds=2, max_hours=1.0, **TINY)
    rows = read_records(tmp_path / "m" / RESULTS)
    total = 3 * 3 * 2
    assert 1 <= len(rows) < total and int(meta.n_seeds.sum()) == len(rows)  # whole cells only, all on disk
    monkeypatch.undo()
    meta = build_meta_dataset(tmp_path / "m", recipes=recipes(3), n_workers=0, seeds=2, **TINY)
    assert meta.complete and int(meta.n_seeds.sum()) == total and read_records(tmp_path / "m" / RESULTS)[:len(rows)] == rows


def test_estimate_build_times_real_cells_and_writes_nothing(tmp_path):
    est = estimate_build(tmp_path / "m", recipes=recipes(2), n_workers=2, seeds=2, n_timed=2, **{
        k: v for k, v in TINY.items() if k != "progress"})
    assert est["cells_to_run"] == 2 * 3 * 2 and est["timed_cells"] == 2 and est["workers"] == 2
    assert est["seconds_per_cell"] > 0
    assert est["estimated_seconds"] == pytest.approx(est["cells_to_run"] * est["seconds_per_cell"] / 2)
    assert not (tmp_path / "m").exists()




def test_folder_tasks_mix_with_suite_tasks_and_a_changed_folder_is_refused(tmp_path, flat_folder):
    from hyperstar.suite import folder_recipe

    a, b = flat_folder(tmp_path / "data" / "left", 10), flat_folder(tmp_path / "data" / "right", 20)
    mixed = recipes(1) + [folder_recipe(a, family="mine"), folder_recipe(b, family="mine")]
    meta = build_meta_dataset(tmp_path / "m", recipes=mixed, n_workers=0, seeds=2, **TINY)
    assert meta.complete and meta.families == ["glyphs", "mine", "mine"]
    assert meta.recipes[1]["params"]["path"] == str(a.resolve())
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(a / "a" / "0.png")
    with pytest.raises(InvalidInputError, match="folder task 'mine-left' was built on other content"):
        build_meta_dataset(tmp_path / "m", recipes=recipes(1) + [folder_recipe(a, family="mine")], n_workers=0,
                           seeds=2, **TINY)
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert manifest["tasks"][1]["recipe"]["params"]["digest"] == meta.recipes[1]["params"]["digest"]
    with pytest.raises(InvalidInputError, match="Two tasks of this build are named 'mine-left'"):
        build_meta_dataset(tmp_path / "n", recipes=[folder_recipe(b, family="mine", name="mine-left"),
                                                    folder_recipe(a, family="mine")], n_workers=0, **TINY)


def test_a_build_from_before_v2_is_told_how_to_resume(tmp_path):
    build_meta_dataset(tmp_path / "m", recipes=recipes(1), n_workers=0, max_cells=0, **TINY)
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    del manifest["asked"]  # as the builder of the first builds wrote it
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InvalidInputError, match="before meta-data v2: resume it with --no-literature-recipes"):
        build_meta_dataset(tmp_path / "m", recipes=recipes(1), n_workers=0, literature_recipes=True, **TINY)


def test_a_resume_without_tasks_goes_on_with_the_folders_own_tasks(tmp_path):
    out = tmp_path / "m"
    build_meta_dataset(out, recipes=recipes(1), seeds=1, n_workers=0, max_cells=0, **TINY)
    meta = build_meta_dataset(out, recipes=None, seeds=1, n_workers=0, **TINY)  # not the v1 suite's 29 tasks
    assert meta.task_names == [recipes(1)[0].name]
    assert len(read_records(out / RESULTS)) == len(meta.manifest["configs"])


def test_a_task_that_no_longer_builds_its_recorded_images_is_refused_on_resume(tmp_path):
    out = tmp_path / "m"
    build_meta_dataset(out, recipes=recipes(1), seeds=1, n_workers=0, max_cells=1, **TINY)
    manifest = json.loads((out / MANIFEST).read_text())
    digest = manifest["tasks"][0]["images_digest"]
    assert len(digest) == 16
    manifest["tasks"][0]["images_digest"] = "0" * 16  # as if the package's files or the renderer had changed
    (out / MANIFEST).write_text(json.dumps(manifest))
    builder._TASK_CACHE.clear()
    with pytest.raises(builder.TaskChangedError, match=r"^Task '.*' no longer builds the images .*recorded 0{16}"):
        build_meta_dataset(out, recipes=recipes(1), seeds=1, n_workers=0, **TINY)
    assert len(read_records(out / RESULTS)) == 1  # the finished cell is kept


def test_the_images_digest_is_stable_and_sees_one_pixel(tmp_path):
    from hyperstar.suite import make_task

    a = make_task(recipes(1)[0], resolution=16)
    b = make_task(recipes(1)[0], resolution=16)
    assert builder.images_digest(a) == builder.images_digest(b)
    images = a.images(np.arange(len(a))).numpy().transpose(0, 2, 3, 1).copy()
    images[0, 0, 0, 0] ^= 1
    from hyperstar.data import Task

    c = Task.from_arrays(images, a.labels, resolution=16, channels=3, class_names=a.classes)
    assert builder.images_digest(c) != builder.images_digest(a)


def test_a_missing_package_or_a_changed_task_stops_the_pool_while_other_failures_do_not():
    from hyperstar.suite._debian import DebianPackageError

    assert builder._fatal(builder.TaskChangedError("x")) and builder._fatal(DebianPackageError("x"))
    assert not builder._fatal(RuntimeError("a cell's own failure"))


def test_a_resume_takes_the_recorded_design_not_a_new_one(tmp_path, monkeypatch):
    out = tmp_path / "m"
    build_meta_dataset(out, recipes=recipes(1), seeds=1, n_workers=0, max_cells=0, **TINY)
    recorded = [c["config"] for c in json.loads((out / MANIFEST).read_text())["configs"]]

    def other_machine(*a, **k):  # another scipy would scramble the Sobol points otherwise
        raise AssertionError("the design was drawn again")

    monkeypatch.setattr(builder, "design_configurations", other_machine)
    meta = build_meta_dataset(out, recipes=recipes(1), seeds=1, n_workers=0, max_cells=0, **TINY)
    assert [c["config"] for c in meta.manifest["configs"]] == recorded


def test_one_folder_under_two_families_is_refused(tmp_path, flat_folder):
    from hyperstar.suite import folder_recipe

    a = flat_folder(tmp_path / "data" / "leaves", 10)
    build_meta_dataset(tmp_path / "m", recipes=[folder_recipe(a, family="trees")], n_workers=0, max_cells=0, **TINY)
    with pytest.raises(InvalidInputError, match="holds the same files as task 'trees-leaves'"):
        build_meta_dataset(tmp_path / "m", recipes=[folder_recipe(a, family="plants")], n_workers=0, max_cells=0,
                           **TINY)
    with pytest.raises(InvalidInputError, match="holds the same files as task"):  # twice in one build, too
        build_meta_dataset(tmp_path / "n", recipes=[folder_recipe(a, family="trees"), folder_recipe(a, family="x")],
                           n_workers=0, max_cells=0, **TINY)


def test_a_build_stopped_early_gives_its_whole_columns_as_a_complete_meta_dataset(tmp_path):
    out = tmp_path / "m"
    # configuration-major: 3 tasks x 3 configurations x 1 seed; stop after 7 cells (2 whole columns + 1 cell)
    meta = build_meta_dataset(out, recipes=recipes(3), n_workers=0, seeds=1, max_cells=7, **TINY)
    assert not meta.complete and list(meta.complete_configurations()) == [0, 1]
    cols = meta.subset_configs(meta.complete_configurations())
    assert cols.complete and cols.n_tasks == 3 and cols.n_configs == 2
    assert [c["id"] for c in cols.manifest["configs"]] == ["c0000", "c0001"]
    assert np.array_equal(cols.final_acc, meta.final_acc[:, :2]) and cols.default_index == meta.default_index == 0
    assert np.array_equal(cols.wise_ft, meta.wise_ft[:, :2], equal_nan=True)
    assert np.array_equal(cols.n_seeds, meta.n_seeds[:, :2])
    swapped = meta.subset_configs([1, 0])  # in the order given, the ids with them
    assert [c["id"] for c in swapped.manifest["configs"]] == ["c0001", "c0000"] and swapped.default_index == 1
    assert np.array_equal(swapped.wise_ft, meta.wise_ft[:, [1, 0]], equal_nan=True)
    assert np.array_equal(swapped.final_acc, meta.final_acc[:, [1, 0]])
    last = meta.subset_configs([2])
    assert [c["id"] for c in last.manifest["configs"]] == ["c0002"] and np.isnan(last.final_acc).sum() == 2

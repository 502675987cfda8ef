"""``hyperstar metadata refresh``: a task whose images changed is re-pinned, its rows are set aside (never lost) and
run again by the next build; every other task keeps its rows."""

import json

import numpy as np
import pytest
from PIL import Image

import hyperstar.meta.builder as builder
from hyperstar.cli.main import main
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.builder import build_meta_dataset
from hyperstar.meta.dataset import MANIFEST, RESULTS, read_records
from hyperstar.meta.refresh import STALE_RESULTS, refresh_changed_tasks

TINY = dict(n_configs=1, max_budget=1, backbone="smallcnn_tiny", weights=None, resolution=16, progress=False,
            n_workers=0, seeds=1, literature_recipes=False)




def _recipes(folder):
    from hyperstar.suite import folder_recipe, tiny_suite

    return [tiny_suite()[0], folder_recipe(folder, family="mine")]


def _tasks_of(path):
    return sorted({r["task"] for r in read_records(path)})


def _built(tmp_path, flat_folder):
    folder = flat_folder(tmp_path / "imgs" / "leaves", 10)
    out = tmp_path / "m"
    meta = build_meta_dataset(out, recipes=_recipes(folder), **TINY)
    assert meta.complete
    builder._TASK_CACHE.clear()
    return folder, out, meta


def test_an_edited_folder_is_re_pinned_its_rows_set_aside_and_run_again(tmp_path, flat_folder):
    folder, out, meta = _built(tmp_path, flat_folder)
    suite_task, folder_task = meta.task_names
    before = {(r["task"], r["config_id"]): r for r in read_records(out / RESULTS)}
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(folder / "a" / "0.png")  # one image redrawn
    with pytest.raises(InvalidInputError, match="built on other content"):
        build_meta_dataset(out, recipes=_recipes(folder), **TINY)

    assert refresh_changed_tasks(out, dry_run=True)[0]["task"] == folder_task
    assert not (out / STALE_RESULTS).exists()  # a dry run writes nothing

    changed = refresh_changed_tasks(out, tasks=[folder_task, folder_task])  # a name given twice counts once
    assert [(c["task"], c["rows"], c["action"]) for c in changed] == [(folder_task, 2, "set aside")]
    assert _tasks_of(out / RESULTS) == [suite_task] and _tasks_of(out / STALE_RESULTS) == [folder_task]
    entry = next(t for t in json.loads((out / MANIFEST).read_text())["tasks"] if t["name"] == folder_task)
    assert entry["images_digest"] == changed[0]["now"] != changed[0]["recorded"]
    assert entry["refreshed"][0]["recorded_digest"] == changed[0]["recorded"]
    assert refresh_changed_tasks(out) == []  # idempotent

    again = build_meta_dataset(out, recipes=_recipes(folder), **TINY)
    assert again.complete  # the folder task's cells ran again: its rows had left results.jsonl
    rows = read_records(out / RESULTS)
    assert [r for r in rows if r["task"] == suite_task] == [r for r in before.values() if r["task"] == suite_task]
    assert sum(r["task"] == folder_task for r in rows) == 2 and len(read_records(out / STALE_RESULTS)) == 2


def test_a_folder_re_saved_with_the_same_pixels_keeps_its_rows(tmp_path, flat_folder):
    folder, out, meta = _built(tmp_path, flat_folder)
    img = folder / "a" / "0.png"
    Image.open(img).save(img, compress_level=0)  # other bytes, the same pixels
    changed = refresh_changed_tasks(out)
    assert [(c["task"], c["action"], c["rows"]) for c in changed] == [(meta.task_names[1], "recipe", 0)]
    assert len(read_records(out / RESULTS)) == 4 and not (out / STALE_RESULTS).exists()
    assert refresh_changed_tasks(out) == []
    build_meta_dataset(out, recipes=_recipes(folder), max_cells=0, **{k: v for k, v in TINY.items()})  # accepted


def test_a_package_task_whose_digest_differs_is_refreshed_and_unknown_names_are_refused(tmp_path, capsys, flat_folder):
    folder, out, meta = _built(tmp_path, flat_folder)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["tasks"][0]["images_digest"] = "0" * 16  # as if a package had been updated
    (out / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InvalidInputError, match="No task named 'nope'"):
        refresh_changed_tasks(out, tasks=["nope"])
    assert main(["metadata", "refresh", str(out), "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] and [c["task"] for c in report["changed"]] == [meta.task_names[0]]
    assert main(["metadata", "refresh", str(out), "--task", meta.task_names[0]]) == 0
    assert "set aside in results.stale.jsonl" in capsys.readouterr().out
    assert _tasks_of(out / RESULTS) == [meta.task_names[1]]
    with pytest.raises(InvalidInputError, match="holds no meta-dataset"):
        refresh_changed_tasks(tmp_path / "empty")


def test_a_task_without_a_recorded_digest_is_pinned_and_keeps_its_rows(tmp_path, flat_folder):
    folder, out, meta = _built(tmp_path, flat_folder)
    manifest = json.loads((out / MANIFEST).read_text())
    digest = manifest["tasks"][0].pop("images_digest")  # as a build from before digests left it
    (out / MANIFEST).write_text(json.dumps(manifest))
    changed = refresh_changed_tasks(out)
    assert [(c["task"], c["action"], c["rows"], c["now"]) for c in changed] == [(meta.task_names[0], "pinned", 0, digest)]
    assert len(read_records(out / RESULTS)) == 4 and not (out / STALE_RESULTS).exists()
    assert json.loads((out / MANIFEST).read_text())["tasks"][0]["images_digest"] == digest


def test_a_kill_between_the_results_and_the_manifest_is_finished_by_a_second_refresh(tmp_path, flat_folder,
                                                                                      monkeypatch):
    import hyperstar.meta.refresh as refresh

    folder, out, meta = _built(tmp_path, flat_folder)
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(folder / "b" / "1.png")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(refresh, "write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        refresh_changed_tasks(out)
    monkeypatch.undo()
    assert _tasks_of(out / RESULTS) == [meta.task_names[0]]  # the rows already left, the manifest is the old one
    again = refresh_changed_tasks(out)
    assert [(c["task"], c["rows"]) for c in again] == [(meta.task_names[1], 0)]
    assert len(read_records(out / STALE_RESULTS)) == 2 and refresh_changed_tasks(out) == []
    assert build_meta_dataset(out, recipes=_recipes(folder), **TINY).complete


def test_a_packaged_recipe_takes_the_installed_versions_and_a_missing_package_stays_pinned(monkeypatch):
    import hyperstar.suite._debian as debian
    from hyperstar.meta.refresh import _current_recipe

    recipe = {"name": "t", "family": "icons", "params": {"classes": ["a"], "versions": {"p": "1.0", "q": "2.0"}}}
    monkeypatch.setattr(debian, "installed_version", lambda package: {"p": "1.1", "q": "2.0"}[package])
    assert _current_recipe(recipe)["params"]["versions"] == {"p": "1.1", "q": "2.0"}
    assert recipe["params"]["versions"] == {"p": "1.0", "q": "2.0"}  # the manifest's own recipe is not changed
    monkeypatch.setattr(debian, "installed_version", lambda package: None if package == "q" else "1.1")
    assert _current_recipe(recipe) == recipe  # building it then says which package to install


def test_a_meta_dataset_of_the_first_format_is_refused_with_one_line(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"format_version": 1, "tasks": [], "configs": []}))
    with pytest.raises(InvalidInputError, match="format version 1; refresh re-pins"):
        refresh_changed_tasks(tmp_path)


def test_metadata_info_checks_that_every_recipe_rebuilds_its_images_and_names_those_that_do_not(
        tmp_path, capsys, flat_folder):
    from hyperstar.meta.refresh import check_recipes

    folder, out, meta = _built(tmp_path, flat_folder)
    suite_task, folder_task = meta.task_names
    assert check_recipes(out) == {"checked": 2, "rebuilt_exactly": 2, "changed": [], "failed": [], "no_recipe": 0,
                                  "no_digest": 0}
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["tasks"][0]["images_digest"] = "0" * 16          # the suite task's cells ran on other images
    (out / MANIFEST).write_text(json.dumps(manifest))
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(folder / "a" / "0.png")  # the folder was edited
    got = check_recipes(out)
    assert (got["rebuilt_exactly"], got["changed"]) == (0, [suite_task])
    assert [f["task"] for f in got["failed"]] == [folder_task] and "changed since its recipe" in got["failed"][0]["error"]
    assert main(["metadata", "info", str(out), "--check-recipes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recipes"] == got
    assert main(["metadata", "info", str(out), "--check-recipes"]) == 0
    text = capsys.readouterr().out
    assert "recipes: 0 of 2 tasks rebuild" in text and f"other images now: {suite_task}" in text
    assert f"does not build here: {folder_task}" in text

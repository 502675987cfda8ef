"""Re-pin the tasks of a meta-dataset whose images changed, without mixing two tasks under one name.

A build records each task's images digest (:func:`hyperstar.meta.builder.images_digest`) and a resumed
build refuses a task that no longer builds those images (:class:`~hyperstar.meta.builder.TaskChangedError`):
a package was updated, the code that reads it changed, a folder was edited. When the new images are the
ones to keep, :func:`refresh_changed_tasks` (``hyperstar metadata refresh``) rebuilds every task (or the
named ones), and for each changed task moves its result rows to ``results.stale.jsonl`` (kept, never
loaded as meta-data), records the new digest, descriptors, validation size and provenance in the manifest
with a note of the change, and leaves the rest as it was. The next ``metadata build --out FOLDER`` runs
the task's cells again. A packaged task's recipe pins its packages' versions: after an upgrade its recipe
takes the installed versions (resume with ``--out`` alone, which reads the manifest's recipes: a suite's
own recipes still pin the old versions). A task that an earlier build kept without a digest is pinned,
its rows kept. Nothing is lost: the stale rows are appended first, then ``results.jsonl`` and the manifest
are each replaced atomically. A kill between those two leaves the old manifest beside the new results:
the next build refuses the task again, and a second refresh finishes the job (moving no more rows).

Example::

    >>> from hyperstar.meta.refresh import refresh_changed_tasks
    >>> refresh_changed_tasks("my_meta", dry_run=True)   # doctest: +SKIP
    [{'task': 'v2-icons-ctx-6c-150s', 'recorded': '7fa3b733fbf62f05', 'now': '180b1df6262c9d44', 'rows': 24}]
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hyperstar._internal.io import atomic_write_text
from hyperstar._internal.locks import file_lock
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import FORMAT_VERSION, MANIFEST, RESULTS, repair_results, write_manifest

__all__ = ["STALE_RESULTS", "check_recipes", "refresh_changed_tasks"]

#: where the rows of a refreshed task go (beside ``results.jsonl``; never read as meta-data)
STALE_RESULTS = "results.stale.jsonl"


def refresh_changed_tasks(out: str | Path, tasks: Sequence[str] | None = None, dry_run: bool = False,
                          progress: bool = False) -> list[dict[str, Any]]:
    """Rebuild the tasks of the meta-dataset in ``out`` (all, or those named in ``tasks``) and re-pin those
    whose images no longer match the recorded digest; returns one entry per task it re-pinned (``task``,
    ``recorded``, ``now``, ``rows``: the result rows moved aside, ``action``: ``"set aside"``, ``"pinned"``
    for a task without a recorded digest, or ``"recipe"`` for a recipe made again with the same pixels (a
    re-saved folder, new package versions): both keep their rows). ``dry_run`` only reports. A task without a
    recipe (imported meta-data) cannot be rebuilt and is refused when named; a recipe that no longer builds
    at all raises its own error (a missing package says which to install)."""
    from tqdm.auto import tqdm

    from hyperstar.meta.builder import TEST_FRACTION, VAL_FRACTION, images_digest
    from hyperstar.suite import make_task

    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise InvalidInputError(f"'{out}' holds no meta-dataset (no {MANIFEST}). Give the --out folder of a build.")
    with file_lock(out, what="meta-dataset"):
        manifest = json.loads((out / MANIFEST).read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            raise InvalidInputError(
                f"'{out}' holds a meta-dataset of format version {manifest.get('format_version')}; refresh re-pins "
                f"the tasks of builds of format {FORMAT_VERSION} (this builder's), which record their images. "
                "Build the new version in another folder.")
        entries = manifest.get("tasks", [])
        by_name = {t.get("name"): t for t in entries}
        if tasks:
            unknown = [n for n in tasks if n not in by_name]
            if unknown:
                raise InvalidInputError(f"No task named {', '.join(map(repr, unknown))} in '{out}'. Known: "
                                        f"{', '.join(list(by_name)[:8])}{'...' if len(by_name) > 8 else ''}.")
            no_recipe = [n for n in tasks if not by_name[n].get("recipe")]
            if no_recipe:
                raise InvalidInputError(f"Task(s) {', '.join(no_recipe)} of '{out}' have no recipe (imported "
                                        "meta-data): there are no images to rebuild.")
        names = list(dict.fromkeys(tasks)) if tasks else [t["name"] for t in entries if t.get("recipe")]
        resolution = int(manifest.get("resolution", 32))
        split_seed = int(manifest.get("split_seed", 0))
        changed: list[dict[str, Any]] = []
        new_entries: dict[str, dict[str, Any]] = {}
        for name in tqdm(names, desc="rebuilding tasks", unit="task", disable=not progress, leave=False):
            entry = by_name[name]
            recipe = _current_recipe(entry["recipe"])
            task = make_task(recipe, resolution=resolution)
            now = images_digest(task)
            recorded = entry.get("images_digest")
            if recorded is None or recorded == now:  # never pinned, or the same pixels: the rows stay
                if recorded is None or recipe != entry["recipe"]:
                    new_entries[name] = dict(entry, recipe=recipe, images_digest=now)
                    if getattr(task, "provenance", None):  # new package versions, the same pixels
                        new_entries[name]["provenance"] = task.provenance
                    changed.append({"task": name, "recorded": recorded, "now": now,
                                    "action": "pinned" if recorded is None else "recipe"})
                continue
            n_val = len(task.split(val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=split_seed).val)
            new = dict(entry, recipe=recipe, images_digest=now, descriptors=task.describe(), n_val=int(n_val))
            if getattr(task, "provenance", None):
                new["provenance"] = task.provenance
            new["refreshed"] = list(entry.get("refreshed", [])) + [{
                "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "recorded_digest": recorded, "new_digest": now,
                "old_provenance": entry.get("provenance")}]
            new_entries[name] = new
            changed.append({"task": name, "recorded": recorded, "now": now, "action": "set aside"})
        results = out / RESULTS
        if not dry_run:
            repair_results(results)
        lines = results.read_text().splitlines(keepends=True) if results.is_file() else []
        task_of = [_task_of(line) for line in lines]
        for c in changed:
            c["rows"] = task_of.count(c["task"]) if c["action"] == "set aside" else 0
        if dry_run or not new_entries:
            return changed
        stale = {c["task"] for c in changed if c["action"] == "set aside"}
        if stale:
            _set_aside(out, results, lines, task_of, stale)
        manifest["tasks"] = [new_entries.get(t.get("name"), t) for t in entries]
        write_manifest(out, manifest)
        return changed


def check_recipes(out: str | Path, progress: bool = False) -> dict[str, Any]:
    """Does every task's recipe still build the images its cells ran on? Builds each task of the meta-dataset
    in ``out`` from its recipe (never from the task cache) and compares its images digest with the recorded
    one. Reads only (no lock: a running build may go on). Returns ``checked`` (tasks with a recipe and a
    recorded digest), ``rebuilt_exactly``, ``changed`` (names), ``failed`` (``{task, error}``: a recipe that no
    longer builds here, e.g. a Debian package that is not installed) and ``no_digest`` / ``no_recipe`` counts."""
    from tqdm.auto import tqdm

    from hyperstar.exceptions import HyperstarError
    from hyperstar.meta.builder import images_digest
    from hyperstar.suite import make_task

    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise InvalidInputError(f"'{out}' holds no meta-dataset (no {MANIFEST}).")
    manifest = json.loads((out / MANIFEST).read_text())
    entries = manifest.get("tasks", [])
    resolution = int(manifest.get("resolution", 32))
    todo = [t for t in entries if t.get("recipe") and t.get("images_digest")]
    report: dict[str, Any] = {"checked": len(todo), "rebuilt_exactly": 0, "changed": [], "failed": [],
                              "no_recipe": sum(not t.get("recipe") for t in entries),
                              "no_digest": sum(bool(t.get("recipe")) and not t.get("images_digest") for t in entries)}
    for entry in tqdm(todo, desc="rebuilding tasks", unit="task", disable=not progress, leave=False):
        try:
            task = make_task(entry["recipe"], resolution=resolution)
        except HyperstarError as exc:  # a missing package, a moved folder: say so, check the others
            report["failed"].append({"task": entry["name"], "error": str(exc).splitlines()[0]})
            continue
        if images_digest(task) == entry["images_digest"]:
            report["rebuilt_exactly"] += 1
        else:
            report["changed"].append(entry["name"])
    return report


def _set_aside(out: Path, results: Path, lines: list[str], task_of: list[str | None], stale: set[str]) -> None:
    """Move the result lines of the ``stale`` tasks to :data:`STALE_RESULTS`, the others staying in place."""
    with open(out / STALE_RESULTS, "a") as fh:  # the stale rows first: a kill next leaves them twice, not lost
        fh.writelines(line for line, t in zip(lines, task_of) if t in stale)
        fh.flush()
        os.fsync(fh.fileno())
    atomic_write_text(results, "".join(line for line, t in zip(lines, task_of) if t not in stale))


def _current_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as it builds now: a folder task's recipe is made again from its folder (path, family and name
    kept), since it records the digest of the files; a packaged task's takes the installed versions of its
    packages when all are installed (a missing one stays, and building says which to install); any other
    recipe is its own."""
    from hyperstar.meta.builder import _recipe_dict
    from hyperstar.suite._debian import installed_version
    from hyperstar.suite.folders import FOLDER_FAMILY, folder_recipe, is_folder_recipe

    if not is_folder_recipe(recipe):
        params = recipe.get("params") or {}
        pinned = params.get("versions")
        if isinstance(pinned, dict) and pinned:
            now = {package: installed_version(package) for package in pinned}
            if all(now.values()) and now != pinned:
                return dict(recipe, params=dict(params, versions=now))
        return dict(recipe)
    params = recipe.get("params") or {}
    return _recipe_dict(folder_recipe(params["path"], family=params.get("family", FOLDER_FAMILY), name=recipe["name"]))


def _task_of(line: str) -> str | None:
    """The task a results line names (None for a line that is not a complete record: it is kept as it is)."""
    try:
        return json.loads(line).get("task") if line.endswith("\n") else None
    except (json.JSONDecodeError, AttributeError):
        return None

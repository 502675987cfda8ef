"""Build a meta-dataset: fine-tune every (task, configuration) pair of a suite, resumably.

``hyperstar metadata build`` runs :func:`build_meta_dataset`. Worker processes (one torch thread
each on CPU) run :func:`hyperstar.finetune.fine_tune` to the maximum budget and send the curve
back; only the main process writes, appending one complete line per finished cell. A re-run
skips finished cells, so a kill (even ``kill -9``) loses at most the cells in flight. The workers
end with the process that started them, however it ends (``kill -9`` included): none is left
running on its own. One build at a time may write a folder (a lock: a second is refused).

A v2 build runs every configuration on ``seeds`` seeds, configuration-major (each configuration on every
task before the next, so a build stopped early, by ``max_hours`` or a kill, leaves whole configurations),
over a design with the literature recipes (:data:`LITERATURE_RECIPES`); :func:`estimate_build` sizes it
first (cells x seconds per cell / workers, from timing real cells).

Example::

    >>> import tempfile
    >>> from hyperstar.meta import build_meta_dataset
    >>> from hyperstar.suite import tiny_suite
    >>> out = tempfile.mkdtemp() + "/my_meta"
    >>> meta = build_meta_dataset(out, recipes=tiny_suite()[:1], n_configs=2, noise_configs=0, max_budget=1,
    ...                           n_workers=0, backbone="smallcnn_tiny", weights=None, resolution=16, progress=False)
    >>> meta.curves.shape                   # 1 task x 3 configurations (the default + 2) x 1 epoch
    (1, 3, 1)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar._internal.locks import file_lock
from hyperstar._internal.paths import resolve_weights
from hyperstar._internal.progress import LineProgress
from hyperstar._internal.provenance import code_version, file_digest, machine_description
from hyperstar._internal.validation import check_choice, check_int, check_seed
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import (
    FORMAT_VERSION,
    MANIFEST,
    RESULTS,
    MetaDataset,
    append_record,
    load_meta_dataset,
    read_records,
    repair_results,
    write_manifest,
)
from hyperstar.meta.validate import manifest_space_version
from hyperstar.meta.replicate import check_replication, further_runs
from hyperstar.meta.design import LITERATURE_RECIPES, design_configurations, literature_configurations  # noqa: F401
from hyperstar.space import SPACE_VERSION, config_key, validate_configuration

__all__ = ["build_meta_dataset", "design_configurations", "VAL_FRACTION", "TEST_FRACTION"]

logger = logging.getLogger(__name__)

VAL_FRACTION = 0.2
TEST_FRACTION = 0.2


# --------------------------------------------------------------------------- worker side

_TASK_CACHE: dict[str, Any] = {}


#: how often a worker checks that the process that started it is still there (seconds)
PARENT_CHECK_S = 0.2


def _exit_with_parent(parent_pid: int) -> None:
    """End this worker process as soon as ``parent_pid`` (the builder) is gone.

    A worker busy with a cell, or waiting for the next one, is never told by the pool's queues that
    the builder died (each worker holds both ends of its pipes), so after a ``kill -9`` of the builder
    it would run on for minutes. On Linux the kernel sends SIGKILL when the parent dies
    (``PR_SET_PDEATHSIG``); everywhere, a daemon thread also watches ``os.getppid()``.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # a libc without prctl: the watch thread still does it
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the builder died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="hyperstar-parent-watch", daemon=True).start()


def _init_worker(threads: int, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        _exit_with_parent(parent_pid)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


#: the most pixel bytes of tasks a worker keeps built (a configuration-major build visits every task for each
#: configuration, so the worker keeps them all when they fit); override with HYPERSTAR_TASK_CACHE_MB
TASK_CACHE_MB = 1024


class TaskChangedError(InvalidInputError):
    """A task's recipe no longer builds the images its meta-dataset was built on (other package files, another
    renderer, an edited folder): resuming would mix two tasks under one name."""


def images_digest(task) -> str:
    """The first 16 hex digits of the SHA-256 of a task's pixels, labels and class names: what pins a recipe to
    the exact images a build ran on (a manifest records it per task; a resumed build checks it)."""
    import hashlib

    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, task.classes)), int(task.resolution)]).encode())
    h.update(np.ascontiguousarray(task.labels, dtype=np.int64).tobytes())
    for start in range(0, len(task), 1024):
        idx = np.arange(start, min(start + 1024, len(task)))
        h.update(np.ascontiguousarray(task.images(idx).numpy()).tobytes())
    return h.hexdigest()[:16]


def _check_digest(task, recipe: Mapping[str, Any], expected: str | None) -> None:
    if expected is None:
        return
    got = images_digest(task)
    if got != expected:
        raise TaskChangedError(
            f"Task '{recipe.get('name')}' no longer builds the images this meta-dataset was built on (images digest "
            f"{got}, recorded {expected}): its source changed (package files, the renderer, or an edited folder). "
            "Restore the recorded source (the manifest's provenance says which packages and versions), build "
            "into another --out folder, or keep the new images with `hyperstar metadata refresh OUT --task "
            f"{recipe.get('name')}` (its rows are set aside and its cells run again)."
        )


def _get_task(recipe: Mapping[str, Any], resolution: int, expected_digest: str | None = None):
    from hyperstar.meta.task_cache import cached_task

    key = f"{json.dumps(dict(recipe), sort_keys=True)}|{resolution}"  # a changed folder recipe is not a cache hit
    if key in _TASK_CACHE:
        _TASK_CACHE[key] = _TASK_CACHE.pop(key)  # most recently used last
        return _TASK_CACHE[key]
    # from the disk cache when a file there hashes to the recorded digest, else built and checked once per worker
    task = cached_task(recipe, resolution, expected_digest, check=lambda t: _check_digest(t, recipe, expected_digest))
    limit = float(os.environ.get("HYPERSTAR_TASK_CACHE_MB", TASK_CACHE_MB)) * 2**20
    size = lambda t: len(t) * 3 * resolution * resolution  # noqa: E731  (an upper bound: gray is stored once)
    while _TASK_CACHE and sum(size(t) for t in _TASK_CACHE.values()) + size(task) > limit:
        _TASK_CACHE.pop(next(iter(_TASK_CACHE)))  # least recently used first
    _TASK_CACHE[key] = task
    return task


def _run_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    from hyperstar.finetune import fine_tune

    task = _get_task(cell["recipe"], cell["resolution"], cell.get("images_digest"))
    split = task.split(val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=cell["split_seed"])
    weights = cell["weights"]
    result = fine_tune(
        task,
        cell["config"],
        budget=cell["max_budget"],
        max_budget=cell["max_budget"],
        backbone=cell["backbone"],
        weights=weights,
        seed=cell["seed"],
        split=split,
        device=cell.get("device", "auto"),
    )
    return {
        "task": cell["task"],
        "config_id": cell["config_id"],
        "seed": cell["seed"],
        "val_acc": [e.val_acc for e in result.curve],
        "val_loss": [e.val_loss for e in result.curve],
        "train_loss": [e.train_loss for e in result.curve],
        "test_acc": result.test_acc,
        "shifted_acc": result.shifted_acc,
        "wise_ft": _wise_record(result.wise_ft),
        "diverged": result.diverged,
        "diverged_epoch": result.diverged_epoch,
        "wall_time": round(result.wall_time, 3),
        "samples_per_s": round(result.samples_per_s, 1),
        "device": result.device,
        "code_version": cell["code_version"],
        "machine": machine_description(),
        "pid": os.getpid(),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _wise_record(wise: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The WiSE-FT numbers a result row keeps: the alphas and, per split, the accuracy at each alpha."""
    if not wise:
        return None
    return {"alphas": list(wise["alphas"]), "val": list(wise["val"]), "test": list(wise["test"]),
            "shifted": list(wise["shifted"]), "best_alpha": wise.get("best_alpha"),
            "body_changed": bool(wise.get("body_changed", True)), "seconds": round(float(wise.get("seconds", 0.0)), 3)}


# --------------------------------------------------------------------------- main side

#: the cell orders of a build: ``"config"`` (configuration-major: for each configuration in design order,
#: every task, each seed; a build stopped early has whole columns, useful to the analysis) or ``"task"``
#: (task by task, the order of the first builds)
CELL_ORDERS = ("config", "task")


def _recipe_dict(recipe: Any) -> dict[str, Any]:
    return recipe.to_dict() if hasattr(recipe, "to_dict") else dict(recipe)


def _changed_recipe(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The one-line refusal of a task whose recipe differs from the one the folder was built with."""
    from hyperstar.suite.folders import is_folder_recipe

    if is_folder_recipe(old) and is_folder_recipe(new):
        o, n = old.get("params", {}), new.get("params", {})
        if o.get("path") == n.get("path"):
            return (f"The folder task '{name}' was built on other content of '{n.get('path')}' (digest "
                    f"{str(o.get('digest'))[:19]}..., {o.get('n_files')} files; now {str(n.get('digest'))[:19]}..., "
                    f"{n.get('n_files')} files). Restore the folder, or build the changed folder in another --out folder.")
    return (f"The task '{name}' is in this meta-dataset with another recipe ({json.dumps(old, sort_keys=True)[:120]}); "
            "give the new task another name, or build it in another --out folder.")


def _plan_manifest(out: Path, recipes, configs, max_budget, backbone, weights_path, resolution, split_seed,
                   noise_config_ids, config_seed, space_version: int, seeds: int | None,
                   asked: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest a build of ``out`` writes (nothing is written here); refuses other settings than the
    folder's."""
    from hyperstar.meta.task_cache import remember
    from hyperstar.suite import make_task
    from hyperstar.suite.folders import meta_family

    digest = file_digest(weights_path)
    existing = None
    if (out / MANIFEST).is_file():
        existing = load_meta_dataset(out).manifest
        if existing.get("format_version") != FORMAT_VERSION:
            raise InvalidInputError(
                f"'{out}' holds a meta-dataset of format version {existing.get('format_version')} (search space "
                f"version {manifest_space_version(existing)}); this builder writes version {FORMAT_VERSION}. It loads "
                "as it is; build the new version in another --out folder."
            )
        problems = []
        for key, value in (("max_budget", max_budget), ("backbone", backbone), ("weights_digest", digest),
                           ("resolution", resolution), ("split_seed", split_seed), ("space_version", space_version)):
            if existing.get(key) != value:
                problems.append(f"{key} {existing.get(key)!r} (asked: {value!r})")
        old_configs = [config_key(c["config"]) for c in existing["configs"]]
        if old_configs != [config_key(c) for c in configs][: len(old_configs)]:
            was = (existing.get("asked") or {})
            how = ", ".join(f"{k} {was[k]!r}" for k in ("n_configs", "config_seed", "literature_recipes") if k in was)
            problems.append("a different configuration set" + (
                f" (it was built with {how})" if how else
                " (a build from before meta-data v2: resume it with --no-literature-recipes, its --n-configs and "
                "--config-seed, and --noise-configs)"))
        if problems:
            raise InvalidInputError(
                f"'{out}' holds a meta-dataset built with {', '.join(problems)}. Use the same settings to "
                "resume it, or another --out folder."
            )
    known = {t["name"]: t for t in (existing or {}).get("tasks", [])}
    tasks = []
    folder_of_digest: dict[str, str] = {}  # one folder's images under two names would sit in two families
    for recipe in recipes:
        r = _recipe_dict(recipe)
        digest_here = r.get("family") == "folder" and (r.get("params") or {}).get("digest")
        if digest_here:
            others = folder_of_digest.get(digest_here) or next(
                (n for n, t in known.items() if n != r["name"] and (t.get("recipe") or {}).get("family") == "folder"
                 and ((t.get("recipe") or {}).get("params") or {}).get("digest") == digest_here), None)
            if others:
                raise InvalidInputError(
                    f"The folder of task '{r['name']}' holds the same files as task '{others}' of this meta-dataset; "
                    "one folder is one task (under another --family its images would sit in two families). Leave "
                    "it out, or build into another --out folder.")
            folder_of_digest[digest_here] = r["name"]
        if r["name"] in {t["name"] for t in tasks}:
            raise InvalidInputError(f"Two tasks of this build are named '{r['name']}'. Give every task its own name "
                                    "(for folders: folders with distinct names, or --family).")
        if r["name"] in known:
            if known[r["name"]].get("recipe") not in (None, r):
                raise InvalidInputError(_changed_recipe(r["name"], known[r["name"]]["recipe"], r))
            entry = dict(known[r["name"]])
            if "images_digest" not in entry:  # recorded from this code on: pin a task of an earlier build once
                entry["images_digest"] = images_digest(make_task(r, resolution=resolution))
            tasks.append(entry)
            continue
        task = make_task(r, resolution=resolution)
        n_val = len(task.split(val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=split_seed).val)
        entry = {"name": r["name"], "family": meta_family(r), "recipe": r, "descriptors": task.describe(),
                 "n_val": int(n_val), "images_digest": images_digest(task)}
        remember(task, entry["images_digest"])  # the workers read it back instead of building it again
        if getattr(task, "provenance", None):  # packaged families: packages, versions, file digest
            entry["provenance"] = task.provenance
        tasks.append(entry)
    for name, t in known.items():  # keep tasks of earlier builds that this call does not list
        if name not in {x["name"] for x in tasks}:
            tasks.append(t)
    return {
        "format_version": FORMAT_VERSION,
        "space_version": space_version,
        "name": out.name,
        "created": (existing or {}).get("created") or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "backbone": backbone,
        "weights": (weights_path.name if isinstance(weights_path, Path) else weights_path) if weights_path else None,
        "weights_digest": digest,
        "resolution": resolution,
        "max_budget": max_budget,
        "split": {"val_fraction": VAL_FRACTION, "test_fraction": TEST_FRACTION},
        "split_seed": split_seed,
        "config_seed": config_seed,
        "seeds": seeds,
        "noise_seed": 1,
        "noise_config_ids": noise_config_ids,
        "asked": dict(asked),
        "tasks": tasks,
        "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)],
    }


def _plan(where: str, out, recipes, n_configs, config_seed, configs, max_budget, noise_configs, seeds, backbone,
          weights, n_workers, threads_per_worker, resolution, split_seed, max_cells, space_version, order,
          literature_recipes, max_hours, replicate_above=None, max_seeds=4, replicate_within=None) -> dict[str, Any]:
    """Every argument of a build checked (before anything is written), the configurations designed and the
    weights found: what :func:`build_meta_dataset` and :func:`estimate_build` share."""
    from hyperstar._internal.validation import check_float
    from hyperstar.space.default import SPACE_VERSIONS, default_space
    from hyperstar.suite import default_suite

    check_int(n_configs, "n_configs", where, 0)
    check_seed(config_seed, where)
    check_int(max_budget, "max_budget", where, 1, 10_000)
    check_int(noise_configs, "noise_configs", where, 0)
    if seeds is not None:
        check_int(seeds, "seeds", where, 1, 100)
    check_int(n_workers, "n_workers", where, 0, 512)
    check_int(threads_per_worker, "threads_per_worker", where, 1, 512)
    check_int(resolution, "resolution", where, 8, 512)
    check_seed(split_seed, where)
    if max_cells is not None:
        check_int(max_cells, "max_cells", where, 0)
    if max_hours is not None:
        check_float(max_hours, "max_hours", where, 0.0)
    check_choice(order, "order", where, CELL_ORDERS)
    check_replication(where, replicate_above, max_seeds, seeds, replicate_within)
    if not isinstance(literature_recipes, bool):
        raise InvalidInputError(f"The 'literature_recipes' argument of {where} must be True or False. "
                                f"Got {literature_recipes!r}.")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"The meta-dataset folder '{out}' is a file. Give a folder (new or an earlier build).")
    if recipes is None:  # a resume goes on with the folder's own tasks; a new build takes the v1 suite
        recipes = _manifest_recipes(out) or default_suite()
    recipes = list(recipes)
    check_choice(space_version, "space_version", where, SPACE_VERSIONS)
    space = default_space(version=space_version)
    given = configs is not None
    recorded = None if given else _recorded_design(out, n_configs, config_seed, literature_recipes, space_version)
    configs = ([validate_configuration(c, space) for c in configs] if given
               else recorded if recorded is not None
               else design_configurations(n_configs, config_seed, space_version, recipes=literature_recipes))
    weights_path = resolve_weights(backbone, weights, check=True)
    noise_ids = ([f"c{i:04d}" for i in range(len(configs))] if seeds is not None and seeds >= 2
                 else [] if seeds is not None else [f"c{i:04d}" for i in range(min(noise_configs, len(configs)))])
    asked = {"n_configs": n_configs, "config_seed": config_seed, "literature_recipes": literature_recipes,
             "given_configs": given, "seeds": seeds, "noise_configs": None if seeds else noise_configs,
             "order": order, "max_hours": max_hours, "max_cells": max_cells, "n_workers": n_workers,
             "replicate_above": replicate_above, "max_seeds": max_seeds if replicate_above is not None else None,
             "replicate_within": replicate_within}
    return {"out": out, "recipes": recipes, "configs": configs, "weights_path": weights_path, "noise_ids": noise_ids,
            "asked": asked}


def _recorded_design(out: Path, n_configs, config_seed, literature_recipes, space_version) -> list | None:
    """The configurations an earlier build of ``out`` designed with the same request, as recorded: a resume on
    another machine (another scipy's Sobol scrambling, say) goes on with them instead of designing anew."""
    if not (out / MANIFEST).is_file():
        return None
    manifest = load_meta_dataset(out).manifest
    asked = manifest.get("asked") or {}
    same = (asked.get("n_configs"), asked.get("config_seed"), asked.get("literature_recipes"),
            asked.get("given_configs"), manifest.get("space_version")) == (
        n_configs, config_seed, literature_recipes, False, space_version)
    return [c["config"] for c in manifest["configs"]] if same else None


def _manifest_recipes(out: Path) -> list[dict[str, Any]] | None:
    """The recipes of the tasks an earlier build of ``out`` holds (None when ``out`` holds none)."""
    if not (out / MANIFEST).is_file():
        return None
    tasks = load_meta_dataset(out).manifest.get("tasks", [])
    return [dict(t["recipe"]) for t in tasks if t.get("recipe")] or None


def _cells(manifest: Mapping[str, Any], names: Sequence[str], done: set, seeds: int | None, noise_ids: Sequence[str],
           order: str, fixed: Mapping[str, Any], extra: Sequence[tuple[str, str, int]] = ()) -> list[dict[str, Any]]:
    """The cells still to run, in ``order``: (configuration, task, seed) for ``"config"``, (task, seed 0 of each
    configuration, then the noise seeds) for ``"task"``; then the ``extra`` runs (task, config_id, seed)."""
    recipe_by_name = {t["name"]: t["recipe"] for t in manifest["tasks"] if t.get("recipe")}
    digest_by_name = {t["name"]: t.get("images_digest") for t in manifest["tasks"]}
    configs = manifest["configs"]
    noise = set(noise_ids)

    def seeds_of(c) -> list[int]:
        return list(range(seeds)) if seeds is not None else [0] + ([1] if c["id"] in noise else [])

    if order == "config":
        plan = [(name, c, seed) for c in configs for name in names for seed in seeds_of(c)]
    else:
        plan = [(name, c, seed) for name in names for seed in range(max(len(seeds_of(c)) for c in configs) or 1)
                for c in configs if seed in seeds_of(c)]
    by_id = {c["id"]: c for c in configs}
    plan += [(name, by_id[cid], seed) for name, cid, seed in extra]
    return [{"task": name, "recipe": recipe_by_name[name], "images_digest": digest_by_name.get(name),
             "config_id": c["id"], "config": c["config"], "seed": seed, **fixed}
            for name, c, seed in plan if (name, c["id"], seed) not in done]


def build_meta_dataset(
    out: str | Path,
    recipes: Sequence[Any] | None = None,
    n_configs: int = 64,
    config_seed: int = 0,
    configs: Sequence[Mapping[str, Any]] | None = None,
    max_budget: int = 9,
    noise_configs: int = 8,
    backbone: str = "smallcnn",
    weights: Any = "auto",
    n_workers: int = 2,
    threads_per_worker: int = 1,
    resolution: int = 32,
    split_seed: int = 0,
    device: str = "auto",
    progress: bool | str | None = None,
    max_cells: int | None = None,
    space_version: int = SPACE_VERSION,
    seeds: int | None = None,
    order: str = "config",
    literature_recipes: bool = False,
    max_hours: float | None = None,
    replicate_above: float | None = None,
    max_seeds: int = 4,
    replicate_within: float | None = None,
) -> MetaDataset:
    """Evaluate every (task, configuration) cell of a suite to ``max_budget`` epochs, resumably.

    ``recipes`` default to :func:`hyperstar.suite.default_suite` (a folder task is a recipe too:
    :func:`hyperstar.suite.folder_recipe`); the configurations are the common-practice default, then with
    ``literature_recipes=True`` the known-good recipes of :data:`LITERATURE_RECIPES`, then an ``n_configs``-point
    Sobol design (seed ``config_seed``), unless given. ``seeds=N`` runs every configuration with seeds
    ``0..N-1``; without it (the first builds' plan) every configuration runs with seed 0 and the first
    ``noise_configs`` also with seed 1. ``order`` is the order of the cells (:data:`CELL_ORDERS`; the default,
    configuration-major, leaves whole configurations over every task when a build stops early).
    ``n_workers=0`` runs in this process. ``progress``: a tqdm bar (``True``; default: when stderr is a
    terminal), nothing (``False``), or ``"lines"``: a plain line with the rate and time left after five minutes,
    then every ten (what the CLI writes when stderr is not a terminal, e.g. under ``nohup``). ``max_cells``
    stops after that many new cells (``0``: only write the manifest); ``max_hours`` starts no cell after that many hours and returns when the cells in flight are
    written (no half cell). ``space_version`` picks the default space the design is drawn from (1: the space
    of the shipped meta-data, without the fine-tuning techniques). Every row records WiSE-FT's accuracies at
    each alpha on the validation, test and shifted splits (``wise_ft``) and ``shifted_acc``. Every count is
    checked before anything is written: a negative one is an error, never slice arithmetic. The manifest
    records what was asked (``"asked"``) and the plan (``"seeds"``, ``"noise_config_ids"``). Resuming a
    folder with another protocol (budget, backbone, weights, resolution, split, space, configurations) is
    refused; the plan (seeds, order, limits) may change between runs. A folder another build is writing is
    refused (one line, naming it). With ``seeds`` and ``replicate_above`` (accuracy points), a cell whose seeds'
    final validation accuracies spread by more than that gets further seeds (``seeds``, ``seeds+1``, ...) up
    to ``max_seeds`` runs in all, after every base cell (:mod:`hyperstar.meta.replicate`): decided from the rows
    done when the build starts, and once more when its cells are done (for the cells it finished). With
    ``replicate_within`` (points), only the noisy cells whose best seed ends that close to the task's best mean,
    decided only once every base cell is done (a task's best can still rise before).
    """
    if progress not in (None, True, False, "lines"):
        raise InvalidInputError(f"The 'progress' argument must be True, False, None or 'lines'. Got {progress!r}.")
    plan = _plan("build_meta_dataset", out, recipes, n_configs, config_seed, configs, max_budget, noise_configs,
                 seeds, backbone, weights, n_workers, threads_per_worker, resolution, split_seed, max_cells,
                 space_version, order, literature_recipes, max_hours, replicate_above, max_seeds, replicate_within)
    out = plan["out"]
    if plan["weights_path"] is None:
        logger.warning("Building meta-data from a randomly initialised %s (no source weights found).", backbone)
    with file_lock(out, what="meta-dataset"):
        manifest = _plan_manifest(out, plan["recipes"], plan["configs"], max_budget, backbone, plan["weights_path"],
                                  resolution, split_seed, plan["noise_ids"], config_seed, space_version, seeds,
                                  plan["asked"])
        write_manifest(out, manifest)
        results = out / RESULTS
        repair_results(results)
        fixed = _fixed(max_budget, backbone, plan["weights_path"], resolution, split_seed, device)
        names = [_recipe_dict(r)["name"] for r in plan["recipes"]]
        deadline = None if max_hours is None else time.monotonic() + 3600.0 * float(max_hours)
        left = max_cells
        for again in range(2 if replicate_above is not None else 1):  # again: the noisy cells this run finished
            rows = read_records(results)
            done = {(r["task"], r["config_id"], int(r.get("seed", 0))) for r in rows}
            cells = _cells(manifest, names, done, seeds, plan["noise_ids"], order, fixed,
                           further_runs(rows, manifest, names, seeds, replicate_above, max_seeds, replicate_within))
            if not again and replicate_within is not None and any(c["seed"] < seeds for c in cells):
                cells = [c for c in cells if c["seed"] < seeds]  # contenders once every base cell is in: the best may rise
            cells = [c for c in cells if not again or c["seed"] >= seeds][:left]
            if again and (not cells or (deadline is not None and time.monotonic() >= deadline)):
                break
            left = None if left is None else left - len(cells)
            _run(cells, results, len(done), n_workers, threads_per_worker, progress, deadline)
    return load_meta_dataset(out)


def _fixed(max_budget, backbone, weights_path, resolution, split_seed, device) -> dict[str, Any]:
    """What every cell of a build shares."""
    return {"max_budget": max_budget, "backbone": backbone, "weights": str(weights_path) if weights_path else None,
            "resolution": resolution, "split_seed": split_seed, "code_version": code_version(), "device": device}


def _run(cells, results: Path, n_done: int, n_workers: int, threads_per_worker: int, progress, deadline) -> None:
    logger.info("%d cells finished, %d to run, in %s", n_done, len(cells), results.parent)
    if progress is None:
        progress = sys.stderr.isatty()
    from tqdm.auto import tqdm

    # both rates count only the cells of this run (initial is excluded), so the ETA is honest on a resume
    if progress == "lines":  # not on a terminal (nohup, a log file): a plain line every few minutes
        bar = LineProgress(total=n_done + len(cells), initial=n_done, desc="meta-data", unit="cell")
    else:
        bar = tqdm(total=n_done + len(cells), initial=n_done, desc="meta-data", unit="cell", disable=not progress,
                   smoothing=0.05)
    try:
        if n_workers == 0:
            _init_worker(threads_per_worker)
            for cell in cells:
                if _time_is_up(deadline):
                    break
                append_record(results, _run_cell(cell))
                bar.update(1)
        else:
            _run_pool(cells, results, n_workers, threads_per_worker, bar, deadline)
    finally:
        bar.close()


def _time_is_up(deadline: float | None) -> bool:
    if deadline is not None and time.monotonic() >= deadline:
        logger.warning("The time given (max_hours) is up: no new cell is started; the cells finished are written.")
        return True
    return False


def estimate_build(out: str | Path, recipes: Sequence[Any] | None = None, n_configs: int = 64, config_seed: int = 0,
                   configs: Sequence[Mapping[str, Any]] | None = None, max_budget: int = 9, noise_configs: int = 8,
                   backbone: str = "smallcnn", weights: Any = "auto", n_workers: int = 2, threads_per_worker: int = 1,
                   resolution: int = 32, split_seed: int = 0, device: str = "auto", space_version: int = SPACE_VERSION,
                   seeds: int | None = None, order: str = "config", literature_recipes: bool = False,
                   max_cells: int | None = None, n_timed: int = 3, replicate_above: float | None = None,
                   max_seeds: int = 4, replicate_within: float | None = None) -> dict[str, Any]:
    """Size a build without writing anything: the cells it would run, and its wall time on this machine.

    Times ``n_timed`` real cells (spread over the plan, run here one after the other with
    ``threads_per_worker`` threads, after their task is built) and estimates the wall time as
    ``cells x seconds per cell / workers``. The arguments are those of :func:`build_meta_dataset`; ``out``
    may hold an earlier build (its finished cells are not counted) or not exist yet. With ``replicate_above``,
    ``replicate_cells`` counts the further seeds of the cells known to be noisy now (from the rows done); those
    of cells whose base seeds are still to run are decided when they are done, and not counted.
    """
    where = "estimate_build"
    check_int(n_timed, "n_timed", where, 0, 1000)
    plan = _plan(where, out, recipes, n_configs, config_seed, configs, max_budget, noise_configs, seeds, backbone,
                 weights, n_workers, threads_per_worker, resolution, split_seed, max_cells, space_version, order,
                 literature_recipes, None, replicate_above, max_seeds, replicate_within)
    out = plan["out"]
    manifest = _plan_manifest(out, plan["recipes"], plan["configs"], max_budget, backbone, plan["weights_path"],
                              resolution, split_seed, plan["noise_ids"], config_seed, space_version, seeds, plan["asked"])
    rows = read_records(out / RESULTS)
    done = {(r["task"], r["config_id"], int(r.get("seed", 0))) for r in rows}
    fixed = _fixed(max_budget, backbone, plan["weights_path"], resolution, split_seed, device)
    names = [_recipe_dict(r)["name"] for r in plan["recipes"]]
    extra = further_runs(rows, manifest, names, seeds, replicate_above, max_seeds, replicate_within)
    cells = _cells(manifest, names, done, seeds, plan["noise_ids"], order, fixed, extra)
    if max_cells is not None:
        cells = cells[:max_cells]
    timed = [cells[int(i)] for i in np.unique(np.linspace(0, len(cells) - 1, min(n_timed, len(cells))).round())] \
        if cells and n_timed else []
    seconds = []
    import torch

    threads = torch.get_num_threads()
    _init_worker(threads_per_worker)  # time a cell as a worker runs it
    try:
        for cell in timed:
            _get_task(cell["recipe"], cell["resolution"], cell.get("images_digest"))  # once per worker: not a cell's
            start = time.perf_counter()
            _run_cell(cell)
            seconds.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    per_cell = float(np.mean(seconds)) if seconds else None
    workers = max(1, n_workers)
    total = None if per_cell is None else len(cells) * per_cell / workers
    return {"out": str(out), "n_tasks": len(plan["recipes"]), "n_configs": len(plan["configs"]),
            "seeds": seeds, "noise_configs": None if seeds else len(plan["noise_ids"]), "cells_done": len(done),
            "cells_to_run": len(cells), "replicate_cells": (sum(c["seed"] >= seeds for c in cells)
                                                          if replicate_above is not None else None),
            "timed_cells": len(seconds), "seconds_timed": [round(x, 2) for x in seconds],
            "seconds_per_cell": per_cell, "workers": workers, "estimated_seconds": total,
            "estimated_hours": None if total is None else total / 3600.0}


#: a build stops after this many failed cells in a row, rather than skip the rest of the plan
MAX_FAILURES_IN_A_ROW = 20


def _fatal(exc: BaseException) -> bool:
    """Failures that no other cell of the task escapes: the task changed, or its Debian package is missing or
    another version than recorded."""
    from hyperstar.suite._debian import DebianPackageError

    return isinstance(exc, (TaskChangedError, DebianPackageError))


def _run_pool(cells, results: Path, n_workers: int, threads: int, bar, deadline: float | None = None) -> None:
    ctx = get_context("spawn")  # no fork after torch has started its thread pools
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(threads, os.getpid()))
    pending = {}
    failures = 0  # in a row
    queue = list(reversed(cells))
    try:
        # Keep only a few cells queued per worker, so an interrupt leaves little unstarted work
        # behind and the cells finish roughly in the order of the plan.
        while queue or pending:
            if queue and _time_is_up(deadline):
                queue.clear()  # start nothing new; what is queued but not started is cancelled, the rest finishes
                for fut in [f for f in pending if f.cancel()]:
                    pending.pop(fut)
            # With a deadline, no more cells than workers: the pool starts queued cells it cannot cancel.
            while queue and len(pending) < (n_workers if deadline is not None else 2 * n_workers):
                cell = queue.pop()
                pending[pool.submit(_run_cell, cell)] = cell
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                cell = pending.pop(fut)
                try:
                    record = fut.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:  # a failed cell is reported and left for the next run
                    if _fatal(exc):  # the task itself cannot be built as recorded: every cell of it would fail
                        raise
                    failures += 1
                    logger.warning("Cell %s/%s seed %s failed: %s", cell["task"], cell["config_id"], cell["seed"], exc)
                    if failures >= MAX_FAILURES_IN_A_ROW:
                        raise InvalidInputError(
                            f"{failures} cells in a row failed (the last: {cell['task']}/{cell['config_id']} seed "
                            f"{cell['seed']}: {exc}); the build stops instead of skipping the rest. Fix the cause and "
                            "re-run the same command: finished cells are kept.") from exc
                    continue
                failures = 0
                append_record(results, record)
                bar.update(1)
    except BaseException:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

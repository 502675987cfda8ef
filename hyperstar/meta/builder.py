"""Build a meta-dataset: fine-tune every (task, configuration) pair of a suite, resumably.

``hyperstar metadata build`` runs :func:`build_meta_dataset`. Worker processes (one torch thread
each on CPU) run :func:`hyperstar.finetune.fine_tune` to the maximum budget and send the curve
back; only the main process writes, appending one complete line per finished cell. A re-run
skips finished cells, so a kill (even ``kill -9``) loses at most the cells in flight. The workers
end with the process that started them, however it ends (``kill -9`` included): none is left
running on its own. One build at a time may write a folder (a lock: a second is refused).

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

from hyperstar._internal.locks import file_lock
from hyperstar._internal.paths import resolve_weights
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
from hyperstar.space import DEFAULT_CONFIG, SPACE_VERSION, config_key, sample_configurations, validate_configuration

__all__ = ["build_meta_dataset", "design_configurations", "VAL_FRACTION", "TEST_FRACTION"]

logger = logging.getLogger(__name__)

VAL_FRACTION = 0.2
TEST_FRACTION = 0.2


def design_configurations(n_configs: int = 64, seed: int = 0, space_version: int = SPACE_VERSION) -> list[dict[str, Any]]:
    """The shared configuration set: the common-practice default first, then a Sobol design over the default
    space of ``space_version`` (1: the design of the shipped meta-data)."""
    from hyperstar.space import default_space

    space = default_space(version=space_version)
    configs = [validate_configuration(DEFAULT_CONFIG, space)]
    seen = {config_key(configs[0])}
    for c in sample_configurations(space, n=n_configs, seed=seed):
        if config_key(c) not in seen:
            configs.append(c)
            seen.add(config_key(c))
    return configs


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


def _get_task(recipe: Mapping[str, Any], resolution: int):
    from hyperstar.suite import make_task

    key = f"{recipe.get('name')}|{resolution}"
    if key not in _TASK_CACHE:
        if len(_TASK_CACHE) > 4:
            _TASK_CACHE.clear()
        _TASK_CACHE[key] = make_task(dict(recipe), resolution=resolution)
    return _TASK_CACHE[key]


def _run_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    from hyperstar.finetune import fine_tune

    task = _get_task(cell["recipe"], cell["resolution"])
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


def _prepare_manifest(out: Path, recipes, configs, max_budget, backbone, weights_path, resolution, split_seed,
                      noise_config_ids, config_seed, space_version: int = SPACE_VERSION) -> dict[str, Any]:
    from hyperstar.suite import make_task

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
            problems.append("a different configuration set")
        if problems:
            raise InvalidInputError(
                f"'{out}' holds a meta-dataset built with {', '.join(problems)}. Use the same settings to "
                "resume it, or another --out folder."
            )
    known = {t["name"]: t for t in (existing or {}).get("tasks", [])}
    tasks = []
    for recipe in recipes:
        r = recipe.to_dict() if hasattr(recipe, "to_dict") else dict(recipe)
        if r["name"] in known:
            tasks.append(known[r["name"]])
            continue
        task = make_task(r, resolution=resolution)
        tasks.append({"name": r["name"], "family": r["family"], "recipe": r, "descriptors": task.describe()})
    for name, t in known.items():  # keep tasks of earlier builds that this call does not list
        if name not in {x["name"] for x in tasks}:
            tasks.append(t)
    manifest = {
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
        "noise_seed": 1,
        "noise_config_ids": noise_config_ids,
        "tasks": tasks,
        "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)],
    }
    write_manifest(out, manifest)
    return manifest


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
    progress: bool | None = None,
    max_cells: int | None = None,
    space_version: int = SPACE_VERSION,
) -> MetaDataset:
    """Evaluate every (task, configuration) cell of a suite to ``max_budget`` epochs, resumably.

    ``recipes`` default to :func:`hyperstar.suite.default_suite`; the configurations are the
    common-practice default plus an ``n_configs``-point Sobol design (seed ``config_seed``), unless
    given. The first ``noise_configs`` configurations also run with seed 1, to measure noise.
    ``n_workers=0`` runs in this process. ``max_cells`` stops after that many new cells (``0``: only
    write the manifest). ``space_version`` picks the default space the design is drawn from (1: the space of
    the shipped meta-data, without the fine-tuning techniques). Every row records WiSE-FT's accuracies at
    each alpha on the validation, test and shifted splits (``wise_ft``) and ``shifted_acc``. Every count is checked before anything is written: a negative one is an
    error, never slice arithmetic. A folder another build is writing is refused (one line, naming it).
    """
    from hyperstar.suite import default_suite

    where = "build_meta_dataset"
    check_int(n_configs, "n_configs", where, 0)
    check_seed(config_seed, where)
    check_int(max_budget, "max_budget", where, 1, 10_000)
    check_int(noise_configs, "noise_configs", where, 0)
    check_int(n_workers, "n_workers", where, 0, 512)
    check_int(threads_per_worker, "threads_per_worker", where, 1, 512)
    check_int(resolution, "resolution", where, 8, 512)
    check_seed(split_seed, where)
    if max_cells is not None:
        check_int(max_cells, "max_cells", where, 0)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"The meta-dataset folder '{out}' is a file. Give a folder (new or an earlier build).")
    recipes = list(recipes) if recipes is not None else default_suite()
    from hyperstar.space.default import SPACE_VERSIONS, default_space

    check_choice(space_version, "space_version", where, SPACE_VERSIONS)
    space = default_space(version=space_version)
    configs = ([validate_configuration(c, space) for c in configs] if configs is not None
               else design_configurations(n_configs, config_seed, space_version))
    weights_path = resolve_weights(backbone, weights, check=True)
    if weights_path is None:
        logger.warning("Building meta-data from a randomly initialised %s (no source weights found).", backbone)
    noise_ids = [f"c{i:04d}" for i in range(min(noise_configs, len(configs)))]
    with file_lock(out, what="meta-dataset"):
        _build(out, recipes, configs, max_budget, backbone, weights_path, resolution, split_seed, noise_ids, config_seed,
               n_workers, threads_per_worker, device, progress, max_cells, space_version)
    return load_meta_dataset(out)


def _build(out: Path, recipes, configs, max_budget, backbone, weights_path, resolution, split_seed, noise_ids,
           config_seed, n_workers, threads_per_worker, device, progress, max_cells, space_version=SPACE_VERSION) -> None:
    manifest = _prepare_manifest(out, recipes, configs, max_budget, backbone, weights_path, resolution, split_seed,
                                 noise_ids, config_seed, space_version)
    results = out / RESULTS
    repair_results(results)
    done = {(r["task"], r["config_id"], int(r.get("seed", 0))) for r in read_records(results)}
    version = code_version()
    cells = []
    recipe_by_name = {t["name"]: t["recipe"] for t in manifest["tasks"] if t.get("recipe")}
    for recipe in recipes:
        name = recipe.name if hasattr(recipe, "name") else recipe["name"]
        plan = [(c, 0) for c in manifest["configs"]] + [(c, 1) for c in manifest["configs"] if c["id"] in noise_ids]
        for c, seed in plan:
            if (name, c["id"], seed) in done:
                continue
            cells.append({
                "task": name, "recipe": recipe_by_name[name], "config_id": c["id"], "config": c["config"],
                "seed": seed, "max_budget": max_budget, "backbone": backbone,
                "weights": str(weights_path) if weights_path else None, "resolution": resolution,
                "split_seed": split_seed, "code_version": version, "device": device,
            })
    if max_cells is not None:
        cells = cells[:max_cells]
    total = len(done) + len(cells)
    logger.info("%d cells finished, %d to run, in %s", len(done), len(cells), out)
    if progress is None:
        progress = sys.stderr.isatty()
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=len(done), desc="meta-data", unit="cell", disable=not progress, smoothing=0.05)
    try:
        if n_workers == 0:
            _init_worker(threads_per_worker)
            for cell in cells:
                append_record(results, _run_cell(cell))
                bar.update(1)
        else:
            _run_pool(cells, results, n_workers, threads_per_worker, bar)
    finally:
        bar.close()


def _run_pool(cells, results: Path, n_workers: int, threads: int, bar) -> None:
    ctx = get_context("spawn")  # no fork after torch has started its thread pools
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(threads, os.getpid()))
    pending = {}
    queue = list(reversed(cells))
    try:
        # Keep only a few cells queued per worker, so an interrupt leaves little unstarted work
        # behind and the cells finish roughly in task order.
        while queue or pending:
            while queue and len(pending) < 2 * n_workers:
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
                    logger.warning("Cell %s/%s seed %s failed: %s", cell["task"], cell["config_id"], cell["seed"], exc)
                    continue
                append_record(results, record)
                bar.update(1)
    except BaseException:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

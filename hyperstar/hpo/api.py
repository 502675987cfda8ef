"""Tune fine-tuning hyperparameters for real: :func:`tune` (task-aware BOHB, Hyperband or random search).

:func:`tune` starts a Pyro4 nameserver (loopback, a free port, a shared secret), hpbandster's
optimizer with a hyperstar config generator, and worker processes (one per GPU when there are
several); more workers can join from other machines with ``hyperstar worker``. Every result is
logged as it arrives in hpbandster's own JSON format (``configs.json`` / ``results.json`` in the run
directory, readable by ``hpbandster.core.result.logged_results_to_HBS_result``); ``resume=True``
continues a killed run without losing or recomputing a finished job (see :mod:`hyperstar.hpo.master`).
One process at a time writes a run directory: a second ``tune`` on a busy one fails at once.

    >>> import tempfile
    >>> from hyperstar.suite import make_task, tiny_suite
    >>> task = make_task(tiny_suite()[0], resolution=16)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     result = tune(task, "hb", warm_start=False, max_budget=3, n_iterations=1, worker_mode="thread",
    ...                   backbone="smallcnn_tiny", weights=None, run_dir=d, ping_interval=1, plot=False)
    >>> result.n_jobs, result.budget, 0.0 <= result.val_acc <= 1.0
    (4, 3.0, True)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import secrets as _secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar._internal.device import gpu_ids
from hyperstar._internal.io import atomic_write_json
from hyperstar._internal.locks import LOCK_FILE, OWNER_FILE, file_lock
from hyperstar._internal.validation import check_choice, check_float, check_int, check_seed
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import MetaDataset
from hyperstar.ranking.adaptive import AdaptiveRanking
from hyperstar.hpo.generators import RankedConfigGenerator, TaskAwareBOHB, as_ranking
from hyperstar.hpo.log import CONFIGS_FILE, RESULTS_FILE
from hyperstar.hpo.loop import _run_loop
from hyperstar.hpo.master import BRACKET_ORDERS
from hyperstar.hpo.pools import _ProcessWorkers, _ThreadWorkers
from hyperstar.hpo.preflight import check_finetune_setup, check_plan, compare_fingerprints, data_fingerprint
from hyperstar.hpo.result import TuneResult, summarize
from hyperstar.hpo.seam import DEFAULT_HOST, SECRET_ENV, new_secret, plain_info
from hyperstar.hpo.workers import WorkerSpec, build_worker

__all__ = ["tune", "resolve_ranking", "OPTIMIZERS", "BRACKET_ORDERS"]

logger = logging.getLogger(__name__)

OPTIMIZERS = ("bohb", "hb", "random")
WORKER_MODES = ("process", "thread")
RUN_FILE = "run.json"
RANKING_FILE = "ranking.json"
RESULT_FILE = "result.json"
PLOT_FILE = "trajectory.png"
#: settings that must not change when a run is resumed
_RESUME_KEYS = ("optimizer", "min_budget", "max_budget", "eta", "warm_start", "seed", "kind", "backbone", "weights",
                "resolution", "channels", "random_fraction", "adaptive", "data", "generator_options", "bracket_order")


# --------------------------------------------------------------------------- ranking and generator


def resolve_ranking(task: Any = None, *, recommender=None, ranking: Sequence[Any] | None = None,
                    meta: MetaDataset | None = None, warm_start: bool = True, n_ranked: int = 100,
                    seed: int | None = None, ranker=None) -> list[dict[str, Any]]:
    """The warm-start ranking (configs best first): ``ranking`` as given, else ``ranker.rank(task)`` (any
    :class:`~hyperstar.ranking.protocol.Ranker`, fitted: the Recommender or a baseline such as
    ``NearestNeighbors().fit(meta)``), else ``recommender.recommend(task)``, else the average-rank portfolio
    of ``meta``; empty without a warm start.

        >>> resolve_ranking(ranking=[{"lr": 0.1}, {"lr": 0.1}, {"lr": 0.01}])[1]["lr"]
        0.01
    """
    if not warm_start:
        return []
    if ranking is not None:
        out = as_ranking(ranking, getattr(meta, "space", None))  # a meta-dataset's configurations over its space
        if not out:
            raise InvalidInputError("The 'ranking' is empty; pass configurations best first, or warm_start=False.")
        return out
    if ranker is not None:
        if not hasattr(ranker, "rank"):
            raise InvalidInputError(f"A ranker needs rank(task, candidates, k) (the Ranker protocol). Got "
                                    f"{type(ranker).__name__}.")
        return as_ranking(ranker.rank(task, k=int(n_ranked)), getattr(meta, "space", None))
    if recommender is not None:
        from hyperstar.data import Task

        if not isinstance(task, Task):
            raise InvalidInputError("A recommender ranks a Task; pass the task (or its folder) to tune.")
        return as_ranking(recommender.recommend(task, k=int(n_ranked), seed=seed))
    if meta is not None:
        from hyperstar.ranking.baselines import AverageRank

        order = AverageRank().fit(meta).order()
        return as_ranking([meta.configs[i] for i in order[: int(n_ranked)]], getattr(meta, "space", None))
    raise InvalidInputError(
        "A warm start needs a ranking: pass recommender=..., ranking=... or meta=... (average-rank portfolio), "
        "or warm_start=False."
    )


def _make_generator(optimizer: str, ranking, *, seed: int, random_fraction: float | None, adaptive, max_budget: float,
                    candidates=None, options: Mapping[str, Any] | None = None, scorer=None):
    """The config generator of an optimizer; ``options`` are extra keyword arguments of its class."""
    options = dict(options or {})
    if optimizer == "bohb":
        cls, rf = TaskAwareBOHB, (1 / 3 if random_fraction is None else random_fraction)
        options.setdefault("scorer", scorer)
    else:
        cls, rf = RankedConfigGenerator, (0.0 if random_fraction is None else random_fraction)
    if options.get("reserve_top"):
        options.setdefault("reserve_budget", float(max_budget))
    try:
        return cls(ranking, candidates=candidates, random_fraction=rf, adaptive=adaptive, seed=seed, **options)
    except TypeError as exc:
        raise InvalidInputError(f"Unknown generator option for {optimizer}: {exc}. See {cls.__name__}'s arguments.") from None


# --------------------------------------------------------------------------- settings and the run directory


def _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order="aggressive_first", *,
                    where: str = "tune") -> None:
    """The checks :func:`tune` and :func:`~hyperstar.hpo.run_tabular` share."""
    check_choice(optimizer, "optimizer", where, OPTIMIZERS)
    check_choice(bracket_order, "bracket_order", where, BRACKET_ORDERS)
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget)):
        check_float(value, name, where)
    if min_budget <= 0 or max_budget < min_budget:
        raise InvalidInputError(f"Budgets must satisfy 0 < min_budget <= max_budget. Got min {min_budget}, max {max_budget}.")
    check_float(eta, "eta", where, 2)
    if n_iterations is not None:
        check_int(n_iterations, "n_iterations", where, 1)
    check_plan(min_budget, max_budget, eta, n_iterations, optimizer, where)


def _new_run_id(optimizer: str) -> str:
    return f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{optimizer}-{_secrets.token_hex(2)}"


def _load_meta(meta) -> tuple[MetaDataset | None, str | None]:
    """``meta`` loaded when it is a path, and the path to record in the run's settings."""
    if isinstance(meta, (str, Path)):
        from hyperstar.meta.dataset import load_meta_dataset

        return load_meta_dataset(meta), str(Path(meta).resolve())
    return meta, (str(meta.path) if isinstance(meta, MetaDataset) and meta.path else None)


def _previous_settings(run_dir: Path, resume: bool) -> dict[str, Any] | None:
    """The logged settings of the run to resume (None for a new run); refuses to start over a run."""
    settings_path = run_dir / RUN_FILE
    if resume:
        if not settings_path.is_file():
            raise InvalidInputError(f"Nothing to resume in '{run_dir}': no {RUN_FILE} (start the run without --resume).")
        return json.loads(settings_path.read_text())
    if any((run_dir / f).exists() for f in (RESULTS_FILE, CONFIGS_FILE, RUN_FILE)):
        raise InvalidInputError(
            f"The run directory '{run_dir}' already holds a run. Continue it with resume=True (--resume) or choose another."
        )
    return None


@contextlib.contextmanager
def _run_dir_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock for the block (:class:`~hyperstar._internal.locks.FolderBusyError` if another
    process has it); a folder created here is removed again when the block fails before writing anything."""
    created = not run_dir.exists()
    with file_lock(run_dir, what="run directory"):
        try:
            yield
        except BaseException:
            if created and {p.name for p in run_dir.iterdir()} <= {LOCK_FILE, OWNER_FILE}:
                with contextlib.suppress(OSError):
                    for name in (OWNER_FILE, LOCK_FILE):
                        (run_dir / name).unlink(missing_ok=True)
                    run_dir.rmdir()
            raise


def _check_resume(previous: dict[str, Any], settings: dict[str, Any], run_dir: Path) -> None:
    previous.setdefault("bracket_order", "aggressive_first")  # runs logged before the option existed
    changed = [k for k in _RESUME_KEYS if previous.get(k) != settings.get(k)]
    if changed:
        detail = ", ".join(f"{k}: {previous.get(k)!r} -> {settings.get(k)!r}" for k in changed)
        raise InvalidInputError(f"Cannot resume '{run_dir}' with different settings ({detail}).")


def _task_source(task: Any, worker_mode: str, run_dir: Path):
    """``(task object or None, data, data_format)``: what the workers read (``data_format``: folder/npz/memory)."""
    from hyperstar.data import Task

    if isinstance(task, Task):
        if worker_mode != "process":
            return task, None, "memory"
        if not task.in_memory:
            raise InvalidInputError("A streamed Task cannot be sent to worker processes; pass its folder path instead.")
        return task, str(run_dir / "task.npz"), "npz"
    if not isinstance(task, (str, Path)):
        raise InvalidInputError(f"The 'task' must be an image folder path or a Task. Got {type(task).__name__}.")
    if not Path(task).is_dir():
        raise InvalidInputError(f"Dataset folder '{task}' does not exist: expected one sub-folder per class (ImageFolder layout).")
    return None, str(Path(task).resolve()), "folder"


def _backbone_source(backbone: str, worker_mode: str) -> dict[str, Any]:
    """What worker processes import to see a backbone registered in this process (``{}`` for built-ins)."""
    import sys

    from hyperstar.models import backbone_module

    module = backbone_module(backbone)
    if module is None or module.startswith("hyperstar."):
        return {}
    if module == "__main__" and worker_mode == "process":
        raise InvalidInputError(
            f"The backbone {backbone!r} is registered in your script (__main__), which worker processes cannot "
            "import: register it in an importable module, or use worker_mode='thread'."
        )
    file = getattr(sys.modules.get(module), "__file__", None)
    return {"backbone_module": module, "sys_path": [str(Path(file).resolve().parent)] if file else []}


def _save_task(task_obj, path: str) -> None:
    images = task_obj.images(np.arange(len(task_obj))).numpy()
    np.savez(path, images=images, labels=task_obj.labels, classes=np.array(task_obj.classes),
             name=np.array(task_obj.name))


# --------------------------------------------------------------------------- tune


def tune(
    task: Any,
    optimizer: str = "bohb",
    *,
    recommender=None,
    ranker=None,
    ranking: Sequence[Any] | None = None,
    meta: MetaDataset | str | Path | None = None,
    warm_start: bool = True,
    min_budget: float = 1,
    max_budget: int = 9,
    eta: float = 3,
    n_iterations: int | None = None,
    n_workers: int | None = None,
    worker_mode: str = "process",
    run_dir: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    backbone: str = "smallcnn",
    weights: Any = "auto",
    resolution: int = 32,
    channels: int = 3,
    device: str = "auto",
    random_fraction: float | None = None,
    adaptive: bool = False,
    n_ranked: int = 100,
    generator_options: Mapping[str, Any] | None = None,
    bracket_order: str = "aggressive_first",
    host: str = DEFAULT_HOST,
    port: int = 0,
    secret: str | None = None,
    ping_interval: float = 5,
    max_worker_restarts: int = 3,
    progress: bool | Callable[[str], None] = False,
    plot: bool = True,
) -> TuneResult:
    """Tune fine-tuning hyperparameters of ``task`` with task-aware BOHB / Hyperband / random search.

    ``task``: an image folder (path) or a :class:`~hyperstar.data.Task`. ``optimizer``: ``"bohb"``,
    ``"hb"`` or ``"random"``. Warm start (``warm_start=True``): the ranking is ``ranking`` if given,
    else ``ranker.rank(task)`` (any fitted :class:`~hyperstar.ranking.protocol.Ranker`, e.g.
    ``ranker=NearestNeighbors().fit(meta)``), else ``recommender.recommend(task)``, else the average-rank
    portfolio of ``meta``; HB takes
    the next ranked configuration for every new slot (``random_fraction`` mixes in random ones),
    BOHB replaces its random picks by ranked ones and its KDE learns from them, random search
    evaluates the ranking in order at the maximum budget. ``adaptive=True`` re-ranks the rest as
    results come in (needs ``meta``). ``bracket_order``: ``"aggressive_first"`` (default) is
    hpbandster's order; ``"conservative_first"`` reverses the brackets of each round, so a warm start
    trains its top-ranked configurations at the maximum budget first (a good model sooner; after a
    whole round, more regret on the stored-curve benchmarks). Budgets are epochs; ``n_iterations`` defaults to one full
    Hyperband round. ``n_workers`` worker processes (default: one per GPU, else 1; 0: none - add
    them with ``hyperstar worker``), or threads of this process with ``worker_mode="thread"``.
    ``run_dir`` (default ``hyperstar-runs/<run id>``) holds the hpbandster logs, checkpoints,
    ``trajectory.png`` and ``result.json``; ``resume=True`` continues a killed run there. The run
    directory is locked for the whole run: a second ``tune`` on it (resumed or not) raises
    :class:`~hyperstar._internal.locks.FolderBusyError` at once. ``host``:
    the address the nameserver and master bind to (loopback by default; use this machine's address
    to let workers on other machines join), ``port`` the nameserver port (0: free), ``secret`` the
    shared secret workers must present (default: a random one, written to the run directory's
    ``nameserver.json``, readable by you only). ``progress=True`` prints a line per finished job.

    Example::

        result = tune("data/train", optimizer="hb", meta="meta_data/default", max_budget=9, n_workers=2)
        print(result.incumbent, result.val_acc, result.test_acc)
    """
    from hyperstar.data import Task

    _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order, where="tune")
    if isinstance(max_budget, float) and not max_budget.is_integer():
        raise InvalidInputError(f"The 'max_budget' is a number of epochs and must be whole. Got {max_budget}.")
    max_budget = int(max_budget)
    check_choice(worker_mode, "worker_mode", "tune", WORKER_MODES)
    if n_workers is not None:
        check_int(n_workers, "n_workers", "tune", 0)
    seed = check_seed(seed, "tune")
    check_int(port, "port", "tune", 0, 65535)
    check_int(max_worker_restarts, "max_worker_restarts", "tune", 0)
    meta, meta_path = _load_meta(meta)
    if adaptive and meta is None:
        raise InvalidInputError("adaptive=True re-weights meta-training tasks: pass meta=... (a meta-dataset).")
    run_id = _new_run_id(optimizer)
    if run_dir is None:
        if resume:
            raise InvalidInputError("resume=True needs the run_dir of the run to continue.")
        run_dir = Path("hyperstar-runs") / run_id
    run_dir = Path(run_dir).resolve()
    if resume:
        _previous_settings(run_dir, resume)  # nothing to resume: say so before creating anything
    task_obj, data, data_format = _task_source(task, worker_mode, run_dir)
    # Everything that would fail every job fails here, once, before a worker or a run directory exists.
    if task_obj is None:
        task_obj = Task.from_folder(data, resolution=resolution, channels=channels)
    check_finetune_setup(task_obj, backbone=backbone, weights=weights, device=device, seed=seed)
    backbone_extra = _backbone_source(backbone, worker_mode)
    fingerprint = data_fingerprint(data if data_format == "folder" else task_obj)

    with _run_dir_lock(run_dir):
        previous = _previous_settings(run_dir, resume)  # again, now that no other process can write here
        if previous is not None:
            run_id = previous["run_id"]
        saved_ranking = resume and (run_dir / RANKING_FILE).is_file()
        settings = {"run_id": run_id, "kind": "finetune", "optimizer": optimizer, "min_budget": float(min_budget),
                    "max_budget": max_budget, "eta": float(eta), "warm_start": bool(warm_start), "seed": int(seed),
                    "backbone": backbone, "weights": None if weights is None else str(weights),
                    "resolution": resolution, "channels": channels, "random_fraction": random_fraction,
                    "adaptive": bool(adaptive), "data": data if data_format == "folder" else data_format,
                    "meta": meta_path, "generator_options": plain_info(generator_options or {}),
                    "n_iterations": n_iterations, "bracket_order": bracket_order, "data_fingerprint": fingerprint}
        if previous is not None:
            _check_resume(previous, settings, run_dir)
            compare_fingerprints(previous.get("data_fingerprint"), fingerprint, run_dir)

        # -- the warm-start ranking (saved, so a resumed run continues the same ranking)
        if saved_ranking:
            ranked = as_ranking(json.loads((run_dir / RANKING_FILE).read_text()))
        else:
            ranked = resolve_ranking(task_obj, recommender=recommender, ranking=ranking, meta=meta,
                                     warm_start=warm_start, n_ranked=n_ranked, seed=seed, ranker=ranker)
        if data_format == "npz" and not Path(data).is_file():
            _save_task(task_obj, data)
        if not saved_ranking:
            atomic_write_json(run_dir / RANKING_FILE, ranked, unknown=repr)
        if previous is None:
            atomic_write_json(run_dir / RUN_FILE, settings, unknown=repr)

        scorer = None
        if recommender is not None and optimizer == "bohb" and task_obj is not None:
            scorer = lambda configs: recommender.predict(task_obj, configs)
        cg = _make_generator(optimizer, ranked, seed=seed, random_fraction=random_fraction,
                             adaptive=AdaptiveRanking(meta) if adaptive else None, max_budget=max_budget,
                             options=generator_options, scorer=scorer)
        spec = WorkerSpec(kind="finetune", data=data, data_format=data_format if data_format != "memory" else "folder",
                          resolution=resolution, channels=channels, max_budget=max_budget, backbone=backbone,
                          weights=None if weights is None else str(weights), seed=seed, device=device,
                          run_dir=str(run_dir), extra=backbone_extra)
        secret = secret or os.environ.get(SECRET_ENV) or new_secret()
        start_workers = _worker_starter(spec, run_id, run_dir, task_obj, worker_mode=worker_mode, n_workers=n_workers,
                                        device=device, host=host, secret=secret, max_restarts=max_worker_restarts)
        n_iter, n_new = _run_loop(optimizer=optimizer, cg=cg, run_dir=run_dir, run_id=run_id, host=host, port=port,
                                  secret=secret, min_budget=min_budget, max_budget=max_budget, eta=eta,
                                  n_iterations=n_iterations, spec=spec, start_workers=start_workers, resume=resume,
                                  ping_interval=ping_interval, progress=progress, write_connection=True,
                                  bracket_order=bracket_order)
        result = summarize(run_dir, max_budget, optimizer=optimizer, warm_start=bool(warm_start), n_new_jobs=n_new,
                           extra={"run_id": run_id, "n_iterations": n_iter, "n_ranked": len(ranked),
                                  "bracket_order": bracket_order})
        _finish_run(result, run_dir, plot)
    return result


def _finish_run(result: TuneResult, run_dir: Path, plot: bool) -> None:
    """``result.json`` (and ``trajectory.png``) in the run directory, and a warning when nothing gave a result.
    A plot that fails is a warning, never a lost result."""
    atomic_write_json(run_dir / RESULT_FILE, result.to_dict(), unknown=repr)
    if result.incumbent is None:
        logger.warning("%s", result.no_result_reason)
    if not plot:
        return
    from hyperstar.plotting import plot_trajectory

    try:
        plot_trajectory(result, run_dir / PLOT_FILE)
    except Exception as exc:  # a plot must never cost the result
        logger.warning("Could not save %s: %s", run_dir / PLOT_FILE, exc)


def _worker_starter(spec: WorkerSpec, run_id: str, run_dir: Path, task_obj, *, worker_mode: str,
                    n_workers: int | None, device: str, host: str, secret: str, max_restarts: int):
    """``start_workers(ns_host, ns_port, publish)`` for the loop: the local workers of a :func:`tune` run."""
    gpus = gpu_ids(device)
    n_local = (len(gpus) or 1) if n_workers is None else n_workers

    def start_workers(ns_host, ns_port, publish):
        if n_local == 0:
            return None
        if worker_mode == "thread":
            def make(i):
                dev = f"cuda:{i % len(gpus)}" if gpus else device  # one worker per GPU (logical indices)
                return build_worker(spec, run_id, nameserver=ns_host, nameserver_port=ns_port, host=host,
                                    device=dev, task=task_obj, work_dir=str(run_dir), id=f"t{i}")
            return _ThreadWorkers(make, n_local)
        threads = max(1, (os.cpu_count() or 1) // n_local) if not gpus else 2
        return _ProcessWorkers(n_local, run_id=run_id, ns_host=ns_host, ns_port=ns_port, host=host, secret=secret,
                               run_dir=run_dir, gpus=gpus, threads=threads, max_restarts=max_restarts,
                               on_change=publish)

    return start_workers

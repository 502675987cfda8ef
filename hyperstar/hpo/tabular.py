"""The real hpbandster loop answered from a meta-dataset's stored curves: :func:`run_tabular`.

Every job is a table look-up (:class:`~hyperstar.hpo.workers.TabularWorker` threads), so a whole
Hyperband round takes about a second: the benchmarks of warm starts run on it.

    >>> from hyperstar.meta.dataset import load_meta_dataset
    >>> from hyperstar._internal.paths import meta_data_dir
    >>> meta = load_meta_dataset(meta_data_dir() / "default")
    >>> r = run_tabular(meta, 0, "hb", warm_start=True, seed=1)
    >>> r.n_crashed, r.incumbent in meta.configs, r.val_acc <= r.extra["oracle_val_acc"]
    (0, True, True)
"""

from __future__ import annotations

import secrets as _secrets
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar._internal.validation import check_int
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import MetaDataset
from hyperstar.ranking.adaptive import AdaptiveRanking
from hyperstar.hpo.api import _check_settings, _make_generator, resolve_ranking
from hyperstar.hpo.log import CONFIGS_FILE, RESULTS_FILE
from hyperstar.hpo.loop import _run_loop
from hyperstar.hpo.pools import _ThreadWorkers
from hyperstar.hpo.result import TuneResult, summarize
from hyperstar.hpo.seam import DEFAULT_HOST
from hyperstar.hpo.workers import WorkerSpec, build_worker

__all__ = ["run_tabular"]


def run_tabular(
    meta: MetaDataset,
    task_index: int,
    optimizer: str = "hb",
    *,
    warm_start: bool = True,
    ranking: Sequence[Any] | None = None,
    adaptive: bool = False,
    seed: int = 0,
    min_budget: float = 1,
    max_budget: int | None = None,
    eta: float = 3,
    n_iterations: int | None = None,
    n_workers: int = 1,
    random_fraction: float | None = None,
    generator_options: Mapping[str, Any] | None = None,
    bracket_order: str = "aggressive_first",
    run_dir: str | Path | None = None,
    ping_interval: float = 1,
) -> TuneResult:
    """Run the real hpbandster loop on meta-dataset task ``task_index`` with :class:`TabularWorker` threads.

    Configurations come from the meta-dataset only. Warm start: ``ranking`` (configs, or indices
    into ``meta.configs``) if given, else the average-rank portfolio of the *other* tasks.
    ``adaptive=True`` re-ranks by agreement with the other tasks. Returns the trajectory; the
    ``extra`` field has the task's name and its oracle (best stored) accuracy. Takes about a second.

    Example::

        r = run_tabular(meta, 0, "hb", warm_start=True, seed=1)
        r.budget_to_reach(r.extra["oracle_val_acc"])
    """
    if not isinstance(meta, MetaDataset):
        raise InvalidInputError(f"run_tabular needs a MetaDataset. Got {type(meta).__name__}.")
    task_index = check_int(task_index, "task_index", "run_tabular", 0, meta.n_tasks - 1)
    max_budget = meta.max_budget if max_budget is None else int(max_budget)
    _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order, where="run_tabular")
    if max_budget > meta.max_budget:
        raise InvalidInputError(f"max_budget {max_budget} is more than the meta-dataset's {meta.max_budget} epochs.")
    others = meta.subset([t for t in range(meta.n_tasks) if t != task_index]) if meta.n_tasks > 1 else None
    if ranking is not None and len(ranking) and isinstance(ranking[0], (int, np.integer)):
        ranking = [meta.configs[int(i)] for i in ranking]
    if warm_start and ranking is None and others is None:
        raise InvalidInputError("A warm start on a one-task meta-dataset needs an explicit ranking.")
    space = getattr(meta, "space", None)  # a meta-dataset over a user's own space, else hyperstar's
    ranked = resolve_ranking(None, ranking=ranking, meta=others, warm_start=warm_start, n_ranked=meta.n_configs)
    if adaptive and others is None:
        raise InvalidInputError("adaptive=True needs other tasks in the meta-dataset.")
    cg = _make_generator(optimizer, ranked, seed=seed, random_fraction=random_fraction,
                         adaptive=AdaptiveRanking(others) if adaptive else None, max_budget=max_budget,
                         candidates=meta.configs, options={**(generator_options or {}),
                                                           **({"space": space} if space is not None else {})})
    spec = WorkerSpec(kind="tabular", max_budget=max_budget, seed=seed, task_index=task_index,
                      meta=str(meta.path) if meta.path else None)
    tmp = None
    if run_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="hyperstar-tabular-")
        folder = Path(tmp.name)
    else:
        folder = Path(run_dir).resolve()
        if (folder / RESULTS_FILE).exists() or (folder / CONFIGS_FILE).exists():
            raise InvalidInputError(f"The run directory '{folder}' already holds a run; choose another.")
        folder.mkdir(parents=True, exist_ok=True)
    run_id = f"tabular-{_secrets.token_hex(4)}"

    def start_workers(ns_host, ns_port, publish):
        return _ThreadWorkers(lambda i: build_worker(spec, run_id, nameserver=ns_host, nameserver_port=ns_port,
                                                     meta=meta, id=f"t{i}"), n_workers)

    try:
        n_iter, n_new = _run_loop(optimizer=optimizer, cg=cg, run_dir=folder, run_id=run_id, host=DEFAULT_HOST,
                                  port=0, secret=_secrets.token_hex(8), min_budget=min_budget, max_budget=max_budget,
                                  eta=eta, n_iterations=n_iterations, spec=spec, start_workers=start_workers,
                                  resume=False, ping_interval=ping_interval, progress=False, write_connection=False,
                                  bracket_order=bracket_order, space=space)
        oracle = float(np.nanmax(meta.curves[task_index, :, max_budget - 1]))
        return summarize(folder, max_budget, optimizer=optimizer, warm_start=warm_start, n_new_jobs=n_new,
                         keep_run_dir=run_dir is not None,
                         extra={"task": meta.task_names[task_index], "task_index": task_index, "oracle_val_acc": oracle,
                                "adaptive": bool(adaptive), "n_iterations": n_iter, "seed": seed,
                                "bracket_order": bracket_order})
    finally:
        if tmp is not None:
            tmp.cleanup()

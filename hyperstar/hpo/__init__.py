"""Task-aware Hyperband and BOHB on hpbandster (the only package of hyperstar that imports hpbandster).

* :func:`tune` - fine-tune for real with task-aware BOHB / Hyperband / random search: a Pyro4
  nameserver on loopback with a shared secret, worker processes (one per GPU), more workers from
  other machines with ``hyperstar worker``, results logged in hpbandster's JSON format, resumable.
* :func:`run_tabular` - the same hpbandster loop answered from a meta-dataset's stored curves, for
  fast benchmarks of warm starts.
* :class:`RankedConfigGenerator` (task-aware HB), :class:`TaskAwareBOHB`, :class:`AdaptiveRanking`
  (re-ranks as results come in), :class:`FineTuneWorker`, :class:`TabularWorker`.

Example::

    >>> from hyperstar.hpo import tune
    >>> from hyperstar import Recommender
    >>> result = tune("data/train", optimizer="bohb", recommender=Recommender.default(),
    ...               min_budget=1, max_budget=9, n_workers=2, run_dir="runs/my-bohb", progress=True)
    >>> result.incumbent, result.val_acc, result.test_acc
    >>> # killed? continue where it stopped:
    >>> result = tune("data/train", optimizer="bohb", run_dir="runs/my-bohb", resume=True)
"""

from __future__ import annotations

from hyperstar.ranking.adaptive import AdaptiveRanking
from hyperstar.hpo.generators import RankedConfigGenerator, TaskAwareBOHB, as_ranking, bohb_space
from hyperstar.hpo.runner import (
    OPTIMIZERS,
    TuneResult,
    plot_trajectory,
    read_log,
    resolve_ranking,
    run_tabular,
    summarize,
    tune,
)
from hyperstar.hpo.seam import NameServer, plain_budget, plain_config, plain_info, pyro_secret
from hyperstar.hpo.workers import (
    FineTuneWorker,
    HyperstarWorker,
    TabularWorker,
    WorkerSpec,
    serve_worker,
)

__all__ = [
    "tune",
    "run_tabular",
    "TuneResult",
    "summarize",
    "read_log",
    "plot_trajectory",
    "resolve_ranking",
    "OPTIMIZERS",
    "RankedConfigGenerator",
    "TaskAwareBOHB",
    "AdaptiveRanking",
    "as_ranking",
    "bohb_space",
    "HyperstarWorker",
    "FineTuneWorker",
    "TabularWorker",
    "WorkerSpec",
    "serve_worker",
    "NameServer",
    "pyro_secret",
    "plain_config",
    "plain_budget",
    "plain_info",
]

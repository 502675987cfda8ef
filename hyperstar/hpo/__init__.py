"""Task-aware Hyperband and BOHB on hpbandster (the only package of hyperstar that imports hpbandster).

* :func:`tune` - fine-tune for real with task-aware BOHB / Hyperband / random search: a Pyro4
  nameserver on loopback with a shared secret, worker processes (one per GPU), more workers from
  other machines with ``hyperstar worker``, results logged in hpbandster's JSON format, resumable.
* :func:`run_tabular` - the same hpbandster loop answered from a meta-dataset's stored curves, for
  fast benchmarks of warm starts.
* :class:`RankedConfigGenerator` (task-aware HB), :class:`TaskAwareBOHB`, :class:`AdaptiveRanking`
  (re-ranks as results come in), :class:`FineTuneWorker`, :class:`TabularWorker`.

The modules, in the order a run uses them: ``seam`` (plain types, the shared secret, the
nameserver), ``generators`` (task-aware config generators), ``workers`` (hpbandster workers and
``hyperstar worker``), ``master`` (hpbandster's optimizers at the seam, resume replays), ``log``
(the run log), ``pools`` (the workers ``tune`` starts), ``loop`` (one run), ``result``
(:class:`TuneResult`), ``api`` (:func:`tune`), ``tabular`` (:func:`run_tabular`). Names load on
first use, so a worker process does not import BOHB's statistics stack.

Example::

    from hyperstar.hpo import tune
    from hyperstar import Recommender

    result = tune("data/train", optimizer="bohb", recommender=Recommender.default(),
                  min_budget=1, max_budget=9, n_workers=2, run_dir="runs/my-bohb", progress=True)
    result.incumbent, result.val_acc, result.test_acc
    # killed? continue where it stopped:
    result = tune("data/train", optimizer="bohb", run_dir="runs/my-bohb", resume=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperstar._internal.lazy import lazy_exports

if TYPE_CHECKING:
    from hyperstar.hpo.api import OPTIMIZERS, resolve_ranking, tune
    from hyperstar.hpo.generators import RankedConfigGenerator, TaskAwareBOHB, as_ranking, bohb_space
    from hyperstar.hpo.log import read_log
    from hyperstar.hpo.result import TuneResult, summarize
    from hyperstar.hpo.seam import NameServer, plain_budget, plain_config, plain_info, pyro_secret
    from hyperstar.hpo.tabular import run_tabular
    from hyperstar.hpo.workers import FineTuneWorker, HyperstarWorker, TabularWorker, WorkerSpec, serve_worker
    from hyperstar.plotting import plot_trajectory
    from hyperstar.ranking.adaptive import AdaptiveRanking

_EXPORTS = {
    **{n: "hyperstar.hpo.api" for n in ("tune", "resolve_ranking", "OPTIMIZERS")},
    **{n: "hyperstar.hpo.objective" for n in ("optimize", "ObjectiveWorker")},
    "run_tabular": "hyperstar.hpo.tabular",
    **{n: "hyperstar.hpo.result" for n in ("TuneResult", "summarize")},
    "read_log": "hyperstar.hpo.log",
    "plot_trajectory": "hyperstar.plotting",
    **{n: "hyperstar.hpo.generators" for n in ("RankedConfigGenerator", "TaskAwareBOHB", "as_ranking", "bohb_space")},
    "AdaptiveRanking": "hyperstar.ranking.adaptive",
    **{n: "hyperstar.hpo.workers" for n in
       ("HyperstarWorker", "FineTuneWorker", "TabularWorker", "WorkerSpec", "serve_worker")},
    **{n: "hyperstar.hpo.seam" for n in ("NameServer", "pyro_secret", "plain_config", "plain_budget", "plain_info")},
}

__all__ = [
    "tune",
    "optimize",
    "ObjectiveWorker",
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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

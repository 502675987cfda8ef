"""Baselines every ranking claim is measured against.

Each baseline orders a meta-dataset's configurations for a held-out task, best first:

* :class:`RandomOrder` - a seeded random permutation;
* :class:`AverageRank` - the task-agnostic portfolio: mean rank over the meta-training tasks;
* :class:`NearestNeighbors` - meta-feature warm start: average rank over the ``k`` meta-training
  tasks closest in (z-scored) descriptor space;
* :class:`Oracle` - the true best first (needs the held-out task's results).

They share a small interface: ``fit(meta) -> self`` and ``order(descriptors=None, true_acc=None)``
returning configuration indices of ``meta.configs``, and follow the :class:`~hyperstar.ranking.protocol.Ranker`
protocol: ``rank(task, candidates=None, k=10)`` returns configurations, best first (a baseline only
knows the meta-dataset's configurations: other candidates are refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperstar.meta.analysis import average_rank_order
from hyperstar._internal.validation import check_int
from hyperstar.exceptions import InvalidInputError, NotFittedError
from hyperstar.ranking.protocol import descriptor_vector
from hyperstar.space import config_key
from hyperstar.meta.dataset import MetaDataset

__all__ = ["RandomOrder", "AverageRank", "NearestNeighbors", "Oracle", "BASELINES"]


class _Baseline:
    name = "baseline"

    def fit(self, meta: MetaDataset) -> "_Baseline":
        if not isinstance(meta, MetaDataset):
            raise InvalidInputError(f"{type(self).__name__}.fit needs a MetaDataset. Got {type(meta).__name__}.")
        self.n_configs_ = meta.n_configs
        self.acc_ = meta.final_acc.copy()
        self.descriptors_ = meta.descriptors.copy()
        self.descriptor_names_ = list(meta.descriptor_names)
        self.configs_ = [dict(c) for c in meta.configs]
        return self

    def rank(self, task: Any = None, candidates: Sequence[Mapping[str, Any]] | None = None,
             k: int = 10) -> list[dict[str, Any]]:
        """Up to ``k`` configurations for ``task`` (a Task, a dict of descriptors or None), best first;
        ``candidates`` restricts them to some of the meta-dataset's configurations."""
        self._check()
        k = check_int(k, "k", f"{type(self).__name__}.rank", 1)
        order = self.order(descriptor_vector(task, self.descriptor_names_) if self._uses_task else None)
        if candidates is not None:
            index = {config_key(c): i for i, c in enumerate(self.configs_)}
            wanted = set()
            for c in candidates:
                i = index.get(config_key(c))
                if i is None:
                    raise InvalidInputError(
                        f"{type(self).__name__} ranks only its meta-dataset's configurations; {dict(c)} is not "
                        "among them. Rank with a Recommender, or pass candidates from meta.configs."
                    )
                wanted.add(i)
            order = [i for i in order if i in wanted]
        return [dict(self.configs_[i]) for i in list(order)[:k]]

    _uses_task = False

    def _check(self) -> None:
        if not hasattr(self, "n_configs_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(meta) first.")


class RandomOrder(_Baseline):
    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def order(self, descriptors=None, true_acc=None) -> np.ndarray:
        self._check()
        return np.random.default_rng(self.seed).permutation(self.n_configs_)


class AverageRank(_Baseline):
    name = "average_rank"

    def order(self, descriptors=None, true_acc=None) -> np.ndarray:
        self._check()
        return average_rank_order(self.acc_)


class NearestNeighbors(_Baseline):
    name = "knn_meta_features"
    _uses_task = True

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def fit(self, meta: MetaDataset) -> "NearestNeighbors":
        super().fit(meta)
        d = self.descriptors_
        self.mean_ = np.nanmean(d, axis=0)
        self.std_ = np.nanstd(d, axis=0) + 1e-9
        return self

    def _z(self, d: np.ndarray) -> np.ndarray:
        return np.nan_to_num((np.asarray(d, dtype=float) - self.mean_) / self.std_)

    def neighbours(self, descriptors) -> np.ndarray:
        self._check()
        if descriptors is None:
            raise InvalidInputError("NearestNeighbors needs the held-out task's descriptors.")
        dist = np.linalg.norm(self._z(self.descriptors_) - self._z(descriptors)[None], axis=1)
        return np.argsort(dist, kind="stable")[: self.k]

    def order(self, descriptors=None, true_acc=None) -> np.ndarray:
        return average_rank_order(self.acc_[self.neighbours(descriptors)])


class Oracle(_Baseline):
    name = "oracle"

    def rank(self, task: Any = None, candidates=None, k: int = 10) -> list[dict[str, Any]]:
        raise InvalidInputError("The oracle needs the task's true results; use order(true_acc=...) in benchmarks.")

    def order(self, descriptors=None, true_acc=None) -> np.ndarray:
        self._check()
        if true_acc is None:
            raise InvalidInputError("The oracle needs the held-out task's true accuracies (true_acc).")
        return np.argsort(-np.asarray(true_acc), kind="stable")


BASELINES = {"random": RandomOrder, "average_rank": AverageRank, "knn_meta_features": NearestNeighbors,
             "oracle": Oracle}

"""Beyond HyperSTAR: a warm-start ranking that adapts to the results coming in on the new task.

HyperSTAR fixes the ranking before the first run. Once a few configurations have been evaluated on
the new task, we know more: meta-training tasks whose stored accuracies *agree* with what we observe
(Spearman correlation over the observed configurations, at the observed budget) are better guides
than the others. :class:`AdaptiveRanking` weights each meta-training task by that agreement
(``softmax(rho / temperature)``), computes the weighted average rank of every meta-dataset
configuration, and blends it with the original order; the blend moves from the original order
(no observations) towards the weighted ranking as observations accumulate
(weight ``n / (n + prior_strength)``). Configurations outside the meta-dataset keep their original
relative place.

Example::

    >>> from hyperstar.meta import load_meta_dataset
    >>> meta = load_meta_dataset()                      # the meta-training tasks
    >>> ada = AdaptiveRanking(meta)
    >>> remaining = list(meta.configs)                  # the current order, best first
    >>> ada.observe(remaining[0], budget=3, val_acc=0.81)
    True
    >>> remaining = ada.reorder(remaining)              # best first
    >>> len(remaining) == meta.n_configs
    True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from hyperstar._internal.stats import spearman

from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import MetaDataset
from hyperstar.space import config_key

__all__ = ["AdaptiveRanking"]

logger = logging.getLogger(__name__)


class AdaptiveRanking:
    """Re-rank configurations by how well each meta-training task predicts the observed results.

    ``meta``: the meta-training tasks (never the task being tuned). ``min_observations``: observed
    meta-dataset configurations needed at a budget before that budget counts. ``temperature``:
    sharpness of the task weights. ``prior_strength``: observations at which the weighted ranking
    and the original order count equally.
    """

    def __init__(self, meta: MetaDataset, *, min_observations: int = 3, temperature: float = 0.2,
                 prior_strength: float = 5.0) -> None:
        if not isinstance(meta, MetaDataset):
            raise InvalidInputError(f"AdaptiveRanking needs a MetaDataset. Got {type(meta).__name__}.")
        if meta.n_tasks < 1 or meta.n_configs < 2:
            raise InvalidInputError(
                f"AdaptiveRanking needs a meta-dataset with tasks and >= 2 configurations. Got {meta.n_tasks} x {meta.n_configs}."
            )
        if temperature <= 0:
            raise InvalidInputError(f"The 'temperature' of AdaptiveRanking must be > 0. Got {temperature!r}.")
        self.meta = meta
        self.min_observations = int(min_observations)
        self.temperature = float(temperature)
        self.prior_strength = float(prior_strength)
        self._index = {config_key(c): i for i, c in enumerate(meta.configs)}
        final = np.where(np.isfinite(meta.final_acc), meta.final_acc, -np.inf)
        # rank 0 = best, per task; ties share the mean rank
        self._ranks = np.vstack([rankdata(-row, method="average") - 1 for row in final])
        self._obs: dict[int, dict[int, float]] = {}

    # ------------------------------------------------------------------ observations

    def observe(self, config: Mapping[str, Any], budget: float, val_acc: float | None) -> bool:
        """Record ``val_acc`` of ``config`` after ``budget`` epochs; False if the config is not in the meta-dataset."""
        c = self._index.get(config_key(config))
        if c is None or val_acc is None or not np.isfinite(val_acc):
            return False
        epoch = min(max(1, int(round(float(budget)))), self.meta.max_budget)
        self._obs.setdefault(epoch, {})[c] = float(val_acc)
        return True

    @property
    def n_observed(self) -> int:
        """Distinct meta-dataset configurations observed so far (any budget)."""
        return len({c for obs in self._obs.values() for c in obs})

    def task_agreement(self) -> np.ndarray:
        """Per meta-training task, the Spearman agreement with the observations (observation-weighted over budgets; 0 when unknown)."""
        total = np.zeros(self.meta.n_tasks)
        weight = 0.0
        for epoch, obs in self._obs.items():
            if len(obs) < self.min_observations:
                continue
            idx = np.fromiter(obs.keys(), dtype=int)
            seen = np.fromiter(obs.values(), dtype=float)
            if np.ptp(seen) == 0:
                continue
            stored = self.meta.curves[:, idx, epoch - 1]
            rho = np.array([spearman(stored[t], seen, undefined=0.0) for t in range(self.meta.n_tasks)])
            total += len(obs) * rho
            weight += len(obs)
        return total / weight if weight else total

    def task_weights(self) -> np.ndarray:
        """Normalised weights of the meta-training tasks (uniform before enough observations)."""
        z = self.task_agreement() / self.temperature
        w = np.exp(z - z.max())
        return w / w.sum()

    # ------------------------------------------------------------------ ranking

    def scores(self) -> np.ndarray:
        """Weighted average rank of every meta-dataset configuration (lower is better)."""
        w = self.task_weights()
        return w @ self._ranks

    def reorder(self, configs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``configs`` (currently best first) re-ordered by the blend of their order and the weighted ranking."""
        configs = list(configs)
        n = len(configs)
        n_obs = self.n_observed
        if n < 2 or n_obs == 0:
            return configs
        lam = n_obs / (n_obs + self.prior_strength)
        base = np.arange(n, dtype=float) / (n - 1)
        idx = [self._index.get(config_key(c)) for c in configs]
        known = np.array([i is not None for i in idx])
        adaptive = base.copy()
        if known.sum() >= 2:
            s = self.scores()[[i for i in idx if i is not None]]
            # the known configurations' scores, rescaled onto the positions they occupy
            order = rankdata(s, method="average") - 1
            adaptive[known] = order / max(known.sum() - 1, 1)
        key = (1 - lam) * base + lam * adaptive
        return [configs[i] for i in np.argsort(key, kind="stable")]



"""The stored-curves oracle that every peer tuner runs against (see ``peers/__init__.py``).

Cost accounting is hpo_tabular's: a job charges the epochs it actually trains. A stored configuration
already trained to e epochs continues from its checkpoint, so asking for b > e epochs costs b - e, and
asking for b <= e costs nothing (its accuracy after b epochs is already known). This is the rule under
which hyperstar's own methods run; it also means that a peer whose proposal maps onto a configuration
it already trained pays nothing for the collision, which can only favour the peer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperstar.space import config_key, encode
from hyperstar.space.export import active_values

EPS = 1e-9


class StoredCurves:
    """Task ``t`` of ``meta`` as an objective: ``evaluate(config, epochs) -> validation accuracy``.

    ``budget``: the total epochs the run may spend (``done`` turns true once they are spent).
    """

    def __init__(self, meta, t: int, budget: float, max_budget: int):
        self.meta, self.t, self.budget, self.max_budget = meta, int(t), float(budget), int(max_budget)
        self.space = meta.space
        self.curves = np.asarray(meta.curves[t, :, :max_budget], dtype=float)
        self.X = encode(meta.configs, space=self.space).astype(np.float64)
        self.trained = np.zeros(meta.n_configs, dtype=int)
        self.spent = 0.0
        self.spent_full = 0.0  # hpbandster-style accounting: every job charged its whole budget
        self.best: float | None = None
        self.steps: list[list[float]] = []
        self.n_evals = 0
        self.distances: list[float] = []
        self._nearest: dict[str, int] = {}

    @property
    def done(self) -> bool:
        return self.spent >= self.budget

    def nearest(self, params: Mapping[str, Any]) -> int:
        """Index of the stored configuration nearest to ``params`` (every hyperparameter; inactive ones dropped)."""
        config = active_values(dict(params), self.space)
        key = config_key(config)
        if key not in self._nearest:
            d = np.linalg.norm(self.X - encode(config, space=self.space).astype(np.float64), axis=1)
            i = int(np.argmin(d))  # ties: the lowest index, deterministic
            self._nearest[key] = i
            self.distances.append(float(d[i]))
        return self._nearest[key]

    def epochs(self, value: float) -> int:
        return int(min(max(int(round(float(value))), 1), self.max_budget))

    def evaluate_index(self, i: int, epochs: float) -> float:
        b = self.epochs(epochs)
        self.spent += max(0, b - int(self.trained[i]))
        self.spent_full += b
        self.trained[i] = max(int(self.trained[i]), b)
        self.n_evals += 1
        acc = float(self.curves[i, b - 1])
        if b == self.max_budget and (self.best is None or acc > self.best + EPS):
            self.best = acc
            self.steps.append([self.spent, self.spent_full, acc])
        return acc

    def evaluate(self, params: Mapping[str, Any], epochs: float) -> float:
        return self.evaluate_index(self.nearest(params), epochs)

    def summary(self) -> dict:
        """The row fields hpo_tabular's analysis reads, plus how the mapping went."""
        return {"steps": self.steps, "total_epochs": self.spent, "total_budget": self.spent_full,
                "n_jobs": self.n_evals, "n_crashed": 0,
                "n_distinct_stored": int(np.count_nonzero(self.trained)),
                "mean_map_distance": float(np.mean(self.distances)) if self.distances else None}


def top_configs(meta, ranking: list[int] | None, k: int) -> list[dict]:
    """The first ``k`` stored configurations of a ranking (indices into ``meta.configs``)."""
    return [dict(meta.configs[int(i)]) for i in (ranking or [])[:k]]

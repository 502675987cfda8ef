"""How far to trust a learned ranking on a new task, and the portfolio it falls back to (numpy only).

The :class:`~hyperstar.ranking.Recommender` (``fallback="gated"``) ranks the meta-dataset's
configurations by

    score = p + w * (beta * (z_model - p) + (1 - beta) * (z_neighbours - p)),   w = min(1, gamma * familiarity)

* ``p``: the average-rank portfolio (minus the mean rank over the meta-training tasks, standardised); it
  orders the configurations exactly as :class:`~hyperstar.ranking.AverageRank`;
* ``z_model``: the learned predictor's scores for the task, standardised over the same configurations;
* ``z_neighbours``: the meta-training tasks' per-task z-scored accuracies, averaged with weights that fall
  off with the distance of their representation to the task's (``tau`` sets how fast);
* ``familiarity`` in [0, 1]: how close the task is to its nearest meta-training task, *calibrated on
  leave-one-family-out inside the meta-training tasks*: the share of meta-training tasks whose nearest task
  of another family is farther away than this task's nearest task. 1: closer than any meta-training task was
  to a family not its own (a sibling of a known task); 0: farther than all of them (unlike anything seen).
  At familiarity 0 the ranking is the portfolio's, exactly.

``gamma``, ``beta`` and ``tau`` are chosen by inner cross-validation over families of the meta-training
tasks (:func:`choose_gate`), never on the tasks being ranked.

The task representation behind the distances (:func:`task_representation`) is not learned: the
z-scored meta-features plus the z-scored mean and spread of the frozen backbone's features over the task's
images, each block scaled to the same weight. (The learned task embedding is trained to predict rankings
and can collapse on data unlike the meta-data; a fixed representation cannot be trained into agreeing.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hyperstar.meta.analysis import _rank_desc

__all__ = ["GATE_GRID", "Gate", "FamiliarityModel", "portfolio_scores", "standardize", "task_z", "neighbour_scores",
           "combine", "task_representation", "regrets", "choose_gate", "inner_folds"]

#: the gate's hyperparameters searched by inner cross-validation (every combination)
GATE_GRID = {"gamma": (0.0, 0.5, 1.0, 2.0, 4.0), "beta": (0.0, 0.25, 0.5, 0.75, 1.0), "tau": (0.25, 0.5, 1.0, 2.0)}


@dataclass(frozen=True)
class Gate:
    """The combination's hyperparameters: ``gamma`` (trust per unit of familiarity; the weight on the
    residuals is ``min(1, gamma * familiarity)``), ``beta`` (share of the learned model in the residual, the
    rest the neighbours'), ``tau`` (neighbour kernel width, in units of the typical cross-family distance)."""

    gamma: float = 1.0
    beta: float = 0.5
    tau: float = 1.0

    def weight(self, familiarity: float) -> float:
        return float(min(1.0, max(0.0, self.gamma * familiarity)))


def standardize(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit standard deviation over the last axis (constant rows stay zero)."""
    x = np.asarray(x, dtype=float)
    mu = x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    return (x - mu) / np.where(sd > 1e-12, sd, 1.0)


def portfolio_scores(acc: np.ndarray) -> np.ndarray:
    """[config] the average-rank portfolio as a score (higher is better, standardised): ``argsort(-score,
    kind='stable')`` is :func:`~hyperstar.meta.analysis.average_rank_order` of ``acc`` [task, config]."""
    mean_rank = np.nanmean(np.vstack([_rank_desc(row) for row in np.asarray(acc, dtype=float)]), axis=0)
    return standardize(-mean_rank)


def task_z(acc: np.ndarray) -> np.ndarray:
    """[task, config] accuracies z-scored per task."""
    return standardize(np.nan_to_num(np.asarray(acc, dtype=float), nan=np.nanmin(acc)))


def task_representation(descriptors: np.ndarray | None, features: Sequence[np.ndarray] | None) -> np.ndarray:
    """[task, dims] raw (not yet normalised) representation: descriptors, then per task the mean and standard
    deviation of its backbone features over images (when there are features)."""
    blocks = []
    if descriptors is not None and np.asarray(descriptors).size:
        blocks.append(np.asarray(descriptors, dtype=float))
    if features is not None and len(features):
        blocks.append(np.stack([np.concatenate([f.mean(0), f.std(0)]) for f in (np.asarray(f, dtype=float)
                                                                                  for f in features)]))
    if not blocks:
        raise ValueError("a task representation needs descriptors or features")
    return np.hstack(blocks)


class FamiliarityModel:
    """Normalises task representations and turns distances into a calibrated familiarity.

    ``fit(reps, families, block_sizes)``: ``reps`` [task, dims] of the meta-training tasks; each block of
    columns (``block_sizes``, e.g. descriptors then features) is z-scored and scaled by 1/sqrt(its width), so
    that every block weighs the same. The calibration: for every meta-training task, the distance to its
    nearest task of *another* family (what a task of an unseen family looks like, inner leave-one-family-out);
    familiarity(d) is the share of those distances above d.
    """

    def fit(self, reps: np.ndarray, families: Sequence[str], block_sizes: Sequence[int]) -> "FamiliarityModel":
        reps = np.asarray(reps, dtype=float)
        self.mean_ = np.nanmean(reps, axis=0)
        self.std_ = np.nanstd(reps, axis=0) + 1e-6
        self.block_sizes_ = [int(b) for b in block_sizes]
        self.points_ = self.transform(reps)
        fam = np.asarray(families)
        d = _pairwise(self.points_, self.points_)
        cross = np.where(fam[:, None] != fam[None], d, np.inf).min(axis=1)
        cross = cross[np.isfinite(cross)]
        if not len(cross):  # one family: no unseen-family example; the typical distance between tasks instead
            off = d[~np.eye(len(d), dtype=bool)]
            cross = off if len(off) else np.ones(1)
        self.cross_ = np.sort(cross)
        self.scale_ = float(max(np.median(self.cross_), 1e-6))
        return self

    def transform(self, reps: np.ndarray) -> np.ndarray:
        z = np.clip(np.nan_to_num((np.atleast_2d(np.asarray(reps, dtype=float)) - self.mean_) / self.std_), -5, 5)
        weights = np.concatenate([np.full(b, 1.0 / np.sqrt(b)) for b in self.block_sizes_])
        return z * weights

    def distances(self, rep: np.ndarray) -> np.ndarray:
        """[meta-training task] distance of one raw representation to each meta-training task."""
        return _pairwise(self.transform(rep), self.points_)[0]

    def familiarity(self, distance: float) -> float:
        """Share of the calibration distances (nearest task of another family) that are larger than
        ``distance``; ties count half."""
        c = self.cross_
        return float(((c > distance).sum() + 0.5 * (c == distance).sum()) / len(c))


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))


def neighbour_weights(distances: np.ndarray, scale: float, tau: float) -> np.ndarray:
    """Kernel weights over meta-training tasks: exp(-(d - d_min) / (tau * scale)), summing to 1."""
    d = np.asarray(distances, dtype=float)
    w = np.exp(-(d - d.min()) / max(tau * scale, 1e-9))
    return w / w.sum()


def neighbour_scores(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[config] the weighted mean of the meta-training tasks' z-scores, standardised."""
    return standardize(weights @ z)


def combine(p: np.ndarray, z_model: np.ndarray | None, z_neighbours: np.ndarray, weight: float,
            beta: float) -> np.ndarray:
    """``p + weight * (beta * (z_model - p) + (1 - beta) * (z_neighbours - p))``; exactly ``p`` at weight 0."""
    if weight <= 0.0:
        return np.array(p, dtype=float, copy=True)
    if z_model is None:
        beta = 0.0
        z_model = p
    return p + weight * (beta * (z_model - p) + (1.0 - beta) * (z_neighbours - p))


def regrets(score: np.ndarray, acc: np.ndarray) -> tuple[float, float]:
    """(regret@1, regret@3) in accuracy points of the order ``score`` (higher first) against ``acc``."""
    order = np.argsort(-score, kind="stable")
    best = np.nanmax(acc)
    return 100 * float(best - acc[order[0]]), 100 * float(best - np.nanmax(acc[order[:3]]))


def inner_folds(families: Sequence[str], n_folds: int) -> list[np.ndarray]:
    """Task indices of each inner fold: whole families, dealt in sorted order over at most ``n_folds`` folds."""
    names = sorted(set(families))
    k = max(1, min(int(n_folds), len(names)))
    fam = np.asarray(families)
    return [np.flatnonzero(np.isin(fam, names[i::k])) for i in range(k)]


def choose_gate(cases: Sequence[dict], grid: dict | None = None) -> tuple[Gate, list[dict]]:
    """The gate with the lowest mean (regret@1 + regret@3) / 2 over inner held-out ``cases``.

    Each case: ``p``, ``z_model`` (or None), ``z`` (the inner meta-training tasks' z-scores), ``distances``,
    ``scale``, ``familiarity``, ``acc`` (the held-out task's accuracies). Ties go to the smaller ``gamma``
    (closer to the portfolio), then the larger ``beta``, then the smaller ``tau``. Returns the gate and the
    table of every combination tried.
    """
    grid = grid or GATE_GRID
    table = []
    for tau in grid["tau"]:
        zn = [neighbour_scores(c["z"], neighbour_weights(c["distances"], c["scale"], tau)) for c in cases]
        for gamma in grid["gamma"]:
            for beta in grid["beta"]:
                gate = Gate(float(gamma), float(beta), float(tau))
                r = [regrets(combine(c["p"], c["z_model"], n, gate.weight(c["familiarity"]), beta), c["acc"])
                     for c, n in zip(cases, zn)]
                r1, r3 = (float(np.mean([x[i] for x in r])) if r else 0.0 for i in (0, 1))
                table.append({"gamma": gate.gamma, "beta": gate.beta, "tau": gate.tau, "regret_at_1": r1,
                              "regret_at_3": r3, "objective": (r1 + r3) / 2})
    best = min(table, key=lambda t: (round(t["objective"], 9), t["gamma"], -t["beta"], t["tau"]))
    return Gate(best["gamma"], best["beta"], best["tau"]), table

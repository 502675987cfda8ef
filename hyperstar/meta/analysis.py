"""What a meta-dataset says: spread, agreement between tasks, noise, and headroom over a portfolio.

Used by ``hyperstar metadata info`` and ``benchmarks/metadata_analysis.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperstar._internal.stats import spearman  # undefined -> NaN: reported, so it stays visible
from hyperstar.meta.dataset import MetaDataset

__all__ = ["analyze_meta_dataset", "average_rank_order", "no_default_reason"]


def no_default_reason(meta: MetaDataset) -> str | None:
    """Why ``meta`` has no default configuration to compare with (one line); None when it has one."""
    if meta.default_index is not None:
        return None
    if meta.own_space:
        return "the meta-dataset is over its own search space, which has no common-practice default configuration"
    return "no default configuration in this meta-dataset (hyperstar's default configuration is not among its configurations)"


def average_rank_order(acc: np.ndarray) -> np.ndarray:
    """Configurations ordered by their mean rank over tasks (best first); ``acc`` is [task, config]."""
    ranks = np.vstack([_rank_desc(row) for row in acc])
    return np.argsort(np.nanmean(ranks, axis=0), kind="stable")


def _rank_desc(row: np.ndarray) -> np.ndarray:
    """Rank 0 = best; ties share the mean rank; NaN ranks last."""
    filled = np.where(np.isfinite(row), row, -np.inf)
    from scipy.stats import rankdata

    return rankdata(-filled, method="average") - 1


def analyze_meta_dataset(meta: MetaDataset) -> dict[str, Any]:
    """Per-task best configuration and spread, ranking agreement, noise and portfolio headroom.

    Only tasks with every cell filled are analysed. Accuracies are the mean over each cell's seeds; the seed
    noise compares a cell's first two seeds. "Best minus default" needs hyperstar's default configuration
    among the configurations (:attr:`MetaDataset.default_index`); without it ``no_default`` says why.
    """
    full = np.isfinite(meta.curves).all(axis=(1, 2))
    idx = np.flatnonzero(full)
    acc = meta.final_acc[idx]
    default_id = meta.default_index
    per_task = []
    for row, t in zip(acc, idx):
        best = int(np.argmax(row))
        per_task.append({
            "task": meta.task_names[t],
            "family": meta.families[t],
            "best_config": best,
            "best_acc": float(row[best]),
            "median_acc": float(np.median(row)),
            "best_minus_median": float(row[best] - np.median(row)),
            **({} if default_id is None else {"default_acc": float(row[default_id]),
                                              "best_minus_default": float(row[best] - row[default_id])}),
            "diverged_fraction": float(meta.diverged[t].mean()),
            "spearman_epoch1_vs_final": spearman(meta.curves[t, :, 0], row),
            "spearman_epoch3_vs_final": spearman(meta.curves[t, :, min(2, meta.max_budget - 1)], row),
        })
    out: dict[str, Any] = {"n_tasks_analysed": int(len(idx)), "per_task": per_task}
    if default_id is None:
        out["no_default"] = no_default_reason(meta)
    if len(idx) >= 2:
        pairs = [spearman(acc[i], acc[j]) for i in range(len(idx)) for j in range(i + 1, len(idx))]
        out["mean_pairwise_spearman"] = float(np.nanmean(pairs))
        out["distinct_best_configs"] = int(len({p["best_config"] for p in per_task}))
        # Leave-one-task-out headroom: what a task-aware choice could gain over the portfolio.
        gaps1, gaps3 = [], []
        for i in range(len(idx)):
            order = average_rank_order(np.delete(acc, i, axis=0))
            best = acc[i].max()
            gaps1.append(best - acc[i, order[0]])
            gaps3.append(best - acc[i, order[:3]].max())
        out["loto_avg_rank_regret_at_1"] = float(np.mean(gaps1))
        out["loto_avg_rank_regret_at_3"] = float(np.mean(gaps3))
        out["loto_avg_rank_regret_at_1_max"] = float(np.max(gaps1))
        out["mean_best_minus_median"] = float(np.mean([p["best_minus_median"] for p in per_task]))
        if default_id is not None:
            out["mean_best_minus_default"] = float(np.mean([p["best_minus_default"] for p in per_task]))
        out["mean_spearman_epoch1_vs_final"] = float(np.nanmean([p["spearman_epoch1_vs_final"] for p in per_task]))
        out["mean_spearman_epoch3_vs_final"] = float(np.nanmean([p["spearman_epoch3_vs_final"] for p in per_task]))
    runs = np.asarray(meta.seed_curves)
    noise = (np.isfinite(runs[0]).all(axis=2) & np.isfinite(runs[1]).all(axis=2)) if len(runs) > 1 else np.zeros(1, bool)
    if noise.any():
        a = runs[0, :, :, -1][noise]
        b = runs[1, :, :, -1][noise]
        out["noise_cells"] = int(noise.sum())
        out["seed_noise_mean_abs_diff"] = float(np.mean(np.abs(a - b)))
        out["seed_noise_std"] = float(np.std(a - b) / np.sqrt(2))
        out["seed_noise_spearman"] = spearman(a, b)
    out["diverged_fraction"] = float(meta.diverged[idx].mean()) if len(idx) else float("nan")
    return out

"""What a meta-dataset says: spread, agreement between tasks, noise, and headroom over a portfolio.

Used by ``hyperstar metadata info`` and ``benchmarks/metadata_analysis.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperstar._internal.stats import spearman  # undefined -> NaN: reported, so it stays visible
from hyperstar.meta.dataset import MetaDataset

__all__ = ["analyze_meta_dataset", "average_rank_order", "no_default_reason", "seed_noise", "good_config_cells", "validation_images",
           "planned_cells", "build_counts"]


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


# --------------------------------------------------------------------------- counts and seed noise


def validation_noise_bound(accuracy, n_val) -> np.ndarray:
    """An upper bound on the part of the seed noise that a finite validation set makes: the mean |difference|
    two runs at ``accuracy`` would show on ``n_val`` images were their errors on those images independent,
    E|X - Y| for X, Y ~ Binomial(n, p) / n, in the normal approximation sqrt(2 p (1 - p) / n) * sqrt(2 / pi)
    (fractions, like the accuracies). Runs share their easy and hard images, so the real part is smaller, and
    a family's measured noise can be below this bound. It shrinks as 1 / sqrt(n_val): it says how much of the
    noise *could* at most be the validation set's size, not that the rest is the training runs.

        >>> round(float(validation_noise_bound(0.7, 300)), 4), round(float(validation_noise_bound(0.7, 1200)), 4)
        (0.0299, 0.0149)
    """
    p = np.clip(np.asarray(accuracy, dtype=float), 0.0, 1.0)
    return np.sqrt(2.0 * p * (1.0 - p) / np.asarray(n_val, dtype=float)) * np.sqrt(2.0 / np.pi)


def _noise_of(finals: np.ndarray, n_val: np.ndarray | None = None) -> dict[str, Any]:
    """Seed noise of cells given as ``[run, cell]`` final accuracies (runs in increasing seed order; NaN: no
    such run), in accuracy points: the difference between a cell's first two runs, the standard error over all,
    and with ``n_val`` (validation images per cell; NaN: unknown) the mean :func:`validation_noise_bound` at the
    mean of those two runs."""
    n = np.isfinite(finals).sum(axis=0)
    keep = n >= 2
    out: dict[str, Any] = {"cells": int(keep.sum()), "runs": int(n[keep].sum())}
    if not keep.any():
        return {**out, "mean_abs_diff": None, "mean_std_error": None, "val_bound": None}
    runs = finals[:, keep]
    diffs, errors, pairs = [], [], []
    for col in runs.T:
        x = col[np.isfinite(col)]
        diffs.append(abs(x[0] - x[1]))  # the first two seeds: replication (more seeds for noisy cells) biases the rest
        errors.append(np.std(x, ddof=1) / np.sqrt(len(x)))
        pairs.append((x[0] + x[1]) / 2)
    bound = None
    if n_val is not None:
        nv = np.asarray(n_val, dtype=float)[keep]
        known = np.isfinite(nv) & (nv > 0)
        if known.any():
            bound = float(100.0 * validation_noise_bound(np.asarray(pairs)[known], nv[known]).mean())
    return {**out, "mean_abs_diff": float(100.0 * np.mean(diffs)), "mean_std_error": float(100.0 * np.mean(errors)),
            "val_bound": bound}


def good_config_cells(meta: MetaDataset, share: float = 0.25) -> np.ndarray:
    """[task, config] True for the cells of the configurations that rank in the top ``share`` of a task's
    filled configurations *by the other tasks*: each configuration's mean normalised rank (0 best, 1 worst)
    over every other task's filled configurations, its cell means. Chosen without the task's own seeds, so
    the noise of these cells is not biased by picking them (a cell that drew one bad seed is not left out
    for it). The configurations a ranking puts first are of this kind; the noise at the top decides regret."""
    acc = np.asarray(meta.final_acc, dtype=float)
    n_tasks, n_configs = acc.shape
    norm = np.full(acc.shape, np.nan)
    for t in range(n_tasks):
        ok = np.isfinite(acc[t])
        if ok.sum() >= 2:
            norm[t, ok] = _rank_desc(acc[t, ok]) / (ok.sum() - 1)
    out = np.zeros(acc.shape, dtype=bool)
    if n_tasks < 2:
        return out
    totals, counts = np.nansum(norm, axis=0), np.isfinite(norm).sum(axis=0)
    for t in range(n_tasks):
        ok = np.isfinite(acc[t])
        own = np.isfinite(norm[t])
        n_other = counts - own
        mean_other = np.where(n_other > 0, (totals - np.where(own, norm[t], 0.0)) / np.maximum(n_other, 1), np.nan)
        cand = np.flatnonzero(ok & np.isfinite(mean_other))
        if not len(cand):
            continue
        k = max(1, int(np.ceil(share * ok.sum())))
        out[t, cand[np.argsort(mean_other[cand], kind="stable")[:k]]] = True
    return out


def seed_noise(meta: MetaDataset) -> dict[str, Any]:
    """How much a cell's final validation accuracy moves between seeds, per family and overall.

    Over the cells with at least two seed runs: ``mean_abs_diff``, the mean absolute difference of the final
    validation accuracy between the first two seeds of the same cell (its two lowest seeds: every cell of a
    build has them, so the figure is not biased by a build that gave more seeds to its noisy cells only), and
    ``mean_std_error``, the mean standard error of a cell's mean over ALL its runs (their standard deviation
    over the square root of their number), both in accuracy points (0-100); ``cells`` and ``runs`` say what
    they stand on. Figures are None where no cell has two seeds. ``top_quartile``: the same figures over the
    cells of the configurations that the other tasks rank in their top quarter (:func:`good_config_cells`),
    where a ranking's first picks are. ``val_bound``: the mean :func:`validation_noise_bound` of the cells, at most what the
    validation sets' size accounts for (None where the manifest does not say how many images they hold).

        >>> from hyperstar.meta import load_meta_dataset
        >>> table = seed_noise(load_meta_dataset())       # the shipped meta-data
        >>> sorted(table), table["overall"]["cells"] > 0
        (['overall', 'per_family'], True)
    """
    runs = np.asarray(meta.seed_curves, dtype=float)[..., -1]  # [run, task, config]
    good = good_config_cells(meta)
    fams = np.asarray(meta.families)
    by_name = dict(zip((t.get("name") for t in meta.manifest.get("tasks", [])), validation_images(meta)))
    n_val = np.array([by_name.get(name) for name in meta.task_names], dtype=float)  # None: NaN; by name for a subset
    cell_n = np.broadcast_to(n_val[:, None], runs.shape[1:])

    def figures(rows: np.ndarray) -> dict[str, Any]:
        sub, top, nv = runs[:, rows], good[rows], cell_n[rows]
        return {"tasks": int(len(rows)), **_noise_of(sub.reshape(len(runs), -1), nv.reshape(-1)),
                "top_quartile": _noise_of(sub[:, top], nv[top])}

    table = {fam: figures(np.flatnonzero(fams == fam)) for fam in sorted(set(meta.families))}
    return {"overall": figures(np.arange(meta.n_tasks)), "per_family": table}


def validation_images(meta: MetaDataset) -> list[int | None]:
    """Validation images of each task: the count a build recorded (``n_val``), else the count the builder's
    stratified split gives for the task's class sizes (exact when every class has as many images, as in the
    shipped suite; else from the mean class size); None when the manifest does not say."""
    split = meta.manifest.get("split") or {}
    vf, tf = float(split.get("val_fraction", 0.2)), float(split.get("test_fraction", 0.2))
    out: list[int | None] = []
    for t in meta.manifest.get("tasks", []):
        if isinstance(t.get("n_val"), int):
            out.append(int(t["n_val"]))
            continue
        d = t.get("descriptors") or {}
        k, per = d.get("n_classes"), d.get("images_per_class_mean")
        if not isinstance(k, (int, float)) or not isinstance(per, (int, float)):
            out.append(None)
            continue
        c = int(round(per))
        n_val = max(1, int(np.floor(c * vf + 0.5))) if vf > 0 else 0
        n_test = max(1, int(np.floor(c * tf + 0.5))) if tf > 0 else 0
        while c - n_val - n_test < 1 and (n_val > 1 or n_test > 1):  # the split keeps one training image
            if n_val >= n_test and n_val > 1:
                n_val -= 1
            else:
                n_test -= 1
        out.append(int(k) * n_val)
    return out


def planned_cells(manifest: dict[str, Any]) -> int | None:
    """The runs (task, configuration, seed) a built meta-dataset's plan asks for: every configuration on
    ``seeds`` seeds, or (the first builds) seed 0 everywhere plus seed 1 for ``noise_config_ids``; None for an
    imported meta-dataset, which has no plan."""
    n_tasks, n_configs = len(manifest.get("tasks", [])), len(manifest.get("configs", []))
    if isinstance(manifest.get("seeds"), int):
        return n_tasks * n_configs * int(manifest["seeds"])
    if "noise_config_ids" in manifest:
        return n_tasks * (n_configs + len(manifest.get("noise_config_ids") or []))
    return None


def _spread(values: list[float]) -> dict[str, float | None]:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if not v.size:
        return {"min": None, "median": None, "max": None}
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def build_counts(meta: MetaDataset) -> dict[str, Any]:
    """The counts ``hyperstar metadata info`` leads with: families, tasks, configurations, seeds per cell
    (min / median over every cell, 0 for a cell not run), runs of the plan done / planned and further seeds of
    noisy cells done (``metadata build --replicate-above``), validation images per task
    (min / median / max) and the seed noise (:func:`seed_noise`)."""
    n_seeds = np.asarray(meta.n_seeds)
    per_cell = _spread(n_seeds.ravel().tolist()) if n_seeds.size else _spread([])
    base, seeds = meta.manifest.get("seeds"), np.asarray(meta.seeds)
    done = int(n_seeds.sum())
    base_done = int(((seeds >= 0) & (seeds < base)).sum()) if isinstance(base, int) and seeds.size else done
    return {
        "n_families": len(set(meta.families)),
        "n_tasks": meta.n_tasks,
        "n_configs": meta.n_configs,
        "seeds_per_cell": {"min": per_cell["min"], "median": per_cell["median"]},
        "cells_done": base_done,
        "cells_planned": planned_cells(meta.manifest),
        "further_seeds_done": done - base_done,  # the runs of noisy cells beyond the plan's seeds (replication)
        "val_images": _spread(validation_images(meta)),
        "seed_noise": seed_noise(meta),
    }

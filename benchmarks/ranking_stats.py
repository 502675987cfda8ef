"""Metrics, truths, folds and paired statistics for the ranking benchmark (benchmarks/ranking_benchmark.py).

Kept apart from the benchmark's driver so the numbers can be recomputed from the stored rows (each
row keeps the full order it scored) without re-fitting anything.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.stats import spearmanr, wilcoxon

#: |method - portfolio| regret@1 at most this many accuracy points counts as a tie
TIE_POINTS = 0.5
#: metric keys of one row, lower-is-better first
METRICS = ("configs_to_best", "configs_to_within_1", "regret_at_1", "regret_at_3", "regret_at_5",
           "ndcg_at_10", "spearman")


def metrics(order: np.ndarray, acc: np.ndarray) -> dict[str, float]:
    """Scores of one ranking ``order`` (config indices, best first) against true accuracies ``acc`` (fractions).

    * configs_to_best: configurations evaluated in order until the best (highest ``acc``) is among them;
    * configs_to_within_1: ... until one within 1 accuracy point of the best is among them;
    * regret_at_k: accuracy points (x100) of the best minus the best of the top k;
    * ndcg_at_10 with gains (acc - min) / (max - min); spearman between the order and ``acc``.
    """
    order = np.asarray(order)
    acc = np.asarray(acc, dtype=float)
    best = acc.max()
    ranked = acc[order]
    pos = int(np.flatnonzero(ranked >= best - 1e-12)[0]) + 1
    pos1 = int(np.flatnonzero(ranked >= best - 0.01 - 1e-12)[0]) + 1
    gains = (acc - acc.min()) / max(acc.max() - acc.min(), 1e-12)
    k = min(10, len(acc))
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(gains)[::-1][:k] @ disc
    ndcg = float(gains[order[:k]] @ disc / ideal) if ideal > 0 else 1.0
    ranks = np.empty(len(order))
    ranks[order] = np.arange(len(order))
    rho = spearmanr(-ranks, acc).statistic
    return {
        "configs_to_best": pos,
        "configs_to_within_1": pos1,
        "regret_at_1": float(100 * (best - ranked[0])),
        "regret_at_3": float(100 * (best - ranked[:3].max())),
        "regret_at_5": float(100 * (best - ranked[:5].max())),
        "ndcg_at_10": ndcg,
        "spearman": float(rho) if np.isfinite(rho) else 0.0,
    }


def seed_mean_truth(meta) -> tuple[np.ndarray, np.ndarray, dict]:
    """[task, config] final validation accuracy averaged over every seed the meta-dataset holds for the cell.

    ``MetaDataset.curves`` is seed 0 only (``noise_curves`` seed 1; seeds >= 2 are only in ``records``),
    so the truth is rebuilt from the result rows. Returns (truth, seeds per cell, notes).
    """
    from hyperstar.meta.dataset import pad_curve

    t_ids = {n: i for i, n in enumerate(meta.task_names)}
    c_ids = {c["id"]: i for i, c in enumerate(meta.manifest["configs"])}
    total = np.zeros((meta.n_tasks, meta.n_configs))
    count = np.zeros((meta.n_tasks, meta.n_configs), dtype=int)
    for rec in meta.records:
        t, c = t_ids.get(rec["task"]), c_ids.get(rec["config_id"])
        if t is None or c is None:
            continue
        total[t, c] += pad_curve(rec["val_acc"], meta.max_budget)[-1]
        count[t, c] += 1
    # the first run of each cell (seed 0 in built meta-data); meta.final_acc is the seed mean since the loader
    # keeps every seed (older loaders: seed 0 only)
    seed_curves = getattr(meta, "seed_curves", None)
    seed0 = seed_curves[0, :, :, -1] if seed_curves is not None else meta.final_acc
    truth = np.where(count > 0, total / np.maximum(count, 1), seed0)
    both = count >= 2
    pairs = np.isfinite(meta.noise_curves[:, :, -1])
    diff = 100 * np.abs(meta.noise_curves[:, :, -1] - seed0)[pairs]
    notes = {
        "cells": int(count.size),
        "cells_with_several_seeds": int(both.sum()),
        "configs_with_several_seeds_per_task": sorted({int(v) for v in both.sum(axis=1)}),
        "max_seeds_per_cell": int(count.max()),
        "seed0_vs_seed1_abs_diff_points_mean": float(diff.mean()) if diff.size else None,
        "seed0_vs_seed1_abs_diff_points_median": float(np.median(diff)) if diff.size else None,
        "best_config_changes_vs_seed0_tasks": int(sum(np.argmax(truth[t]) != np.argmax(seed0[t]) for t in range(meta.n_tasks))),
    }
    return truth, count, notes


#: how LOTO folds are cut: "each" (one fold per task, the classic protocol) or "per_family" (fold j holds out the
#: j-th task of every family, so a held-out task's siblings are all in training, as in "each", with far fewer fits)
LOTO_SCHEMES = ("each", "per_family")


def folds(meta, protocol: str, loto: str = "each") -> list[tuple[str, list[int], list[int]]]:
    """(fold name, training task indices, held-out task indices) for 'loto' or 'lofo'.

    LOTO ``"each"``: every task is held out alone. LOTO ``"per_family"``: fold j holds out the j-th task (in the
    meta-dataset's order) of every family with more than j tasks, so there are as many folds as the largest
    family has tasks; every task is still held out once with all its siblings in training, and the training
    set lacks one task of each other family (68 tasks in 4-task families: 4 fits on 51 tasks, not 68 on 67).
    LOFO: every task of the held-out family is unseen; everything is fitted on the other families."""
    T = meta.n_tasks
    if protocol == "loto" and loto not in LOTO_SCHEMES:
        raise ValueError(f"loto must be one of {LOTO_SCHEMES}. Got {loto!r}.")
    if protocol == "loto" and loto == "per_family":
        members: dict[str, list[int]] = {}
        for t in range(T):
            members.setdefault(meta.families[t], []).append(t)
        held = [[m[j] for m in members.values() if len(m) > j] for j in range(max(map(len, members.values())))]
        return [(f"loto-per-family-{j}", [i for i in range(T) if i not in set(te)], te) for j, te in enumerate(held)]
    if protocol == "loto":
        return [(meta.task_names[t], [i for i in range(T) if i != t], [t]) for t in range(T)]
    if protocol == "lofo":
        fams = list(dict.fromkeys(meta.families))
        return [(f, [i for i in range(T) if meta.families[i] != f], [i for i in range(T) if meta.families[i] == f])
                for f in fams]
    raise ValueError(f"protocol must be 'loto' or 'lofo'. Got {protocol!r}.")


def summarize(rows: list[dict]) -> dict[str, dict]:
    """Mean (and median configs-to-best) of every metric per method, over all (task, seed) rows; plus the
    spread over seeds of the per-seed mean regret@1."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[r["method"]].append(r)
    out = {}
    for m, rs in by.items():
        s = {"n": len(rs), "n_tasks": len({r["task"] for r in rs}), "n_seeds": len({r["seed"] for r in rs})}
        for k in METRICS:  # rows of the earlier benchmark lack configs_to_within_1 and regret_at_5
            if all(k in r for r in rs):
                s[f"{k}_mean"] = float(np.mean([r[k] for r in rs]))
        for k in ("configs_to_best", "configs_to_within_1"):
            if all(k in r for r in rs):
                s[f"{k}_median"] = float(np.median([r[k] for r in rs]))
        per_seed = defaultdict(list)
        for r in rs:
            per_seed[r["seed"]].append(r["regret_at_1"])
        means = [float(np.mean(v)) for _, v in sorted(per_seed.items())]
        s["regret_at_1_per_seed"] = means
        out[m] = s
    return out


def per_task(rows: list[dict], key: str) -> dict[str, dict[str, float]]:
    """method -> task -> mean of ``key`` over that task's seeds."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[r["method"]][r["task"]].append(r[key])
    return {m: {t: float(np.mean(v)) for t, v in ts.items()} for m, ts in acc.items()}


def paired(rows: list[dict], reference: str = "average_rank", key: str = "regret_at_1",
           tie: float = TIE_POINTS, n_boot: int = 10000, seed: int = 0) -> dict[str, dict]:
    """Each method against ``reference`` across tasks on ``key`` (seeded methods: mean over seeds per task).

    diff = method - reference (lower regret is better): win if diff < -tie, loss if diff > tie, else tie.
    Wilcoxon signed-rank, two-sided, zero differences dropped (scipy's zero_method='wilcox'); p = 1 when
    every difference is zero. A bootstrap 95% interval (over tasks) of the mean difference."""
    pt = per_task(rows, key)
    ref = pt.get(reference, {})
    rng = np.random.default_rng(seed)
    out = {}
    for m, ts in pt.items():
        if m == reference:
            continue
        tasks = sorted(set(ts) & set(ref))
        d = np.array([ts[t] - ref[t] for t in tasks])
        if not len(d):
            continue
        if np.all(np.abs(d) < 1e-12):
            p, note = 1.0, "all differences zero"
        else:
            p, note = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue), ""
        boot = d[rng.integers(0, len(d), (n_boot, len(d)))].mean(axis=1)
        out[m] = {"n_tasks": len(d), "wins": int((d < -tie).sum()), "ties": int((np.abs(d) <= tie).sum()),
                  "losses": int((d > tie).sum()), "mean_diff": float(d.mean()), "median_diff": float(np.median(d)),
                  "mean_diff_ci95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
                  "wilcoxon_p": p, "note": note}
    return out


def per_family(rows: list[dict], keys=("regret_at_1", "regret_at_3")) -> dict[str, dict[str, dict[str, float]]]:
    """family -> method -> {key: mean over the family's tasks of the per-task seed-mean, 'n_tasks'}."""
    fam_of = {r["task"]: r["family"] for r in rows}
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    tables = {k: per_task(rows, k) for k in keys}
    for m in tables[keys[0]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for t in tables[keys[0]][m]:
            groups[fam_of[t]].append(t)
        for f, ts in groups.items():
            out[f][m] = {"n_tasks": len(ts), **{k: float(np.mean([tables[k][m][t] for t in ts])) for k in keys}}
    return dict(out)

"""What a meta-dataset says about fine-tuning hyperparameters: per-family best configurations, task dependence
of the rankings, the best effective learning rate by family, seed noise, and a heatmap.

Run:  .venv/bin/python benchmarks/metadata_analysis.py [--meta PATH] [--out-prefix PREFIX] [--top-k 5]
          [--n-boot 1000] [--seed 0] [--near-families glyphs,shapes]

Works on any meta-dataset, complete or partly built: accuracies are the seed means of the cells that are there
(``MetaDataset.final_acc``, NaN where a cell is missing), a task is analysed when it has at least
``MIN_CONFIGS`` configurations, and the report starts with the coverage. Ranks are taken within each task over
its own filled configurations and normalised to [0, 1] (0 = the task's best), so tasks with different
coverage average fairly. Writes PREFIX.md, PREFIX.json, PREFIX_heatmap.png and PREFIX_elr.png; the default
PREFIX is benchmarks/results/metadata_analysis_v<format version> (``_v1`` for the shipped v1 meta-data).

1. Per family: the top configurations by mean normalised rank over the family's tasks, and how far the
   portfolio's #1 (best mean rank over all tasks) is from each family's best, in accuracy points.
2. Rank agreement: mean pairwise Spearman between the tasks' configuration rankings within a family vs across
   families (bootstrap over configurations for intervals; a permutation of the family labels for the null),
   the same between family-mean rankings, and leave-one-task-out: does the family's own ranking predict a
   held-out task better than the global one?
3. Effective learning rate (Li et al., ICLR 2020): lr / (1 - momentum) for SGD. AdamW's update is invariant to
   the momentum scaling, so AdamW configurations are summarised by their lr, apart; linear probes (only the
   head trains) are left out of the ELR. A task's best ELR is the geometric mean ELR of its top-k SGD
   configurations; it is compared with the distance to the source domain (rendered glyphs and shapes): a
   per-task descriptor when the meta-data has one, otherwise near (``--near-families``) vs far families.
4. Seed noise per family: mean |difference| of final validation accuracy between seeds of one cell.
5. Heatmap: tasks (grouped by family) x configurations (portfolio order), accuracy minus the task's best.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_common import run_meta  # noqa: E402
from metadata_analysis_report import elr_plot, heatmap, report, summarise  # noqa: E402

from hyperstar import load_meta_dataset  # noqa: E402
from hyperstar.exceptions import InvalidInputError  # noqa: E402
from hyperstar.meta.analysis import (  # noqa: E402
    analyze_meta_dataset,
    good_config_cells,
    validation_noise_bound,
    validation_images,
)
from hyperstar.meta.dataset import MetaDataset  # noqa: E402
from hyperstar.space import effective_learning_rate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: a task is analysed when it has at least this many filled configurations
MIN_CONFIGS = 3
#: the families whose images look like the source task's (rendered glyphs and shapes)
NEAR_FAMILIES = ("glyphs", "shapes")
#: descriptor names that, when a meta-dataset has one, measure a task's distance to the source domain
DISTANCE_DESCRIPTORS = ("source_distance", "distance_to_source", "domain_distance")


# --------------------------------------------------------------------------- ranks and correlations


def task_ranks(acc: np.ndarray) -> np.ndarray:
    """[task, config] rank within each task over its filled configurations (1 = best, ties share the mean rank);
    NaN where the cell is missing."""
    from scipy.stats import rankdata

    filled = np.isfinite(acc)
    r = rankdata(np.where(filled, -acc, np.inf), axis=1, method="average").astype(float)
    r[~filled] = np.nan
    return r


def normalised_ranks(acc: np.ndarray) -> np.ndarray:
    """:func:`task_ranks` scaled to [0, 1] per task (0 = the task's best, 1 = its worst)."""
    r = task_ranks(acc)
    n = np.isfinite(acc).sum(axis=1, keepdims=True)
    return (r - 1) / np.maximum(n - 1, 1)


def rank_corr_matrix(acc: np.ndarray) -> np.ndarray:
    """[T, T] Spearman correlation between the rows of ``acc`` over the configurations both rows have.

    Ranks are taken within each row over its own filled cells, then correlated over the common ones (exactly
    Spearman when the rows have the same cells). NaN on the diagonal, where fewer than 3 cells are common, and
    where a row is constant over them.
    """
    x = task_ranks(acc)
    m = np.isfinite(x).astype(float)
    x = np.nan_to_num(x)
    n = m @ m.T
    sx = x @ m.T          # [i, j]: sum of row i's ranks over the cells row j has too
    sy = sx.T
    sxx = (x * x) @ m.T
    syy = sxx.T
    sxy = x @ x.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        r = cov / np.sqrt(vx * vy)
    r[(n < 3) | (vx <= 1e-9) | (vy <= 1e-9)] = np.nan
    np.fill_diagonal(r, np.nan)
    return np.clip(r, -1.0, 1.0)


def within_across(corr: np.ndarray, fam: np.ndarray) -> tuple[float, float, int, int]:
    """Mean pairwise correlation between tasks of one family and between tasks of different families, and
    the number of (defined) pairs of each."""
    iu = np.triu_indices(len(fam), 1)
    vals, same = corr[iu], (fam[:, None] == fam[None, :])[iu]
    ok = np.isfinite(vals)
    w, a = vals[ok & same], vals[ok & ~same]
    return (float(w.mean()) if w.size else math.nan, float(a.mean()) if a.size else math.nan, int(w.size), int(a.size))


def mean_offdiag(corr: np.ndarray) -> float:
    vals = corr[np.triu_indices(len(corr), 1)]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


def family_profiles(nr: np.ndarray, fam: np.ndarray, names: list[str]) -> np.ndarray:
    """[family, config] mean normalised rank over the family's tasks that have the cell (NaN: none has it)."""
    out = np.full((len(names), nr.shape[1]), np.nan)
    for k, f in enumerate(names):
        out[k] = col_mean(nr[fam == f])
    return out


def col_mean(x: np.ndarray) -> np.ndarray:
    """Mean of each column over its finite entries (NaN where it has none), without warnings."""
    ok = np.isfinite(x)
    return np.where(ok.any(axis=0), np.where(ok, x, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1), np.nan)


def portfolio_order(nr: np.ndarray, min_fraction: float = 0.5) -> np.ndarray:
    """Configurations by mean normalised rank over the tasks (best first); those filled on fewer than
    ``min_fraction`` of the tasks come after the others, and unfilled ones last."""
    have = np.isfinite(nr).sum(axis=0)
    mean = np.where(have > 0, col_mean(nr), np.inf)
    demoted = have < max(1, math.ceil(min_fraction * nr.shape[0]))
    return np.lexsort((mean, demoted))


def _interval(values: list[float]) -> list[float]:
    v = np.asarray([x for x in values if np.isfinite(x)])
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v.size >= 10 else [math.nan, math.nan]


# --------------------------------------------------------------------------- the analysis


def seed_noise_cells(meta: MetaDataset, tasks: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per cell with 2+ seeds: the |difference| between its first two seeds' final validation accuracy (every
    cell of a build has them, so a build that gave more seeds to its noisy cells only does not bias it) and its
    seeds' sample variance over all of them. ``hyperstar.meta.analysis.seed_noise`` (what ``metadata info``
    prints) gives the same mean |difference| per family; this keeps the per-cell values, for the standard errors
    this report adds (a test checks that the two agree)."""
    runs = np.asarray(meta.seed_curves)[:, :, :, -1]           # [run, task, config]
    if tasks is not None:
        runs = runs[:, tasks]
    ok = np.isfinite(runs)
    n = ok.sum(axis=0)
    cells = np.argwhere(n >= 2)
    mad, var, pair = [], [], []
    for t, c in cells:
        v = runs[ok[:, t, c], t, c]
        mad.append(abs(v[0] - v[1]))
        var.append(v.var(ddof=1))
        pair.append((v[0] + v[1]) / 2)
    return {"cells": cells, "mean_abs_diff": np.asarray(mad), "variance": np.asarray(var), "n_seeds": n,
            "pair_mean": np.asarray(pair)}


def noise_row(meta: MetaDataset, tasks: np.ndarray) -> dict[str, Any]:
    """The noise figures of a group of tasks, in accuracy points."""
    cells = seed_noise_cells(meta, tasks)
    filled = np.isfinite(meta.final_acc[tasks])
    seeds_per_cell = cells["n_seeds"][filled]
    median_seeds = int(np.median(seeds_per_cell)) if seeds_per_cell.size else 0
    k = len(cells["mean_abs_diff"])
    row: dict[str, Any] = {"cells_2plus_seeds": k, "cells_filled": int(filled.sum()), "median_seeds_per_cell": median_seeds}
    if k:
        mad = 100 * cells["mean_abs_diff"]
        sigma = 100 * math.sqrt(float(cells["variance"].mean()))
        n_of = cells["n_seeds"][tuple(cells["cells"].T)]
        se_mean = 100 * math.sqrt(float((cells["variance"] / n_of).mean()))  # each cell over its own seeds
        row.update(mean_abs_diff=float(mad.mean()), mean_abs_diff_se=float(mad.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan,
                   sigma_run=sigma, se_cell_mean=se_mean, se_cell_mean_2_seeds=sigma / math.sqrt(2))
        top = good_config_cells(meta)[tasks][tuple(cells["cells"].T)]  # the configurations other tasks rank first
        row.update(top_quartile_cells=int(top.sum()),
                   top_quartile_mean_abs_diff=float(mad[top].mean()) if top.any() else math.nan)
        by_name = dict(zip((t.get("name") for t in meta.manifest.get("tasks", [])), validation_images(meta)))
        n_val = np.array([by_name.get(meta.task_names[t]) for t in tasks], dtype=float)  # None: nan (a subset's
        # manifest keeps every task, so by name)
        cell_n = n_val[cells["cells"][:, 0]]  # cells index into ``tasks``
        known = np.isfinite(cell_n) & (cell_n > 0)
        row["median_val_images"] = float(np.median(n_val[np.isfinite(n_val)])) if np.isfinite(n_val).any() else math.nan
        row["val_bound_mean_abs_diff"] = (float(100 * validation_noise_bound(cells["pair_mean"][known], cell_n[known]).mean())
                                          if known.any() else math.nan)
    return row


def describe_config(config: dict[str, Any]) -> str:
    """A configuration's key hyperparameters in words."""
    opt = config.get("optimizer", "sgd")
    lr = float(config["lr"])
    if opt == "sgd":
        words = [f"SGD lr {lr:.2g} momentum {float(config.get('momentum', 0.0)):.2f} (ELR {effective_learning_rate(config):.2g})"]
    else:
        words = [f"{'AdamW' if opt == 'adamw' else opt} lr {lr:.2g}"]
    mode = {"full": "whole network", "last_block": "last block", "linear_probe": "linear probe", "bitfit": "BitFit"}
    words.append(mode.get(config.get("train_mode", "full"), str(config.get("train_mode"))))
    sched = str(config.get("lr_schedule", "cosine"))
    words.append(sched + (" + warm-up" if config.get("warmup") == "linear" else ""))
    if config.get("use_weight_decay") == "yes" and "weight_decay" in config:
        words.append(f"wd {float(config['weight_decay']):.1g}")
    if config.get("use_l2sp") == "yes":
        words.append(f"L2-SP {float(config.get('l2sp_strength', 1e-3)):.1g}")
    if float(config.get("layer_lr_decay", 1.0)) < 1.0:
        words.append(f"layer lr decay {float(config['layer_lr_decay']):.2f}")
    if config.get("unfreeze") == "gradual":
        words.append("gradual unfreezing")
    words.append(f"batch {config.get('batch_size', '?')}")
    if float(config.get("label_smoothing", 0.0)) > 0.01:
        words.append(f"label smoothing {float(config['label_smoothing']):.2f}")
    words.append(f"augment {float(config.get('augment', 0.0)):.2f}" + ("" if config.get("hflip", "yes") == "yes" else ", no flip"))
    return ", ".join(words)


def coverage(meta: MetaDataset, fam_names: list[str]) -> list[dict[str, Any]]:
    filled = np.isfinite(meta.final_acc)
    n_seeds = np.asarray(meta.n_seeds)
    fam = np.asarray(meta.families)
    rows = []
    for f in [*fam_names, None]:
        sel = np.ones(len(fam), bool) if f is None else fam == f
        cells = filled[sel]
        rows.append({"family": f or "all", "tasks": int(sel.sum()),
                     "tasks_complete": int(cells.all(axis=1).sum()),
                     "tasks_analysed": int((cells.sum(axis=1) >= MIN_CONFIGS).sum()),
                     "cells_filled": int(cells.sum()), "cells_total": int(cells.size),
                     "cells_2plus_seeds": int((n_seeds[sel] >= 2).sum()),
                     "mean_seeds_per_filled_cell": float(n_seeds[sel][cells].mean()) if cells.any() else math.nan})
    return rows


def per_family_best(acc: np.ndarray, nr: np.ndarray, fam: np.ndarray, fam_names: list[str], configs: list[dict],
                    ids: list[str], order: np.ndarray, top: int = 3) -> list[dict[str, Any]]:
    """The top configurations of each family by mean normalised rank, and the portfolio #1's gap to them."""
    g = int(order[0])
    out = []
    for f in fam_names:
        sel = fam == f
        a, r = acc[sel], nr[sel]
        have = np.isfinite(r).sum(axis=0)
        eligible = have >= max(1, math.ceil(0.5 * sel.sum()))
        mean_rank = np.where(eligible, col_mean(r), np.inf)
        best = [int(c) for c in np.argsort(mean_rank, kind="stable")[:top] if np.isfinite(mean_rank[c])]
        b = best[0]
        both = np.isfinite(a[:, b]) & np.isfinite(a[:, g])
        oracle = np.isfinite(a[:, g])
        out.append({
            "family": f, "tasks": int(sel.sum()),
            "best": [{"config": ids[c], "index": c, "mean_norm_rank": float(mean_rank[c]),
                      "mean_acc": float(col_mean(a)[c]), "tasks_with_cell": int(have[c]),
                      "words": describe_config(configs[c])} for c in best],
            "portfolio_top_rank_in_family": int(np.flatnonzero(np.argsort(mean_rank, kind="stable") == g)[0]) + 1,
            "portfolio_gap_to_family_best": float(100 * np.mean(a[both, b] - a[both, g])) if both.any() else math.nan,
            "portfolio_gap_to_task_best": float(100 * np.mean(np.nanmax(a[oracle], axis=1) - a[oracle, g])) if oracle.any() else math.nan,
        })
    return out


def agreement(acc: np.ndarray, fam: np.ndarray, fam_names: list[str], n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    """Within- vs across-family rank agreement, family-mean rankings, and leave-one-task-out prediction."""
    corr = rank_corr_matrix(acc)
    w, a, nw, na = within_across(corr, fam)
    profiles = family_profiles(normalised_ranks(acc), fam, fam_names)
    fam_corr = rank_corr_matrix(-profiles)
    out: dict[str, Any] = {"within": w, "across": a, "difference": w - a, "pairs_within": nw, "pairs_across": na,
                           "all_pairs": mean_offdiag(corr), "family_mean_rankings": mean_offdiag(fam_corr),
                           "family_pairs": int(np.isfinite(fam_corr[np.triu_indices(len(fam_names), 1)]).sum())}
    boots: dict[str, list[float]] = {"within": [], "across": [], "difference": [], "family_mean_rankings": []}
    C = acc.shape[1]
    for _ in range(n_boot):
        cols = rng.integers(0, C, C)
        c = rank_corr_matrix(acc[:, cols])
        bw, ba, _, _ = within_across(c, fam)
        boots["within"].append(bw)
        boots["across"].append(ba)
        boots["difference"].append(bw - ba)
        boots["family_mean_rankings"].append(mean_offdiag(rank_corr_matrix(-profiles[:, cols])))
    out["bootstrap_95"] = {k: _interval(v) for k, v in boots.items()}
    if nw and na:
        null = []
        for _ in range(max(n_boot, 200)):
            pw, pa, _, _ = within_across(corr, rng.permutation(fam))
            null.append(pw - pa)
        null = np.asarray(null)
        out["permutation_null_95"] = _interval(list(null))
        out["permutation_p"] = float((1 + np.sum(null >= w - a)) / (1 + len(null)))
    out["loto"] = loto(acc, fam)
    return out


def loto(acc: np.ndarray, fam: np.ndarray) -> dict[str, Any]:
    """Leave one task out: rank the held-out task's configurations by the mean normalised rank over the other
    tasks (global) or over the other tasks of its family; Spearman with its accuracies and regret@1 (points)."""
    from hyperstar._internal.stats import spearman

    rows = []
    for t in range(len(acc)):
        peers = np.flatnonzero((fam == fam[t]) & (np.arange(len(acc)) != t))
        if not len(peers):
            continue
        others = np.delete(np.arange(len(acc)), t)
        row = {"task": int(t)}
        for name, idx in (("global", others), ("family", peers)):
            nr = normalised_ranks(acc[idx])
            order = portfolio_order(nr)
            score = col_mean(nr)
            row[f"{name}_spearman"] = spearman(-score, acc[t])
            first = next((c for c in order if np.isfinite(acc[t, c])), None)
            row[f"{name}_regret_at_1"] = float(100 * (np.nanmax(acc[t]) - acc[t, first])) if first is not None else math.nan
        rows.append(row)
    if not rows:
        return {"tasks": 0}
    out: dict[str, Any] = {"tasks": len(rows)}
    for k in ("global_spearman", "family_spearman", "global_regret_at_1", "family_regret_at_1"):
        out[k] = float(np.nanmean([r[k] for r in rows]))
    return out


def best_log_elr(acc: np.ndarray, elr: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """[task] log10 of the geometric mean ELR of each task's top-``k`` configurations among ``mask`` (NaN: none)."""
    out = np.full(len(acc), np.nan)
    for i, row in enumerate(acc):
        ok = np.isfinite(row) & mask
        if ok.any():
            top = np.argsort(np.where(ok, -row, np.inf), kind="stable")[: min(k, int(ok.sum()))]
            out[i] = np.mean(np.log10(elr[top]))
    return out


def _group_diff(x: np.ndarray, y: np.ndarray) -> float:
    """Mean of ``y`` where ``x`` is 1 minus where it is 0 (the least-squares slope on a 0/1 ``x``)."""
    return float(y[x == 1].mean() - y[x == 0].mean())


def slope_test(x: np.ndarray, y: np.ndarray, grouped: bool, n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    """Least-squares slope of ``y`` on ``x`` (``grouped``: ``x`` is 0 near / 1 far, the slope is the difference of
    the means), a bootstrap interval over tasks (stratified by group when grouped), a one-sided permutation
    p-value for a positive slope, and Spearman."""
    from hyperstar._internal.stats import spearman

    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or (grouped and min((x == 0).sum(), (x == 1).sum()) < 1):
        return {"why_not": "too few tasks with a best ELR, or every task at the same distance: no contrast"}

    def stat(xs: np.ndarray, ys: np.ndarray) -> float:
        return _group_diff(xs, ys) if grouped else float(np.polyfit(xs, ys, 1)[0])

    boot, null = [], []
    for _ in range(n_boot):
        if grouped:
            idx = np.concatenate([rng.choice(np.flatnonzero(x == v), int((x == v).sum())) for v in (0.0, 1.0)])
        else:
            idx = rng.integers(0, len(x), len(x))
        if np.ptp(x[idx]) > 0:
            boot.append(stat(x[idx], y[idx]))
        null.append(stat(rng.permutation(x), y))
    slope = stat(x, y)
    return {"tasks": int(len(x)), "slope_log10_elr": slope, "factor": float(10 ** slope), "slope_bootstrap_95": _interval(boot),
            "permutation_p_one_sided": float((1 + np.sum(np.asarray(null) >= slope)) / (1 + len(null))) if null else math.nan,
            "spearman": spearman(x, y)}


def verdict(test: dict[str, Any]) -> str:
    """Li et al.'s finding (far targets prefer a larger ELR) against a :func:`slope_test`."""
    if "why_not" in test:
        return "not testable: " + test["why_not"]
    slope, (lo, hi) = test["slope_log10_elr"], test["slope_bootstrap_95"]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "not testable: too few bootstrap draws for an interval (raise --n-boot)"
    if slope > 0 and lo > 0:
        return "reproduced: far tasks prefer a larger ELR, and the 95% interval excludes zero"
    if slope > 0:
        return "not reproduced: the direction agrees (far tasks prefer a larger ELR) but the 95% interval includes zero"
    if hi < 0:
        return "contradicted: far tasks prefer a smaller ELR, and the 95% interval excludes zero"
    return "not reproduced: far tasks do not prefer a larger ELR (slope <= 0; the 95% interval includes zero)"


def elr_analysis(meta: MetaDataset, acc: np.ndarray, tasks: np.ndarray, top_k: int, near: list[str],
                 n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    """The effective learning rate of each task's top configurations and how it depends on source distance."""
    configs = meta.configs
    opt = np.array([c.get("optimizer", "sgd") for c in configs])
    elr = np.array([effective_learning_rate(c) for c in configs])
    probe = np.array([c.get("train_mode", "full") == "linear_probe" for c in configs])
    sgd, adam = (opt == "sgd") & ~probe, opt != "sgd"
    fam = np.asarray(meta.families)[tasks]
    log_elr, log_adam = best_log_elr(acc, elr, sgd, top_k), best_log_elr(acc, elr, adam, top_k)
    per_task = []
    for i, t in enumerate(tasks):
        row = acc[i]
        top = [int(c) for c in np.argsort(np.where(np.isfinite(row), -row, np.inf), kind="stable")[:top_k] if np.isfinite(row[c])]
        per_task.append({
            "task": meta.task_names[t], "family": meta.families[t],
            "top_k": [{"config": meta.manifest["configs"][c]["id"], "optimizer": str(opt[c]), "train_mode": configs[c].get("train_mode"),
                       "elr_or_lr": float(elr[c]), "acc": float(row[c])} for c in top],
            "top_k_adamw_fraction": float(np.mean([adam[c] for c in top])) if top else math.nan,
            "best_elr": float(10 ** log_elr[i]), "best_adamw_lr": float(10 ** log_adam[i]),
        })
    out: dict[str, Any] = {"top_k": top_k, "sgd_configs": int(sgd.sum()), "adamw_configs": int(adam.sum()),
                           "linear_probe_sgd_configs": int(((opt == "sgd") & probe).sum()), "per_task": per_task}

    def fam_stat(values: np.ndarray, f: str, how) -> float:
        v = values[(fam == f) & np.isfinite(values)]
        return float(10 ** how(v)) if v.size else math.nan

    out["per_family"] = [{
        "family": f, "near": f in near, "tasks": int((fam == f).sum()),
        "best_elr_median": fam_stat(log_elr, f, np.median), "best_elr_min": fam_stat(log_elr, f, np.min),
        "best_elr_max": fam_stat(log_elr, f, np.max), "best_adamw_lr_median": fam_stat(log_adam, f, np.median),
        "top_k_adamw_fraction": float(np.mean([p["top_k_adamw_fraction"] for p, g in zip(per_task, fam) if g == f])),
    } for f in dict.fromkeys(fam)]
    dist_name = next((d for d in DISTANCE_DESCRIPTORS if d in meta.descriptor_names), None)
    if dist_name is not None:
        dist = meta.descriptors[tasks, meta.descriptor_names.index(dist_name)].astype(float)
        measure = f"descriptor '{dist_name}' (per task)"
    else:
        dist = np.array([0.0 if f in near else 1.0 for f in fam])
        measure = (f"family grouping (the meta-data has no per-task distance descriptor): near = {', '.join(near) or 'none'}; "
                   "far = the others; the slope is far minus near")
    grouped = dist_name is None
    test = slope_test(dist, log_elr, grouped, n_boot, rng)
    if grouped and "why_not" not in test:
        test["near_median_elr"] = float(10 ** np.nanmedian(log_elr[dist == 0]))
        test["far_median_elr"] = float(10 ** np.nanmedian(log_elr[dist == 1]))
        test["near_tasks"], test["far_tasks"] = int((dist == 0).sum()), int((dist == 1).sum())
    out["distance"] = {"measure": measure, **test, "verdict": verdict(test)}
    # how much the answer depends on the choices made above
    variants = [(f"top-{k}", dist, best_log_elr(acc, elr, sgd, k)) for k in (1, 3, 10) if k != top_k]
    variants.append((f"top-{top_k}, linear probes included", dist, best_log_elr(acc, elr, opt == "sgd", top_k)))
    full = (opt == "sgd") & np.array([c.get("train_mode", "full") == "full" for c in configs])
    if full.sum() >= top_k:
        variants.append((f"top-{top_k}, whole-network SGD only ({int(full.sum())} configurations, Li et al.'s setting)", dist,
                         best_log_elr(acc, elr, full, top_k)))
    if grouped:
        hand = [f for f in ("mnist", "sklearn_digits") if f in set(fam)]
        if hand:
            more = np.array([0.0 if f in near or f in hand else 1.0 for f in fam])
            variants.append((f"top-{top_k}, near also {', '.join(hand)} (digits)", more, log_elr))
    out["sensitivity"] = []
    for name, x, y in variants:
        t = slope_test(x, y, grouped, n_boot // 2, rng)
        out["sensitivity"].append({"variant": name, **t, "verdict": verdict(t)})
    return out


#: weights on a task's own z-scored accuracies (one seed) added to the portfolio's score; inf: the own seed alone
OWN_SEED_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, math.inf)


def task_signal(meta: MetaDataset, n_boot: int, rng: np.random.Generator) -> dict[str, Any]:
    """How much room the seed noise leaves a task-aware ranking above the portfolio (not a method: a bound).

    Over the configurations with two seeds on every task: the portfolio (average rank over the *other
    families'* tasks, 2-seed means, :func:`hyperstar.ranking.fallback.portfolio_scores`) plus ``w`` times the
    task's own z-scored accuracies from one seed; its first pick is judged on the *other* seed (both ways
    round), as regret@1 against that seed's best. ``w = 0`` is the portfolio; ``w = inf`` an oracle that ran
    every configuration on the task once; a ranking that only sees task features knows less than either
    extra term. Every ``w`` is shown (none is picked). The interval: bootstrap over tasks of the mean
    difference to ``w = 0``."""
    from hyperstar.ranking.fallback import portfolio_scores, standardize

    runs = np.asarray(meta.seed_curves, dtype=float)[:2, :, :, -1] * 100.0
    if len(runs) < 2:
        return {"configs": 0, "reason": "no second seed"}
    keep = np.isfinite(runs).all(axis=(0, 1))
    if keep.sum() < 3:
        return {"configs": int(keep.sum()), "reason": "fewer than 3 configurations have two seeds on every task"}
    runs = runs[:, :, keep]
    mean, fam = runs.mean(axis=0), np.asarray(meta.families)
    per_w = np.zeros((len(OWN_SEED_WEIGHTS), meta.n_tasks))
    for f in sorted(set(fam)):
        held = np.flatnonzero(fam == f)
        if len(held) == meta.n_tasks:
            return {"configs": int(keep.sum()), "reason": "one family: no leave-one-family-out portfolio"}
        p = portfolio_scores(mean[fam != f])
        for t in held:
            for i, w in enumerate(OWN_SEED_WEIGHTS):
                r = 0.0
                for a, b in ((runs[0, t], runs[1, t]), (runs[1, t], runs[0, t])):
                    score = standardize(a) + 1e-9 * p if math.isinf(w) else p + w * standardize(a)
                    r += (b.max() - b[int(np.argmax(score))]) / 2
                per_w[i, t] = r
    rows = []
    for i, w in enumerate(OWN_SEED_WEIGHTS):
        d = per_w[i] - per_w[0]
        boot = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n_boot)]
        rows.append({"w": w, "regret_at_1": float(per_w[i].mean()), "minus_portfolio": float(d.mean()),
                     "minus_portfolio_95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]
                     if n_boot else [math.nan, math.nan],
                     "tasks_better": int((d < -1e-9).sum()), "tasks_worse": int((d > 1e-9).sum())})
    return {"configs": int(keep.sum()), "tasks": int(meta.n_tasks), "rows": rows}


def analyse(meta: MetaDataset, *, top_k: int = 5, n_boot: int = 1000, seed: int = 0,
            near_families: tuple[str, ...] | list[str] = NEAR_FAMILIES) -> dict[str, Any]:
    """Everything the report shows, as plain data (NaN where a figure is undefined)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= meta.n_configs:
        raise InvalidInputError(f"The 'top_k' argument must be an int in [1, {meta.n_configs}] (the configurations). Got {top_k!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise InvalidInputError(f"The 'n_boot' argument must be an int >= 0. Got {n_boot!r}.")
    rng = np.random.default_rng(seed)
    all_fams = list(dict.fromkeys(meta.families))
    tasks = np.flatnonzero(np.isfinite(meta.final_acc).sum(axis=1) >= MIN_CONFIGS)
    if len(tasks) < 2:
        raise InvalidInputError(f"The meta-dataset must have at least 2 tasks with {MIN_CONFIGS}+ filled configurations "
                                f"to analyse. Got {len(tasks)}. Build more cells first (`hyperstar metadata build`).")
    acc = meta.final_acc[tasks]
    fam = np.asarray(meta.families)[tasks]
    fam_names = [f for f in all_fams if f in set(fam)]
    nr = normalised_ranks(acc)
    order = portfolio_order(nr)
    ids = [c["id"] for c in meta.manifest["configs"]]
    near = [f for f in near_families if f in fam_names]
    general = analyze_meta_dataset(meta)
    general.pop("per_task", None)
    return {
        "min_configs": MIN_CONFIGS,
        "coverage": coverage(meta, all_fams),
        "tasks_analysed": [meta.task_names[t] for t in tasks],
        "portfolio": [{"config": ids[c], "index": int(c), "mean_norm_rank": float(col_mean(nr)[c]),
                       "words": describe_config(meta.configs[c])} for c in order[:5]],
        "portfolio_order": [int(c) for c in order],
        "families": per_family_best(acc, nr, fam, fam_names, meta.configs, ids, order),
        "agreement": agreement(acc, fam, fam_names, n_boot, rng),
        "elr": elr_analysis(meta, acc, tasks, top_k, near, n_boot, rng),
        "near_families_missing": [f for f in near_families if f not in fam_names],
        "noise": [{"family": f, **noise_row(meta, tasks[fam == f])} for f in fam_names] + [{"family": "all", **noise_row(meta, tasks)}],
        "general": general,
        "task_signal": task_signal(meta, n_boot, rng),
    }


def _safe(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_safe(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _safe(float(obj))
    return obj


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", default=None, help="meta-dataset folder (default: the shipped one)")
    parser.add_argument("--out-prefix", default=None,
                        help="output path prefix (default: benchmarks/results/metadata_analysis_v<format version>)")
    parser.add_argument("--top-k", type=int, default=5, help="top configurations per task for the ELR (default 5)")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap and permutation draws (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near-families", default=",".join(NEAR_FAMILIES),
                        help="families near the source domain, comma-separated (default glyphs,shapes)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    meta = load_meta_dataset(args.meta)
    near = [f.strip() for f in args.near_families.split(",") if f.strip()]
    try:
        result = analyse(meta, top_k=args.top_k, n_boot=args.n_boot, seed=args.seed, near_families=near)
    except InvalidInputError as exc:
        parser.error(str(exc))
    summarise(result)
    fmt = int(meta.manifest.get("format_version", 1))
    prefix = Path(args.out_prefix) if args.out_prefix else RESULTS / f"metadata_analysis_v{fmt}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    stem = prefix.name
    info = run_meta("metadata_analysis.py", argv, meta_path=args.meta or "shipped default", format_version=fmt,
                    n_tasks=meta.n_tasks, n_configs=meta.n_configs, max_budget=meta.max_budget, top_k=args.top_k,
                    n_boot=args.n_boot, seed=args.seed, near_families=near, seconds=time.perf_counter() - t0)
    heatmap(meta, result, prefix.with_name(stem + "_heatmap.png"))
    elr_plot(result, prefix.with_name(stem + "_elr.png"))
    info["seconds"] = time.perf_counter() - t0
    lines = report(result, info, stem)
    prefix.with_name(stem + ".md").write_text("\n".join(lines))
    prefix.with_name(stem + ".json").write_text(json.dumps(_safe({"meta": info, **result}), indent=1) + "\n")
    print(f"wrote {prefix}.md, .json, _heatmap.png and _elr.png in {info['seconds']:.1f} s")
    return result


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

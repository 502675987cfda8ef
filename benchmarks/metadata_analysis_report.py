"""The figures and the markdown report of benchmarks/metadata_analysis.py (kept apart so each file stays short).

Everything here reads the plain result of ``metadata_analysis.analyse``; nothing is computed from the meta-data
except the heatmap's accuracies.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import header

from hyperstar.meta.dataset import MetaDataset
#: the figures of ``analyze_meta_dataset`` the report shows, with their labels
GENERAL = (
    ("mean_pairwise_spearman", "mean pairwise Spearman of configuration rankings across tasks"),
    ("distinct_best_configs", "distinct configurations that are best on some task"),
    ("mean_best_minus_median", "best minus median configuration (accuracy, mean over tasks)"),
    ("mean_best_minus_default", "best minus the common-practice default (mean over tasks)"),
    ("loto_avg_rank_regret_at_1", "average-rank portfolio regret@1, leave-one-task-out (accuracy)"),
    ("loto_avg_rank_regret_at_3", "average-rank portfolio regret@3, leave-one-task-out (accuracy)"),
    ("mean_spearman_epoch1_vs_final", "Spearman of epoch-1 vs final accuracy (mean over tasks)"),
    ("mean_spearman_epoch3_vs_final", "Spearman of epoch-3 vs final accuracy (mean over tasks)"),
    ("seed_noise_mean_abs_diff", "seed-to-seed mean absolute difference in final accuracy, first two seeds"),
    ("seed_noise_spearman", "seed-to-seed Spearman over the cells with two seeds"),
    ("diverged_fraction", "fraction of diverged runs"),
)


def heatmap(meta: MetaDataset, result: dict[str, Any], path: Path) -> None:
    """Tasks (grouped by family) x configurations (portfolio order): accuracy minus the task's best."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [meta.task_names.index(n) for n in result["tasks_analysed"]]
    fams = [r["family"] for r in result["families"]]
    rows = sorted(tasks, key=lambda t: (fams.index(meta.families[t]), t))
    acc = meta.final_acc[rows][:, result["portfolio_order"]]
    gap = 100 * (acc - np.nanmax(acc, axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(max(8, 0.09 * acc.shape[1] + 4), max(4, 0.24 * len(rows) + 1.8)))
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="#d0d0d0")
    im = ax.imshow(np.ma.masked_invalid(np.clip(gap, -50, 0)), aspect="auto", cmap=cmap, vmin=-50, vmax=0, interpolation="nearest")
    ax.set_yticks(range(len(rows)), [meta.task_names[t] for t in rows], fontsize=6)
    fam_of_rows = [meta.families[t] for t in rows]
    for i in range(1, len(rows)):
        if fam_of_rows[i] != fam_of_rows[i - 1]:
            ax.axhline(i - 0.5, color="white", lw=1.5)
    for f in fams:
        idx = [i for i, g in enumerate(fam_of_rows) if g == f]
        ax.text(acc.shape[1] + 0.5, np.mean(idx), f, fontsize=7, va="center", ha="left")
    ax.set_xlabel("configuration, by the portfolio's average rank over all tasks (best left)")
    ax.set_title("Final validation accuracy minus the task's best (points; grey: cell not built)", fontsize=9)
    fig.colorbar(im, ax=ax, label="accuracy - task best (points, clipped at -50)", pad=0.12)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def elr_plot(result: dict[str, Any], path: Path) -> None:
    """Each task's best ELR (geometric mean of its top-k SGD configurations) by family, near families first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = result["elr"]
    fams = sorted(e["per_family"], key=lambda r: (not r["near"], r["family"]))
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(fams) + 2), 3.4))
    for i, r in enumerate(fams):
        ys = [p["best_elr"] for p in e["per_task"] if p["family"] == r["family"] and np.isfinite(p["best_elr"])]
        colour = "tab:blue" if r["near"] else "tab:orange"
        ax.scatter(np.full(len(ys), i) + np.linspace(-0.15, 0.15, len(ys)) if ys else [], ys, color=colour, s=18,
                   label=("near the source" if r["near"] else "far from the source") if i in (0, len(fams) - 1) or
                   (r["near"] != fams[i - 1]["near"]) else None)
        if np.isfinite(r["best_elr_median"]):
            ax.plot([i - 0.25, i + 0.25], [r["best_elr_median"]] * 2, color="black", lw=1.5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(fams)), [r["family"] for r in fams], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"best ELR (top-{e['top_k']} SGD configs)")
    ax.set_title("Best effective learning rate lr/(1-momentum) per task, by family (bar: median)", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _f(v: Any, fmt: str = ".2f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _ci(v: list[float], fmt: str = ".2f") -> str:
    return "n/a" if not all(math.isfinite(x) for x in v) else f"[{v[0]:{fmt}}, {v[1]:{fmt}}]"


def report(result: dict[str, Any], meta: dict[str, Any], stem: str) -> list[str]:
    cov, ag, e = result["coverage"], result["agreement"], result["elr"]
    allcov = cov[-1]
    lines = [*header("Meta-dataset analysis: best configurations, task dependence, ELR, seed noise", meta),
             f"Meta-dataset `{meta['meta_path']}` (format {meta['format_version']}): {allcov['tasks']} tasks in "
             f"{len(cov) - 1} families x {meta['n_configs']} configurations x {meta['max_budget']} epochs. "
             f"Accuracies are final validation accuracies, the mean over each cell's seeds. Ran in {meta['seconds']:.1f} s; "
             f"{meta['n_boot']} bootstrap draws, seed {meta['seed']}.", "",
             "## Summary", "", *findings(result), "", "## Coverage", "", "| family | tasks | complete | analysed | cells filled | cells with 2+ seeds | seeds per filled cell |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in cov:
        lines.append(f"| {r['family']} | {r['tasks']} | {r['tasks_complete']} | {r['tasks_analysed']} | "
                     f"{r['cells_filled']}/{r['cells_total']} ({100 * r['cells_filled'] / max(r['cells_total'], 1):.0f}%) | "
                     f"{r['cells_2plus_seeds']} | {_f(r['mean_seeds_per_filled_cell'])} |")
    p0 = result["portfolio"][0]
    lines += ["", f"A task is analysed when it has at least {result['min_configs']} filled configurations; ranks are within each task "
              "over its filled configurations, normalised to [0, 1] (0 = best).", "",
              "## 1. Best configurations per family", "",
              f"Portfolio #1 (best mean rank over all {allcov['tasks_analysed']} tasks): **{p0['config']}**, {p0['words']}.", "",
              "| family | tasks | #1 | #2 | #3 | portfolio #1's rank in family | portfolio #1 vs family #1 (points) | portfolio #1 vs each task's best (points) |",
              "|---|---:|---|---|---|---:|---:|---:|"]
    for r in result["families"]:
        cells = [f"{b['config']} (rank {b['mean_norm_rank']:.2f}, acc {100 * b['mean_acc']:.1f})" for b in r["best"]]
        cells += [""] * (3 - len(cells))
        lines.append(f"| {r['family']} | {r['tasks']} | {' | '.join(cells)} | {r['portfolio_top_rank_in_family']} | "
                     f"{_f(r['portfolio_gap_to_family_best'], '.1f')} | {_f(r['portfolio_gap_to_task_best'], '.1f')} |")
    lines += ["", "Rank: mean normalised rank over the family's tasks (0 = best on every task); acc: mean accuracy there (%). "
              "In words:", ""]
    for r in result["families"]:
        lines.append(f"- {r['family']}:")
        lines += [f"  {i + 1}. {b['config']}: {b['words']}" for i, b in enumerate(r["best"])]
    lines += ["", "The family's #1 is picked on the same tasks it is scored on, so 'portfolio #1 vs family #1' is "
              "optimistic for the family; the leave-one-task-out rows of section 2 are the honest comparison.", "",
              "## 2. Rank agreement: is there task dependence?", "",
              "| Spearman between configuration rankings | mean | 95% bootstrap interval (configurations) | pairs |",
              "|---|---:|---:|---:|",
              f"| tasks of the same family | {_f(ag['within'], '.3f')} | {_ci(ag['bootstrap_95']['within'], '.3f')} | {ag['pairs_within']} |",
              f"| tasks of different families | {_f(ag['across'], '.3f')} | {_ci(ag['bootstrap_95']['across'], '.3f')} | {ag['pairs_across']} |",
              f"| difference (same - different) | {_f(ag['difference'], '.3f')} | {_ci(ag['bootstrap_95']['difference'], '.3f')} | |",
              f"| family-mean rankings, between families | {_f(ag['family_mean_rankings'], '.3f')} | "
              f"{_ci(ag['bootstrap_95']['family_mean_rankings'], '.3f')} | {ag['family_pairs']} |", ""]
    if "permutation_p" in ag:
        lines.append(f"Shuffling the family labels over tasks (sizes kept): the difference's null 95% band is "
                     f"{_ci(ag['permutation_null_95'], '.3f')}, one-sided p = {ag['permutation_p']:.4f}.")
    lo = ag["loto"]
    if lo.get("tasks"):
        lines += ["", f"Leave one task out ({lo['tasks']} tasks with a family peer): ranking the held-out task by the other "
                  "tasks of its family vs by all other tasks.", "",
                  "| ranking from | Spearman with the held-out task | regret@1 (points) |", "|---|---:|---:|",
                  f"| all other tasks (portfolio) | {_f(lo['global_spearman'], '.3f')} | {_f(lo['global_regret_at_1'], '.2f')} |",
                  f"| other tasks of its family | {_f(lo['family_spearman'], '.3f')} | {_f(lo['family_regret_at_1'], '.2f')} |"]
    if lo.get("tasks"):
        lines += ["", "A family's ranking averages fewer tasks (1 to a few here) than the global one, so it is noisier: "
                  "a lower Spearman can come from that alone."]
    lines += ["", f"**Shared vs task-specific.** {ag['summary']}", "",
              "## 3. Best effective learning rate by family (Li et al., ICLR 2020)", "",
              f"ELR = lr / (1 - momentum) for SGD ({e['sgd_configs']} SGD configurations that train more than the head; "
              f"linear probes are left out). AdamW ({e['adamw_configs']} configurations) adapts its step per weight and "
              "momentum does not scale it, so it is reported by its lr, apart. A task's best ELR is the geometric mean "
              f"ELR of its top-{e['top_k']} SGD configurations.", "",
              f"| family | near the source | tasks | best ELR, median | min | max | AdamW best lr, median | AdamW share of the top-{e['top_k']} |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(e["per_family"], key=lambda r: (not r["near"], r["family"])):
        lines.append(f"| {r['family']} | {'yes' if r['near'] else 'no'} | {r['tasks']} | {_f(r['best_elr_median'], '.3g')} | "
                     f"{_f(r['best_elr_min'], '.3g')} | {_f(r['best_elr_max'], '.3g')} | {_f(r['best_adamw_lr_median'], '.2g')} | "
                     f"{_f(r['top_k_adamw_fraction'], '.2f')} |")
    lines += ["", f"Per task: its best ELR and its top-{e['top_k']} configurations overall (SGD: ELR; AdamW: lr; "
              "LP: linear probe).", "", f"| task | family | best ELR | top-{e['top_k']} configurations |", "|---|---|---:|---|"]
    for p in e["per_task"]:
        tops = ", ".join(f"{c['config']} {'SGD' if c['optimizer'] == 'sgd' else 'AdamW'}"
                         f"{' LP' if c['train_mode'] == 'linear_probe' else ''} {c['elr_or_lr']:.2g}" for c in p["top_k"])
        lines.append(f"| {p['task']} | {p['family']} | {_f(p['best_elr'], '.3g')} | {tops} |")
    d = e["distance"]
    lines += ["", f"Distance to the source domain (rendered glyphs and shapes): {d['measure']}."]
    if result["near_families_missing"]:
        lines.append(f"Near families absent from this meta-dataset: {', '.join(result['near_families_missing'])}.")
    if "why_not" not in d:
        extra = (f" Median best ELR: near {d['near_median_elr']:.3g} ({d['near_tasks']} tasks), far {d['far_median_elr']:.3g} "
                 f"({d['far_tasks']} tasks)." if "near_median_elr" in d else "")
        lines += ["", f"log10(best ELR) on distance: slope {d['slope_log10_elr']:+.3f} (a factor {d['factor']:.2f}), "
                  f"95% bootstrap interval {_ci(d['slope_bootstrap_95'], '+.3f')}, Spearman {_f(d['spearman'], '+.3f')}, "
                  f"one-sided permutation p = {d['permutation_p_one_sided']:.4f} for far > near.{extra}"]
    lines += ["", f"**Li et al.'s finding** (similar target domains prefer a smaller ELR, dissimilar ones a larger one): {d['verdict']}.",
              "", "Sensitivity to the choices above:", "", "| variant | slope (log10 ELR) | factor | 95% interval | verdict |",
              "|---|---:|---:|---:|---|"]
    for v in e["sensitivity"]:
        lines.append(f"| {v['variant']} | {_f(v.get('slope_log10_elr'), '+.3f')} | {_f(v.get('factor'), '.2f')} | "
                     f"{_ci(v.get('slope_bootstrap_95', [math.nan] * 2), '+.3f')} | {v['verdict']} |")
    lines += ["", f"![best ELR by family]({stem}_elr.png)", "", "## 4. Seed noise per family", "",
              "Per cell with 2+ seeds: the mean |difference| of final validation accuracy between its first two seeds. "
              "sigma: the pooled per-run standard deviation (root mean of the cells' variances); the standard error of a "
              "cell's mean is the root mean of variance / seeds over the cells, each over its own seeds (a build that "
              "gives noisy cells more seeds lowers it), and sigma / sqrt(2) at 2 seeds everywhere. `metadata info`'s "
              "`mean_std_error` is the plain mean of the cells' standard errors, which a heavy tail pulls less. "
              "*Top quarter*: the same mean |difference| over the cells of the configurations that the *other* tasks rank "
              "in their top 25% (`hyperstar.meta.analysis.good_config_cells`; chosen without the cell's own seeds, so the "
              "choice does not bias it): the noise where a ranking's first picks are, which decides regret@1. "
              "*Validation-size bound*: the mean |difference| two runs at each cell's accuracy would show from the "
              "validation set's size alone, were their errors on its images independent (binomial; "
              "`hyperstar.meta.analysis.validation_noise_bound`). Runs share their hard images, so the part of the "
              "noise that the validation set's size makes is at most this, and the measured noise can be below it.", "",
              "| family | cells with 2+ seeds | mean abs diff (points) | its SE | sigma per run | RMS SE of a cell's mean, own seeds (median seeds) | at 2 seeds | top quarter: cells | top quarter: mean abs diff | validation images (median) | validation-size bound |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["noise"]:
        lines.append(f"| {r['family']} | {r['cells_2plus_seeds']} | {_f(r.get('mean_abs_diff'))} | {_f(r.get('mean_abs_diff_se'))} | "
                     f"{_f(r.get('sigma_run'))} | {_f(r.get('se_cell_mean'))} ({r['median_seeds_per_cell']}) | {_f(r.get('se_cell_mean_2_seeds'))} | "
                     f"{r.get('top_quartile_cells', 0)} | {_f(r.get('top_quartile_mean_abs_diff'))} | "
                     f"{_f(r.get('median_val_images'), '.0f')} | {_f(r.get('val_bound_mean_abs_diff'))} |")
    g = result["general"]
    lines += ["", f"## General figures (`hyperstar.meta.analysis.analyze_meta_dataset`, complete tasks only: {g.get('n_tasks_analysed', 0)})",
              "", "| figure | value |", "|---|---:|"]
    for key, label in GENERAL:
        if key in g:
            lines.append(f"| {label} | {_f(g[key], '.3f') if isinstance(g[key], float) else g[key]} |")
    if "no_default" in g:
        lines.append(f"| best minus the default | n/a: {g['no_default']} |")
    lines += ["", "## 5. Heatmap", "", "Rows: tasks grouped by family (white lines between families); columns: configurations "
              "by the portfolio's mean rank (best left); colour: accuracy minus the task's best.", "",
              f"![heatmap]({stem}_heatmap.png)", ""]
    return lines + signal_section(result.get("task_signal") or {})


def _w(w: float) -> str:
    return "inf (the own seed alone)" if math.isinf(w) else ("0 (the portfolio)" if w == 0 else f"{w:g}")


def signal_section(sig: dict[str, Any]) -> list[str]:
    """Section 6: the room the seed noise leaves a task-aware ranking above the portfolio."""
    lines = ["## 6. Room above the portfolio, under the seed noise", "",
             "Not a method: a yardstick. On each task: the portfolio (average rank over the other families' tasks) plus w "
             "times the task's own z-scored accuracies from one seed; its first pick judged on the other seed (both ways "
             "round). w = inf is an oracle that ran every configuration on the task once. A ranking from task features "
             "knows less than that term. Every w tried is shown; none is picked.", ""]
    if not sig.get("rows"):
        return lines + [f"Not computed: {sig.get('reason', 'no data')} ({sig.get('configs', 0)} configurations).", ""]
    lines += [f"Over the {sig['configs']} configurations with two seeds on all {sig['tasks']} tasks.", "",
              "| w | regret@1 on the other seed (points) | minus the portfolio [95% bootstrap over tasks] | tasks better / worse |",
              "|---|---:|---:|---:|"]
    for r in sig["rows"]:
        lines.append(f"| {_w(r['w'])} | {r['regret_at_1']:.2f} | {r['minus_portfolio']:+.2f} "
                     f"{_ci(r['minus_portfolio_95'], '+.2f')} | {r['tasks_better']} / {r['tasks_worse']} |")
    return lines + [""]


def findings(result: dict[str, Any]) -> list[str]:
    """The headline of each section, as bullets (read from the numbers, so they hold for any meta-dataset)."""
    fams, e, noise = result["families"], result["elr"], result["noise"][-1]
    far = [f for f in fams if math.isfinite(f["portfolio_gap_to_family_best"])]
    worst = max(far, key=lambda f: f["portfolio_gap_to_family_best"]) if far else None
    out = [f"- Best configurations: the portfolio's #1 ({result['portfolio'][0]['config']}) is also #1 in "
           f"{sum(f['portfolio_top_rank_in_family'] == 1 for f in fams)} of {len(fams)} families; "
           f"{len({f['best'][0]['config'] for f in fams})} distinct configurations are some family's #1"
           + (f"; the largest gap to a family's #1 is {worst['portfolio_gap_to_family_best']:.1f} points ({worst['family']})." if worst else ".")]
    out.append(f"- Task dependence: {result['agreement']['summary']}")
    d = e["distance"]
    slope = (f" (best ELR far / near: a factor {d['factor']:.2f}, 95% interval {_ci([10 ** v for v in d['slope_bootstrap_95']], '.2f')})"
             if "factor" in d and all(math.isfinite(v) for v in d["slope_bootstrap_95"]) else "")
    out.append(f"- Effective learning rate, Li et al.: {d['verdict']}{slope}. Sensitivity: "
               + "; ".join(f"{v['variant']}: {v['verdict'].split(':')[0]}" for v in e["sensitivity"]) + ".")
    if noise.get("cells_2plus_seeds"):
        out.append(f"- Seed noise: two seeds of one cell differ by {noise['mean_abs_diff']:.2f} +- {_f(noise['mean_abs_diff_se'])} points "
                   f"on average ({noise['cells_2plus_seeds']} cells with 2+ seeds); a cell's mean, over its own seeds (median "
                   f"{noise['median_seeds_per_cell']}), has a standard error of {noise['se_cell_mean']:.2f} points "
                   "(root mean square over the cells)"
                   + (f"; over the configurations the other tasks rank in their top quarter, {noise['top_quartile_mean_abs_diff']:.2f} points."
                      if math.isfinite(noise.get("top_quartile_mean_abs_diff", math.nan)) else "."))
    else:
        out.append("- Seed noise: no cell has two seeds yet.")
    sig = result.get("task_signal") or {}
    if sig.get("rows"):
        by = {r["w"]: r for r in sig["rows"]}
        own, port = by[math.inf], by[0.0]
        best = min((r for r in sig["rows"] if r["w"] != 0.0), key=lambda r: r["regret_at_1"])
        out.append(f"- Room above the portfolio: judged on a seed it did not see, the portfolio's first pick is "
                   f"{port['regret_at_1']:.2f} points from the best; a pick from the task's own other seed, {own['regret_at_1']:.2f}; "
                   f"the best mix shown (w {best['w']:g}), {best['regret_at_1']:.2f} ({best['minus_portfolio']:+.2f}, "
                   f"{_ci(best['minus_portfolio_95'], '+.2f')}); "
                   + ("every interval includes 0" if all(r["minus_portfolio_95"][0] <= 0 <= r["minus_portfolio_95"][1]
                                                         for r in sig["rows"]) else "not every interval includes 0")
                   + f". A ranking that knew as much as one run of every configuration on the task would win about that "
                   f"much over these {sig['configs']} configurations; one that only sees task features knows less.")
    return out


def summarise(result: dict[str, Any]) -> None:
    """The plain sentence about task dependence, stored in the result."""
    ag = result["agreement"]
    w, a, fm = ag["within"], ag["across"], ag["family_mean_rankings"]
    if not math.isfinite(a):
        ag["summary"] = "Only one family has tasks: no across-family agreement to compare with."
        return
    lo, hi = ag["bootstrap_95"]["difference"]
    share = f" ({100 * a / w:.0f}% of the within-family agreement is there between families)" if math.isfinite(w) and w > 0 else ""
    text = (f"Two tasks of different families agree at Spearman {a:.2f} on average, two tasks of one family at "
            f"{_f(w)}{share}; the family-mean rankings agree at {_f(fm)}. "
            + ("Most of the ranking is shared by every task." if a >= 0.5 else "Much of the ranking is task-specific."))
    if math.isfinite(w):
        sig = (lo > 0) if math.isfinite(lo) else ag.get("permutation_p", 1.0) < 0.05
        text += (f" Knowing the family adds {w - a:+.2f} of Spearman" +
                 (" (its interval excludes zero): there is some task dependence, at the family level." if sig
                  else " (its interval includes zero): no clear family-level task dependence."))
    loto_ = ag["loto"]
    if loto_.get("tasks"):
        rho = "better" if loto_["family_spearman"] > loto_["global_spearman"] else "worse"
        pick = "better" if loto_["family_regret_at_1"] < loto_["global_regret_at_1"] else "no better"
        text += (f" Held out, a task's whole ranking is predicted {rho} by its family's other tasks (Spearman "
                 f"{loto_['family_spearman']:.2f}) than by all other tasks ({loto_['global_spearman']:.2f}), and its top pick is "
                 f"{pick} (regret@1 {loto_['family_regret_at_1']:.1f} vs {loto_['global_regret_at_1']:.1f} points).")
    ag["summary"] = text

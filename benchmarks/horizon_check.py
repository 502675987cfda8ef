"""Is the meta-data's horizon (9 epochs) too short? Fine-tune the configurations that matter at twice the horizon.

For one task of every family (the first of the family in the meta-dataset) and the portfolio's top configurations
(best mean normalised rank over the configurations complete on every task), each seed of the meta-dataset's cell
is run again with the learning-rate schedule stretched to ``--factor`` times the horizon (cosine over 18 epochs
instead of 9: the same protocol otherwise, same split, backbone and weights). The 9-epoch numbers are the
meta-dataset's own rows. If the longer schedule gains more than the seed noise on the configurations a user would
be given, the horizon is too short for them. The stored curves say something too, and the report shows it: the
share of each task's top configurations whose best epoch is the last one, and their gain over the last three
epochs (with annealed schedules both flatten by design, so the longer run is the real test).

Rows go to ``benchmarks/results/horizon_check_rows.jsonl`` as they finish (a re-run skips finished runs); the
report is ``horizon_check.md`` / ``.json`` / ``.png``.

    python benchmarks/horizon_check.py --meta hyperstar/shipped/v2 --top 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import command_line, run_meta  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def portfolio_top(meta, cols: np.ndarray, k: int) -> list[int]:
    """The ``k`` configurations of ``cols`` with the best mean normalised rank over all tasks."""
    from scipy.stats import rankdata

    acc = meta.final_acc[:, cols]
    ranks = np.vstack([(rankdata(-row, method="average") - 1) / max(1, len(row) - 1) for row in acc])
    return [int(cols[i]) for i in np.argsort(ranks.mean(axis=0), kind="stable")[:k]]


def stored_curve_stats(meta, cols: np.ndarray, k: int) -> dict[str, float]:
    """Over every task: the share of its top-``k`` configurations (within ``cols``) whose best validation epoch is
    the last, and their mean gain over the last three epochs, in points."""
    last, gain = [], []
    for t in range(meta.n_tasks):
        acc = meta.final_acc[t, cols]
        for c in cols[np.argsort(-acc, kind="stable")[:k]]:
            curve = meta.curves[t, c]
            last.append(float(np.argmax(curve) == len(curve) - 1 or curve[-1] >= curve.max() - 1e-9))
            gain.append(100.0 * float(curve[-1] - curve[-4]))
    return {"share_best_epoch_last": float(np.mean(last)), "mean_gain_last3_points": float(np.mean(gain)),
            "n": len(last)}


def _weights(meta):
    """The source weights the meta-dataset was built from, checked against its recorded digest."""
    from hyperstar._internal.paths import resolve_weights
    from hyperstar._internal.provenance import file_digest

    weights = resolve_weights(meta.manifest["backbone"], "auto")
    if file_digest(weights) != meta.manifest.get("weights_digest"):
        raise SystemExit(f"horizon_check: the source weights {weights} are not those the meta-dataset was built "
                         f"from (digest {file_digest(weights)}, recorded {meta.manifest.get('weights_digest')})")
    return weights


def _run(meta, t: int, c: int, seed: int, horizon: int, weights) -> dict:
    from hyperstar.finetune import fine_tune
    from hyperstar.meta.builder import TEST_FRACTION, VAL_FRACTION, _get_task

    manifest = meta.manifest
    entry = next(e for e in manifest["tasks"] if e["name"] == meta.task_names[t])
    # the images the stored rows ran on, or TaskChangedError (a changed package or renderer)
    task = _get_task(dict(meta.recipes[t]), int(manifest["resolution"]), entry.get("images_digest"))
    split = task.split(val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=int(manifest["split_seed"]))
    res = fine_tune(task, meta.configs[c], budget=horizon, max_budget=horizon, backbone=manifest["backbone"],
                    weights=weights, seed=seed, split=split, device="cpu", wise_ft=False, threads=1)
    return {"task": meta.task_names[t], "family": meta.families[t], "config_id": manifest["configs"][c]["id"],
            "seed": seed, "horizon": horizon, "val_acc": [e.val_acc for e in res.curve], "test_acc": res.test_acc,
            "diverged": res.diverged, "wall_time": round(res.wall_time, 2)}


def main(argv: list[str] | None = None) -> dict:
    from hyperstar.meta import load_meta_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--meta", default="hyperstar/shipped/v2")
    p.add_argument("--top", type=int, default=3, help="portfolio configurations per task (default 3)")
    p.add_argument("--factor", type=int, default=2, help="the longer horizon, in multiples of the meta-data's")
    p.add_argument("--configs", default=None, metavar="ID,ID,...",
                   help="these configurations instead of the portfolio's top (a report of earlier runs names them: "
                        "the portfolio moves as a build adds columns)")
    p.add_argument("--seeds", type=int, default=1, help="the first N seeds of each stored cell (default 1)")
    p.add_argument("--report-only", action="store_true", help="write the report from the stored rows, run nothing")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    meta = load_meta_dataset(args.meta)
    cols = meta.complete_configurations()
    if args.top < 1 or args.seeds < 1:
        p.error("--top and --seeds must be at least 1")
    if len(cols) < args.top:
        p.error(f"only {len(cols)} configurations are complete on every task; --top must be at most that")
    ids = [c["id"] for c in meta.manifest["configs"]]
    if args.configs:
        wanted = [x.strip() for x in args.configs.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in ids or ids.index(x) not in set(cols.tolist())]
        if unknown:
            p.error(f"--configs: {', '.join(unknown)} are not configurations complete on every task")
        top, args.top = [ids.index(x) for x in wanted], len(wanted)
    else:
        top = portfolio_top(meta, cols, args.top)
    horizon = meta.max_budget * args.factor
    first = {}
    for t, f in enumerate(meta.families):
        first.setdefault(f, t)
    rows_path = RESULTS / "horizon_check_rows.jsonl"
    rows = [json.loads(x) for x in rows_path.read_text().splitlines()] if rows_path.is_file() else []
    done = {(r["task"], r["config_id"], r["seed"], r["horizon"]) for r in rows}
    plan = [(t, c, int(meta.seeds[s, t, c])) for t in first.values() for c in top
            for s in range(min(args.seeds, int(meta.seeds.shape[0]))) if meta.seeds[s, t, c] >= 0]
    todo = [(t, c, s) for t, c, s in plan
            if (meta.task_names[t], meta.manifest["configs"][c]["id"], s, horizon) not in done]
    if not args.report_only and todo:
        from tqdm.auto import tqdm

        RESULTS.mkdir(parents=True, exist_ok=True)
        weights = _weights(meta)
        for t, c, s in tqdm(todo, desc=f"{horizon}-epoch runs", unit="run"):
            row = _run(meta, t, c, s, horizon, weights)
            with open(rows_path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            rows.append(row)
    return report(meta, top, cols, rows, horizon, args, argv, time.perf_counter() - t0)


def report(meta, top, cols, rows, horizon, args, argv, seconds) -> dict:
    from scipy.stats import wilcoxon

    ids = [c["id"] for c in meta.manifest["configs"]]
    wanted = {ids[c] for c in top}
    long = {(r["task"], r["config_id"], r["seed"]): r for r in rows
            if r["horizon"] == horizon and r["config_id"] in wanted and r["seed"] < args.seeds}
    pairs = []  # (family, task, config, seed, acc at the horizon, acc at the longer horizon, acc at the
    for (task, cid, seed), r in sorted(long.items()):  # longer run's epoch == horizon)
        t, c = meta.task_names.index(task), ids.index(cid)
        slot = np.flatnonzero(np.asarray(meta.seeds)[:, t, c] == seed)
        short = float(meta.seed_curves[slot[0], t, c, -1]) if len(slot) else float("nan")
        if np.isfinite(short) and r["val_acc"]:
            pairs.append({"family": r["family"], "task": task, "config": cid, "seed": seed, "short": short,
                          "long": float(r["val_acc"][-1])})
    fams = list(dict.fromkeys(p["family"] for p in pairs))
    per_family = []
    for f in fams:
        d = [100 * (p["long"] - p["short"]) for p in pairs if p["family"] == f]
        per_family.append({"family": f, "n": len(d), "mean_gain_points": float(np.mean(d))})
    gains = np.array([100 * (p["long"] - p["short"]) for p in pairs])
    cell = {}
    for p in pairs:
        cell.setdefault((p["task"], p["config"]), []).append(100 * (p["long"] - p["short"]))
    cell_gain = np.array([np.mean(v) for v in cell.values()])
    test = wilcoxon(cell_gain) if len(cell_gain) >= 5 and np.any(cell_gain != 0) else None
    # does the horizon change the choice? per task, the configuration the stored runs pick among the top ones,
    # scored by the longer runs (same seeds)
    by_task: dict = {}
    for p in pairs:
        by_task.setdefault(p["task"], {}).setdefault(p["config"], []).append((p["short"], p["long"]))
    same_pick, pick_regret = 0, []
    full = {t: d for t, d in by_task.items() if len(d) == len(top)}
    for d in full.values():
        short = {c: np.mean([x for x, _ in v]) for c, v in d.items()}
        long_ = {c: np.mean([y for _, y in v]) for c, v in d.items()}
        pick = max(short, key=short.get)
        same_pick += pick == max(long_, key=long_.get)
        pick_regret.append(100 * (max(long_.values()) - long_[pick]))
    ranking = ranking_sensitivity(meta, top, long, ids)
    stats = stored_curve_stats(meta, cols, args.top)
    info = run_meta("horizon_check.py", argv, meta=args.meta, top=args.top, factor=args.factor, horizon=horizon,
                    seeds=args.seeds,
                    configs=[ids[c] for c in top], complete_columns=len(cols), seconds=round(seconds, 1))
    out = {"meta": info, "stored_curves": stats, "per_family": per_family, "pairs": pairs,
           "mean_gain_points": float(gains.mean()) if len(gains) else None,
           "cells": len(cell_gain), "wins": int((cell_gain > 0).sum()), "losses": int((cell_gain < 0).sum()),
           "wilcoxon_p": float(test.pvalue) if test is not None else None,
           "tasks_compared": len(full), "same_pick": same_pick,
           "pick_regret_points": float(np.mean(pick_regret)) if pick_regret else None, "ranking": ranking}
    lines = [f"# Is {meta.max_budget} epochs too short? The portfolio's top configurations at {horizon} epochs", "",
             command_line(info), "",
             f"Meta-dataset `{args.meta}`: {meta.n_tasks} tasks, {len(cols)} configurations complete on every task "
             f"(the configurations: {', '.join(ids[c] for c in top)}, "
             + ("as given" if args.configs else "the portfolio's top among those") + "). One task per family "
             f"(its first), the first {args.seeds} seed(s) of the stored cell, the schedule stretched to {horizon} epochs; the "
             f"{meta.max_budget}-epoch numbers are the stored rows. Validation accuracy at the end, in points.", "",
             (f"- Longer schedule minus stored: **{out['mean_gain_points']:+.2f} points** on average over "
              f"{len(pairs)} runs; per (task, configuration) cell {out['wins']} gains, {out['losses']} losses"
              + (f", Wilcoxon p = {out['wilcoxon_p']:.3g}" if out["wilcoxon_p"] is not None else "") + "."
              if pairs else "- No longer run is done yet: run without --report-only."),
             *([f"- Does the horizon change the choice? Among the {len(top)} configurations, the one the stored "
                f"{meta.max_budget}-epoch runs pick is also best at {horizon} epochs on {same_pick} of {len(full)} "
                f"tasks; scored at {horizon} epochs it is {out['pick_regret_points']:.2f} points below the best of "
                f"them on average (single runs: seed noise is several points)."] if full else []),
             *([f"- Does the horizon reorder the configurations? Per task, over the {len(top)} configurations: Spearman "
                f"between the stored {meta.max_budget}-epoch seed 1 and the {horizon}-epoch seed 0 runs "
                f"**{ranking['rho_horizon']:.3f}**, against {ranking['rho_seeds']:.3f} between the stored seeds 1 and 0 at "
                f"{meta.max_budget} epochs (another seed's ranking at the same horizon: the noise); difference "
                f"{ranking['rho_horizon'] - ranking['rho_seeds']:+.3f}, 95% bootstrap over tasks "
                f"[{ranking['diff_95'][0]:+.3f}, {ranking['diff_95'][1]:+.3f}] ({ranking['tasks']} tasks)."]
               if ranking.get("tasks") else []),
             f"- Stored curves: {100 * stats['share_best_epoch_last']:.0f}% of each task's top-{args.top} "
             f"configurations peak at the last epoch; they gain {stats['mean_gain_last3_points']:+.2f} points over "
             f"the last three epochs ({stats['n']} cells).", "",
             "| family | runs | mean gain (points) |", "|---|---:|---:|"]
    lines += [f"| {r['family']} | {r['n']} | {r['mean_gain_points']:+.2f} |" for r in per_family]
    (RESULTS / "horizon_check.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "horizon_check.json").write_text(json.dumps(out, indent=1) + "\n")
    _plot(per_family, horizon, meta.max_budget)
    print("\n".join(lines))
    return out


def ranking_sensitivity(meta, top, long: dict, ids: list[str], n_boot: int = 2000) -> dict:
    """Per task with every checked configuration run long on seed 0 and stored on seeds 0 and 1: Spearman of the
    stored seed-1 finals with the long seed-0 finals (another horizon, another seed) and with the stored seed-0
    finals (the same horizon, another seed); their means over tasks and a bootstrap interval of the difference.
    The long run and the stored run of one seed share their initialisation, so seed 1 is the reference of both."""
    from hyperstar._internal.stats import spearman

    rho_h, rho_s = [], []
    runs = np.asarray(meta.seed_curves)[..., -1]
    seeds = np.asarray(meta.seeds)
    for t, task in enumerate(meta.task_names):
        if not all((task, ids[c], 0) in long for c in top):
            continue
        slot = {s: [np.flatnonzero(seeds[:, t, c] == s) for c in top] for s in (0, 1)}
        if any(len(x) == 0 for s in (0, 1) for x in slot[s]):
            continue
        s0 = np.array([runs[x[0], t, c] for x, c in zip(slot[0], top)])
        s1 = np.array([runs[x[0], t, c] for x, c in zip(slot[1], top)])
        lg = np.array([long[(task, ids[c], 0)]["val_acc"][-1] for c in top])
        a, b = spearman(s1, lg), spearman(s1, s0)
        if np.isfinite(a) and np.isfinite(b):
            rho_h.append(a)
            rho_s.append(b)
    if not rho_h:
        return {"tasks": 0}
    d = np.array(rho_h) - np.array(rho_s)
    rng = np.random.default_rng(0)
    boot = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n_boot)]
    return {"tasks": len(d), "rho_horizon": float(np.mean(rho_h)), "rho_seeds": float(np.mean(rho_s)),
            "diff_95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]}


def _plot(per_family, horizon, short) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not per_family:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(range(len(per_family)), [r["mean_gain_points"] for r in per_family], color="tab:blue")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(per_family)), [r["family"] for r in per_family], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"{horizon} minus {short} epochs (points)")
    ax.set_title(f"Validation accuracy of the checked configurations: {horizon}-epoch schedule vs {short}", fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "horizon_check.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

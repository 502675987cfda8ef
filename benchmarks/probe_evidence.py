"""Does a short probe fine-tune on the new task pay as task evidence? Leave one family out, on stored curves.

Run:  .venv/bin/python benchmarks/probe_evidence.py [--meta PATH] [--probes 3,5,10] [--neighbours 5]
          [--n-boot 1000] [--seed 0] [--out-prefix PREFIX]

The issue of robust rankings lists "a few steps of a probe fine-tune as extra task evidence, counted in the
budget". Landmarking (Pfahringer et al., 2000) is the classic form: the scores of a few cheap learners on a
task describe the task. Here the cheap learners are the portfolio's top K configurations trained for E epochs
(``--probe-epochs``, 1 and 3) on the new task (K x E epochs; a stored run's first E epochs are what an E-epoch
run of the same protocol gives, since the schedule spans the full horizon, and it continues from there).
Nothing is trained: the early and final accuracies come from the meta-data.

Over the configurations with two seeds on every task, for each held-out family (LOFO: the portfolio, the
probe set and the neighbours come from the other families' tasks only, seed means), and each of its tasks,
the probe is read from one seed and the pick judged on the *other* seed's final accuracy (both ways round),
so the probe's own noise cannot flatter it. Rankings compared, with settings fixed before any result was seen
(K from ``--probes``, k = ``--neighbours``, weights 1; none is chosen on the judged tasks):

* ``portfolio``: the average-rank portfolio's first configuration (no probe);
* ``probe_best``: of the portfolio's top K, the one best after E epochs on the task (ties: portfolio order);
* ``probe_neighbours``: the k meta-training tasks whose epoch-E accuracies on the same K configurations
  correlate best with the task's (Pearson over K), their final accuracies z-scored and averaged; the first
  pick of that ranking over all configurations;
* ``portfolio_plus_neighbours``: the mean of the portfolio's and the neighbours' standardised scores (w = 0.5
  in the fallback's p + w (z - p));
* ``probed_portfolio_plus_own``: the K probed configurations re-ranked by the portfolio's score plus the
  task's own standardised epoch-E accuracies (weight 1). The portfolio's scores are standardised over all
  configurations, so within its top K they differ little and this is close to ``probe_best``.

Reports regret@1 (accuracy points against the judging seed's best) per method and K, the difference to the
portfolio with a bootstrap interval over tasks, wins / losses, a per-family table of the best variant for the
K in the middle at the first E, how well early accuracy orders the configurations, and a plot. Writes PREFIX.md, PREFIX.json, PREFIX.png (default PREFIX:
benchmarks/results/probe_evidence_v<format version>).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from bench_common import header, run_meta, write_json  # noqa: E402
from hyperstar.meta.dataset import MetaDataset, load_meta_dataset  # noqa: E402
from hyperstar.ranking.fallback import portfolio_scores, standardize, task_z  # noqa: E402

METHODS = ("portfolio", "probe_best", "probe_neighbours", "portfolio_plus_neighbours", "probed_portfolio_plus_own")


def two_seed_runs(meta: MetaDataset) -> tuple[np.ndarray, np.ndarray]:
    """[seed 0/1, task, config, epoch] accuracy (points) over the configurations with two seeds on every task,
    and the indices of those configurations."""
    runs = np.asarray(meta.seed_curves, dtype=float)[:2] * 100.0
    if len(runs) < 2:
        raise SystemExit("probe_evidence: the meta-dataset has no second seed; it needs two seeds a cell.")
    keep = np.flatnonzero(np.isfinite(runs).all(axis=(0, 1, 3)))
    if len(keep) < 12:
        raise SystemExit(f"probe_evidence: only {len(keep)} configurations have two seeds on every task (need 12).")
    return runs[:, :, keep], keep


def _neighbour_scores(probe: np.ndarray, train_probe: np.ndarray, train_z: np.ndarray, k: int) -> np.ndarray:
    """The mean z-scored final accuracies of the ``k`` training tasks whose probe vectors correlate best."""
    a = standardize(probe)
    b = standardize(train_probe)
    sim = (b @ a) / len(a)  # Pearson (both standardised); a constant probe gives 0 everywhere
    nearest = np.argsort(-sim, kind="stable")[:k]
    return standardize(train_z[nearest].mean(axis=0))


def picks(runs: np.ndarray, families: np.ndarray, K: int, k: int, epochs: int = 1) -> dict[str, np.ndarray]:
    """[method] -> [task] regret@1 in points, each the mean of the two probe-seed / judge-seed directions."""
    n_tasks = runs.shape[1]
    final_mean = runs[:, :, :, -1].mean(axis=0)
    e1_mean = runs[:, :, :, epochs - 1].mean(axis=0)
    out = {m: np.zeros(n_tasks) for m in METHODS}
    for f in sorted(set(families)):
        held = np.flatnonzero(families == f)
        train = np.flatnonzero(families != f)
        p = portfolio_scores(final_mean[train])
        order = np.argsort(-p, kind="stable")
        probed = order[:K]
        train_probe = e1_mean[train][:, probed]
        train_z = task_z(final_mean[train])
        for t in held:
            for s, j in ((0, 1), (1, 0)):
                probe = runs[s, t, probed, epochs - 1]
                judge = runs[j, t, :, -1]

                def regret(choice: int) -> float:
                    return float(judge.max() - judge[int(choice)]) / 2

                nb = _neighbour_scores(probe, train_probe, train_z, k)
                own = standardize(probe)
                # ties among the probed: the portfolio's order (earlier first), hence the tiny portfolio term
                out["portfolio"][t] += regret(order[0])
                out["probe_best"][t] += regret(probed[int(np.argmax(probe + 1e-9 * p[probed]))])
                out["probe_neighbours"][t] += regret(int(np.argmax(nb + 1e-9 * p)))
                out["portfolio_plus_neighbours"][t] += regret(int(np.argmax(p + (nb - p) * 0.5)))
                out["probed_portfolio_plus_own"][t] += regret(probed[int(np.argmax(p[probed] + own))])
    return out


def early_vs_final(runs: np.ndarray, families: np.ndarray, epochs: int, top: int = 10) -> dict[str, float]:
    """Mean per-task Spearman between one seed's accuracy after ``epochs`` and the other seed's final accuracy,
    over all configurations and over the (LOFO) portfolio's top ``top``; and the same between the two seeds'
    finals over the top ``top`` (what a full run on the task would tell)."""
    from scipy.stats import spearmanr

    final_mean = runs[:, :, :, -1].mean(axis=0)
    all_r, top_r, full_r = [], [], []
    for f in sorted(set(families)):
        order = np.argsort(-portfolio_scores(final_mean[families != f]), kind="stable")[:top]
        for t in np.flatnonzero(families == f):
            for s, j in ((0, 1), (1, 0)):
                early, judge = runs[s, t, :, epochs - 1], runs[j, t, :, -1]
                all_r.append(spearmanr(early, judge)[0])
                top_r.append(spearmanr(early[order], judge[order])[0])
                full_r.append(spearmanr(runs[s, t, order, -1], judge[order])[0])
    m = lambda v: float(np.nanmean(v))  # noqa: E731  (a constant column gives NaN)
    return {"epochs": epochs, "all": m(all_r), "top": m(top_r), "top_full_run": m(full_r), "top_k": top}


def summarise(per: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    rows = []
    base = per["portfolio"]
    for m, r in per.items():
        d = r - base
        boot = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(n_boot)] if n_boot else []
        rows.append({"method": m, "regret_at_1": float(r.mean()), "minus_portfolio": float(d.mean()),
                     "minus_portfolio_95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]
                     if boot else [math.nan, math.nan],
                     "tasks_better": int((d < -1e-9).sum()), "tasks_worse": int((d > 1e-9).sum())})
    return rows


def plot(results: list[dict], path: Path, title: str) -> None:
    """Bars: each probing method's regret@1 minus the portfolio's, per (epochs, K), with the 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r["epochs"], r["K"]) for r in results})
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 3, 4.5))
    shown = [m for m in METHODS if m != "portfolio"]
    width = 0.8 / len(shown)
    for i, m in enumerate(shown):
        rs = [next(r for r in results if (r["epochs"], r["K"]) == g and r["method"] == m) for g in groups]
        x = np.arange(len(groups)) + (i - (len(shown) - 1) / 2) * width
        lo = [r["minus_portfolio"] - r["minus_portfolio_95"][0] for r in rs]
        hi = [r["minus_portfolio_95"][1] - r["minus_portfolio"] for r in rs]
        ax.bar(x, [r["minus_portfolio"] for r in rs], width, yerr=[lo, hi], capsize=2, label=m, color=f"C{i + 1}")
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_xticks(np.arange(len(groups)), [f"{K} x {E} ep\n({K * E} epochs)" for E, K in groups], fontsize=8)
    ax.set_ylabel("regret@1 minus the portfolio's (points; lower is better)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", default=None, help="meta-dataset folder (default: the shipped one)")
    parser.add_argument("--probes", default="3,5,10", help="K values: configurations probed")
    parser.add_argument("--probe-epochs", default="1,3", help="epochs each probe trains (its curve's value there)")
    parser.add_argument("--neighbours", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-prefix", default=None)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    meta = load_meta_dataset(args.meta, allow_incomplete=True)
    runs, keep = two_seed_runs(meta)
    fams = np.asarray(meta.families)
    Ks = [int(x) for x in args.probes.split(",")]
    Es = [int(x) for x in args.probe_epochs.split(",")]
    if any(K < 2 or K > len(keep) for K in Ks) or not 1 <= args.neighbours < meta.n_tasks \
            or any(not 1 <= e < runs.shape[-1] for e in Es):
        raise SystemExit(f"probe_evidence: --probes must be in [2, {len(keep)}], --probe-epochs in [1, "
                         f"{runs.shape[-1] - 1}] and --neighbours in [1, {meta.n_tasks - 1}].")
    rng = np.random.default_rng(args.seed)
    results, per_task = [], {}
    for E in Es:
        for K in Ks:
            per = picks(runs, fams, K, args.neighbours, E)
            per_task[(E, K)] = per
            results += [{"epochs": E, "K": K, "cost_epochs": E * K, **r} for r in summarise(per, args.n_boot, rng)]
    version = int(meta.manifest.get("format_version", 1))
    prefix = Path(args.out_prefix) if args.out_prefix else HERE / "results" / f"probe_evidence_v{version}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    stored_runs = int(np.isfinite(np.asarray(meta.seed_curves, dtype=float)[..., -1]).sum())
    info = run_meta("probe_evidence.py", argv, meta_dataset=str(meta.path), stored_runs=stored_runs, configs=int(len(keep)),
                    tasks=int(meta.n_tasks), families=len(set(fams)), seconds=round(time.perf_counter() - t0, 1))
    early = [early_vs_final(runs, fams, E) for E in Es]
    write_json(prefix.parent, prefix.name, {**info, "early_vs_final": early}, results)
    lines = header("Probe fine-tunes as task evidence, leave one family out (stored curves)", info)
    lines += [f"Meta-dataset `{meta.path.name}` ({stored_runs} runs stored): {meta.n_tasks} tasks in {len(set(fams))} families; the "
              f"{len(keep)} configurations with two seeds on every task. The probe is read from one seed, the pick "
              "judged on the other's final accuracy (both ways round). k = "
              f"{args.neighbours} neighbours; {args.n_boot} bootstrap draws over tasks. Settings fixed in advance; "
              "none chosen on these tasks.", "",
              f"A full run is {runs.shape[-1]} epochs.", "",
              "| epochs per probe | K probed | cost (epochs) | method | regret@1 | minus portfolio | 95% interval | "
              "tasks better / worse |", "|---:|---:|---:|---|---:|---:|---|---:|"]
    for r in results:
        if r["method"] == "portfolio" and (r["epochs"], r["K"]) != (Es[0], Ks[0]):
            continue  # the same picks in every row group
        lo, hi = r["minus_portfolio_95"]
        lines.append(f"| {r['epochs']} | {r['K']} | {r['cost_epochs']} | {r['method']} | {r['regret_at_1']:.2f} | "
                     f"{r['minus_portfolio']:+.2f} | [{lo:+.2f}, {hi:+.2f}] | {r['tasks_better']} / {r['tasks_worse']} |")
    lines += ["", "How well early accuracy on the task orders the configurations (mean per-task Spearman of one seed's "
              "accuracy after E epochs against the other seed's final; the top: the LOFO portfolio's first "
              f"{early[0]['top_k']}, where the probes are):", "",
              "| E | all configurations | portfolio's top | the top, by a full run on the other seed |", "|---:|---:|---:|---:|"]
    lines += [f"| {e['epochs']} | {e['all']:.3f} | {e['top']:.3f} | {e['top_full_run']:.3f} |" for e in early]
    mid = Ks[len(Ks) // 2]
    lines += ["", f"Per family at K = {mid}, {Es[0]} epoch(s) per probe (regret@1, mean over the family's tasks):", "",
              "| family | tasks | " + " | ".join(METHODS) + " |", "|---|---:|" + "---:|" * len(METHODS)]
    for f in dict.fromkeys(meta.families):
        sel = fams == f
        lines.append(f"| {f} | {int(sel.sum())} | " + " | ".join(f"{per_task[(Es[0], mid)][m][sel].mean():.2f}" for m in METHODS)
                     + " |")
    lines += ["", f"![probe evidence]({prefix.name}.png)", ""]
    prefix.with_suffix(".md").write_text("\n".join(lines))
    plot(results, prefix.with_suffix(".png"),
         f"{meta.path.name}: regret@1 minus the portfolio's, LOFO, {len(keep)} configurations")
    print(prefix.with_suffix(".md").read_text())


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

"""Task-aware Hyperband against the tuners people would pick instead, on stored curves, under both protocols:
leave one task out (LOTO) and leave one family out (LOFO).

Run:  make bench-deps   (Optuna, SMAC3, NePS, DEHB into .venv; see the Makefile for the pins)
      .venv/bin/python benchmarks/hpo_peers.py [--seeds 20] [--tasks N] [--methods ...] [--protocols loto lofo]
      .venv/bin/python benchmarks/hpo_peers.py --report-only      # the table and plot from the committed rows

For every held-out task and seed, each method tunes the task on its stored learning curves (no training),
with the same total budget (``--budget`` epochs, default: half of training every stored configuration
fully) and the same rungs where it has rungs (1, 3, 9 epochs: min 1, max the meta-dataset's epochs, eta 3).
Cost = epochs actually trained: continuing a configuration from b to b' epochs costs b' - b (a checkpoint),
as in ``hpo_tabular.py``, whose runner this script reuses for the hpbandster and Optuna methods.

Knowledge, per protocol. ``portfolio``: the average-rank order of the meta-training tasks. ``hyperstar``: the
ranking of a hyperstar Recommender fitted on the meta-training tasks (LOTO: all other tasks, one fit per
task, cached in ``hpo_tabular_rankings.json``; LOFO: all tasks of other families, one fit per family, cached
in ``hpo_peers_rankings.json``). Methods without knowledge run once and stand in both protocols' columns.

Peers in the real hyperparameter space (NePS PriorBand and Hyperband with the prior sampler, DEHB, SMAC3, mapped
random search) propose configurations that are mapped to the nearest stored configuration in hyperstar's
configuration encoding (``benchmarks/peers/stored.py``); a proposal that lands on a configuration already
trained that far costs nothing. ``random_mapped`` (random search through the mapping) against ``random``
(hpbandster's random search over the stored configurations) shows what the mapping itself does.

Writes ``hpo_peers.md`` / ``.json`` / ``_regret.png`` and keeps finished runs in ``hpo_peers_rows.jsonl``
(resumable: a re-run skips them; ``--report-only`` rewrites the report from the rows).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import hpo_tabular as ht  # noqa: E402
from hyperstar.meta.dataset import append_record, load_meta_dataset, read_records  # noqa: E402

RANKINGS_FILE = "hpo_peers_rankings.json"
PROTOCOLS = ("loto", "lofo")
K_INITIAL = 10  # top configurations enqueued / put in an initial design (hpo_tabular's --optuna-enqueue)

#: name -> how it runs and what it knows ("knowledge": None, "portfolio" or "hyperstar")
METHODS: dict[str, dict] = {
    "random": dict(kind="hpbandster", optimizer="random", warm_start=False, knowledge=None,
                   label="random search (hpbandster, stored configurations)"),
    "random_mapped": dict(kind="random_mapped", knowledge=None, label="random search in the space, mapped (control)"),
    "grid": dict(kind="grid", knowledge=None, label="grid: lr x optimizer x training mode"),
    "hb": dict(kind="hpbandster", optimizer="hb", warm_start=False, knowledge=None, label="Hyperband (hpbandster)"),
    "bohb": dict(kind="hpbandster", optimizer="bohb", warm_start=False, knowledge=None, label="BOHB (hpbandster)"),
    "optuna_tpe": dict(kind="optuna", knowledge=None, label="Optuna TPE + HB pruner"),
    "dehb": dict(kind="dehb", knowledge=None, label="DEHB"),
    "smac_mf": dict(kind="smac", knowledge=None, label="SMAC3 multi-fidelity (Hyperband)"),
    "hb_avgrank": dict(kind="hpbandster", optimizer="hb", warm_start=True, ranking="given", knowledge="portfolio",
                       label="HB + portfolio warm start"),
    "optuna_tpe_avgrank": dict(kind="optuna", knowledge="portfolio", label="Optuna TPE, portfolio top-10 enqueued"),
    "priorband_portfolio": dict(kind="neps", algorithm="priorband", knowledge="portfolio",
                                label="PriorBand (NePS), prior = portfolio top"),
    "hyperstar_hb": dict(kind="hpbandster", optimizer="hb", warm_start=True, ranking="given", knowledge="hyperstar",
                         label="task-aware HB (hyperstar)"),
    "hyperstar_bohb": dict(kind="hpbandster", optimizer="bohb", warm_start=True, ranking="given",
                           knowledge="hyperstar", label="task-aware BOHB (hyperstar)"),
    "priorband_hyperstar": dict(kind="neps", algorithm="priorband", knowledge="hyperstar",
                                label="PriorBand (NePS), prior = hyperstar top"),
    "hb_prior_hyperstar": dict(kind="neps", algorithm="hyperband_prior", knowledge="hyperstar",
                               label="Hyperband + prior sampler (NePS), prior = hyperstar top"),
    "optuna_tpe_hyperstar": dict(kind="optuna", knowledge="hyperstar", label="Optuna TPE, hyperstar top-10 enqueued"),
    "dehb_hyperstar": dict(kind="dehb", knowledge="hyperstar", label="DEHB, hyperstar top in initial population"),
    "smac_mf_hyperstar": dict(kind="smac", knowledge="hyperstar", label="SMAC3 MF, hyperstar top-10 initial design"),
}
SUBJECTS = ("hyperstar_hb", "hyperstar_bohb")
#: the peers whose own overhead per trial makes up most of a full run (SMAC3's forest, NePS's brackets, BOHB's
#: KDEs: about 80% of the seconds per task and seed on v1, hpo_peers.md); ``--peer-seeds`` may give them fewer
#: seeds than the rest
EXPENSIVE = ("bohb", "smac_mf", "priorband_portfolio", "priorband_hyperstar", "hb_prior_hyperstar",
             "smac_mf_hyperstar")
TOLERANCES = (0.5, 1.0)
PEER_PACKAGES = ("hpbandster", "ConfigSpace", "optuna", "smac", "neural-pipeline-search", "dehb", "torch")


def versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out = {}
    for p in PEER_PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def seeds_of(method: str, seeds: int, peer_seeds: int | None) -> int:
    """Seeds ``0..n-1`` that ``method`` runs: ``peer_seeds`` (at most ``seeds``) for the :data:`EXPENSIVE` peers."""
    return min(seeds, peer_seeds) if peer_seeds is not None and method in EXPENSIVE else seeds


def protocol_of(method: str, protocol: str) -> str:
    return protocol if METHODS[method]["knowledge"] else "none"


def train_tasks(meta, t: int, protocol: str) -> list[int]:
    if protocol == "lofo":
        return [i for i in range(meta.n_tasks) if meta.families[i] != meta.families[t]]
    return [i for i in range(meta.n_tasks) if i != t]


# --------------------------------------------------------------------------- LOFO rankings


def _fit_family(family: str, params: dict) -> tuple[dict[str, list[int]], float]:
    from hyperstar.ranking.recommender import Recommender
    from hyperstar.meta.task_cache import meta_task

    meta = ht._FIT["meta"]
    t0 = time.perf_counter()
    held = [i for i in range(meta.n_tasks) if meta.families[i] == family]
    rec = Recommender(**params).fit(meta.subset([i for i in range(meta.n_tasks) if i not in held]),
                                    features=ht._FIT["features"])
    out = {}
    for t in held:
        if meta.has_images:
            query = meta_task(meta, t, rec.resolution)
        else:
            query = {n: float(v) for n, v in zip(meta.descriptor_names, meta.descriptors[t])}
        scores = rec.predict(query, meta.configs, seed=0)
        out[meta.task_names[t]] = [int(i) for i in np.argsort(-scores, kind="stable")]
    return out, time.perf_counter() - t0


def lofo_rankings(meta, meta_path: str, out: Path, workers: int, refit: bool = False) -> dict[str, list[int]]:
    """One recommender per held-out family, fitted on the other families only; cached."""
    path = out / RANKINGS_FILE
    cache = json.loads(path.read_text()) if path.is_file() else {"entries": {}}
    params = ht.rec_params(meta, None)
    key = f"{ht.meta_fingerprint(meta)}-{ht.settings_key(params)}-lofo"
    entry = cache["entries"].setdefault(key, {"meta": str(meta.path), "recommender": params, "rankings": {},
                                              "fit_seconds": {}})
    if refit:
        entry["rankings"], entry["fit_seconds"] = {}, {}
    entry["code_version"] = ht.code_version()
    families = sorted({f for t, f in enumerate(meta.families) if meta.task_names[t] not in entry["rankings"]})
    if families:
        features = ht.task_features(meta) if meta.has_images else None
        print(f"hpo_peers: fitting {len(families)} leave-one-family-out recommenders ...", file=sys.stderr)
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=ht._init_fit_worker, initargs=(meta_path, features)) as pool:
            futures = {pool.submit(_fit_family, f, params): f for f in families}
            for fut in as_completed(futures):
                ranks, seconds = fut.result()
                entry["rankings"].update(ranks)
                entry["fit_seconds"][futures[fut]] = round(seconds, 1)
                ht._write_json(path, cache)
                print(f"hpo_peers: fitted family {futures[fut]} ({seconds:.0f} s)", file=sys.stderr)
    return dict(entry["rankings"])


# --------------------------------------------------------------------------- one run


def _run_job(method: str, protocol: str, t: int, seed: int, ranking: list[int] | None, s: dict) -> dict:
    from hyperstar.ranking.baselines import AverageRank
    from peers import dehb_peer, neps_peer, simple_peers, smac_peer
    from peers.stored import StoredCurves, top_configs

    meta = ht._RUN["meta"]
    spec = METHODS[method]
    t0 = time.perf_counter()
    if spec["knowledge"] == "portfolio":
        ranking = [int(i) for i in AverageRank().fit(meta.subset(train_tasks(meta, t, protocol))).order()]
    kind = spec["kind"]
    if kind == "hpbandster":
        out = ht._hpbandster_run(meta, t, method, seed, ranking, s, spec=spec)
    elif kind == "optuna":
        out = ht._optuna_run(meta, t, seed, (ranking or [])[:K_INITIAL] if spec["knowledge"] else [], s)
    else:
        oracle = StoredCurves(meta, t, s["budget"], s["max_budget"])
        if kind == "neps":
            extra = neps_peer.run(oracle, seed, top_configs(meta, ranking, 1)[0], spec["algorithm"])
        elif kind == "dehb":
            extra = dehb_peer.run(oracle, seed, top_configs(meta, ranking, K_INITIAL) if ranking else None)
        elif kind == "smac":
            extra = smac_peer.run(oracle, seed, top_configs(meta, ranking, K_INITIAL) if ranking else None)
        elif kind == "grid":
            extra = simple_peers.run_grid(oracle, seed)
        elif kind == "random_mapped":
            extra = simple_peers.run_random_mapped(oracle, seed)
        else:
            raise ValueError(kind)
        out = {**oracle.summary(), **extra}
    final = meta.final_acc[t]
    return {"method": method, "protocol": protocol_of(method, protocol), "task": meta.task_names[t],
            "family": meta.families[t], "seed": seed, "oracle": float(np.max(final)), "mean_acc": float(np.mean(final)),
            **out, "seconds": round(time.perf_counter() - t0, 2)}


# --------------------------------------------------------------------------- analysis


def _tte(rows: list[dict], tol: float, B: int) -> np.ndarray:
    return np.array([ht.time_to_target(r, tol, B) for r in rows])


def _regret_curves(rows: list[dict], B: int) -> np.ndarray:
    """Regret (points) after 0..B epochs; before any full-budget result, a random configuration's expected."""
    out = []
    for r in rows:
        best = ht.best_on_grid(r, B)
        out.append(100 * (r["oracle"] - np.where(np.isnan(best), r["mean_acc"], best)))
    return np.array(out)


def _paired(a: dict[str, float], b: dict[str, float]) -> dict:
    """Wins / ties / losses of ``a`` over ``b`` (lower is better) across tasks, and a two-sided Wilcoxon p."""
    from scipy.stats import wilcoxon

    tasks = sorted(set(a) & set(b))
    d = np.array([a[t] - b[t] for t in tasks])
    wins, ties, losses = int((d < -EPS_T).sum()), int((np.abs(d) <= EPS_T).sum()), int((d > EPS_T).sum())
    p = float(wilcoxon(d[np.abs(d) > EPS_T]).pvalue) if (np.abs(d) > EPS_T).sum() >= 1 else 1.0
    return {"wins": wins, "ties": ties, "losses": losses, "p": p, "n_tasks": len(tasks)}


EPS_T = 0.5  # epochs: per-task censored means closer than this count as a tie


def summarize(rows: list[dict], methods: list[str], protocols: list[str], s: dict) -> dict:
    B = int(s["budget"])
    out: dict = {}
    for P in protocols:
        res: dict = {"methods": {}}
        for m in methods:
            rs = [r for r in rows if r["method"] == m and r["protocol"] == protocol_of(m, P)]
            if not rs:
                continue
            d: dict = {"n_runs": len(rs), "label": METHODS[m]["label"], "seconds_mean": float(np.mean([r["seconds"] for r in rs]))}
            for tol in TOLERANCES:
                x = _tte(rs, tol, B)
                d[f"tol_{tol:g}"] = ht.censored_stats(x, B)
                d[f"per_task_censored_mean_{tol:g}"] = {
                    task: float(np.mean(np.minimum(x[[r["task"] == task for r in rs]], B))) for task in sorted({r["task"] for r in rs})}
            curves = _regret_curves(rs, B)
            d["regret_median"] = np.median(curves, axis=0)
            d["regret_q25"] = np.quantile(curves, 0.25, axis=0)
            d["regret_q75"] = np.quantile(curves, 0.75, axis=0)
            d["final_mean_regret"] = float(curves[:, B].mean())
            for k in ("mean_map_distance", "n_distinct_stored"):
                if rs[0].get(k) is not None:
                    d[k] = float(np.mean([r[k] for r in rs]))
            res["methods"][m] = d
        res["paired"] = {}
        for subj in SUBJECTS:
            if subj not in res["methods"]:
                continue
            a = res["methods"][subj]["per_task_censored_mean_0.5"]
            res["paired"][subj] = {m: _paired(a, d["per_task_censored_mean_0.5"])
                                   for m, d in res["methods"].items() if m != subj}
        out[P] = res
    return out


def goals(summary: dict, s: dict) -> list[str]:
    """The issue's goals on LOFO for task-aware HB (and BOHB): <= 20% of vanilla HB's median epochs; fewer
    median epochs than every peer given the same knowledge (hyperstar's ranking), with no more misses."""
    if "lofo" not in summary:
        return ["LOFO not run: the goals are judged on LOFO."]
    ms, B, lines = summary["lofo"]["methods"], s["budget"], []
    for subj in SUBJECTS:
        if subj not in ms:
            continue
        a = ms[subj]["tol_0.5"]
        if "hb" in ms:
            h = ms["hb"]["tol_0.5"]["median"]
            r = a["median"] / h if math.isfinite(a["median"]) and math.isfinite(h) else math.nan
            lines.append(f"- {'MET' if r <= 0.2 else 'NOT MET'}: `{subj}` needs at most 20% of vanilla Hyperband's "
                         f"median epochs: {100 * r:.0f}% ({ht.fmt_budget(a['median'], B)} vs {ht.fmt_budget(h, B)}).")
        for m, d in ms.items():
            if METHODS[m]["knowledge"] != "hyperstar" or m in SUBJECTS:
                continue
            o = d["tol_0.5"]
            ahead = a["median"] < o["median"] and a["reached_fraction"] >= o["reached_fraction"] - 1e-9
            lines.append(f"- {'MET' if ahead else 'NOT MET'}: `{subj}` ahead of {d['label']} (`{m}`): median "
                         f"{ht.fmt_budget(a['median'], B)} vs {ht.fmt_budget(o['median'], B)} epochs, reached "
                         f"{100 * a['reached_fraction']:.0f}% vs {100 * o['reached_fraction']:.0f}%.")
    return lines


def plot(summary: dict, s: dict, path: Path, partial: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    B = int(s["budget"])
    x = np.arange(1, B + 1)
    fig, axes = plt.subplots(1, len(summary), figsize=(7 * len(summary), 5.2), squeeze=False)
    for ax, (P, res) in zip(axes[0], summary.items()):
        for i, (m, d) in enumerate(res["methods"].items()):
            subject = m in SUBJECTS
            style = "-" if METHODS[m]["knowledge"] == "hyperstar" else ("--" if METHODS[m]["knowledge"] else ":")
            ax.plot(x, d["regret_median"][1:], style, color=f"C{list(METHODS).index(m) % 10}",
                    linewidth=2.6 if subject else 1.3, label=d["label"])
            if m == "hyperstar_hb" or m == "priorband_hyperstar":
                ax.fill_between(x, d["regret_q25"][1:], d["regret_q75"][1:], alpha=0.15,
                                color=f"C{list(METHODS).index(m) % 10}")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1)
        ax.axhline(0.5, color="0.6", linewidth=0.8, linestyle=":")
        ax.set_xlabel("cumulative budget (epochs trained, log)")
        ax.set_ylabel("median regret, accuracy points (band: quartiles)")
        ax.set_title(f"{P.upper()}{'  [PARTIAL]' if partial else ''}")
        ax.grid(alpha=0.3, which="both")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(meta, rows: list[dict], methods: list[str], protocols: list[str], tasks: list[int], seeds: int, s: dict,
           out: Path, name: str, command: str, peer_seeds: int | None = None) -> dict:
    B = int(s["budget"])
    summary = summarize(rows, methods, protocols, s)
    expected = sum(len(tasks) * seeds_of(m, seeds, peer_seeds) for m in methods
                   for P in {protocol_of(m, P) for P in protocols})
    fewer = [m for m in methods if seeds_of(m, seeds, peer_seeds) < seeds]
    seed_note = f"{seeds} seeds per method and protocol" + (
        f"; {seeds_of(fewer[0], seeds, peer_seeds)} for " + ", ".join(f"`{m}`" for m in fewer)
        + " (`--peer-seeds`: their own overhead per trial is most of a full run's cost)" if fewer else "")
    partial = len(rows) < expected
    lines = [f"# HPO on stored curves: task-aware Hyperband vs the peers, LOTO and LOFO{' [PARTIAL]' if partial else ''}", "",
             f"Command: `{command}` (`--report-only` rewrites this from `{name}_rows.jsonl`).  ",
             f"Meta-dataset `{meta.path.name}` ({meta.n_tasks} tasks, {len(set(meta.families))} families, "
             f"{meta.n_configs} configurations, {meta.max_budget} epochs). Total budget {B} epochs per run; rungs "
             f"{s['min_budget']:g}..{s['max_budget']} epochs, eta {s['eta']:g}. Runs: {len(rows)} of {expected} "
             f"({len(tasks)} tasks x {seed_note}).  ",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items() if v) + ".", "",
             "Epochs to target = epochs trained until the incumbent (best at the maximum budget) is within 0.5 / 1 "
             "point of the task's best stored configuration; runs that miss count as +inf in the median and as the "
             "budget in the censored mean (a lower bound). Methods without knowledge are the same runs in both "
             "columns. Paired: per-task censored mean epochs (0.5 pt) of task-aware HB against the method, across "
             f"tasks: wins / ties (within {EPS_T} epoch) / losses, two-sided Wilcoxon p.", ""]
    head = "| method | knows |"
    sep = "|---|---|"
    for P in summary:
        head += f" {P.upper()} reached 0.5 / 1 pt | median 0.5 / 1 pt | censored mean 0.5 | W/T/L, p vs HB (hyperstar) |"
        sep += "---:|---:|---:|---:|"
    lines += [head, sep]
    for m in methods:
        if not any(m in res["methods"] for res in summary.values()):
            continue
        row = f"| {METHODS[m]['label']} (`{m}`) | {METHODS[m]['knowledge'] or '-'} |"
        for P, res in summary.items():
            d = res["methods"].get(m)
            if d is None:
                row += " | | | |"
                continue
            a, b = d["tol_0.5"], d["tol_1"]
            pr = res["paired"].get("hyperstar_hb", {}).get(m)
            row += (f" {100 * a['reached_fraction']:.0f}% / {100 * b['reached_fraction']:.0f}% |"
                    f" {ht.fmt_budget(a['median'], B)} / {ht.fmt_budget(b['median'], B)} | {a['censored_mean']:.0f} |"
                    + (f" {pr['wins']}/{pr['ties']}/{pr['losses']}, {pr['p']:.3f} |" if pr else " - |"))
        lines.append(row)
    lines += ["", "## Goals (LOFO, task-aware HB as `tune` runs it by default)", ""] + goals(summary, s)
    lines += ["", "## The mapping onto stored configurations", "",
              "Peers that propose in the real space are answered by the nearest stored configuration (hyperstar's "
              "encoding, Euclidean). `random_mapped` vs `random` is the same search with and without the mapping: "
              "if the mapping distorted the search, they would differ.", "",
              "| method | mean distance to the nearest stored configuration | distinct stored configurations trained |",
              "|---|---:|---:|"]
    res0 = next(iter(summary.values()), {"methods": {}})
    for P, res in summary.items():
        for m, d in res["methods"].items():
            if "mean_map_distance" in d and (P == next(iter(summary)) or METHODS[m]["knowledge"]):
                lines.append(f"| `{m}` ({P if METHODS[m]['knowledge'] else 'any'}) | {d['mean_map_distance']:.2f} | "
                             f"{d['n_distinct_stored']:.1f} |")
    if "random" in res0["methods"] and "random_mapped" in res0["methods"]:
        a, b = res0["methods"]["random"]["tol_0.5"], res0["methods"]["random_mapped"]["tol_0.5"]
        lines += ["", f"Random search: {100 * a['reached_fraction']:.0f}% reached, median {ht.fmt_budget(a['median'], B)}, "
                  f"censored mean {a['censored_mean']:.0f} epochs over the stored configurations; through the mapping "
                  f"{100 * b['reached_fraction']:.0f}%, {ht.fmt_budget(b['median'], B)}, {b['censored_mean']:.0f}."]
    per_unit = sum(d["seconds_mean"] * (1 if not METHODS[m]["knowledge"] else len(summary))
                   for m, d in res0["methods"].items() if m in methods)
    full = sum(d["seconds_mean"] * (1 if not METHODS[m]["knowledge"] else len(summary)) * seeds_of(m, seeds, peer_seeds)
               for m, d in res0["methods"].items() if m in methods) * len(tasks)
    lines += ["", f"Size: one (task, seed) of every method and protocol costs about {per_unit:.0f} s of one core; the "
              f"run asked for ({len(tasks)} tasks x {seed_note}) about {full / 3600:.1f} process-hours at these rates "
              "(SMAC3, NePS and BOHB dominate)."]
    if fewer:
        lines += ["", "With fewer seeds for some peers, the paired tests compare task-aware HB's mean over its seeds "
                  "with the peer's mean over fewer: unbiased, but noisier on the peer's side."]
    lines += ["", "Mean seconds per run: " + ", ".join(
        f"`{m}` {d['seconds_mean']:.1f}" for m, d in res0["methods"].items()) + ".", "",
              f"![anytime regret]({name}_regret.png)", ""]
    (out / f"{name}.md").write_text("\n".join(lines))
    plot(summary, s, out / f"{name}_regret.png", partial)
    plain = {P: {"methods": {m: {k: v for k, v in d.items() if not k.startswith("regret_")}
                             for m, d in res["methods"].items()}, "paired": res["paired"]} for P, res in summary.items()}
    ht._write_json(out / f"{name}.json", {"settings": s, "command": command, "versions": versions(), "n_runs": len(rows),
                                          "n_runs_expected": expected, "partial": partial, "summary": ht._plain(plain)})
    return {"partial": partial, "n_runs": len(rows), "expected": expected}


def dry_run(jobs: list[tuple], rows: list[dict], n_tasks: int, workers: int) -> None:
    """The runs to do per method and their estimated cost: each method's mean seconds per run over the stored
    rows (any meta-dataset; a method without rows is counted as unknown)."""
    by_method: dict[str, list[float]] = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(float(r["seconds"]))
    todo: dict[str, int] = {}
    for _, _, m, _ in jobs:
        todo[m] = todo.get(m, 0) + 1
    total, unknown = 0.0, []
    print(f"hpo_peers --dry-run: {len(jobs)} runs to do over {n_tasks} tasks")
    for m, n in todo.items():
        sec = float(np.mean(by_method[m])) if by_method.get(m) else None
        if sec is None:
            unknown.append(m)
        total += n * (sec or 0.0)
        print(f"  {m:22s} {n:6d} runs x {'?' if sec is None else f'{sec:.1f}'} s")
    print(f"about {total / 3600:.1f} process-hours, {total / 3600 / max(workers, 1):.1f} h on {workers} processes"
          + (f" (plus {', '.join(unknown)}: no stored rows to time them)" if unknown else "")
          + "; the stored rows' seconds come from the machine and meta-dataset they ran on.")


def reproduce(rows: list[dict], rankings: dict, meta_path: str, s: dict, n: int) -> None:
    """Re-run up to ``n`` stored rows in this process and say whether their trajectories come out the same."""
    ht._init_run_worker(meta_path)
    meta = ht._RUN["meta"]
    picked, seen = [], set()
    for r in sorted(rows, key=lambda r: (r["seed"], r["task"])):
        if r["method"] not in seen and len(picked) < n:
            seen.add(r["method"])
            picked.append(r)
    bad = 0
    for r in picked:
        t = meta.task_names.index(r["task"])
        P = r["protocol"] if r["protocol"] != "none" else "loto"
        ranking = rankings.get(P, {}).get(r["task"]) if METHODS[r["method"]]["knowledge"] == "hyperstar" else None
        if r.get("hash_seed") != os.environ.get("PYTHONHASHSEED"):
            print(f"(made under another str hash seed, {r.get('hash_seed')!r}: SMAC3's proposals may differ) ", end="")
        again = _run_job(r["method"], P, t, r["seed"], ranking, s)
        same = again["steps"] == r["steps"] and again["total_epochs"] == r["total_epochs"]
        bad += not same
        print(f"{'same' if same else 'DIFFERENT'}: {r['method']} / {r['protocol']} / {r['task']} / seed {r['seed']}")
    print(f"hpo_peers: {len(picked) - bad} of {len(picked)} rows reproduced exactly.")
    if bad:
        raise SystemExit(1)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", default=None, help="meta-dataset folder (default: the shipped one)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--peer-seeds", type=int, default=None, metavar="K",
                        help="only seeds 0..K-1 for the expensive peers (" + ", ".join(EXPENSIVE) + "); the report "
                             "says so (default: --seeds for every method)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the runs still to do and their estimated process-hours (from the stored rows' "
                             "seconds per method), and exit; works on a meta-dataset still being built")
    parser.add_argument("--tasks", type=int, default=None, help="only N held-out tasks, evenly spread (quick checks)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--protocols", nargs="*", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--budget", type=int, default=None, help="total epochs per run (default: half of all)")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--name", default="hpo_peers")
    parser.add_argument("--refit", action="store_true", help="refit the cached rankings (after changing the recommender)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--reproduce", type=int, default=0, metavar="N",
                        help="re-run N finished rows from scratch (one per method, spread over tasks and seeds), "
                             "compare them with the stored ones and exit")
    args = parser.parse_args()
    if args.peer_seeds is not None and args.peer_seeds < 1:
        parser.error(f"--peer-seeds must be at least 1 (got {args.peer_seeds})")
    if args.dry_run and (args.report_only or args.reproduce):
        parser.error("--dry-run sizes a run; it does not go with --report-only or --reproduce")

    # sizing needs only the task list: a meta-dataset still being built can be sized for its finished form
    meta = load_meta_dataset(args.meta, allow_incomplete=args.dry_run)
    meta_path = str(meta.path)
    budget = args.budget or int(meta.n_configs * meta.max_budget // 2)
    tasks = list(range(meta.n_tasks)) if args.tasks is None else \
        sorted({int(round(x)) for x in np.linspace(0, meta.n_tasks - 1, max(1, min(args.tasks, meta.n_tasks)))})
    s = {"budget": budget, "min_budget": 1.0, "max_budget": meta.max_budget, "eta": 3.0, "optuna_enqueue": K_INITIAL,
         "meta": ht.meta_fingerprint(meta), "rec": ht.rec_params(meta, None), "accounting": 2}
    run_key = ht.settings_key(s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / f"{args.name}_rows.jsonl"
    command = "python benchmarks/hpo_peers.py " + " ".join(a for a in sys.argv[1:] if a != "--report-only")

    if args.dry_run:  # before the rankings are fitted: sizing needs none, and writes nothing
        done = {(r["method"], r["protocol"], r["task"], r["seed"]) for r in read_records(rows_path)
                if r.get("settings") == run_key}
        jobs = sorted({(seed, t, m, protocol_of(m, P)) for m in args.methods
                       for seed in range(seeds_of(m, args.seeds, args.peer_seeds)) for t in tasks
                       for P in args.protocols if (m, protocol_of(m, P), meta.task_names[t], seed) not in done})
        dry_run(jobs, read_records(rows_path), len(tasks), args.workers)
        return
    rankings: dict[str, dict[str, list[int]]] = {}
    needs = any(METHODS[m]["knowledge"] == "hyperstar" for m in args.methods)
    for P in args.protocols:
        if not needs:
            break
        if args.report_only:
            rankings[P] = (ht.cached_rankings(meta, out, None) if P == "loto" else
                           json.loads((out / RANKINGS_FILE).read_text())["entries"].get(
                               f"{s['meta']}-{ht.settings_key(s['rec'])}-lofo", {}).get("rankings", {})
                           if (out / RANKINGS_FILE).is_file() else {})
        elif P == "loto":
            rankings[P] = ht.hyperstar_rankings(meta, meta_path, tasks, out, args.workers, None, args.refit)
        else:
            rankings[P] = lofo_rankings(meta, meta_path, out, args.workers, args.refit)
    hashes = {P: {name: ht.ranking_hash(o) for name, o in r.items()} for P, r in rankings.items()}

    names = {meta.task_names[t] for t in tasks}

    def finished() -> list[dict]:
        """The valid rows of the tasks and seeds asked for (``--tasks``, ``--seeds``; ``--peer-seeds`` for the
        expensive peers: every method on the same tasks, and on the same seeds up to its own count)."""
        rows = {}
        for r in read_records(rows_path):
            if r.get("settings") != run_key or r["method"] not in METHODS or r["task"] not in names \
                    or r["seed"] >= seeds_of(r["method"], args.seeds, args.peer_seeds):
                continue
            if METHODS[r["method"]]["knowledge"] == "hyperstar" and \
                    r.get("ranking_hash") != hashes.get(r["protocol"], {}).get(r["task"], r.get("ranking_hash")):
                continue  # ran with a ranking that has since been refitted
            rows[(r["method"], r["protocol"], r["task"], r["seed"])] = r
        return list(rows.values())

    if args.reproduce:
        reproduce(finished(), rankings, meta_path, s, args.reproduce)
        return
    if not args.report_only:
        done = {(r["method"], r["protocol"], r["task"], r["seed"]) for r in finished()}
        jobs = sorted({(seed, t, m, protocol_of(m, P)) for m in args.methods
                       for seed in range(seeds_of(m, args.seeds, args.peer_seeds)) for t in tasks
                       for P in args.protocols if (m, protocol_of(m, P), meta.task_names[t], seed) not in done})
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MKL_NUM_THREADS", "1")
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        from tqdm.auto import tqdm

        print(f"hpo_peers: {len(jobs)} runs to do ({len(done)} done), budget {budget} epochs, {args.workers} processes",
              file=sys.stderr)
        start = time.monotonic()
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn"),
                                 initializer=ht._init_run_worker, initargs=(meta_path,)) as pool:
            futures = {}
            for seed, t, m, P in jobs:
                ranking = rankings[P][meta.task_names[t]] if METHODS[m]["knowledge"] == "hyperstar" else None
                futures[pool.submit(_run_job, m, P, t, seed, ranking, s)] = m
            tty = sys.stderr.isatty()
            for n, fut in enumerate(tqdm(as_completed(futures), total=len(futures), desc="hpo runs", disable=not tty), 1):
                row = fut.result()
                row["settings"] = run_key
                row["hash_seed"] = os.environ.get("PYTHONHASHSEED")  # SMAC3 proposes by it (bench_common)
                if METHODS[row["method"]]["knowledge"] == "hyperstar":
                    row["ranking_hash"] = hashes[row["protocol"]][row["task"]]
                append_record(rows_path, row)
                if not tty and (n % 50 == 0 or n == len(futures)):
                    el = time.monotonic() - start
                    print(f"hpo_peers: {n}/{len(futures)} runs, {el / 60:.1f} min, about "
                          f"{el / n * (len(futures) - n) / 60:.0f} min left", file=sys.stderr, flush=True)
    result = report(meta, finished(), args.methods, args.protocols, tasks, args.seeds, s, out, args.name, command,
                    args.peer_seeds)
    print((out / f"{args.name}.md").read_text())
    if result["partial"]:
        print(f"hpo_peers: partial ({result['n_runs']} of {result['expected']} runs).", file=sys.stderr)


if __name__ == "__main__":
    from bench_common import fixed_hash_seed, run_main

    fixed_hash_seed()  # the peers' proposals (SMAC3's) depend on the str hash seed
    run_main(main)

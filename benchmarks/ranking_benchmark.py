"""Ranking benchmark: leave one task out, train on the rest, rank the held-out task's configurations.

Run:  .venv/bin/python benchmarks/ranking_benchmark.py [--meta PATH] [--seeds 3] [--out benchmarks/results]

For every task of the meta-dataset and every seed, each method orders the meta-dataset's
configurations for the held-out task (never seeing its results, except the oracle). Metrics,
against the held-out task's final validation accuracy:

* configs-to-best: how many configurations are evaluated in ranked order until the task's best
  (highest final accuracy) is among them (1 = the top pick is the best);
* regret@1 / regret@3: accuracy points (x100) of the best minus the best of the top 1 / 3;
* NDCG@10 with gains (acc - min) / (max - min); Spearman between the order and the accuracies.

Also measures speed: time to recommend for a new 1000-image folder on CPU (decoding, features and
scoring included) and the encoder's images/s. Writes ranking_benchmark.json / .md / .png.
Resumable: finished (method, task, seed) rows are kept in ranking_benchmark_rows.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar.ranking.baselines import AverageRank, NearestNeighbors, Oracle, RandomOrder  # noqa: E402
from hyperstar.meta.dataset import append_record, load_meta_dataset, read_records  # noqa: E402
from hyperstar.ranking.recommender import Recommender  # noqa: E402

HYPERSTAR_VARIANTS = {
    "hyperstar_stats": dict(encoder="stats"),
    "hyperstar_attention": dict(encoder="attention"),
    "hyperstar_stats_no_similarity": dict(encoder="stats", similarity_weight=0.0),
}


def metrics(order: np.ndarray, acc: np.ndarray) -> dict[str, float]:
    best = acc.max()
    pos = int(np.flatnonzero(acc[order] >= best - 1e-12)[0]) + 1
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
        "regret_at_1": float(100 * (best - acc[order[0]])),
        "regret_at_3": float(100 * (best - acc[order[:3]].max())),
        "ndcg_at_10": ndcg,
        "spearman": float(rho) if np.isfinite(rho) else 0.0,
    }


def cached_features(meta, rec_kwargs):
    """Backbone features of every task, computed once and shared by all folds."""
    from hyperstar.suite import make_task

    probe = Recommender(**rec_kwargs)
    probe.backbone_ = probe._feature_backbone()
    feats = {}
    for name, recipe in zip(meta.task_names, meta.recipes):
        feats[name] = probe._task_features(make_task(recipe), key=name)
    return probe, feats


def speed(meta, rec: Recommender, n_images: int = 1000, repeats: int = 3) -> dict[str, float]:
    """Seconds to recommend for a new 1000-image PNG folder on CPU, and encoder images/s."""
    import torch
    from PIL import Image

    from hyperstar.data import Task
    from hyperstar.suite import TaskRecipe, make_task

    task = make_task(TaskRecipe("shapes", {"n_classes": 10, "per_class": n_images // 10, "color": "color"}, seed=99))
    with tempfile.TemporaryDirectory() as tmp:
        imgs = task.images(np.arange(len(task))).permute(0, 2, 3, 1).numpy()
        for i, (img, y) in enumerate(zip(imgs, task.labels)):
            d = Path(tmp) / f"class_{y}"
            d.mkdir(exist_ok=True)
            Image.fromarray(img).save(d / f"{i}.png")
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            folder = Task.from_folder(tmp, resolution=32)
            rec.recommend(folder, k=10)
            times.append(time.perf_counter() - t0)
    x = task.images(np.arange(len(task)))
    ex = rec._extractor()
    ex.features(x[:64])
    t0 = time.perf_counter()
    ex.features(x)
    feat_s = time.perf_counter() - t0
    return {"recommend_1000_images_s_median": float(np.median(times)), "recommend_s_all": times,
            "encoder_images_per_s": float(len(x) / feat_s), "torch_threads": torch.get_num_threads()}


_WORKER: dict = {}


def _load(meta_path, complete_only):
    meta = load_meta_dataset(meta_path, allow_incomplete=complete_only)
    if complete_only:
        meta = meta.subset(np.flatnonzero(np.isfinite(meta.curves).all(axis=(1, 2))))
    return meta


def _init_worker(meta_path, complete_only, feats) -> None:
    import torch

    torch.set_num_threads(1)  # small models: one thread per process beats oversubscription
    _WORKER["meta"] = _load(meta_path, complete_only)
    _WORKER["feats"] = feats


def _fit_and_rank(t: int, seed: int, variant: str, steps: int | None):
    from hyperstar.suite import make_task

    meta, feats = _WORKER["meta"], _WORKER["feats"]
    train = meta.subset([i for i in range(meta.n_tasks) if i != t])
    kwargs = dict(HYPERSTAR_VARIANTS[variant], seed=seed)
    if steps:
        kwargs["steps"] = steps
    t0 = time.perf_counter()
    rec = Recommender(**kwargs).fit(train, features=feats)
    scores, _ = rec.score(make_task(meta.recipes[t]), meta.configs, seed=seed)
    return np.argsort(-scores, kind="stable"), time.perf_counter() - t0


def summarize(rows):
    by = {}
    for r in rows:
        by.setdefault(r["method"], []).append(r)
    out = {}
    for m, rs in by.items():
        ctb = np.array([r["configs_to_best"] for r in rs])
        out[m] = {
            "n": len(rs),
            "configs_to_best_mean": float(ctb.mean()),
            "configs_to_best_median": float(np.median(ctb)),
            "regret_at_1_mean": float(np.mean([r["regret_at_1"] for r in rs])),
            "regret_at_3_mean": float(np.mean([r["regret_at_3"] for r in rs])),
            "ndcg_at_10_mean": float(np.mean([r["ndcg_at_10"] for r in rs])),
            "spearman_mean": float(np.mean([r["spearman"] for r in rs])),
        }
    return out


def plot(summary, rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = sorted(summary, key=lambda m: summary[m]["configs_to_best_mean"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    data = [[r["configs_to_best"] for r in rows if r["method"] == m] for m in methods]
    axes[0].boxplot(data, orientation="horizontal", showmeans=True)
    axes[0].set_yticks(range(1, len(methods) + 1), methods, fontsize=8)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("configurations evaluated until the task's best (log)")
    axes[1].barh(methods, [summary[m]["regret_at_1_mean"] for m in methods], label="regret@1")
    axes[1].barh(methods, [summary[m]["regret_at_3_mean"] for m in methods], label="regret@3", alpha=0.7)
    axes[1].set_xlabel("accuracy points below the task's best (mean)")
    axes[1].legend()
    axes[1].tick_params(axis="y", labelsize=8)
    fig.suptitle("Leave-one-task-out configuration ranking")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=["hyperstar_stats", "hyperstar_attention"],
                        choices=list(HYPERSTAR_VARIANTS))
    parser.add_argument("--workers", type=int, default=2, help="parallel processes for the recommender fits")
    parser.add_argument("--steps", type=int, default=None, help="override the recommender's training steps")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--fresh", action="store_true", help="ignore rows of an earlier run")
    parser.add_argument("--complete-tasks-only", action="store_true",
                        help="use the complete tasks of a meta-dataset still being built")
    args = parser.parse_args()
    meta = _load(args.meta, args.complete_tasks_only)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "ranking_benchmark_rows.jsonl"
    if args.fresh and rows_path.exists():
        rows_path.unlink()
    done = {(r["method"], r["task"], r["seed"]) for r in read_records(rows_path)}
    acc = meta.final_acc
    probe, feats = cached_features(meta, {})
    from tqdm.auto import tqdm

    for t in range(meta.n_tasks):  # baselines: cheap, in this process
        name = meta.task_names[t]
        train = meta.subset([i for i in range(meta.n_tasks) if i != t])
        orders = {f"random@{s}": RandomOrder(seed=s).fit(train).order() for s in range(args.seeds)}
        orders["average_rank@0"] = AverageRank().fit(train).order()
        orders["knn_meta_features@0"] = NearestNeighbors(k=3).fit(train).order(meta.descriptors[t])
        orders["oracle@0"] = Oracle().fit(train).order(true_acc=acc[t])
        for key, order in orders.items():
            method, seed = key.split("@")
            if (method, name, int(seed)) not in done:
                append_record(rows_path, {"method": method, "task": name, "family": meta.families[t], "seed": int(seed),
                                          **metrics(order, acc[t])})
    jobs = [(t, seed, v) for seed in range(args.seeds) for t in range(meta.n_tasks) for v in args.variants
            if (v, meta.task_names[t], seed) not in done]
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context


    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(args.meta, args.complete_tasks_only, feats)) as pool:
        futures = {pool.submit(_fit_and_rank, t, seed, variant, args.steps): (t, seed, variant)
                   for t, seed, variant in jobs}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="leave-one-task-out",
                        disable=not sys.stderr.isatty()):
            t, seed, variant = futures[fut]
            order, seconds = fut.result()
            append_record(rows_path, {"method": variant, "task": meta.task_names[t], "family": meta.families[t],
                                      "seed": seed, **metrics(order, acc[t]), "fit_seconds": seconds})
    rows = read_records(rows_path)
    summary = summarize(rows)
    full_rec = Recommender(seed=0).fit(meta, features=feats)
    full_rec._extractor_cache = probe._extractor()
    perf = speed(meta, full_rec)
    result = {
        "command": "python benchmarks/ranking_benchmark.py " + " ".join(sys.argv[1:]),
        "meta_dataset": meta.info(),
        "n_seeds": args.seeds,
        "summary": summary,
        "speed_cpu": perf,
    }
    (out / "ranking_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(summary, rows, out / "ranking_benchmark.png")
    avg = summary["average_rank"]
    lines = [
        "# Leave-one-task-out ranking benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"{meta.n_tasks} tasks x {meta.n_configs} configurations ({meta.max_budget} epochs); "
        f"{args.seeds} seeds for the seeded methods (random, hyperstar variants), one row per task for the "
        "deterministic ones. Lower is better for configs-to-best and regret (accuracy points).",
        "",
        "| method | configs-to-best mean | median | regret@1 | regret@3 | NDCG@10 | Spearman |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in sorted(summary, key=lambda m: summary[m]["configs_to_best_mean"]):
        s = summary[m]
        lines.append(f"| {m} | {s['configs_to_best_mean']:.2f} | {s['configs_to_best_median']:.1f} | "
                     f"{s['regret_at_1_mean']:.2f} | {s['regret_at_3_mean']:.2f} | {s['ndcg_at_10_mean']:.3f} | "
                     f"{s['spearman_mean']:.3f} |")
    lines += ["", "Goals (issue): configs-to-best at most half of the average-rank portfolio's "
              f"({avg['configs_to_best_mean'] / 2:.2f}) and at most a tenth of random's "
              f"({summary['random']['configs_to_best_mean'] / 10:.2f}); regret@1 below the portfolio's "
              f"({avg['regret_at_1_mean']:.2f}).", "",
              f"Speed (CPU, {perf['torch_threads']} threads): recommending for a new 1000-image PNG folder takes "
              f"{perf['recommend_1000_images_s_median']:.2f} s (decoding + features + scoring); the encoder "
              f"backbone runs at {perf['encoder_images_per_s']:.0f} images/s.", "",
              "![ranking](ranking_benchmark.png)", ""]
    (out / "ranking_benchmark.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Which cheap task evidence tells tasks apart usefully, leave one family out (no network trained).

Run:  .venv/bin/python benchmarks/task_evidence.py [--meta PATH] [--out benchmarks/results]

For each representation of a task (z-scored meta-features; mean and spread of the frozen backbone's
features over the task's images; class separability of those features: leave-one-out nearest-centroid
accuracy and the between/within class variance ratio; and combinations), and each family held out:

* neighbour ranking: the held-out task's configurations ordered by the kernel-weighted mean of the other
  families' per-task z-scored accuracies (``hyperstar.ranking.fallback``, tau = 1), and by the mean rank of
  its 3 nearest tasks (the kNN baseline's rule) - regret@1 / regret@3 in accuracy points (truth: seed mean);
* familiarity: how well the calibrated familiarity (``FamiliarityModel``, fitted on the other families)
  separates the held-out family's tasks (unseen family) from tasks that have a sibling in meta-training
  (each task of the other families, scored against the meta-training tasks without itself): the AUC.

Writes task_evidence.{json,md}. This chooses the fallback's representation (in-sample for that choice:
say so wherever it is quoted); nothing here tunes the gate, which inner cross-validation chooses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hyperstar.meta.analysis import average_rank_order  # noqa: E402
from hyperstar.meta.dataset import load_meta_dataset  # noqa: E402
from hyperstar.ranking.fallback import (FamiliarityModel, neighbour_scores, neighbour_weights, portfolio_scores,  # noqa: E402
                                        regrets, task_z)
from ranking_stats import seed_mean_truth  # noqa: E402


def separability(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out nearest-centroid accuracy and log between/within class variance ratio of features ``f``."""
    classes = np.unique(y)
    cent = np.stack([f[y == c].mean(0) for c in classes])
    counts = np.array([(y == c).sum() for c in classes])
    correct = 0
    for i in range(len(f)):
        c = np.searchsorted(classes, y[i])
        own = cent.copy()
        if counts[c] > 1:
            own[c] = (cent[c] * counts[c] - f[i]) / (counts[c] - 1)
        correct += int(np.argmin(((own - f[i]) ** 2).sum(1)) == c)
    within = np.mean([f[y == c].var(0).sum() for c in classes])
    between = cent.var(0).sum()
    return np.array([correct / len(f), np.log((between + 1e-9) / (within + 1e-9))])


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a sibling's familiarity > an unseen family's), ties half."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meta", default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from ranking_benchmark import cached_features

    meta = load_meta_dataset(args.meta)
    truth, _, _ = seed_mean_truth(meta)
    _, feats = cached_features(meta, {})
    F = [feats[n][0] for n in meta.task_names]
    Y = [feats[n][1] for n in meta.task_names]
    blocks = {
        "descriptors": meta.descriptors,
        "feature_stats": np.stack([np.concatenate([f.mean(0), f.std(0)]) for f in F]),
        "separability": np.stack([separability(f, y) for f, y in zip(F, Y)]),
    }
    reps = {
        "descriptors": ["descriptors"],
        "feature_stats": ["feature_stats"],
        "descriptors + feature_stats (shipped)": ["descriptors", "feature_stats"],
        "descriptors + separability": ["descriptors", "separability"],
        "descriptors + feature_stats + separability": ["descriptors", "feature_stats", "separability"],
    }
    fam = np.asarray(meta.families)
    results = {}
    for name, parts in reps.items():
        X = np.hstack([blocks[b] for b in parts])
        sizes = [blocks[b].shape[1] for b in parts]
        r_kernel, r_knn, r_port, fam_unseen, fam_sibling = [], [], [], [], []
        for f in sorted(set(meta.families)):
            train = np.flatnonzero(fam != f)
            test = np.flatnonzero(fam == f)
            model = FamiliarityModel().fit(X[train], fam[train], sizes)
            z = task_z(meta.final_acc[train])
            p = portfolio_scores(meta.final_acc[train])
            for t in test:
                d = model.distances(X[t])
                fam_unseen.append(model.familiarity(float(d.min())))
                r_kernel.append(regrets(neighbour_scores(z, neighbour_weights(d, model.scale_, 1.0)), truth[t]))
                near = train[np.argsort(d, kind="stable")[:3]]
                order = average_rank_order(meta.final_acc[near])
                score = np.empty(meta.n_configs)
                score[order] = -np.arange(meta.n_configs)
                r_knn.append(regrets(score, truth[t]))
                r_port.append(regrets(p, truth[t]))
            for t in train:  # a task whose siblings are in meta-training (itself left out)
                others = train[train != t]
                if (fam[others] == fam[t]).any():
                    m2 = FamiliarityModel().fit(X[others], fam[others], sizes)
                    fam_sibling.append(m2.familiarity(float(m2.distances(X[t]).min())))
        results[name] = {
            "kernel_regret_at_1": float(np.mean([r[0] for r in r_kernel])),
            "kernel_regret_at_3": float(np.mean([r[1] for r in r_kernel])),
            "knn3_regret_at_1": float(np.mean([r[0] for r in r_knn])),
            "knn3_regret_at_3": float(np.mean([r[1] for r in r_knn])),
            "portfolio_regret_at_1": float(np.mean([r[0] for r in r_port])),
            "portfolio_regret_at_3": float(np.mean([r[1] for r in r_port])),
            "familiarity_unseen_family_mean": float(np.mean(fam_unseen)),
            "familiarity_sibling_mean": float(np.mean(fam_sibling)),
            "familiarity_auc_sibling_vs_unseen": auc(fam_sibling, fam_unseen),
        }
    command = "python benchmarks/task_evidence.py " + " ".join(sys.argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "task_evidence.json").write_text(json.dumps({"command": command, "meta_dataset": meta.info(),
                                                        "results": results}, indent=2) + "\n")
    lines = ["# Task evidence, leave one family out (no network)", "", f"Command: `{command}`  ", "",
             f"{meta.n_tasks} tasks in {len(set(meta.families))} families x {meta.n_configs} configurations; truth = seed "
             "mean. Neighbour rankings use only the other families' tasks; the familiarity AUC is the chance that a task "
             "with siblings in meta-training gets a higher familiarity than a task of an unseen family (1 = always, "
             "0.5 = no better than chance). Chooses the fallback's representation: in-sample for that choice.", "",
             "| representation | kernel neighbours r@1 / r@3 | 3-NN mean rank r@1 / r@3 | portfolio r@1 / r@3 | "
             "familiarity: sibling / unseen family (mean) | AUC |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['kernel_regret_at_1']:.2f} / {r['kernel_regret_at_3']:.2f} | "
                     f"{r['knn3_regret_at_1']:.2f} / {r['knn3_regret_at_3']:.2f} | {r['portfolio_regret_at_1']:.2f} / "
                     f"{r['portfolio_regret_at_3']:.2f} | {r['familiarity_sibling_mean']:.2f} / "
                     f"{r['familiarity_unseen_family_mean']:.2f} | {r['familiarity_auc_sibling_vs_unseen']:.3f} |")
    lines.append("")
    (out / "task_evidence.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

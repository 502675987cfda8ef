"""Analysis of a meta-dataset: what the data says about fine-tuning hyperparameters across tasks.

Run:  .venv/bin/python benchmarks/metadata_analysis.py [META_PATH] [--out benchmarks/results]

Writes metadata_analysis.json, metadata_analysis.md and metadata_heatmap.png (tasks x
configurations, final validation accuracy normalised per task). Only complete tasks are analysed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar.meta.analysis import analyze_meta_dataset, average_rank_order  # noqa: E402
from hyperstar.meta.dataset import load_meta_dataset  # noqa: E402


def _safe(obj):
    if isinstance(obj, float):
        return round(obj, 5) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_safe(v) for v in obj]
    return obj


def heatmap(meta, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = np.isfinite(meta.curves).all(axis=(1, 2))
    acc = meta.final_acc[full]
    names = [n for n, f in zip(meta.task_names, full) if f]
    z = (acc - acc.mean(axis=1, keepdims=True)) / (acc.std(axis=1, keepdims=True) + 1e-9)
    order = average_rank_order(acc)
    fig, ax = plt.subplots(figsize=(max(8, 0.14 * acc.shape[1] + 3), max(4, 0.28 * len(names) + 1.5)))
    im = ax.imshow(z[:, order], aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("configuration (sorted by average rank over tasks, best left)")
    ax.set_title("Final validation accuracy, z-scored per task")
    fig.colorbar(im, ax=ax, label="z-score within task")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    meta = load_meta_dataset(args.path)
    result = {"meta_dataset": meta.info(), "analysis": analyze_meta_dataset(meta),
              "command": "python benchmarks/metadata_analysis.py" + (f" {args.path}" if args.path else "")}
    result = _safe(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metadata_analysis.json").write_text(json.dumps(result, indent=2) + "\n")
    heatmap(meta, out / "metadata_heatmap.png")
    a, info = result["analysis"], result["meta_dataset"]
    lines = [
        "# Meta-dataset analysis",
        "",
        f"Command: `{result['command']}`  ",
        f"{info['n_tasks']} tasks ({a['n_tasks_analysed']} complete) x {info['n_configs']} configurations x "
        f"{info['max_budget']} epochs; backbone {info['backbone']}; {info['compute_hours']:.2f} CPU-hours of fine-tuning.",
        "",
        "| figure | value |",
        "|---|---:|",
    ]
    for key, label in [
        ("mean_pairwise_spearman", "mean pairwise Spearman of configuration rankings across tasks"),
        ("distinct_best_configs", "distinct configurations that are best on some task"),
        ("mean_best_minus_median", "best minus median configuration (accuracy, mean over tasks)"),
        ("mean_best_minus_default", "best minus the common-practice default (mean over tasks)"),
        ("loto_avg_rank_regret_at_1", "average-rank portfolio regret@1, leave-one-task-out (headroom)"),
        ("loto_avg_rank_regret_at_3", "average-rank portfolio regret@3, leave-one-task-out"),
        ("mean_spearman_epoch1_vs_final", "Spearman of epoch-1 vs final accuracy (mean over tasks)"),
        ("mean_spearman_epoch3_vs_final", "Spearman of epoch-3 vs final accuracy (mean over tasks)"),
        ("seed_noise_mean_abs_diff", "seed-to-seed |difference| in final accuracy"),
        ("seed_noise_spearman", "seed-to-seed Spearman over noise cells"),
        ("diverged_fraction", "fraction of diverged runs"),
    ]:
        v = a.get(key)
        lines.append(f"| {label} | {'n/a' if v is None else (f'{v:.3f}' if isinstance(v, float) else v)} |")
    lines += ["", "## Per task", "", "| task | family | best acc | best config | median | default | best-default |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for p in a["per_task"]:
        lines.append(f"| {p['task']} | {p['family']} | {p['best_acc']:.3f} | c{p['best_config']:04d} | "
                     f"{p['median_acc']:.3f} | {p['default_acc']:.3f} | {p['best_minus_default']:+.3f} |")
    lines += ["", "![heatmap](metadata_heatmap.png)", ""]
    (out / "metadata_analysis.md").write_text("\n".join(lines))
    print("\n".join(lines[:20]))


if __name__ == "__main__":
    main()

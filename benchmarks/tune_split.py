"""Where a ``tune`` run's wall time goes: training, evaluation, checkpoints, job set-up and coordination.

Run:  .venv/bin/python benchmarks/tune_split.py [--task mnist-4c-100s-noisy] [--workers 2] [--device auto]
          [--max-budget 9] [--iterations 3] [--backbone smallcnn] [--out DIR] [--stem tune_split_cpu]

Runs the real ``tune`` (task-aware Hyperband, worker processes, hpbandster and Pyro) on a shipped
task (rebuilt from its recipe) and splits the run's wall time W with the timings each job reports
(``info["timings"]``, from ``fine_tune``): summed over jobs and divided by the number of workers,
*training*, *evaluation* (validation each epoch, and test at the end), *checkpoints* (save and
load), *job set-up* (building the model, moving the data); *coordination* is the rest, W - the
jobs' wall time / workers: starting the nameserver and the worker processes, the master's
scheduling, Pyro, idle workers waiting for a bracket to finish. Writes <stem>.json, .md and .png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_common import header, load_text, run_meta, write_json  # noqa: E402

from hyperstar import load_meta_dataset  # noqa: E402
from hyperstar.hpo import tune  # noqa: E402
from hyperstar.hpo.log import read_log  # noqa: E402
from hyperstar.suite import make_task  # noqa: E402

PARTS = ("training", "evaluation", "checkpoints", "job set-up", "coordination")


def split_run(run_dir: Path, wall: float, workers: int) -> dict:
    """The run's wall time split into PARTS (seconds of run time: job sums divided by the workers)."""
    _, results = read_log(run_dir)
    sums = {"train": 0.0, "eval": 0.0, "test": 0.0, "wise_ft": 0.0, "checkpoint_load": 0.0, "checkpoint_save": 0.0,
            "setup": 0.0}
    job_wall, jobs = 0.0, 0
    for _, _, _, result, _ in results:
        info = (result or {}).get("info") or {}
        t = info.get("timings")
        if not t:
            continue
        jobs += 1
        job_wall += float(info.get("wall_time") or 0.0)
        for k in sums:
            sums[k] += float(t.get(k, 0.0))
    w = max(workers, 1)
    parts = {"training": sums["train"] / w, "evaluation": (sums["eval"] + sums["test"] + sums["wise_ft"]) / w,
             "checkpoints": (sums["checkpoint_load"] + sums["checkpoint_save"]) / w}
    parts["job set-up"] = (job_wall - sum(sums.values())) / w + sums["setup"] / w
    parts["coordination"] = wall - job_wall / w
    return {"wall_s": wall, "jobs": jobs, "job_wall_s": job_wall, "parts_s": parts,
            "shares": {k: v / wall for k, v in parts.items()}, "sums_s": sums}


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 1.8 + 0.6 * len(rows)))
    colors = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#999999"]
    for i, r in enumerate(rows):
        left = 0.0
        for part, color in zip(PARTS, colors):
            v = r["parts_s"][part]
            ax.barh(i, v, left=left, color=color, label=part if i == 0 else None)
            left += v
    ax.set_yticks(range(len(rows)), [f"{r['workers']} worker(s)" for r in rows])
    ax.set_xlabel("seconds of the run's wall time")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, ncol=5, loc="lower center", bbox_to_anchor=(0.5, 1.12), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist-4c-100s-noisy", help="a shipped task's name")
    parser.add_argument("--workers", default="2", help="comma-separated worker counts, one run each")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backbone", default="smallcnn")
    parser.add_argument("--max-budget", type=int, default=9)
    parser.add_argument("--iterations", type=int, default=3, help="Hyperband iterations (3 = one round at eta 3)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--stem", default="tune_split_cpu")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md and .png from the .json")
    args = parser.parse_args(argv)
    if args.report_only:
        stored = json.loads((Path(args.out) / f"{args.stem}.json").read_text())
        report(stored["meta"], stored["rows"], Path(args.out), args.stem)
        return
    meta = load_meta_dataset()
    if args.task not in meta.task_names:
        raise SystemExit(f"tune_split.py: unknown task {args.task!r}; shipped tasks: {', '.join(meta.task_names)}")
    task = make_task(meta.recipes[meta.task_names.index(args.task)])
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            run_dir = Path(folder) / "run"
            t0 = time.perf_counter()
            res = tune(task, "hb", meta=meta, min_budget=1, max_budget=args.max_budget, eta=3,
                       n_iterations=args.iterations, n_workers=workers, run_dir=run_dir, device=args.device,
                       backbone=args.backbone, weights="auto" if args.backbone.startswith("smallcnn") else None,
                       seed=0, plot=False)
            wall = time.perf_counter() - t0
            row = {"workers": workers, **split_run(run_dir, wall, workers), "n_jobs": res.n_jobs,
                   "total_epochs": res.total_epochs, "val_acc": res.val_acc}
        rows.append(row)
        print(f"{workers} worker(s): {wall:.1f} s, {row['jobs']} jobs; "
              + ", ".join(f"{k} {100 * v:.0f}%" for k, v in row["shares"].items()), flush=True)
    meta_info = run_meta("tune_split.py", argv, torch=torch.__version__, device=args.device,
                         cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, task=args.task,
                         n_images=len(task), backbone=args.backbone, max_budget=args.max_budget,
                         iterations=args.iterations)
    out = write_json(Path(args.out), args.stem, meta_info, rows).parent
    report(meta_info, rows, out, args.stem)
    if not all(np.isfinite(r["wall_s"]) and r["jobs"] > 0 for r in rows):
        raise SystemExit("tune_split.py: a run finished no job")


def report(meta_info: dict, rows: list[dict], out: Path, stem: str) -> None:
    m = meta_info
    lines = [*header(f"Where a tune run's time goes ({m['task']}, {m['n_images']} images, {m['backbone']}, device "
                     f"{m['device']})", m),
             f"Task-aware Hyperband, budgets 1-{m['max_budget']} epochs, eta 3, {m['iterations']} iterations, worker "
             f"processes; {m['cpu_count']} CPUs, load average at the end {load_text(m)} (shared machine). On the "
             f"CPU, tune gives each worker process cpu_count / workers torch threads ({m['cpu_count']} with one "
             "worker, 1 each with two): on a loaded 2-core machine two threads per process contend with the other "
             "processes, which is what the one-worker run's training time shows. Seconds of the run's wall time: "
             "job timings summed over jobs and divided by the workers; coordination = wall - jobs' wall / workers "
             "(start-up of nameserver and workers, scheduling, Pyro, idle workers).", "",
             "| workers | wall (s) | jobs | " + " | ".join(PARTS) + " |",
             "|---:|---:|---:|" + "---:|" * len(PARTS)]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['wall_s']:.1f} | {r['jobs']} | "
                     + " | ".join(f"{r['parts_s'][p]:.1f} s ({100 * r['shares'][p]:.0f}%)" for p in PARTS) + " |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    plot(rows, out / f"{stem}.png", f"tune on {m['task']}: where the wall time goes")
    print(f"wrote {out / stem}.md, .json and .png")


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

"""Checkpoint cost: seconds to save and load a fine-tuning checkpoint, and their share of a job's time.

Run:  .venv/bin/python benchmarks/checkpoint_cost.py [--backbones smallcnn,resnet18] [--images 600] [--repeats 3]
          [--threads 1] [--device auto] [--out DIR]

A Hyperband promotion is two jobs: one to budget b that saves a checkpoint, one that loads it and
continues. Here job 1 trains 1 epoch and saves (the shortest job, so the largest share), job 2
loads it and trains epoch 2, on a task shaped like the shipped ones (32x32 RGB, 10 classes,
``--images`` images, 60% trained on; the shipped tasks have 60 to 1200). The times come from
``fine_tune``'s own split (``result.extra["timings"]``): ``checkpoint_save`` includes capturing the
state, the atomic write and its fsync; ``checkpoint_load`` the read (``weights_only=True``) and the
checks. Share = (save + load) / (wall time of both jobs). Writes checkpoint_cost.json / .md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_common import header, load_text, run_meta, write_json  # noqa: E402
from finetune_throughput import synthetic_task  # noqa: E402

from hyperstar import fine_tune  # noqa: E402
from hyperstar.finetune import resolve_device  # noqa: E402

GOAL_SHARE = 0.05


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default="smallcnn,resnet18")
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    task = synthetic_task(args.images)
    config = {"batch_size": 64, "lr": 0.01}
    rows = []
    for backbone in [b for b in args.backbones.split(",") if b]:
        reps = []
        for r in range(args.repeats + 1):  # the first is a warm-up
            with tempfile.TemporaryDirectory(dir=args.out if Path(args.out).is_dir() else None) as folder:
                path = Path(folder) / "epoch_0001.pt"
                common = dict(max_budget=3, backbone=backbone, weights=None, seed=r, device=device, eval_test=False)
                first = fine_tune(task, config, budget=1, checkpoint_path=path, **common)
                second = fine_tune(task, config, budget=2, resume_from=path, **common)
                size = path.stat().st_size
            t1, t2 = first.extra["timings"], second.extra["timings"]
            rep = {"save_s": t1["checkpoint_save"], "load_s": t2["checkpoint_load"],
                   "job1_wall_s": first.wall_time, "job2_wall_s": second.wall_time, "file_bytes": size,
                   "train_s": t1["train"] + t2["train"]}
            rep["share"] = (rep["save_s"] + rep["load_s"]) / (rep["job1_wall_s"] + rep["job2_wall_s"])
            if r > 0:
                reps.append(rep)
        row = {"backbone": backbone, **{k: float(np.median([x[k] for x in reps])) for k in reps[0]},
               "share_min": min(x["share"] for x in reps), "share_max": max(x["share"] for x in reps),
               "repetitions": reps}
        rows.append(row)
        print(f"{backbone:<9}: save {row['save_s']:.3f} s, load {row['load_s']:.3f} s, "
              f"{row['file_bytes'] / 1e6:.1f} MB, share {100 * row['share']:.1f}%", flush=True)
    meta = run_meta("checkpoint_cost.py", argv, torch=torch.__version__, device=str(device),
                    torch_threads=torch.get_num_threads(), n_images=args.images,
                    n_train_images=len(task.split().train), repeats=args.repeats)
    out = write_json(Path(args.out), "checkpoint_cost", meta, rows).parent
    lines = [*header(f"Checkpoint cost per promoted job ({meta['device']}, {meta['torch_threads']} torch threads)", meta),
        f"torch {meta['torch']}; 32x32 RGB, 10 classes, {meta['n_train_images']} training images, batch 64; job 1 "
        "trains 1 epoch and saves, job 2 loads and trains epoch 2 (validation each epoch, no test). Median of "
        f"{args.repeats} repetitions after a warm-up. Load average at the end: "
        f"{load_text(meta)} (shared machine).", "",
        "| backbone | file | save (s) | load (s) | both jobs (s) | share of the jobs' time | min-max | goal < 5% |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['file_bytes'] / 1e6:.1f} MB | {r['save_s']:.3f} | {r['load_s']:.3f} | "
                     f"{r['job1_wall_s'] + r['job2_wall_s']:.2f} | {100 * r['share']:.1f}% | "
                     f"{100 * r['share_min']:.1f}-{100 * r['share_max']:.1f}% | "
                     f"{'met' if r['share_max'] < GOAL_SHARE else 'not met'} |")
    (out / "checkpoint_cost.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'checkpoint_cost.md'}")


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

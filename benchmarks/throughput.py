"""Throughput of every stage: encoder images/s, recommendation latency, fine-tuning samples/s
(small CNN and resnet18), and hpbandster's overhead per job.

Run:  .venv/bin/python benchmarks/throughput.py [--device auto|cpu|cuda]

Writes throughput_<device>.json / .md under benchmarks/results/. Absolute numbers depend on the
machine (recorded); ratios within one run are the robust figures.

* encoder: images/s of the frozen backbone features the dataset encoder uses (batches of 256);
* recommendation latency: seconds from a Task already in memory to a top-10 list over the default
  candidates (features of up to 600 images, 8 image batches, ~300 candidate configurations);
* fine-tuning: training samples/s of smallcnn and resnet18 at 32x32, batch 128;
* hpbandster overhead: wall seconds per job of the real hpbandster loop (nameserver, master,
  dispatcher, Pyro) when the worker answers from stored curves and costs nothing, compared with
  the seconds one fine-tuning epoch of the smallest shipped task takes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar import Recommender, Task, __version__, fine_tune, load_meta_dataset  # noqa: E402
from hyperstar.finetune import resolve_device  # noqa: E402
from hyperstar.suite import TaskRecipe, make_task  # noqa: E402


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    device = resolve_device(args.device)
    out: dict = {}

    task = make_task(TaskRecipe("shapes", {"n_classes": 10, "per_class": 100, "color": "color"}, seed=99))
    rec = Recommender.default()
    rec.device = str(device)
    ex = rec._extractor()
    x = task.images(np.arange(len(task)))
    ex.features(x[:256])
    sec = _median_time(lambda: ex.features(x), args.repeats)
    out["encoder_images_per_s"] = len(x) / sec

    def recommend():
        fresh = Task.from_arrays(x.permute(0, 2, 3, 1).numpy(), task.labels, name="fresh")
        rec.recommend(fresh, k=10)

    recommend()
    out["recommend_latency_s"] = _median_time(recommend, args.repeats)

    synth = Task.from_arrays(np.random.default_rng(0).integers(0, 256, (1024, 32, 32, 3), dtype=np.uint8),
                             np.arange(1024) % 10, name="synthetic")
    for backbone in ("smallcnn", "resnet18"):
        cfg = {"batch_size": 128, "lr": 0.01}
        fine_tune(synth, cfg, budget=1, backbone=backbone, weights=None, device=device, eval_test=False)
        rates = [fine_tune(synth, cfg, budget=2, backbone=backbone, weights=None, device=device, seed=r,
                           eval_test=False).samples_per_s for r in range(args.repeats)]
        out[f"finetune_{backbone}_samples_per_s"] = float(np.median(rates))
    out["resnet18_over_smallcnn"] = out["finetune_resnet18_samples_per_s"] / out["finetune_smallcnn_samples_per_s"]

    from hyperstar.hpo import run_tabular

    meta = load_meta_dataset()
    per_job = []
    for seed in range(args.repeats):
        t0 = time.perf_counter()
        r = run_tabular(meta, 0, "hb", warm_start=True, seed=seed, n_iterations=3)
        per_job.append((time.perf_counter() - t0) / max(r.n_jobs, 1))
    out["hpbandster_seconds_per_job"] = float(np.median(per_job))
    smallest = min(range(meta.n_tasks), key=lambda t: len(make_task(meta.recipes[t])))
    small = make_task(meta.recipes[smallest])
    epoch = fine_tune(small, {}, budget=1, device=device, eval_test=False).wall_time
    out["smallest_task"] = meta.task_names[smallest]
    out["one_epoch_smallest_task_s"] = epoch
    out["hpbandster_overhead_vs_one_epoch"] = out["hpbandster_seconds_per_job"] / epoch

    meta_info = {"hyperstar": __version__, "torch": torch.__version__, "device": str(device),
                 "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine(),
                 "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                 "date": time.strftime("%Y-%m-%d"),
                 "command": "python benchmarks/throughput.py " + " ".join(sys.argv[1:])}
    result = {"meta": meta_info, "results": out}
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    stem = f"throughput_{device.type}"
    (dest / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# Throughput ({device.type}, {meta_info['device_name']}, {meta_info['torch_threads']} torch threads)", "",
             f"Command: `{meta_info['command']}`  ", f"torch {meta_info['torch']}, median of {args.repeats}.", "",
             "| stage | value |", "|---|---:|",
             f"| encoder backbone features | {out['encoder_images_per_s']:.0f} images/s |",
             f"| recommendation latency (1000 images in memory, top-10 of ~300 candidates) | {out['recommend_latency_s']:.3f} s |",
             f"| fine-tuning smallcnn, 32x32, batch 128 | {out['finetune_smallcnn_samples_per_s']:.0f} samples/s |",
             f"| fine-tuning resnet18, 32x32, batch 128 | {out['finetune_resnet18_samples_per_s']:.0f} samples/s "
             f"({out['resnet18_over_smallcnn']:.2f} x smallcnn) |",
             f"| hpbandster loop overhead per job (stored curves) | {out['hpbandster_seconds_per_job']:.3f} s |",
             f"| one epoch of the smallest shipped task ({out['smallest_task']}) | {out['one_epoch_smallest_task_s']:.3f} s |",
             f"| overhead per job / one such epoch | {out['hpbandster_overhead_vs_one_epoch']:.2f} |", ""]
    (dest / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

"""Fine-tuning throughput (training samples/s) of the small CNN and of resnet18 at 32x32.

Run:  .venv/bin/python benchmarks/finetune_throughput.py [--device auto|cpu|cuda] [--out DIR]

Writes finetune_throughput_<device>.json and .md under benchmarks/results/. Both backbones run in
the same process on the same synthetic task, so the ratio between them is the robust figure;
absolute numbers depend on the machine (recorded in the output).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar import Task, __version__, fine_tune  # noqa: E402
from hyperstar.finetune import resolve_device  # noqa: E402


def synthetic_task(n: int = 1024, classes: int = 10, size: int = 32) -> Task:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return Task.from_arrays(images, np.arange(n) % classes, resolution=size, channels=3, name="synthetic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    task = synthetic_task()
    rows = []
    for backbone in ["smallcnn", "resnet18"]:
        for batch in [32, 128]:
            config = {"batch_size": batch, "lr": 0.01}
            fine_tune(task, config, budget=1, backbone=backbone, weights=None, device=device, eval_test=False)  # warm-up
            rates = []
            for r in range(args.repeats):
                res = fine_tune(task, config, budget=args.epochs, backbone=backbone, weights=None, device=device,
                                seed=r, eval_test=False)
                rates.append(res.samples_per_s)
            rows.append({"backbone": backbone, "batch_size": batch, "samples_per_s_median": float(np.median(rates)),
                         "samples_per_s_all": rates})
            print(f"{backbone:<9} batch {batch:>3}: {np.median(rates):8.0f} samples/s", flush=True)
    base = {r["batch_size"]: r["samples_per_s_median"] for r in rows if r["backbone"] == "smallcnn"}
    for r in rows:
        r["ratio_to_smallcnn"] = r["samples_per_s_median"] / base[r["batch_size"]]
    meta = {
        "hyperstar": __version__,
        "torch": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": __import__("os").cpu_count(),
        "resolution": 32,
        "n_train_images": len(task.split().train),
        "epochs": args.epochs,
        "repeats": args.repeats,
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/finetune_throughput.py " + " ".join(sys.argv[1:]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"finetune_throughput_{device.type}"
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    lines = [
        f"# Fine-tuning throughput ({device.type}, {meta['device_name']}, {meta['torch_threads']} torch threads)",
        "",
        f"Command: `{meta['command']}`  ",
        f"torch {meta['torch']}, 32x32 RGB, {meta['n_train_images']} training images, {args.epochs} epochs, "
        f"median of {args.repeats} runs. Training samples/s (augmentation included, evaluation excluded).",
        "",
        "| backbone | batch size | samples/s | ratio to smallcnn |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['batch_size']} | {r['samples_per_s_median']:.0f} | {r['ratio_to_smallcnn']:.3f} |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / stem}.json and .md")


if __name__ == "__main__":
    main()

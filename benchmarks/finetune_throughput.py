"""Fine-tuning throughput: hyperstar's ``fine_tune`` against a plain PyTorch training loop.

Run:  .venv/bin/python benchmarks/finetune_throughput.py [--device auto|cpu|cuda] [--backbones smallcnn,resnet18]
          [--resolution 32] [--batch-size 128] [--precision auto|bf16|fp32] [--repeats 5] [--out DIR]

The reference is the loop a PyTorch user would write by hand (``plain_loop`` below): the same model
(the same backbone class, weights=None), the same uint8 images kept on the device, the same batch
size, SGD with momentum 0.9 and weight decay 1e-4, a cosine learning rate stepped per batch, the
same per-epoch evaluation on the validation images, and, with augmentation on, the same kind of
batched on-device augmentation (random translation with edge padding, brightness/contrast jitter,
horizontal flips). Both run in one process on one device, interleaved (which one goes first
alternates between repetitions), several repetitions. The figure is the ratio per repetition,
hyperstar / plain, of training samples/s (training steps only) and of whole-run speed (training
plus evaluation, plain wall time / hyperstar wall time), reported as median with IQR and min-max.

Writes ``finetune_throughput_<device>[_<tag>].json`` and ``.md`` under ``--out`` (default
benchmarks/results/). ``--profile`` adds a cProfile of one hyperstar run and one plain run
(``..._profile.txt``), to see what costs the difference.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hyperstar import Task, __version__, fine_tune  # noqa: E402
from hyperstar.finetune import resolve_device  # noqa: E402
from hyperstar.models.backbones import create_backbone  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import command_line, git_commit, load_text  # noqa: E402

AUG_ON = {"augment": 0.25, "hflip": "yes"}
AUG_OFF = {"augment": 0.0, "hflip": "no"}


def synthetic_task(n: int, classes: int = 10, size: int = 32) -> Task:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return Task.from_arrays(images, np.arange(n) % classes, resolution=size, channels=3, name="synthetic")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_augment(x: torch.Tensor, strength: float, flip: bool) -> torch.Tensor:
    """Batched on-device augmentation as one would write it by hand (random numbers on the device)."""
    b, _, h, w = x.shape
    dev = x.device
    shift = max(0, round(strength * min(h, w) / 8))
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
        dy = torch.randint(0, 2 * shift + 1, (b, 1), device=dev)
        dx = torch.randint(0, 2 * shift + 1, (b, 1), device=dev)
        rows = torch.arange(h, device=dev)[None, :] + dy
        cols = torch.arange(w, device=dev)[None, :] + dx
        bidx = torch.arange(b, device=dev)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if strength > 0:
        bright = (torch.rand(b, 1, 1, 1, device=dev) * 2 - 1) * 0.4 * strength
        contrast = 1 + (torch.rand(b, 1, 1, 1, device=dev) * 2 - 1) * 0.4 * strength
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean + bright).clamp(0.0, 1.0)
    if flip:
        x = torch.where(torch.rand(b, 1, 1, 1, device=dev) < 0.5, x.flip(-1), x)
    return x.contiguous()


def plain_loop(task: Task, backbone: str, *, batch_size: int, lr: float, epochs: int, aug: dict, seed: int,
               device: torch.device, amp: bool) -> dict:
    """The reference: an idiomatic hand-written loop with the same work as ``fine_tune``."""
    t0 = time.perf_counter()
    split = task.split(seed=0)
    torch.manual_seed(seed)
    model = create_backbone(backbone, num_classes=task.n_classes, weights=None, in_channels=task.channels).to(device)
    cl = device.type == "cuda"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    x_train = task.images(split.train).to(device)
    y_train = torch.as_tensor(task.labels[split.train], dtype=torch.long, device=device)
    x_val = task.images(split.val).to(device)
    y_val = torch.as_tensor(task.labels[split.val], dtype=torch.long, device=device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    n = len(y_train)
    steps = math.ceil(n / batch_size) * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps - 1) / steps)))
    train_s, samples, history = 0.0, 0, []
    for _ in range(epochs):
        _sync(device)
        te = time.perf_counter()
        model.train()
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            x = x_train[idx].float().div_(255)
            x = plain_augment(x, float(aug["augment"]), aug["hflip"] == "yes")
            if cl:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach() * len(idx)
            samples += len(idx)
        _sync(device)
        train_s += time.perf_counter() - te
        model.eval()
        correct = torch.zeros((), device=device, dtype=torch.long)
        with torch.no_grad():
            for i in range(0, len(y_val), 512):
                x = x_val[i : i + 512].float().div_(255)
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                    correct += (model(x).argmax(1) == y_val[i : i + 512]).sum()
        history.append((float(total) / n, int(correct) / len(y_val)))
    _sync(device)
    return {"wall_s": time.perf_counter() - t0, "train_s": train_s, "samples_per_s": samples / train_s,
            "val_acc": history[-1][1]}


def hyperstar_run(task: Task, backbone: str, *, batch_size: int, lr: float, epochs: int, aug: dict, seed: int,
                  device: torch.device, precision: str) -> dict:
    config = {"batch_size": batch_size, "lr": lr, "lr_schedule": "cosine", "momentum": 0.9,
              "use_weight_decay": "yes", "weight_decay": 1e-4, **aug}
    kwargs = {} if precision == "auto" else {"precision": precision}
    _sync(device)
    t0 = time.perf_counter()
    res = fine_tune(task, config, budget=epochs, backbone=backbone, weights=None, device=device, seed=seed,
                    eval_test=False, **kwargs)
    _sync(device)
    return {"wall_s": time.perf_counter() - t0, "samples_per_s": res.samples_per_s, "val_acc": res.val_acc,
            "timings": res.extra.get("timings")}


def _spread(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"median": float(np.median(a)), "q1": float(np.percentile(a, 25)), "q3": float(np.percentile(a, 75)),
            "min": float(a.min()), "max": float(a.max()), "all": [float(v) for v in a]}


def _profile(fn) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(25)
    return s.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backbones", default="smallcnn,resnet18")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=2000, help="task size (60%% of it is trained on)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                        help="auto: bf16 autocast on CUDA, fp32 on the CPU (what fine_tune does by default)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--tag", default="", help="suffix of the output files")
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of one run of each")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    amp = device.type == "cuda" if args.precision == "auto" else args.precision == "bf16"
    task = synthetic_task(args.images, size=args.resolution)
    lr = 0.01
    backbones = [b for b in args.backbones.split(",") if b]
    rows = []
    for backbone in backbones:
        for aug_name, aug in (("off", AUG_OFF), ("on", AUG_ON)):
            common = dict(batch_size=args.batch_size, lr=lr, epochs=args.epochs, aug=aug, device=device)
            # warm-up of both (allocator, kernels, cuDNN autotuning)
            hyperstar_run(task, backbone, seed=0, precision=args.precision, **{**common, "epochs": 1})
            plain_loop(task, backbone, seed=0, amp=amp, **{**common, "epochs": 1})
            reps = []
            for r in range(args.repeats):
                order = ("hyperstar", "plain") if r % 2 == 0 else ("plain", "hyperstar")
                got = {}
                for who in order:
                    if who == "hyperstar":
                        got[who] = hyperstar_run(task, backbone, seed=r, precision=args.precision, **common)
                    else:
                        got[who] = plain_loop(task, backbone, seed=r, amp=amp, **common)
                reps.append(got)
            train_ratio = [g["hyperstar"]["samples_per_s"] / g["plain"]["samples_per_s"] for g in reps]
            run_ratio = [g["plain"]["wall_s"] / g["hyperstar"]["wall_s"] for g in reps]
            row = {"backbone": backbone, "augmentation": aug_name,
                   "hyperstar_samples_per_s": _spread([g["hyperstar"]["samples_per_s"] for g in reps]),
                   "plain_samples_per_s": _spread([g["plain"]["samples_per_s"] for g in reps]),
                   "train_ratio": _spread(train_ratio), "run_ratio": _spread(run_ratio),
                   "hyperstar_wall_s": _spread([g["hyperstar"]["wall_s"] for g in reps]),
                   "plain_wall_s": _spread([g["plain"]["wall_s"] for g in reps]),
                   "hyperstar_timings": [g["hyperstar"]["timings"] for g in reps]}
            rows.append(row)
            print(f"{backbone:<9} aug {aug_name:<3}: hyperstar {row['hyperstar_samples_per_s']['median']:8.0f} "
                  f"plain {row['plain_samples_per_s']['median']:8.0f} samples/s, train ratio "
                  f"{row['train_ratio']['median']:.3f} [{row['train_ratio']['min']:.3f}, {row['train_ratio']['max']:.3f}], "
                  f"run ratio {row['run_ratio']['median']:.3f}", flush=True)
    meta = {
        "hyperstar": __version__,
        "torch": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "precision": "bf16 autocast" if amp else "fp32",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()),
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "n_train_images": len(task.split().train),
        "n_val_images": len(task.split().val),
        "epochs": args.epochs,
        "repeats": args.repeats,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "git_commit": git_commit(),
        "command": "python benchmarks/finetune_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"finetune_throughput_{device.type}" + (f"_{args.tag}" if args.tag else "")
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (out / f"{stem}.md").write_text(report(meta, rows))
    if args.profile:
        aug_cfg = dict(batch_size=args.batch_size, lr=lr, epochs=args.epochs, aug=AUG_ON, device=device, seed=0)
        text = ""
        for backbone in backbones:
            text += f"==== hyperstar fine_tune, {backbone}, augmentation on\n"
            text += _profile(lambda: hyperstar_run(task, backbone, precision=args.precision, **aug_cfg))
            text += f"==== plain loop, {backbone}, augmentation on\n"
            text += _profile(lambda: plain_loop(task, backbone, amp=amp, **aug_cfg))
        (out / f"{stem}_profile.txt").write_text(text)
    print(f"wrote {out / stem}.json and .md")


def report(meta: dict, rows: list[dict]) -> str:
    def ratio(s: dict) -> str:
        return f"{s['median']:.3f} (IQR {s['q1']:.3f}-{s['q3']:.3f}, min-max {s['min']:.3f}-{s['max']:.3f})"

    lines = [
        f"# Fine-tuning throughput: hyperstar vs a plain PyTorch loop ({meta['device']}, {meta['device_name']})",
        "",
        command_line(meta),
        f"torch {meta['torch']}, {meta['precision']}, {meta['torch_threads']} torch threads on {meta['cpu_count']} CPUs, "
        f"{meta['resolution']}x{meta['resolution']} RGB uint8 images on the device, {meta['n_train_images']} training "
        f"and {meta['n_val_images']} validation images, batch {meta['batch_size']}, {meta['epochs']} epochs per run, "
        f"{meta['repeats']} interleaved repetitions. Load average at the end: "
        f"{load_text(meta)} (the machine may be shared).",
        "",
        "Ratios are hyperstar / plain loop per repetition (above 1: hyperstar faster). *Training* counts "
        "the training steps only; *whole run* is plain wall time / hyperstar wall time of a call "
        "(model set-up, training and per-epoch validation; no test evaluation, no checkpoint).",
        "",
        "| backbone | augmentation | hyperstar samples/s | plain samples/s | training ratio | whole-run ratio |",
        "|---|---|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['augmentation']} | {r['hyperstar_samples_per_s']['median']:.0f} | "
                     f"{r['plain_samples_per_s']['median']:.0f} | {ratio(r['train_ratio'])} | {ratio(r['run_ratio'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

"""How ``recommend`` time grows with the number of images in the folder (decoding included).

Run:  .venv/bin/python benchmarks/recommend_scaling.py [--sizes 100,1000,5000,20000,25000] [--repeats 2]
          [--threads 1] [--out DIR]

Generates one pool of 32x32 RGB PNG files on disk (10 classes, ImageFolder layout; the larger folders
are hard links into it), then, per folder size, times what a user's ``hyperstar recommend FOLDER``
does: ``Task.from_folder`` (listing, decoding and resizing every file when the folder has at most
``max_in_memory`` = 20000 files, the cap above which a task streams from disk instead) and
``Recommender.default().recommend(task, k=10)``, whose features use at most
``max_images_per_task`` = 600 images whatever the folder's size. Sizes are interleaved over the
repetitions; the file system cache is warm after the first pass (reported per repetition).
Writes recommend_scaling.json, .md and .png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_common import header, load_text, run_meta, save_plot, write_json  # noqa: E402

from hyperstar import Recommender, Task  # noqa: E402

CLASSES = 10


def make_pool(root: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    files = []
    yy, xx = np.mgrid[0:32, 0:32]
    for i in range(n):
        k = i % CLASSES
        d = root / f"class_{k}"
        d.mkdir(parents=True, exist_ok=True)
        base = 127 + 100 * np.sin((xx * (k + 1) + yy * (CLASSES - k)) / 6.0)
        img = np.clip(base[..., None] + rng.normal(0, 30, (32, 32, 3)), 0, 255).astype(np.uint8)
        path = d / f"img_{i:05d}.png"
        Image.fromarray(img).save(path)
        files.append(path)
    return files


def folder_of(pool: list[Path], pool_root: Path, n: int, dest: Path) -> Path:
    if dest.exists():
        return dest
    for p in pool[:n]:
        target = dest / p.relative_to(pool_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(p, target)
    return dest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000,20000,25000")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--stem", default="recommend_scaling")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rec = Recommender.default()
    rec.device = "cpu"
    work = Path(tempfile.mkdtemp(prefix="hyperstar-recscale-"))
    try:
        t0 = time.perf_counter()
        pool_root = work / "pool"
        pool = make_pool(pool_root, max(sizes))
        print(f"wrote {len(pool)} PNG files in {time.perf_counter() - t0:.0f} s", flush=True)
        folders = {n: folder_of(pool, pool_root, n, work / f"n{n}") for n in sizes}
        rec.recommend(Task.from_folder(folders[sizes[0]]), k=10)  # warm-up (model load, first kernels)
        runs: dict[int, list[dict]] = {n: [] for n in sizes}
        for r in range(args.repeats):
            for n in (sizes if r % 2 == 0 else sizes[::-1]):
                t0 = time.perf_counter()
                task = Task.from_folder(folders[n])
                t1 = time.perf_counter()
                top = rec.recommend(task, k=10)
                t2 = time.perf_counter()
                runs[n].append({"load_s": t1 - t0, "recommend_s": t2 - t1, "total_s": t2 - t0,
                                "in_memory": task.in_memory, "top1": top[0].config.get("lr") if top else None})
                print(f"{n:>6} images: load {t1 - t0:6.2f} s, recommend {t2 - t1:5.2f} s "
                      f"({'in memory' if task.in_memory else 'streamed'})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [{"images": n, "in_memory": runs[n][0]["in_memory"],
             **{k: float(np.median([x[k] for x in runs[n]])) for k in ("load_s", "recommend_s", "total_s")},
             "total_s_min": min(x["total_s"] for x in runs[n]), "total_s_max": max(x["total_s"] for x in runs[n]),
             "runs": runs[n]} for n in sizes]
    meta = run_meta("recommend_scaling.py", argv, torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    repeats=args.repeats, max_in_memory=20000, max_images_per_task=rec.max_images_per_task)
    out = write_json(Path(args.out), args.stem, meta, rows).parent
    lines = [*header("recommend time vs the folder's image count (decoding included)", meta),
             f"32x32 RGB PNG files, {CLASSES} classes, CPU, {meta['torch_threads']} torch threads on "
             f"{meta['cpu_count']} CPUs; load average at the end "
             f"{load_text(meta)} (shared machine). Median of "
             f"{args.repeats} interleaved repetitions. Caps: a folder of at most {meta['max_in_memory']} files is "
             f"decoded whole into memory (`Task.from_folder(max_in_memory=20000)`), a larger one streams from disk; "
             f"the recommender's features use at most {meta['max_images_per_task']} images "
             "(`Recommender(max_images_per_task=600)`).", "",
             "| images | task | load + decode (s) | recommend (s) | total (s) | total min-max (s) |",
             "|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['images']} | {'in memory' if r['in_memory'] else 'streamed'} | {r['load_s']:.2f} | "
                     f"{r['recommend_s']:.2f} | {r['total_s']:.2f} | {r['total_s_min']:.2f}-{r['total_s_max']:.2f} |")
    (out / f"{args.stem}.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    xs = [r["images"] for r in rows]
    ax.plot(xs, [r["load_s"] for r in rows], marker="o", label="Task.from_folder (list, decode)")
    ax.plot(xs, [r["recommend_s"] for r in rows], marker="s", label="recommend (features of <= 600 images)")
    ax.plot(xs, [r["total_s"] for r in rows], marker="^", label="total")
    ax.axvline(20000, color="grey", ls=":", lw=1)
    ax.text(20000, ax.get_ylim()[1] * 0.9, " streams above 20000", fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    save_plot(fig, ax, out / f"{args.stem}.png", xlabel="images in the folder", ylabel="seconds",
              title="recommend time vs folder size (CPU)", legend_size=7)
    print(f"wrote {out / args.stem}.md, .json and .png")


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

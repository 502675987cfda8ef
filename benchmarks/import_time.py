"""Import cost of ``import hyperstar`` (and of a first real use), this checkout against a git ref, in one run.

Run:  .venv/bin/python benchmarks/import_time.py [--ref fd5ee2b] [--repeats 15]

The reference commit is checked out into a temporary git worktree; both trees are imported by fresh
interpreters (``python -X importtime -c "import hyperstar"``), interleaved, ``--repeats`` times each,
with the tree first on ``PYTHONPATH``. Reports the median (and quartiles) of the cumulative
microseconds ``-X importtime`` gives the ``hyperstar`` package, the wall seconds of the whole
interpreter, which heavy packages (torch, hpbandster, matplotlib, Pyro4) the import loaded, and the
ratio now / reference. Writes benchmarks/results/import_time.json / .md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
HEAVY = ("torch", "hpbandster", "matplotlib", "Pyro4", "ConfigSpace", "scipy")
CODE = "import sys, hyperstar; print(hyperstar.__file__); print(','.join(m for m in {heavy!r} if m in sys.modules))"


def _one(tree: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", CODE.format(heavy=HEAVY)], capture_output=True,
                          text=True, cwd=tempfile.gettempdir(), env=env, timeout=300)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"import failed in {tree}:\n{proc.stderr[-2000:]}")
    file, heavy = proc.stdout.splitlines()[:2]
    if not Path(file).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"imported {file}, not the tree {tree}: check PYTHONPATH / the editable install")
    cumulative = None
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "hyperstar":
            cumulative = int(parts[1])
    return {"us": cumulative, "wall_s": wall, "heavy": [h for h in heavy.split(",") if h]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="fd5ee2b", help="git ref to compare with (default: before the layout change)")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(ref_tree), args.ref], check=True,
                       capture_output=True)
        try:
            trees = {"reference": ref_tree, "now": ROOT}
            runs: dict[str, list[dict]] = {k: [] for k in trees}
            for k in trees:  # warm the file cache and byte-code of both before measuring
                _one(trees[k])
            for _ in range(args.repeats):
                for k, tree in trees.items():
                    runs[k].append(_one(tree))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(ref_tree)], capture_output=True)
    summary = {}
    for k, rs in runs.items():
        us = np.array([r["us"] for r in rs], dtype=float)
        wall = np.array([r["wall_s"] for r in rs])
        summary[k] = {"median_ms": float(np.median(us) / 1e3), "q25_ms": float(np.percentile(us, 25) / 1e3),
                      "q75_ms": float(np.percentile(us, 75) / 1e3), "median_wall_s": float(np.median(wall)),
                      "heavy_loaded": rs[-1]["heavy"]}
    ratio = summary["now"]["median_ms"] / summary["reference"]["median_ms"]
    result = {"ref": args.ref, "repeats": args.repeats, "python": sys.version.split()[0], "summary": summary,
              "ratio_now_over_reference": ratio}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "import_time.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# `import hyperstar`: this checkout against the reference",
        "",
        f"Command: `.venv/bin/python benchmarks/import_time.py --ref {args.ref} --repeats {args.repeats}` "
        f"(interleaved fresh interpreters; `-X importtime` cumulative time of the `hyperstar` package).",
        "",
        "| tree | median ms | quartiles ms | interpreter wall s (median) | heavy packages loaded |",
        "|---|---:|---:|---:|---|",
    ]
    for k in ("reference", "now"):
        s = summary[k]
        lines.append(f"| {k} ({args.ref if k == 'reference' else 'this checkout'}) | {s['median_ms']:.1f} | "
                     f"{s['q25_ms']:.1f} - {s['q75_ms']:.1f} | {s['median_wall_s']:.2f} | "
                     f"{', '.join(s['heavy_loaded']) or 'none'} |")
    lines += ["", f"Ratio now / reference (median): **{ratio:.3f}**.", ""]
    (OUT / "import_time.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

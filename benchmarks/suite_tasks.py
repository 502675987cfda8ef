"""The tasks of a meta-dataset, one row each: family, images, classes, validation images, and where they come
from (the Debian packages and versions of the real-image tasks, or why a task is small).

Reads the manifest only (nothing is built), so it runs in a second on a build in progress::

    python benchmarks/suite_tasks.py                         # the v2 build: hyperstar/shipped/v2
    python benchmarks/suite_tasks.py --meta PATH --out-prefix benchmarks/results/suite_tasks_mine

Writes ``<out-prefix>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def task_rows(manifest: dict) -> list[dict]:
    from hyperstar.suite.suite_v2 import SMALL_BY_SOURCE

    rows = []
    for t in manifest["tasks"]:
        d = t.get("descriptors") or {}
        prov = t.get("provenance") or {}
        rows.append({
            "name": t["name"], "family": t.get("family"), "images": d.get("n_images"), "classes": d.get("n_classes"),
            "per_class_min": d.get("images_per_class_min"), "per_class_max": d.get("images_per_class_max"),
            "val_images": t.get("n_val"), "packages": prov.get("packages"), "files_digest": prov.get("digest"),
            "images_digest": t.get("images_digest"), "small_because": SMALL_BY_SOURCE.get(t["name"]),
        })
    return sorted(rows, key=lambda r: (r["family"] or "", r["name"]))


def report(rows: list[dict], meta: Path, command: str) -> str:
    vals = [r["val_images"] for r in rows if isinstance(r["val_images"], int)]
    fams = defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    lines = [
        f"# Tasks of `{meta}`", "",
        f"Command: `{command}`  ",
        f"{len(rows)} tasks, {len(fams)} families; validation images per task: min {min(vals)}, median "
        f"{statistics.median(vals):g}, max {max(vals)}; {sum(v >= 300 for v in vals)} tasks have at least 300.", "",
        "| family | task | images | classes | per class | validation | source |", "|---|---|---:|---:|---:|---:|---|",
    ]
    for fam in sorted(fams, key=str):
        for r in fams[fam]:
            src = ", ".join(f"{p} {v}" for p, v in (r["packages"] or {}).items()) or "generated / bundled in PyPI packages"
            if r["small_because"] and (r["val_images"] or 0) < 300:
                src += f" (small: {r['small_because']})"
            lines.append(f"| {fam} | `{r['name']}` | {r['images']} | {r['classes']} | {r['per_class_min']}-"
                         f"{r['per_class_max']} | {r['val_images']} | {src} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meta", default=str(ROOT / "hyperstar" / "shipped" / "v2"))
    ap.add_argument("--out-prefix", default=str(ROOT / "benchmarks" / "results" / "suite_tasks_v2"))
    args = ap.parse_args(argv)
    meta = Path(args.meta)
    manifest = json.loads((meta / "manifest.json").read_text())
    rows = task_rows(manifest)
    shown = meta.resolve().relative_to(ROOT) if meta.resolve().is_relative_to(ROOT) else meta
    command = "python benchmarks/suite_tasks.py" + ("" if args.meta == ap.get_default("meta") else f" --meta {args.meta}")
    Path(args.out_prefix + ".md").write_text(report(rows, shown, command))
    Path(args.out_prefix + ".json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {args.out_prefix}.md and .json ({len(rows)} tasks)")
    return 0


if __name__ == "__main__":
    from bench_common import run_main

    run_main(main)

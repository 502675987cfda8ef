"""benchmarks/suite_tasks.py: the per-task table of a meta-dataset, read from its manifest alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import suite_tasks  # noqa: E402


def _task(name, family, n, k, n_val, packages=None):
    entry = {"name": name, "family": family, "recipe": {"family": family, "name": name, "params": {}, "seed": 0},
             "descriptors": {"n_images": n, "n_classes": k, "images_per_class_min": n // k,
                             "images_per_class_max": n // k}, "n_val": n_val}
    if packages:
        entry["provenance"] = {"packages": packages, "files": n, "digest": "ab" * 8}
    return entry


def test_the_table_counts_tasks_families_and_validation_sizes(tmp_path):
    meta = tmp_path / "m"
    meta.mkdir()
    manifest = {"tasks": [_task("v2-faces-2c-100s", "faces", 200, 2, 40),
                          _task("big", "glyphs", 1500, 10, 300),
                          _task("drawn", "wesnoth_units", 250, 12, 50, {"wesnoth-1.16-data": "1:1.16.9-1"})]}
    (meta / "manifest.json").write_text(json.dumps(manifest))
    prefix = tmp_path / "out"
    assert suite_tasks.main(["--meta", str(meta), "--out-prefix", str(prefix)]) == 0
    md = (tmp_path / "out.md").read_text()
    assert "3 tasks, 3 families" in md and "min 40, median 50, max 300; 1 tasks have at least 300" in md
    assert "wesnoth-1.16-data 1:1.16.9-1" in md
    assert "small: scikit-image's lfw_subset" in md  # the suite says why this task is small
    rows = json.loads((tmp_path / "out.json").read_text())
    assert [r["name"] for r in rows] == ["v2-faces-2c-100s", "big", "drawn"]

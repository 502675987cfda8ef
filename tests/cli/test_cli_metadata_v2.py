"""``hyperstar metadata build`` for a v2 build (--seeds, --folder, --dry-run, --max-hours) and ``metadata info``'s
counts and seed-noise table."""

import json

import numpy as np
import pytest
from PIL import Image

from hyperstar.cli.main import build_parser, main

FAST = ["--backbone", "smallcnn_tiny", "--weights", "none", "--resolution", "16", "--max-budget", "1",
        "--workers", "0", "--n-configs", "1"]




def test_v2_defaults_every_configuration_on_two_seeds_with_the_literature_recipes():
    args = build_parser().parse_args(["metadata", "build"])
    from hyperstar.cli.metadata import build_plan

    plan = build_plan(args)
    assert (plan["seeds"], plan["literature_recipes"], plan["n_configs"], plan["order"]) == (2, True, 128, "config")
    old = build_plan(build_parser().parse_args(["metadata", "build", "--space-version", "1"]))
    assert (old["seeds"], old["literature_recipes"], old["n_configs"], old["noise_configs"]) == (None, False, 64, 8)
    legacy = build_plan(build_parser().parse_args(["metadata", "build", "--noise-configs", "3"]))
    assert (legacy["seeds"], legacy["noise_configs"]) == (None, 3)


def test_build_folders_with_a_suite_task_then_info_reports_counts_and_noise(tmp_path, capsys, flat_folder):
    a = flat_folder(tmp_path / "imgs" / "one", 10, ("x", "y"), 90)
    b = flat_folder(tmp_path / "imgs" / "two", 30, ("x", "y"), 90)
    out = tmp_path / "m"
    code = main(["metadata", "build", "--out", str(out), "--tasks", "tiny-shapes-3c-10s", "--folder", str(a),
                 "--folder", str(b), "--family", "mine", "--no-literature-recipes", "--seeds", "2", *FAST])
    assert code == 0 and "12/12 runs of the plan done" in capsys.readouterr().out  # 3 tasks x 2 configs x 2 seeds
    assert main(["metadata", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["n_families"], info["n_tasks"], info["n_configs"]) == (2, 3, 2)
    assert info["families"] == {"shapes": 1, "mine": 2}
    assert info["seeds_per_cell"] == {"min": 2.0, "median": 2.0}
    assert (info["cells_done"], info["cells_planned"]) == (12, 12)
    assert info["val_images"]["min"] == 2 and info["val_images"]["max"] == 6  # 2 x 1 per folder, 3 x 2 for shapes
    noise = info["seed_noise"]
    assert set(noise["per_family"]) == {"shapes", "mine"} and noise["overall"]["cells"] == 6
    assert noise["per_family"]["mine"]["cells"] == 4 and 0 <= noise["overall"]["mean_abs_diff"] <= 100
    assert noise["overall"]["mean_std_error"] == pytest.approx(noise["overall"]["mean_abs_diff"] / 2)  # two seeds
    assert main(["metadata", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "seed noise of the final validation accuracy" in text and "\n  mine " in text and "\n  overall " in text
    # the folder changed: resuming is refused in one line
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(a / "x" / "new.png")
    code = main(["metadata", "build", "--out", str(out), "--tasks", "tiny-shapes-3c-10s", "--folder", str(a),
                 "--folder", str(b), "--family", "mine", "--no-literature-recipes", "--seeds", "2", *FAST])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "was built on other content" in err and "\n" not in err


def test_a_folder_in_the_wrong_layout_and_family_without_folder_are_one_line_errors(tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(flat / "a.png")
    assert main(["metadata", "build", "--out", str(tmp_path / "m"), "--folder", str(flat), *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert "No images found under" in err and "ImageFolder layout" in err and "\n" not in err
    assert main(["metadata", "build", "--out", str(tmp_path / "m"), "--family", "mine", *FAST]) == 1
    assert "--family names the family of --folder tasks" in capsys.readouterr().err
    assert main(["metadata", "build", "--out", str(tmp_path / "m"), "--tasks", "tiny", "--max-hours", "0", *FAST]) == 1
    assert "'--max-hours' argument of hyperstar metadata build must be a finite number > 0" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_dry_run_prints_cells_and_the_estimate_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "m"
    args = ["metadata", "build", "--out", str(out), "--tasks", "tiny", "--dry-run", "--time-cells", "2",
            "--no-literature-recipes", *FAST]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("12 cells to run")  # 3 tiny tasks x 2 configurations x 2 seeds
    assert "timed 2 cells here" in text and "estimate: 12 cells x " in text and " / 1 workers = " in text
    assert main(args + ["--json"]) == 0
    est = json.loads(capsys.readouterr().out)
    assert est["cells_to_run"] == 12 and est["timed_cells"] == 2
    assert not out.exists()


def test_a_build_whose_stderr_is_not_a_terminal_writes_plain_progress_lines(tmp_path, capsys, monkeypatch):
    import functools

    from hyperstar._internal.progress import LineProgress

    monkeypatch.setattr("hyperstar.meta.builder.LineProgress", functools.partial(LineProgress, first=0, every=0))
    out = tmp_path / "m"
    code = main(["metadata", "build", "--out", str(out), "--tasks", "tiny-shapes-3c-10s", "--no-literature-recipes",
                 "--seeds", "1", *FAST])
    err = capsys.readouterr().err
    assert code == 0 and "\r" not in err  # capsys' stderr is no terminal: lines, not a redrawn bar
    assert "meta-data: 1/2 cells (50.0%), 1 in" in err and "meta-data: 2/2 cells (100.0%)" in err


def test_sigterm_stops_a_background_build_like_ctrl_c_and_releases_its_folder(tmp_path):
    """`kill PID` on a nohup build: exit 130, the lock's owner note removed (the next run takes no stale lock
    over), every finished row kept and the resume goes on from them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "hyperstar", "metadata", "build", "--out", str(out), "--tasks", "tiny",
           "--backbone", "smallcnn_tiny", "--weights", "none", "--resolution", "16", "--max-budget", "1",
           "--workers", "1", "--n-configs", "8", "--seeds", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = out / "results.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and not (results.is_file() and results.read_text()):
        time.sleep(0.2)
    assert proc.poll() is None, "the build ended before it could be stopped: give it more cells"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert not (out / ".lock.owner").exists()
    kept = results.read_text().splitlines()
    assert kept and all(json.loads(line) for line in kept)
    again = subprocess.run(cmd + ["--max-cells", "1"], capture_output=True, text=True, timeout=240)
    assert again.returncode == 0 and "ended without releasing it" not in again.stderr
    assert len(results.read_text().splitlines()) == len(kept) + 1

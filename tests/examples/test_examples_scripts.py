"""The scripts in examples/ run, with their smallest settings, and produce their output (the demo: tests/cli/)."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hyperstar.space import validate_configuration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def run_example(name: str, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return proc


def test_every_example_says_what_it_does_and_how_to_run_it():
    assert {p.name for p in SCRIPTS} >= {"recommend_for_folder.py", "tune_warm_bohb.py", "build_meta_and_fit.py"}
    for path in SCRIPTS:
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and f"python examples/{path.name}" in doc, path.name
    assert (EXAMPLES / "distributed_workers.md").is_file()


def test_recommend_for_folder_writes_a_demo_folder_and_ranks_configurations(tmp_path):
    proc = run_example("recommend_for_folder.py", "-k", "3", "--workdir", str(tmp_path),
                       "--json", str(tmp_path / "ranking.json"), cwd=tmp_path, timeout=120)
    classes = sorted(p for p in (tmp_path / "letters").iterdir() if p.is_dir())
    assert len(classes) == 8 and all(len(list(c.glob("*.png"))) == 40 for c in classes)
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert [r["rank"] for r in ranking] == [1, 2, 3]
    assert [r["score"] for r in ranking] == sorted((r["score"] for r in ranking), reverse=True)
    assert all(validate_configuration(r["config"]) == r["config"] for r in ranking)
    assert json.loads(proc.stdout.split("the best one in full")[1].splitlines()[1]) == ranking[0]["config"]
    assert "resembles" in proc.stdout


def test_build_meta_and_fit_builds_fits_saves_and_recommends(tmp_path):
    out = tmp_path / "out"
    proc = run_example("build_meta_and_fit.py", "--out", str(out), "--n-configs", "3", "--steps", "30",
                       cwd=tmp_path, timeout=180)
    manifest = json.loads((out / "meta" / "manifest.json").read_text())
    assert len(manifest["tasks"]) == 4 and len(manifest["configs"]) == 4 and manifest["max_budget"] == 3
    cells = [json.loads(x) for x in (out / "meta" / "results.jsonl").read_text().splitlines() if x.strip()]
    assert len(cells) == 16 and all(1 <= len(c["val_acc"]) <= 3 for c in cells)  # a diverged run stops early
    assert (out / "recommender" / "model.json").is_file() and (out / "recommender" / "weights.pt").is_file()
    top = re.findall(r"^\s+\d\. (c\d{4})  score", proc.stdout, flags=re.MULTILINE)
    assert len(top) == 3 and set(top) <= {c["id"] for c in manifest["configs"]}  # ranked measured configurations


def _recipe_commands(text: str) -> list[list[str]]:
    """The `hyperstar ...` command lines inside the Markdown's bash blocks, as argv lists."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if "hyperstar" not in words:
                continue
            argv = words[words.index("hyperstar") + 1:]
            commands.append([w for w in argv if w not in ("&", ";")])
    return commands


def test_the_distributed_recipe_uses_real_flags():
    from hyperstar.cli.main import build_parser

    commands = _recipe_commands((EXAMPLES / "distributed_workers.md").read_text())
    assert {c[0] for c in commands} == {"tune", "worker"} and len(commands) >= 3
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)  # an unknown or misspelt flag exits here
        if args.command == "worker":
            assert args.host != "127.0.0.1"  # across machines the worker must say where it can be reached
        else:
            assert args.host != "127.0.0.1" and args.port


@pytest.mark.slow
def test_tune_warm_bohb_runs_warm_started_bohb_with_two_workers(tmp_path):
    run = tmp_path / "run"
    proc = run_example("tune_warm_bohb.py", "--out", str(run), "--max-budget", "3", "--iterations", "1",
                       cwd=tmp_path, timeout=300)
    result = json.loads((run / "result.json").read_text())
    assert result["n_jobs"] == 4 and result["budget"] == 3.0
    assert validate_configuration(result["incumbent"]) == result["incumbent"]
    first = json.loads((run / "configs.json").read_text().splitlines()[0])
    assert first[2]["source"] == "ranking" and first[2]["rank"] == 1  # warm-started by the recommender
    assert (run / "trajectory.png").is_file() and "incumbent after 4 jobs" in proc.stdout


def test_tune_random_forest_builds_a_meta_dataset_and_compares_three_methods(tmp_path):
    out = tmp_path / "out"
    proc = run_example("tune_random_forest.py", "--n-configs", "6", "--max-trees", "27", "--tasks", "4",
                       "--out", str(out), cwd=tmp_path, timeout=240)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == {"defaults", "random search", "hyperband, portfolio warm start"}
    for row in summary["methods"].values():
        assert 0.5 < row["val_acc"] <= 1.0 and 0.5 < row["test_acc"] <= 1.0
    ranking = json.loads((out / "hyperband" / "ranking.json").read_text())
    first = json.loads((out / "hyperband" / "configs.json").read_text().splitlines()[0])[1]
    assert first == ranking[0]  # Hyperband's first configuration is the portfolio's top one
    assert "not among them" in proc.stdout

"""The stored-curves oracle every peer tuner of benchmarks/hpo_peers.py runs against: its cost accounting (what
makes the comparison fair), its mapping onto stored configurations, the grid, and the protocols' splits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from hyperstar.meta.dataset import load_meta_dataset  # noqa: E402
from peers.simple_peers import GRID_MODES, grid_indices, grid_points, run_grid  # noqa: E402
from peers.stored import StoredCurves  # noqa: E402


@pytest.fixture(scope="module")
def meta():
    return load_meta_dataset()


def test_a_stored_configuration_maps_onto_itself(meta):
    oracle = StoredCurves(meta, 0, budget=100, max_budget=meta.max_budget)
    for i in (0, 7, meta.n_configs // 2, meta.n_configs - 1):
        assert oracle.nearest(meta.configs[i]) == i


def test_continuing_costs_the_extra_epochs_and_asking_again_costs_nothing(meta):
    oracle = StoredCurves(meta, 2, budget=12, max_budget=9)
    acc = oracle.evaluate_index(5, 3)
    assert acc == pytest.approx(meta.curves[2, 5, 2]) and oracle.spent == 3
    oracle.evaluate_index(5, 9)  # a promotion continues from the 3-epoch checkpoint
    assert oracle.spent == 9 and oracle.spent_full == 12
    oracle.evaluate_index(5, 1)  # already known
    assert oracle.spent == 9 and not oracle.done
    assert oracle.steps == [[9, 12, pytest.approx(meta.curves[2, 5, 8])]]  # incumbents only at the maximum budget
    oracle.evaluate_index(6, 4.6)  # budgets are rounded to whole epochs
    assert oracle.spent == 14 and oracle.done


def test_the_incumbent_trajectory_only_improves(meta):
    oracle = StoredCurves(meta, 4, budget=10 ** 6, max_budget=9)
    for i in range(meta.n_configs):
        oracle.evaluate_index(i, 9)
    best = [s[2] for s in oracle.steps]
    assert best == sorted(best) and best[-1] == pytest.approx(meta.curves[4, :, 8].max())


def test_the_grid_trains_distinct_configurations_matching_its_main_axes(meta):
    if meta.n_configs < len(grid_points(meta.space)):
        pytest.skip(f"the shipped meta-data has {meta.n_configs} configurations, fewer than the grid's "
                    f"{len(grid_points(meta.space))} points (a partial copy of a build)")
    order = grid_indices(meta)
    assert len(order) == len(grid_points(meta.space)) == len(set(order))
    first = meta.configs[order[0]]  # the common-practice default is the grid's first point and is stored
    assert (first["lr"], first["optimizer"], first["train_mode"]) == (0.01, "sgd", "full")
    modes = [meta.configs[i]["train_mode"] for i in order[: len(GRID_MODES)]]
    assert modes == list(GRID_MODES)
    oracle = StoredCurves(meta, 1, budget=27, max_budget=9)
    assert run_grid(oracle, seed=0)["grid_points_run"] == 3 and oracle.spent == 27


def test_leave_one_family_out_drops_the_whole_family(meta):
    import hpo_peers

    t = 0
    lofo = hpo_peers.train_tasks(meta, t, "lofo")
    loto = hpo_peers.train_tasks(meta, t, "loto")
    assert t not in loto and len(loto) == meta.n_tasks - 1
    assert all(meta.families[i] != meta.families[t] for i in lofo)
    assert set(lofo) < set(loto)


def test_paired_comparison_counts_ties_within_half_an_epoch():
    import hpo_peers

    a = {"x": 10.0, "y": 20.0, "z": 30.0, "w": 5.0}
    b = {"x": 10.2, "y": 25.0, "z": 20.0, "w": 9.0}
    r = hpo_peers._paired(a, b)
    assert (r["wins"], r["ties"], r["losses"], r["n_tasks"]) == (2, 1, 1, 4)
    assert 0.0 < r["p"] <= 1.0
    assert np.isfinite(r["p"])


def test_the_hpo_benchmarks_run_under_one_fixed_hash_seed_whatever_the_caller_set():
    """SMAC3's proposals depend on the str hash seed; hpo_peers / hpo_tabular re-start under a fixed one."""
    import os
    import subprocess

    code = ("import sys; sys.path.insert(0, sys.argv[1]); import bench_common; bench_common.fixed_hash_seed(); "
            "import os; print(os.environ['PYTHONHASHSEED'], hash('hyperstar'), sys.argv[2])")
    outs = set()
    for caller_seed in ("1", "2", None):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        if caller_seed is not None:
            env["PYTHONHASHSEED"] = caller_seed
        run = subprocess.run([sys.executable, "-c", code, str(BENCH), "an argument"], env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        outs.add(run.stdout.strip())
    assert len(outs) == 1 and outs.pop().startswith("0 ") and "an argument" in run.stdout


def _script(*args, cwd):
    import subprocess

    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_a_benchmark_given_a_bad_meta_dataset_ends_with_one_line_not_a_traceback(tmp_path):
    run = _script(str(BENCH / "warmstart_variants.py"), "--meta", str(tmp_path / "nothing-here"), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    err = run.stderr.strip()
    assert err.startswith("warmstart_variants.py: error: No meta-dataset at") and "\n" not in err
    assert "Traceback" not in run.stderr


def test_hpo_peers_sizes_an_unfinished_build_and_refuses_to_run_on_it(tmp_path):
    """--dry-run needs only the task list, so a build still running can be sized; a real run needs every cell."""
    shipped = Path(load_meta_dataset().path)
    part = tmp_path / "part"
    part.mkdir()
    (part / "manifest.json").write_text((shipped / "manifest.json").read_text())
    lines = (shipped / "results.jsonl").read_text().splitlines(keepends=True)
    (part / "results.jsonl").write_text("".join(lines[:40]))
    n_tasks = len(load_meta_dataset(part).task_names)
    out = tmp_path / "out"
    sized = _script(str(BENCH / "hpo_peers.py"), "--meta", str(part), "--dry-run", "--seeds", "1",
                    "--methods", "hb", "random", "--out", str(out), cwd=tmp_path)
    assert sized.returncode == 0, sized.stderr
    assert f"hpo_peers --dry-run: {2 * n_tasks} runs to do over {n_tasks} tasks" in sized.stdout
    refused = _script(str(BENCH / "hpo_peers.py"), "--meta", str(part), "--seeds", "1", "--methods", "hb",
                      "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2 and "is incomplete" in refused.stderr and "Traceback" not in refused.stderr
    assert not (out / "hpo_peers_rows.jsonl").exists()

"""Adaptive seed replication: more seeds for the noisy cells of a v2 build only (``replicate_above``), the
pure planner, a build that runs them after the base cells and stops at ``max_seeds``, the sizing, the CLI
flags, and the seed-noise figures over cells with more than two seeds."""

import json
import math

import numpy as np
import pytest

import hyperstar.meta.builder as builder
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.builder import build_meta_dataset, estimate_build
from hyperstar.meta.dataset import MANIFEST, RESULTS, load_meta_dataset, read_records
from hyperstar.meta.replicate import cell_finals, final_accuracy, replicate_plan, spread_points

TINY = dict(n_configs=2, max_budget=1, backbone="smallcnn_tiny", weights=None, resolution=16, progress=False,
            n_workers=0)


def row(task, config_id, seed, final, **more):
    return {"task": task, "config_id": config_id, "seed": seed, "val_acc": [0.1, final], **more}


def plan(rows, tasks=("t",), configs=("c0",), seeds=2, above=5.0, max_seeds=4, within=None):
    return replicate_plan(rows, list(tasks), list(configs), seeds, above, max_seeds, within)


# --------------------------------------------------------------------------- the pure planner


def test_a_noisy_cell_gets_the_next_seeds_up_to_max_seeds_and_a_quiet_one_none():
    rows = [row("t", "c0", 0, 0.30), row("t", "c0", 1, 0.60),      # 30 points apart: noisy
            row("t", "c1", 0, 0.80), row("t", "c1", 1, 0.82)]      # 2 points: quiet
    assert plan(rows, configs=("c0", "c1")) == [("t", "c0", 2), ("t", "c0", 3)]
    assert plan(rows, configs=("c0", "c1"), max_seeds=3) == [("t", "c0", 2)]
    assert plan(rows, configs=("c0", "c1"), max_seeds=2) == []      # max_seeds == seeds: nothing more
    assert plan(rows, configs=("c0", "c1"), above=1.0) == [("t", "c0", 2), ("t", "c0", 3), ("t", "c1", 2), ("t", "c1", 3)]


def test_the_threshold_is_in_accuracy_points_and_strict():
    rows = [row("t", "c0", 0, 0.0), row("t", "c0", 1, 0.25)]        # 25 points exactly
    assert plan(rows, above=25.0) == [] and plan(rows, above=24.99) == [("t", "c0", 2), ("t", "c0", 3)]
    assert plan(rows, above=0.26) != []                             # 0.26 is points, not a fraction


def test_a_cell_at_max_seeds_gets_none_and_a_resume_re_decides_on_all_seeds_done():
    noisy = [row("t", "c0", 0, 0.3), row("t", "c0", 1, 0.6)]
    assert plan(noisy + [row("t", "c0", 2, 0.5), row("t", "c0", 3, 0.4)]) == []          # at max_seeds
    assert plan(noisy + [row("t", "c0", 2, 0.5)]) == [("t", "c0", 3)]                    # seed 3 was cut short
    quiet_now = [row("t", "c0", 0, 0.50), row("t", "c0", 1, 0.52), row("t", "c0", 2, 0.51)]
    assert plan(quiet_now, seeds=2) == []                            # the spread over seeds 0-2 is 2 points
    # seeds beyond the base ones are counted wherever they are: 0, 1 and 7 are three runs of four
    assert plan(noisy + [row("t", "c0", 7, 0.9)]) == [("t", "c0", 2)]


def test_a_cell_is_decided_only_once_its_base_seeds_are_all_done():
    assert plan([row("t", "c0", 0, 0.1)]) == []
    assert plan([row("t", "c0", 0, 0.1), row("t", "c0", 2, 0.9)]) == []   # seed 1 still to run
    assert plan([row("t", "c0", 0, 0.1), row("t", "c0", 1, 0.9), row("t", "c0", 2, 0.2)], seeds=3) == [("t", "c0", 3)]


def test_nan_and_missing_finals_are_left_out_of_the_spread_and_diverged_runs_count():
    nan = float("nan")
    assert plan([row("t", "c0", 0, nan), row("t", "c0", 1, 0.9)]) == []            # one finite final: not noisy
    assert plan([row("t", "c0", 0, None), row("t", "c0", 1, 0.9)]) == []
    assert plan([{"task": "t", "config_id": "c0", "seed": 0, "val_acc": []}, row("t", "c0", 1, 0.9)]) == []
    three = [row("t", "c0", 0, nan), row("t", "c0", 1, 0.2), row("t", "c0", 2, 0.9)]
    assert plan(three, seeds=3) == [("t", "c0", 3)]                                 # the finite two spread 70 points
    assert plan(three[:1] + [row("t", "c0", 1, 0.5), row("t", "c0", 2, 0.51)], seeds=3) == []
    diverged = [row("t", "c0", 0, 0.1, diverged=True), row("t", "c0", 1, 0.8)]  # scored as the row gives it
    assert plan(diverged) == [("t", "c0", 2), ("t", "c0", 3)]
    assert math.isnan(final_accuracy({"val_acc": [0.5, None]})) and math.isnan(final_accuracy({"val_acc": "x"}))
    assert math.isnan(spread_points([0.5, nan])) and spread_points([0.5, nan, 0.25]) == pytest.approx(25.0)


def test_the_further_runs_are_configuration_major_and_a_repeated_row_is_kept_once():
    rows = [row(t, c, s, 0.1 + 0.5 * s) for c in ("c0", "c1") for t in ("a", "b") for s in (0, 1)]
    got = plan(rows, tasks=("a", "b"), configs=("c0", "c1"), max_seeds=3)
    assert got == [("a", "c0", 2), ("b", "c0", 2), ("a", "c1", 2), ("b", "c1", 2)]
    assert plan(rows, tasks=("b",), configs=("c1",), max_seeds=3) == [("b", "c1", 2)]  # only the build's cells
    finals = cell_finals([row("t", "c0", 0, 0.3), row("t", "c0", 0, 0.9), {"no": "task"}])
    assert finals == {("t", "c0"): {0: 0.3}}


def test_with_within_only_the_contenders_of_each_task_are_replicated():
    rows = [row("t", "c0", 0, 0.30), row("t", "c0", 1, 0.90),      # noisy, its better seed above the best mean
            row("t", "c1", 0, 0.80), row("t", "c1", 1, 0.81),      # quiet: the task's best mean, 0.805
            row("t", "c2", 0, 0.30), row("t", "c2", 1, 0.60),      # noisy, its better seed 20.5 points below it
            row("t", "c3", 0, 0.40), row("t", "c3", 1, 0.77),      # noisy, 3.5 points below
            row("u", "c0", 0, 0.10), row("u", "c0", 1, 0.30),      # another task: its own best (0.20) counts
            row("u", "c1", 0, 0.99)]                               # base seeds not all done: not the best
    configs, tasks = ("c0", "c1", "c2", "c3"), ("t", "u")
    everyone = plan(rows, tasks=tasks, configs=configs, max_seeds=3)
    assert everyone == [("t", "c0", 2), ("u", "c0", 2), ("t", "c2", 2), ("t", "c3", 2)]
    assert plan(rows, tasks=tasks, configs=configs, max_seeds=3, within=5.0) == [
        ("t", "c0", 2), ("u", "c0", 2), ("t", "c3", 2)]
    assert plan(rows, tasks=tasks, configs=configs, max_seeds=3, within=1.0) == [("t", "c0", 2), ("u", "c0", 2)]
    assert plan(rows, tasks=tasks, configs=configs, max_seeds=3, within=0.0) == [("t", "c0", 2), ("u", "c0", 2)]
    assert plan(rows, tasks=tasks, configs=configs, max_seeds=3, within=25.0) == everyone
    # the best is the mean over every seed done: a third seed of c1 at 0.20 lowers it to 0.603, so c2 is in reach
    lowered = rows + [row("t", "c1", 2, 0.20)]
    assert ("t", "c2", 2) in plan(lowered, tasks=tasks, configs=configs, max_seeds=3, within=1.0)


def test_within_boundaries_nan_finals_and_bad_values():
    nan = float("nan")
    rows = [row("t", "c1", 0, 0.80), row("t", "c1", 1, 0.81),      # best mean 0.805
            row("t", "c0", 0, 0.30), row("t", "c0", 1, 0.755)]     # better seed exactly 5 points below it
    assert plan(rows, configs=("c0", "c1"), max_seeds=3, within=5.0) == [("t", "c0", 2)]
    assert plan(rows, configs=("c0", "c1"), max_seeds=3, within=4.9) == []
    # a NaN final is left out of the best: c2's mean is its finite seed, 0.95, so c0 is 19.5 points below
    with_nan = rows + [row("t", "c2", 0, 0.95), row("t", "c2", 1, nan)]
    assert plan(with_nan, configs=("c0", "c1", "c2"), max_seeds=3, within=5.0) == []
    assert plan(with_nan, configs=("c0", "c1", "c2"), max_seeds=3, within=20.0) == [("t", "c0", 2)]
    with pytest.raises(InvalidInputError, match="'replicate_within' argument of replicate_plan must be a finite"):
        plan([], within=-1.0)
    with pytest.raises(InvalidInputError, match="'replicate_within'"):
        plan([], within=float("nan"))


@pytest.mark.parametrize("above, max_seeds, match", [
    (0.0, 4, "'replicate_above' argument of replicate_plan must be a finite number in \\(0.0, 100.0\\]"),
    (-1.0, 4, "'replicate_above'"), (float("nan"), 4, "'replicate_above'"), ("5", 4, "'replicate_above'"),
    (True, 4, "'replicate_above'"), (None, 4, "'replicate_above'"), (101.0, 4, "'replicate_above'"),
    (5.0, 1, "'max_seeds' argument of replicate_plan must be at least seeds \\(2\\)"),
    (5.0, 101, "'max_seeds' argument of replicate_plan must be an int in \\[1, 100\\]"),
    (5.0, 2.5, "'max_seeds'"), (5.0, True, "'max_seeds'"),
])
def test_bad_settings_are_clear_errors(above, max_seeds, match):
    with pytest.raises(InvalidInputError, match=match):
        plan([], above=above, max_seeds=max_seeds)


def test_a_build_refuses_replication_without_the_seeds_plan_and_writes_nothing(tmp_path):
    from hyperstar.suite import tiny_suite

    with pytest.raises(InvalidInputError, match="'replicate_above' argument of build_meta_dataset needs .*seeds=N"):
        build_meta_dataset(tmp_path / "m", recipes=tiny_suite()[:1], noise_configs=1, replicate_above=5.0, **TINY)
    with pytest.raises(InvalidInputError, match="'max_seeds' argument of build_meta_dataset must be at least seeds"):
        build_meta_dataset(tmp_path / "m", recipes=tiny_suite()[:1], seeds=3, replicate_above=5.0, max_seeds=2,
                           **TINY)
    with pytest.raises(InvalidInputError, match="'replicate_above' argument of estimate_build"):
        estimate_build(tmp_path / "m", recipes=tiny_suite()[:1], seeds=2, replicate_above=-5.0, n_timed=0,
                       **{k: v for k, v in TINY.items() if k != "progress"})
    with pytest.raises(InvalidInputError, match="'replicate_within' argument of build_meta_dataset .*give "
                                                "replicate_above too"):
        build_meta_dataset(tmp_path / "m", recipes=tiny_suite()[:1], seeds=2, replicate_within=5.0, **TINY)
    assert not (tmp_path / "m").exists()


# --------------------------------------------------------------------------- builds


def _tasks(n=2):
    from hyperstar.suite import tiny_suite

    return [r.name for r in tiny_suite()[:n]], tiny_suite()[:n]


def _force(results, noisy):
    """Rewrite the rows: the cells in ``noisy`` end 0.2 (seed 0) and 0.6 (seed 1) apart, every other cell's
    seeds end equal (what seed 0 ended at)."""
    rows = read_records(results)
    seed0 = {(r["task"], r["config_id"]): r["val_acc"] for r in rows if r["seed"] == 0}
    for r in rows:
        cell = (r["task"], r["config_id"])
        r["val_acc"] = [[0.2], [0.6]][r["seed"]] if cell in noisy else list(seed0[cell])
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_resumed_build_gives_the_noisy_cells_seeds_2_and_3_and_then_nothing_more(tmp_path):
    names, recipes = _tasks(2)
    out = tmp_path / "m"
    base = build_meta_dataset(out, recipes=recipes, seeds=2, **TINY)
    assert (base.n_seeds == 2).all() and base.manifest["asked"]["replicate_above"] is None
    noisy = {(names[0], "c0001"), (names[1], "c0002")}
    _force(out / RESULTS, noisy)
    est = estimate_build(out, recipes=recipes, seeds=2, replicate_above=5.0, n_timed=0,
                         **{k: v for k, v in TINY.items() if k != "progress"})
    assert (est["replicate_cells"], est["cells_to_run"], est["cells_done"]) == (4, 4, 12)
    cut = estimate_build(out, recipes=recipes, seeds=2, replicate_above=5.0, n_timed=0, max_cells=3,
                         **{k: v for k, v in TINY.items() if k != "progress"})
    assert (cut["replicate_cells"], cut["cells_to_run"]) == (3, 3)  # counted after the --max-cells cut

    meta = build_meta_dataset(out, recipes=recipes, seeds=2, replicate_above=5.0, max_seeds=4, **TINY)
    rows = read_records(out / RESULTS)
    assert [(r["task"], r["config_id"], r["seed"]) for r in rows[12:]] == [
        (names[0], "c0001", 2), (names[0], "c0001", 3), (names[1], "c0002", 2), (names[1], "c0002", 3)]
    assert meta.manifest["asked"]["replicate_above"] == 5.0 and meta.manifest["asked"]["max_seeds"] == 4
    assert json.loads((out / MANIFEST).read_text())["seeds"] == 2          # the plan's base seeds are unchanged
    from hyperstar.meta.analysis import build_counts

    counts = build_counts(meta)
    assert (counts["cells_done"], counts["cells_planned"], counts["further_seeds_done"]) == (12, 12, 4)
    # MetaDataset: 4 runs of the noisy cells, 2 of the others; the target is the mean over all of them
    t, c = meta.task_index(names[0]), 1
    assert meta.n_seeds[t, c] == 4 and int(meta.n_seeds.sum()) == 16 and meta.seed_curves.shape[0] == 4
    assert meta.seeds[:, t, c].tolist() == [0, 1, 2, 3]
    finals = [r["val_acc"][-1] for r in rows if (r["task"], r["config_id"]) == (names[0], "c0001")]
    assert meta.final_acc[t, c] == pytest.approx(np.mean(finals)) and len(finals) == 4
    assert meta.final_acc[meta.task_index(names[1]), 0] == pytest.approx(
        np.mean([r["val_acc"][-1] for r in rows if (r["task"], r["config_id"]) == (names[1], "c0000")]))
    # a second resume adds nothing: the noisy cells are at max_seeds, the quiet ones stay quiet
    build_meta_dataset(out, recipes=recipes, seeds=2, replicate_above=5.0, max_seeds=4, **TINY)
    assert len(read_records(out / RESULTS)) == 16
    assert estimate_build(out, recipes=recipes, seeds=2, replicate_above=5.0, n_timed=0,
                          **{k: v for k, v in TINY.items() if k != "progress"})["replicate_cells"] == 0


def test_a_build_with_replicate_within_gives_seeds_to_the_noisy_contenders_only(tmp_path):
    names, recipes = _tasks(2)
    out = tmp_path / "m"
    build_meta_dataset(out, recipes=recipes, seeds=2, **TINY)
    finals = {(names[0], "c0001"): [0.2, 0.6],   # noisy; its seed 1 is above the task's best mean (0.5): a contender
              (names[1], "c0002"): [0.1, 0.3]}   # noisy; 20 points below: not one
    rows = read_records(out / RESULTS)
    for r in rows:
        r["val_acc"] = [finals.get((r["task"], r["config_id"]), [0.5, 0.5])[r["seed"]]]
    (out / RESULTS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    est = estimate_build(out, recipes=recipes, seeds=2, replicate_above=5.0, replicate_within=5.0, n_timed=0,
                         **{k: v for k, v in TINY.items() if k != "progress"})
    assert est["replicate_cells"] == 2
    meta = build_meta_dataset(out, recipes=recipes, seeds=2, replicate_above=5.0, replicate_within=5.0, **TINY)
    assert [(r["task"], r["config_id"], r["seed"]) for r in read_records(out / RESULTS)[12:]] == [
        (names[0], "c0001", 2), (names[0], "c0001", 3)]
    assert meta.manifest["asked"]["replicate_within"] == 5.0
    # without it, the noisy cell left out gets its seeds too (the contender is at max_seeds now)
    assert estimate_build(out, recipes=recipes, seeds=2, replicate_above=5.0, n_timed=0,
                          **{k: v for k, v in TINY.items() if k != "progress"})["replicate_cells"] == 2


def test_with_replicate_within_a_resumed_build_decides_the_contenders_after_its_base_cells(tmp_path, monkeypatch):
    """A cell that leads its task when the build resumes, but is beaten by a later configuration, gets no seeds."""
    names, recipes = _tasks(2)
    real = builder._run_cell
    finals = {(names[0], "c0000"): (0.2, 0.6), (names[0], "c0002"): (0.9, 0.9)}

    def run_cell(cell):
        rec = real(cell)
        rec["val_acc"] = [finals.get((cell["task"], cell["config_id"]), (0.5, 0.5))[cell["seed"] % 2]]
        return rec

    monkeypatch.setattr(builder, "_run_cell", run_cell)
    out = tmp_path / "m"
    build_meta_dataset(out, recipes=recipes, seeds=2, max_cells=4, **TINY)   # c0000 on both tasks: it leads
    assert plan(read_records(out / RESULTS), tasks=names, configs=("c0000",), within=5.0) == [
        (names[0], "c0000", 2), (names[0], "c0000", 3)]                       # a contender now ...
    build_meta_dataset(out, recipes=recipes, seeds=2, replicate_above=5.0, replicate_within=5.0, **TINY)
    rows = read_records(out / RESULTS)
    assert len(rows) == 12 and all(r["seed"] < 2 for r in rows)               # ... 30 points behind c0002 later


def test_one_build_runs_the_base_cells_first_then_replicates_the_noisy_ones_it_finished(tmp_path, monkeypatch):
    names, recipes = _tasks(2)
    real = builder._run_cell
    noisy = {(names[1], "c0000")}

    def run_cell(cell):  # deterministic noise: the noisy cell's seeds end 40 points apart, the others agree
        rec = real(cell)
        apart = (cell["task"], cell["config_id"]) in noisy
        rec["val_acc"] = [0.2 + (0.4 if apart and cell["seed"] % 2 else 0.0)]
        return rec

    monkeypatch.setattr(builder, "_run_cell", run_cell)
    out = tmp_path / "m"
    meta = build_meta_dataset(out, recipes=recipes, seeds=2, replicate_above=5.0, max_seeds=3, **TINY)
    got = [(r["task"], r["config_id"], r["seed"]) for r in read_records(out / RESULTS)]
    assert len(got) == 13 and all(s < 2 for _, _, s in got[:12]) and got[12] == (names[1], "c0000", 2)
    assert meta.n_seeds.tolist() == [[2, 2, 2], [3, 2, 2]]
    # max_cells counts every new cell, base and replicate: a build stopped early replicates nothing more
    short = tmp_path / "short"
    build_meta_dataset(short, recipes=recipes, seeds=2, replicate_above=5.0, max_cells=12, **TINY)
    assert len(read_records(short / RESULTS)) == 12


def test_seed_noise_keeps_the_first_two_seeds_difference_and_the_error_over_all_seeds(tmp_path):
    from hyperstar.meta.analysis import seed_noise
    from hyperstar.meta.dataset import write_manifest
    from hyperstar.suite import tiny_suite

    recipe = tiny_suite()[0].to_dict()
    write_manifest(tmp_path, {"format_version": 2, "space_version": 2, "backbone": "smallcnn_tiny",
                              "max_budget": 1, "seeds": 2,
                              "tasks": [{"name": recipe["name"], "family": recipe["family"], "recipe": recipe}],
                              "configs": [{"id": "c0000", "config": {}}, {"id": "c0001", "config": {"lr": 0.001}}]})
    finals = {"c0000": [0.2, 0.6, 0.4, 0.4], "c0001": [0.5, 0.52]}
    (tmp_path / RESULTS).write_text("".join(
        json.dumps({"task": recipe["name"], "config_id": c, "seed": s, "val_acc": [v], "test_acc": v}) + "\n"
        for c, vs in finals.items() for s, v in enumerate(vs)))
    meta = load_meta_dataset(tmp_path)
    assert meta.n_seeds.tolist() == [[4, 2]] and meta.final_acc[0].tolist() == pytest.approx([0.4, 0.51])
    overall = seed_noise(meta)["overall"]
    assert (overall["cells"], overall["runs"]) == (2, 6)
    assert overall["mean_abs_diff"] == pytest.approx((40.0 + 2.0) / 2)          # seeds 0 and 1 only
    se4 = 100 * np.std(finals["c0000"], ddof=1) / 2                             # over all four seeds
    assert overall["mean_std_error"] == pytest.approx((se4 + 1.0) / 2)


# --------------------------------------------------------------------------- the command line


def test_the_cli_flags_reach_the_build_plan_and_bad_values_are_one_line_errors(tmp_path, capsys):
    from hyperstar.cli.main import build_parser, main
    from hyperstar.cli.metadata import build_plan

    plan = build_plan(build_parser().parse_args(["metadata", "build", "--replicate-above", "5", "--max-seeds", "6"]))
    assert (plan["replicate_above"], plan["max_seeds"], plan["seeds"]) == (5.0, 6, 2)
    default = build_plan(build_parser().parse_args(["metadata", "build"]))
    assert (default["replicate_above"], default["max_seeds"], default["replicate_within"]) == (None, 4, None)
    within = build_plan(build_parser().parse_args(["metadata", "build", "--replicate-above", "2",
                                                   "--replicate-within", "5"]))
    assert (within["replicate_above"], within["replicate_within"]) == (2.0, 5.0)
    fast = ["--out", str(tmp_path / "m"), "--tasks", "tiny", "--backbone", "smallcnn_tiny", "--weights", "none",
            "--resolution", "16", "--max-budget", "1", "--workers", "0", "--n-configs", "1"]
    for flags, message in (
            (["--replicate-above", "0"], "'--replicate-above' argument of hyperstar metadata build must be a finite"),
            (["--replicate-above", "5", "--max-seeds", "1"], "--max-seeds 1 is fewer than the 2 seeds of the plan"),
            (["--max-seeds", "0"], "'--max-seeds' argument of hyperstar metadata build must be an int"),
            (["--replicate-above", "5", "--space-version", "1"], "Add --seeds N, or leave --replicate-above out"),
            (["--replicate-within", "5"], "Add --replicate-above POINTS, or leave --replicate-within out"),
            (["--replicate-above", "5", "--replicate-within", "-1"],
             "'--replicate-within' argument of hyperstar metadata build must be a finite number")):
        assert main(["metadata", "build", *fast, *flags]) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err
    assert not (tmp_path / "m").exists()
    # --dry-run says what it counts: the further seeds known now, none before the base cells are done
    assert main(["metadata", "build", *fast, "--replicate-above", "5", "--dry-run", "--time-cells", "1"]) == 0
    out = capsys.readouterr().out
    assert "66 cells to run" in out and "of them 0 further seeds of the cells noisy now (spread > 5 points)" in out
    assert "decided when its seeds are done (not counted)" in out and not (tmp_path / "m").exists()


def _three_tasks(tmp_path, finals):
    from hyperstar.meta.dataset import write_manifest

    write_manifest(tmp_path, {"format_version": 2, "space_version": 2, "backbone": "smallcnn_tiny", "max_budget": 1,
                              "seeds": 2,
                              "tasks": [{"name": f"t{i}", "family": f"f{i % 2}", "recipe": None, "descriptors": {}}
                                        for i in range(3)],
                              "configs": [{"id": f"c{c:04d}", "config": {"lr": 10.0 ** -(c + 1)}} for c in range(4)]})
    (tmp_path / RESULTS).write_text("".join(
        json.dumps({"task": f"t{t}", "config_id": f"c{c:04d}", "seed": s, "val_acc": [v], "test_acc": v}) + "\n"
        for (t, c), vs in finals.items() for s, v in enumerate(vs)))
    return load_meta_dataset(tmp_path)


def test_the_top_quarter_noise_is_over_what_the_other_tasks_rank_first_whatever_the_cells_own_seeds(tmp_path):
    from hyperstar.meta.analysis import good_config_cells, seed_noise

    # c0003 is best on t1 and t2; on t0 it drew one bad seed (a 40-point spread) and ranks last by its mean
    base = {(1, c): [0.5 + 0.1 * c] * 2 for c in range(4)} | {(2, c): [0.4 + 0.1 * c, 0.42 + 0.1 * c] for c in range(4)}
    finals = base | {(0, 0): [0.6, 0.6], (0, 1): [0.7, 0.7], (0, 2): [0.8, 0.8], (0, 3): [0.1, 0.5]}
    meta = _three_tasks(tmp_path / "a", finals)
    good = good_config_cells(meta)
    # one of four configurations, by the other two tasks' mean normalised rank: for t1 and t2, t0's ranks count
    assert good.tolist() == [[False, False, False, True], [False, False, True, False], [False, False, True, False]]
    noise = seed_noise(meta)
    top = noise["overall"]["top_quartile"]
    assert top["cells"] == 3 and top["mean_abs_diff"] == pytest.approx((40.0 + 0.0 + 2.0) / 3)
    assert noise["per_family"]["f0"]["top_quartile"]["mean_abs_diff"] == pytest.approx((40.0 + 2.0) / 2)
    # the choice for t0 does not move when t0's own seeds change
    calm = _three_tasks(tmp_path / "b", finals | {(0, 3): [0.9, 0.9]})
    assert good_config_cells(calm)[0].tolist() == good[0].tolist()
    assert seed_noise(calm)["overall"]["top_quartile"]["mean_abs_diff"] == pytest.approx(2.0 / 3)

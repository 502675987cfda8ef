"""benchmarks/metadata_analysis.py on a tiny meta-dataset with planted structure: two families whose best
configurations differ by construction (a small effective learning rate for the family near the source, a large
one for the far family), tasks of one family that agree, a known seed noise, and two missing cells."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import metadata_analysis as ma  # noqa: E402

from hyperstar.exceptions import InvalidInputError  # noqa: E402
from hyperstar.meta.dataset import RESULTS, load_meta_dataset, write_manifest  # noqa: E402
from hyperstar.space.default import DEFAULT_CONFIG  # noqa: E402

#: SGD (momentum 0.9) learning rates, log-spaced: ELR = 10 x lr
LRS = [float(v) for v in 10.0 ** np.linspace(-4, -0.5, 10)]
PEAK = {"glyphs": 2, "textures": 7}      # the planted best configuration of each family
NOISE = 0.02                             # seeds of a noisy cell sit at mean +- NOISE: |difference| 4 points
NOISY_CONFIGS = range(4)
MISSING = {("textures-2", 10), ("textures-2", 11)}


def _configs() -> list[dict]:
    sgd = [{**DEFAULT_CONFIG, "lr": lr, "momentum": 0.9} for lr in LRS]
    adam = [{**DEFAULT_CONFIG, "optimizer": "adamw", "lr": lr} for lr in (1e-3, 1e-4)]
    for c in adam:
        c.pop("momentum")
    return sgd + adam


def _accuracy(family: str, task: int, config: int) -> float:
    if config >= len(LRS):
        return 0.3                        # the AdamW configurations are poor everywhere
    jitter = 0.004 * np.sin(7.0 * task + 3.0 * config)   # small: the family's tasks rank alike
    return float(0.9 - 0.06 * abs(config - PEAK[family]) + jitter)


@pytest.fixture(scope="module")
def meta_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("planted")
    tasks = [(f"{f}-{i}", f) for f in PEAK for i in range(3)]
    configs = _configs()
    write_manifest(folder, {
        "format_version": 1, "name": "planted", "max_budget": 2,
        "tasks": [{"name": n, "family": f, "recipe": None, "descriptors": {"n_images": 100.0}} for n, f in tasks],
        "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    lines = []
    for t, (name, fam) in enumerate(tasks):
        for c in range(len(configs)):
            if (name, c) in MISSING:
                continue
            m = _accuracy(fam, t, c)
            for seed, v in enumerate([m + NOISE, m - NOISE] if c in NOISY_CONFIGS else [m]):
                lines.append(json.dumps({"task": name, "config_id": f"c{c:04d}", "seed": seed, "val_acc": [v / 2, v],
                                         "test_acc": v}))
    (folder / RESULTS).write_text("".join(line + "\n" for line in lines))
    return folder


@pytest.fixture(scope="module")
def result(meta_path):
    return ma.analyse(load_meta_dataset(meta_path), top_k=3, n_boot=200, seed=0)


def test_coverage_counts_the_missing_cells(result):
    cov = {r["family"]: r for r in result["coverage"]}
    assert cov["all"]["cells_filled"] == 6 * 12 - len(MISSING) and cov["all"]["cells_total"] == 72
    assert cov["glyphs"]["tasks_complete"] == 3 and cov["textures"]["tasks_complete"] == 2
    assert cov["textures"]["tasks_analysed"] == 3        # a partly built task is still analysed
    assert cov["all"]["cells_2plus_seeds"] == 6 * len(NOISY_CONFIGS)


def test_each_family_gets_its_planted_best_configuration(result):
    fams = {r["family"]: r for r in result["families"]}
    for family, peak in PEAK.items():
        assert fams[family]["best"][0]["config"] == f"c{peak:04d}"
        assert "SGD" in fams[family]["best"][0]["words"] and "momentum 0.90" in fams[family]["best"][0]["words"]
    # the portfolio's #1 is one family's best, so it costs the other family accuracy (6 points a step from its peak)
    gaps = sorted(fams[f]["portfolio_gap_to_family_best"] for f in PEAK)
    assert gaps[0] == pytest.approx(0.0) and gaps[1] > 10


def test_within_family_agreement_exceeds_across_and_the_interval_says_so(result):
    ag = result["agreement"]
    assert ag["within"] > 0.95 and ag["across"] < 0.5
    lo, hi = ag["bootstrap_95"]["difference"]
    assert 0 < lo <= ag["difference"] <= hi
    # held out, a task is ranked better by its own family than by everything else
    assert ag["loto"]["family_spearman"] > ag["loto"]["global_spearman"]
    assert ag["loto"]["family_regret_at_1"] == pytest.approx(0.0, abs=1e-9)


def test_best_elr_is_the_planted_one_and_li_et_al_is_reproduced(result):
    elr = result["elr"]
    for p in elr["per_task"]:             # top-3 SGD = the peak and its two log-spaced neighbours
        assert p["best_elr"] == pytest.approx(10 * LRS[PEAK[p["family"]]], rel=1e-6)
    d = elr["distance"]
    assert "family grouping" in d["measure"] and d["near_tasks"] == 3 and d["far_tasks"] == 3
    assert d["slope_log10_elr"] == pytest.approx(np.log10(LRS[7] / LRS[2]), rel=1e-6)
    assert d["verdict"].startswith("reproduced")


def test_seed_noise_is_the_planted_value(result):
    noise = {r["family"]: r for r in result["noise"]}
    for family in [*PEAK, "all"]:
        r = noise[family]
        assert r["mean_abs_diff"] == pytest.approx(100 * 2 * NOISE)
        assert r["mean_abs_diff_se"] == pytest.approx(0.0, abs=1e-9)
        assert r["sigma_run"] == pytest.approx(100 * NOISE * math.sqrt(2))   # sample SD of m +- NOISE
        assert r["se_cell_mean_2_seeds"] == pytest.approx(100 * NOISE)
    assert noise["glyphs"]["cells_2plus_seeds"] == 3 * len(NOISY_CONFIGS)


def test_seed_noise_agrees_with_what_metadata_info_prints(meta_path, result):
    from hyperstar.meta.analysis import seed_noise

    shared = seed_noise(load_meta_dataset(meta_path))
    ours = {r["family"]: r for r in result["noise"]}
    for family, row in shared["per_family"].items():
        assert ours[family]["mean_abs_diff"] == pytest.approx(row["mean_abs_diff"])
    assert ours["all"]["mean_abs_diff"] == pytest.approx(shared["overall"]["mean_abs_diff"])


def test_same_seed_same_numbers(meta_path, result):
    again = ma.analyse(load_meta_dataset(meta_path), top_k=3, n_boot=200, seed=0)
    assert again["agreement"]["bootstrap_95"] == result["agreement"]["bootstrap_95"]
    assert again["elr"]["distance"] == result["elr"]["distance"]


def test_one_family_reports_no_across_agreement_instead_of_failing(meta_path):
    meta = load_meta_dataset(meta_path)
    out = ma.analyse(meta.subset([0, 1, 2]), top_k=3, n_boot=20)
    assert math.isnan(out["agreement"]["across"]) and "why_not" in out["elr"]["distance"]
    assert out["elr"]["distance"]["verdict"].startswith("not testable")


def test_bad_top_k_is_one_clear_error(meta_path):
    with pytest.raises(InvalidInputError, match=r"'top_k' argument must be an int in \[1, 12\].*Got 0"):
        ma.analyse(load_meta_dataset(meta_path), top_k=0)


def test_the_command_writes_the_report_json_and_figures(meta_path, tmp_path):
    prefix = tmp_path / "out" / "planted"
    ma.main(["--meta", str(meta_path), "--out-prefix", str(prefix), "--top-k", "3", "--n-boot", "50"])
    md = (tmp_path / "out" / "planted.md").read_text()
    assert f"--meta {meta_path}" in md and "## Coverage" in md and "Li et al.'s finding" in md
    assert "70/72" in md
    data = json.loads((tmp_path / "out" / "planted.json").read_text())
    assert data["families"][0]["best"][0]["config"] == "c0002"
    for png in ("planted_heatmap.png", "planted_elr.png"):
        assert (tmp_path / "out" / png).read_bytes()[:4] == b"\x89PNG"


def test_with_more_seeds_for_some_cells_both_noise_figures_use_the_first_two_seeds(tmp_path):
    from hyperstar.meta.analysis import seed_noise

    write_manifest(tmp_path, {
        "format_version": 1, "name": "replicated", "max_budget": 1,
        "tasks": [{"name": f"t{i}", "family": "f", "recipe": None, "descriptors": {"n_images": 9.0}} for i in range(2)],
        "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(_configs()[:2])]})
    finals = {("t0", 0): [0.5, 0.6, 0.9, 0.9], ("t0", 1): [0.5, 0.5], ("t1", 0): [0.4, 0.6], ("t1", 1): [0.7, 0.7]}
    (tmp_path / RESULTS).write_text("".join(
        json.dumps({"task": t, "config_id": f"c{c:04d}", "seed": s, "val_acc": [v], "test_acc": v}) + "\n"
        for (t, c), vs in finals.items() for s, v in enumerate(vs)))
    meta = load_meta_dataset(tmp_path)
    cells = ma.seed_noise_cells(meta)
    assert sorted(np.round(100 * cells["mean_abs_diff"], 6)) == [0.0, 0.0, 10.0, 20.0]  # seeds 0 and 1 only
    row = ma.noise_row(meta, np.arange(2))
    assert row["mean_abs_diff"] == pytest.approx(seed_noise(meta)["overall"]["mean_abs_diff"]) == pytest.approx(7.5)
    # the standard error of a cell's mean: each cell over its own seeds (4 for the replicated one)
    want = 100 * math.sqrt(np.mean([np.var(v, ddof=1) / len(v) for v in finals.values()]))
    assert row["se_cell_mean"] == pytest.approx(want)
    # no n_val nor class sizes in this manifest: no bound, said as such rather than guessed
    assert math.isnan(row["median_val_images"]) and math.isnan(row["val_bound_mean_abs_diff"])


def test_the_validation_size_bound_is_the_binomial_difference_and_shrinks_with_more_images(tmp_path):
    # E|X - Y| for X, Y ~ Bin(n, p) / n: simulated, against the formula
    rng = np.random.default_rng(0)
    for p, n in ((0.7, 300), (0.5, 30), (0.95, 100)):
        sim = np.abs(rng.binomial(n, p, 200_000) - rng.binomial(n, p, 200_000)).mean() / n
        assert ma.validation_noise_bound(np.array([p]), np.array([n]))[0] == pytest.approx(sim, rel=0.06)
    assert ma.validation_noise_bound(np.array([0.7]), np.array([1200]))[0] == pytest.approx(
        ma.validation_noise_bound(np.array([0.7]), np.array([300]))[0] / 2)
    assert ma.validation_noise_bound(np.array([1.0]), np.array([50]))[0] == 0.0
    # read per task by name from the manifest's n_val, also for a subset of the tasks
    write_manifest(tmp_path, {
        "format_version": 1, "name": "sized", "max_budget": 1,
        "tasks": [{"name": f"t{i}", "family": "f", "recipe": None, "n_val": n, "descriptors": {"n_images": 9.0}}
                  for i, n in enumerate((50, 200))],
        "configs": [{"id": "c0000", "config": _configs()[0]}]})
    (tmp_path / RESULTS).write_text("".join(
        json.dumps({"task": t, "config_id": "c0000", "seed": s, "val_acc": [v], "test_acc": v}) + "\n"
        for t, vs in (("t0", (0.6, 0.8)), ("t1", (0.5, 0.5))) for s, v in enumerate(vs)))
    meta = load_meta_dataset(tmp_path)
    row = ma.noise_row(meta.subset([1]), np.arange(1))
    assert row["median_val_images"] == 200.0
    assert row["val_bound_mean_abs_diff"] == pytest.approx(100 * math.sqrt(2 * 0.25 / 200) * math.sqrt(2 / math.pi))
    both = ma.noise_row(meta, np.arange(2))
    assert both["median_val_images"] == 125.0
    from hyperstar.meta.analysis import seed_noise  # what `metadata info` prints agrees with the report

    lib = seed_noise(meta)
    assert lib["overall"]["val_bound"] == pytest.approx(both["val_bound_mean_abs_diff"])
    assert lib["overall"]["val_bound"] > 0 and seed_noise(meta.subset([1]))["overall"]["val_bound"] == pytest.approx(
        row["val_bound_mean_abs_diff"])


def test_the_room_above_the_portfolio_judges_each_pick_on_the_seed_it_did_not_see(tmp_path):
    # two families; on every task c0001 is best on both seeds except on t0, where seed 1 prefers c0002
    write_manifest(tmp_path, {
        "format_version": 1, "name": "signal", "max_budget": 1,
        "tasks": [{"name": f"t{i}", "family": f"f{i % 2}", "recipe": None, "descriptors": {"n_images": 9.0}} for i in range(4)],
        "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(_configs()[:3])]})
    finals = {(t, c): [0.5, 0.5] for t in range(4) for c in range(3)}
    finals |= {(t, 1): [0.8, 0.8] for t in range(4)} | {(0, 1): [0.8, 0.6], (0, 2): [0.5, 0.7]}
    (tmp_path / RESULTS).write_text("".join(
        json.dumps({"task": f"t{t}", "config_id": f"c{c:04d}", "seed": s, "val_acc": [v], "test_acc": v}) + "\n"
        for (t, c), vs in finals.items() for s, v in enumerate(vs)))
    sig = ma.task_signal(load_meta_dataset(tmp_path), 50, np.random.default_rng(0))
    rows = {r["w"]: r for r in sig["rows"]}
    assert (sig["configs"], sig["tasks"]) == (3, 4)
    # the portfolio picks c0001 everywhere; on t0 it is 10 points short on seed 1 and best on seed 0: 5 on average
    assert rows[0.0]["regret_at_1"] == pytest.approx(5.0 / 4)
    # t0's own seed 0 picks c0001 (judged on seed 1: 10 short), its seed 1 picks c0002 (judged on seed 0: 30 short)
    assert rows[math.inf]["regret_at_1"] == pytest.approx((10.0 + 30.0) / 2 / 4)
    assert rows[math.inf]["tasks_worse"] == 1 and rows[math.inf]["tasks_better"] == 0

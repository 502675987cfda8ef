"""benchmarks/probe_evidence.py: a probe is read from one seed and judged on the other, leave one family out."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import probe_evidence as pe  # noqa: E402


def _runs(final_by_family, e1_by_family):
    """[seed, task, config, epoch] with two tasks per family, the same on both seeds."""
    fams, runs = [], []
    for f in sorted(final_by_family):
        for _ in range(2):
            fams.append(f)
            runs.append(np.stack([e1_by_family[f], final_by_family[f]], axis=-1))
    one = np.asarray(runs, dtype=float)
    return np.stack([one, one]), np.asarray(fams)


def test_a_probe_that_tells_the_best_configuration_beats_the_portfolio_and_one_that_misleads_loses():
    # family a's best is c1, family b's c0: each family's portfolio (the other family) ranks the wrong one first
    final = {"a": np.array([60.0, 80.0, 50.0, 40.0]), "b": np.array([80.0, 60.0, 50.0, 40.0])}
    telling = {"a": np.array([20.0, 30.0, 10.0, 5.0]), "b": np.array([30.0, 20.0, 10.0, 5.0])}
    runs, fams = _runs(final, telling)
    per = pe.picks(runs, fams, K=2, k=1)
    assert per["portfolio"] == pytest.approx(np.full(4, 20.0))  # c0 on a (20 short), c1 on b
    assert per["probe_best"] == pytest.approx(np.zeros(4))
    misleading = {"a": np.array([30.0, 20.0, 10.0, 5.0]), "b": np.array([20.0, 30.0, 10.0, 5.0])}
    runs, fams = _runs(final, misleading)
    assert pe.picks(runs, fams, K=2, k=1)["probe_best"] == pytest.approx(np.full(4, 20.0))


def test_the_pick_is_judged_on_the_seed_the_probe_did_not_see():
    final = {"a": np.array([60.0, 80.0, 50.0, 40.0]), "b": np.array([80.0, 60.0, 50.0, 40.0])}
    telling = {"a": np.array([20.0, 30.0, 10.0, 5.0]), "b": np.array([30.0, 20.0, 10.0, 5.0])}
    runs, fams = _runs(final, telling)
    runs[1, 0, :, 0] = [30.0, 20.0, 10.0, 5.0]  # task 0's seed 1 probe points at c0 ...
    runs[0, 0, :, 1] = [59.0, 60.0, 50.0, 40.0]  # ... and its seed 0 final (the judge of that probe) nearly ties
    per = pe.picks(runs, fams, K=2, k=1)
    # seed 0 probe -> c1, judged on seed 1's final (best): 0; seed 1 probe -> c0, judged on seed 0's: 1 short
    assert per["probe_best"][0] == pytest.approx(0.5)


def test_the_neighbours_are_the_training_tasks_whose_probes_correlate_and_their_ranking_is_used():
    # three families; a's probe pattern matches b's tasks (whose best is c2), not c's (best c0)
    final = {"a": np.array([50.0, 40.0, 70.0, 30.0]), "b": np.array([55.0, 45.0, 75.0, 35.0]),
             "c": np.array([80.0, 60.0, 40.0, 30.0])}
    e1 = {"a": np.array([10.0, 30.0, 20.0, 5.0]), "b": np.array([11.0, 31.0, 21.0, 6.0]),
          "c": np.array([30.0, 10.0, 20.0, 5.0])}
    runs, fams = _runs(final, e1)
    # for a, the portfolio (b and c) ranks c0 first (ranks 2+1 vs c2's 1+3): 20 short; K = 3 probes c0, c2, c1
    per = pe.picks(runs, fams, K=3, k=2)
    a = fams == "a"
    assert per["portfolio"][a] == pytest.approx(np.full(2, 20.0))
    assert per["probe_neighbours"][a] == pytest.approx(np.zeros(2))  # b's two tasks, best c2: a's best too
    # the probe itself misleads (c1 is best after one epoch on a: 30 short at the end)
    assert per["probe_best"][a] == pytest.approx(np.full(2, 30.0))


def test_early_accuracy_that_orders_as_the_final_gives_spearman_one():
    final = {"a": np.array([60.0, 80.0, 50.0, 40.0]), "b": np.array([80.0, 60.0, 50.0, 40.0])}
    runs, fams = _runs(final, {f: v / 2 for f, v in final.items()})
    e = pe.early_vs_final(runs, fams, epochs=1, top=3)
    assert e["all"] == pytest.approx(1.0) and e["top"] == pytest.approx(1.0) and e["top_full_run"] == pytest.approx(1.0)

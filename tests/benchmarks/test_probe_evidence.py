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

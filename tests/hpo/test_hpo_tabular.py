"""Tests of hyperstar.hpo: run_tabular: the real loop on stored curves."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hpo_support import lines

from hyperstar.exceptions import InvalidInputError
from hyperstar.hpo import run_tabular
from hyperstar.space import config_key


def test_run_tabular_warm_start_evaluates_the_ranking_first(meta, tmp_path):
    from hpbandster.core.result import logged_results_to_HBS_result

    oracle = [int(i) for i in np.argsort(-meta.final_acc[0])]
    r = run_tabular(meta, 0, "hb", ranking=oracle, seed=0, run_dir=tmp_path / "run")
    first = json.loads(lines(tmp_path / "run" / "configs.json")[0])
    assert first[1] == meta.configs[oracle[0]] and first[2]["rank"] == 1
    assert r.val_acc == pytest.approx(r.extra["oracle_val_acc"])
    assert r.incumbent == meta.configs[oracle[0]]
    assert r.test_acc == pytest.approx(meta.test_acc[0, oracle[0]])
    hbs = logged_results_to_HBS_result(tmp_path / "run")  # hpbandster reads our log
    assert list(hbs.get_incumbent_id()) == r.incumbent_id
    budgets = [p["cumulative_budget"] for p in r.trajectory]
    assert budgets == sorted(budgets) and budgets[-1] == r.total_budget == 12.0
    best = [p["best_val_acc"] for p in r.trajectory if p["best_val_acc"] is not None]
    assert best == sorted(best)
    assert r.budget_to_reach(r.extra["oracle_val_acc"]) is not None


def test_run_tabular_revisits_a_top_pick_and_charges_only_the_extra_epochs(meta9, tmp_path):
    from hyperstar.hpo import read_log

    t = 0
    top9 = [int(i) for i in np.argsort(-meta9.final_acc[t])[:9]]
    slow = min(top9, key=lambda c: meta9.curves[t, c, 0])  # worst after one epoch: stopped in the first bracket
    ranking = [slow] + [c for c in top9 if c != slow]
    key = config_key(meta9.configs[slow])
    jobs = {}
    for revisit in (True, False):
        r = run_tabular(meta9, t, "hb", ranking=ranking, n_iterations=2, run_dir=tmp_path / str(revisit),
                        generator_options={"revisit": revisit})
        configs, _ = read_log(tmp_path / str(revisit))
        prev = [0.0] + [p["cumulative_epochs"] for p in r.trajectory[:-1]]
        jobs[revisit] = [(p["budget"], p["cumulative_epochs"] - before) for p, before in zip(r.trajectory, prev)
                         if config_key(configs[tuple(p["config_id"])][0]) == key]
    assert jobs[True] == [(1.0, 1.0), (3.0, 2.0)]  # back in the bracket that starts at 3, continued: 2 more epochs
    assert jobs[False] == [(1.0, 1.0)]


def test_run_tabular_can_hold_the_top_recommendation_for_a_full_budget_bracket(meta9):
    oracle = [int(i) for i in np.argsort(-meta9.final_acc[0])]
    r = run_tabular(meta9, 0, "hb", ranking=oracle, generator_options={"reserve_top": 1})
    assert r.incumbent == meta9.configs[oracle[0]]
    assert [p["budget"] for p in r.trajectory if p["config_id"] == r.incumbent_id] == [9.0]  # never raced at 1 or 3
    assert r.trajectory[0]["config_id"] != r.incumbent_id
    with pytest.raises(InvalidInputError, match="Unknown generator option"):
        run_tabular(meta9, 0, "hb", generator_options={"no_such_option": 1})


def test_conservative_bracket_order_trains_the_top_picks_fully_first(meta9, tmp_path):
    from collections import Counter

    oracle = [int(i) for i in np.argsort(-meta9.final_acc[0])]
    r = run_tabular(meta9, 0, "hb", ranking=oracle, n_iterations=1, bracket_order="conservative_first",
                    run_dir=tmp_path / "c")
    assert [p["budget"] for p in r.trajectory] == [9.0, 9.0, 9.0]  # hpbandster's least aggressive bracket
    assert [json.loads(x)[2]["rank"] for x in lines(tmp_path / "c" / "configs.json")] == [1, 2, 3]
    assert r.incumbent == meta9.configs[oracle[0]] and r.budget_to_reach(r.extra["oracle_val_acc"]) == 9.0
    # A full round runs the same brackets in either order, only reversed.
    runs = {o: run_tabular(meta9, 0, "hb", warm_start=False, seed=1, bracket_order=o)
            for o in ("aggressive_first", "conservative_first")}
    budgets = {o: [p["budget"] for p in x.trajectory] for o, x in runs.items()}
    assert Counter(budgets["aggressive_first"]) == Counter(budgets["conservative_first"])
    assert budgets["aggressive_first"][0] == 1.0 and budgets["conservative_first"][0] == 9.0
    # The default is hpbandster's order, warm-started or not.
    warm = run_tabular(meta9, 0, "hb", ranking=oracle, n_iterations=1)
    assert warm.extra["bracket_order"] == "aggressive_first" and warm.trajectory[0]["budget"] == 1.0
    with pytest.raises(InvalidInputError, match="bracket_order"):
        run_tabular(meta9, 0, "hb", bracket_order="backwards")


def test_run_tabular_optimizers_are_reproducible(meta9):
    for optimizer, adaptive in (("hb", False), ("bohb", False), ("random", False), ("hb", True)):
        a = run_tabular(meta9, 1, optimizer, seed=3, adaptive=adaptive)
        b = run_tabular(meta9, 1, optimizer, seed=3, adaptive=adaptive)
        assert a.n_jobs >= 9 and a.n_crashed == 0
        assert [(p["config_id"], p["val_acc"]) for p in a.trajectory] == [(p["config_id"], p["val_acc"]) for p in b.trajectory]
    cold = run_tabular(meta9, 1, "hb", warm_start=False, seed=3)
    assert cold.n_jobs == a.n_jobs

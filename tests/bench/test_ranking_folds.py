"""The folds of benchmarks/ranking_benchmark.py: which tasks a ranking may learn from when it ranks a held-out
task. LOTO must keep the held-out task out and its siblings in; LOFO keeps the whole family out."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from ranking_stats import folds  # noqa: E402

FAMILIES = ["a", "a", "a", "b", "b", "c", "a", "b", "d"]  # uneven, interleaved, one family of a single task
META = SimpleNamespace(n_tasks=len(FAMILIES), families=FAMILIES, task_names=[f"t{i}" for i in range(len(FAMILIES))])


def _check_every_task_held_out_once(fs):
    held = sorted(t for _, _, te in fs for t in te)
    assert held == list(range(META.n_tasks))
    for _, tr, te in fs:
        assert not set(tr) & set(te) and sorted(set(tr) | set(te)) == list(range(META.n_tasks))


def test_loto_per_family_holds_out_one_task_of_every_family_per_fold_and_keeps_the_siblings_in():
    fs = folds(META, "loto", "per_family")
    assert len(fs) == 4                                          # family "a" has 4 tasks
    _check_every_task_held_out_once(fs)
    for _, tr, te in fs:
        assert len({FAMILIES[t] for t in te}) == len(te)         # at most one task of a family per fold
        for t in te:                                             # every sibling of a held-out task is in training
            assert {i for i in range(META.n_tasks) if FAMILIES[i] == FAMILIES[t] and i != t} <= set(tr)
    assert [te for _, _, te in fs] == [[0, 3, 5, 8], [1, 4], [2, 7], [6]]   # the j-th task of each family, in order


def test_loto_each_and_lofo_are_unchanged_and_a_bad_scheme_is_refused():
    each = folds(META, "loto")
    assert len(each) == META.n_tasks and all(te == [i] for i, (_, _, te) in enumerate(each))
    _check_every_task_held_out_once(each)
    lofo = folds(META, "lofo", "per_family")                     # the LOTO scheme does not touch LOFO
    _check_every_task_held_out_once(lofo)
    assert all(not {FAMILIES[t] for t in te} & {FAMILIES[i] for i in tr} for _, tr, te in lofo)
    with pytest.raises(ValueError, match="loto must be one of"):
        folds(META, "loto", "grouped")

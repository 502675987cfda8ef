"""One Ranker protocol (issue 18): the Recommender and every baseline rank with rank(task, candidates, k),
and tune takes any of them as ranker=."""

from __future__ import annotations

import json

import pytest

from hyperstar._internal.paths import meta_data_dir
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import load_meta_dataset
from hyperstar.ranking import AverageRank, NearestNeighbors, RandomOrder, Ranker, Recommender
from hyperstar.space import validate_configuration


@pytest.fixture(scope="module")
def meta():
    return load_meta_dataset(meta_data_dir() / "default")


def test_every_ranker_follows_the_protocol(meta, tiny_task):
    rankers = [AverageRank().fit(meta), NearestNeighbors().fit(meta), RandomOrder(seed=1).fit(meta),
               Recommender.default()]
    for r in rankers:
        assert isinstance(r, Ranker)
        top = r.rank(tiny_task, k=5)
        assert len(top) == 5 and all(isinstance(c, dict) for c in top)
    portfolio = rankers[0].rank(None, k=3)
    assert portfolio == [meta.configs[i] for i in AverageRank().fit(meta).order()[:3]]


def test_nearest_neighbours_rank_by_the_tasks_descriptors(meta):
    knn = NearestNeighbors(k=1).fit(meta)
    for t in (0, meta.n_tasks - 1):
        described = dict(zip(meta.descriptor_names, meta.descriptors[t]))
        best = max(range(meta.n_configs), key=lambda c: meta.final_acc[t, c])
        assert knn.rank(described, k=1)[0] == meta.configs[best]  # its nearest neighbour is itself


def test_candidates_restrict_a_baseline_and_unknown_ones_are_refused(meta):
    some = [meta.configs[i] for i in (5, 2, 9)]
    ranked = AverageRank().fit(meta).rank(None, candidates=some, k=10)
    assert sorted(map(json.dumps, ranked)) == sorted(map(json.dumps, some))
    with pytest.raises(InvalidInputError, match="ranks only its meta-dataset's configurations"):
        AverageRank().fit(meta).rank(None, candidates=[{"lr": 0.123}], k=1)
    with pytest.raises(InvalidInputError, match="'k' argument of AverageRank.rank must be an int >= 1"):
        AverageRank().fit(meta).rank(None, k=0)


def test_tune_warm_starts_from_any_ranker(meta, tiny_task, tmp_path):
    import torch

    from hyperstar.hpo import tune

    knn = NearestNeighbors().fit(meta)
    expected = knn.rank(tiny_task, k=100)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tune(tiny_task, "hb", ranker=knn, max_budget=3, n_iterations=1, worker_mode="thread",
             backbone="smallcnn_tiny", weights=None, resolution=16, run_dir=tmp_path / "r", ping_interval=1,
             plot=False)
    finally:
        torch.set_num_threads(threads)
    first = [json.loads(x)[1] for x in (tmp_path / "r" / "configs.json").read_text().splitlines()][:3]
    # the shipped meta-data's configurations (space version 1) run as version-2 ones with the techniques off
    assert first == [validate_configuration(c) for c in expected[:3]]

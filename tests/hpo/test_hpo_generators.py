"""Tests of hyperstar.hpo: config generators and the adaptive ranking."""

from __future__ import annotations

import numpy as np
import pytest
from hpo_support import FakeJob, finished_job

from hyperstar.exceptions import InvalidInputError
from hyperstar.hpo import AdaptiveRanking, RankedConfigGenerator, TaskAwareBOHB, bohb_space
from hyperstar.space import config_key, sample_configurations, validate_configuration


def test_ranked_generator_serves_the_ranking_in_order_then_random():
    ranking = sample_configurations(n=5, seed=1)
    cg = RankedConfigGenerator(ranking, seed=0)
    got = [cg.get_config(1.0) for _ in range(8)]
    assert [c for c, _ in got[:5]] == ranking
    assert [i["rank"] for _, i in got[:5]] == [1, 2, 3, 4, 5]
    assert all(i["source"] == "random" for _, i in got[5:])
    keys = [config_key(c) for c, _ in got]
    assert len(set(keys)) == 8  # never the same configuration twice
    assert all(validate_configuration(c) == c for c, _ in got)
    cg.mark_used(ranking[0])  # a resumed run tells the generator what was already evaluated
    assert config_key(ranking[0]) not in {config_key(c) for c in cg.remaining}


def test_random_fraction_mixes_in_random_configurations_reproducibly():
    ranking = sample_configurations(n=300, seed=2)

    def draws(fraction, seed=0, n=200):
        cg = RankedConfigGenerator(ranking, random_fraction=fraction, seed=seed)
        return [cg.get_config(1.0) for _ in range(n)]

    half = draws(0.5)
    ranked = [i["rank"] for _, i in half if i["source"] == "ranking"]
    assert 0.35 < 1 - len(ranked) / len(half) < 0.65
    assert ranked == list(range(1, len(ranked) + 1))  # ranked ones still come in ranking order
    assert [c for c, _ in half] == [c for c, _ in draws(0.5)]  # same seed, same draws
    assert [c for c, _ in half] != [c for c, _ in draws(0.5, seed=1)]
    assert all(i["source"] == "random" for _, i in draws(1.0, n=20))
    with pytest.raises(InvalidInputError, match="random_fraction"):
        RankedConfigGenerator(ranking, random_fraction=1.5)


def test_reserved_top_recommendations_wait_for_a_high_budget_bracket():
    ranking = sample_configurations(n=6, seed=3)
    cg = RankedConfigGenerator(ranking, reserve_top=2, reserve_budget=9.0)
    low = [cg.get_config(1.0)[1]["rank"] for _ in range(3)]
    high = [cg.get_config(9.0)[1]["rank"] for _ in range(2)]
    assert low == [3, 4, 5] and high == [1, 2]


def test_revisit_gives_a_top_pick_stopped_early_a_second_chance_higher_up():
    ranking = sample_configurations(n=6, seed=4)
    cg = RankedConfigGenerator(ranking, seed=0)
    assert [cg.get_config(1.0)[1]["rank"] for _ in range(4)] == [1, 2, 3, 4]
    cg.new_result(finished_job(ranking[0], 3.0))  # rank 1 was promoted to 3 in its bracket; ranks 2-4 stopped at 1
    assert [cg.get_config(3.0)[1]["rank"] for _ in range(2)] == [2, 3]  # a bracket starting at 3: not rank 1 again
    assert [cg.get_config(9.0)[1]["rank"] for _ in range(3)] == [1, 2, 3]
    assert [cg.get_config(9.0)[1]["rank"] for _ in range(3)] == [4, 5, 6]
    assert cg.get_config(9.0)[1]["source"] == "random"  # everything ranked has run at the maximum budget
    assert cg.get_config(1.0)[1]["source"] == "random"  # and at 1 (ranks 5, 6 at 9 count as run at 1)

    once = RankedConfigGenerator(ranking, revisit=False, seed=0)
    got = [once.get_config(b)[1] for b in (1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0)]
    assert [i.get("rank") for i in got[:6]] == [1, 2, 3, 4, 5, 6] and got[6]["source"] == "random"


def test_revisit_knows_what_a_resumed_run_already_ran():
    ranking = sample_configurations(n=3, seed=5)
    cg = RankedConfigGenerator(ranking, seed=0)
    cg.mark_used(ranking[0], 9.0)  # replayed from the log: handed out at the maximum budget
    cg.mark_used(ranking[1], 1.0)
    assert [cg.get_config(3.0)[1]["rank"] for _ in range(2)] == [2, 3]


def test_bohb_space_has_no_ordinals_and_keeps_conditions():
    space = bohb_space(seed=0)
    assert not any(hasattr(hp, "sequence") for hp in space.values())
    assert len(space.conditions) == 7  # version 2: layer_lr_decay, unfreeze and warmup are conditional too
    assert list(space["batch_size"].choices) == [16, 32, 64, 128]


def test_task_aware_bohb_serves_ranking_first_and_its_model_learns_from_it():
    ranking = sample_configurations(n=40, seed=4)
    cg = TaskAwareBOHB(ranking, random_fraction=0.0, seed=0)
    served = 0
    for i in range(40):
        had_model = cg.has_model
        config, info = cg.get_config(1.0)
        if not had_model:  # before the model exists every pick is the next ranked configuration
            assert config == ranking[served] and info["rank"] == served + 1
            served += 1
        else:
            assert info["source"] == "model"
        loss = 0.1 if config["optimizer"] == "adamw" else 0.9  # AdamW is what works on this task
        cg.new_result(FakeJob(config, 1.0, loss, i))
    assert served >= 30 and cg.has_model  # the KDE was fitted on warm-start results alone
    picks = [cg.get_config(1.0) for _ in range(30)]
    assert all(i["source"] == "model" for _, i in picks)
    adamw = np.mean([c["optimizer"] == "adamw" for c, _ in picks])
    assert adamw > 0.75, adamw  # the prior is 50/50
    assert all(type(v) in (int, float, str) for c, _ in picks for v in c.values())


def test_task_aware_bohb_restricted_to_candidates_snaps_model_picks(meta):
    cg = TaskAwareBOHB([], candidates=meta.configs, space=meta.space, random_fraction=0.0, seed=0)
    keys = {config_key(c) for c in meta.configs}
    for i in range(20):
        config, _ = cg.get_config(1.0)
        assert config_key(config) in keys
        cg.new_result(FakeJob(config, 1.0, 1.0 - meta.curves[0, meta.configs.index(config), 0], i))


def test_bohb_reserved_top_waits_for_a_high_budget_even_with_a_model():
    ranking = sample_configurations(n=40, seed=4)
    cg = TaskAwareBOHB(ranking, random_fraction=0.0, seed=0, reserve_top=2, reserve_budget=9.0)
    for i in range(35):  # low-budget brackets: the top two never appear
        config, info = cg.get_config(1.0)
        assert info.get("rank") not in (1, 2)
        cg.new_result(FakeJob(config, 1.0, 0.1 if config["optimizer"] == "adamw" else 0.9, i))
    assert cg.has_model
    top = [cg.get_config(9.0)[1] for _ in range(3)]
    assert [t.get("rank") for t in top[:2]] == [1, 2] and top[2]["source"] == "model"
    with pytest.raises(InvalidInputError, match="reserve_budget"):
        TaskAwareBOHB(ranking, reserve_top=1)


def test_adaptive_ranking_trusts_the_tasks_that_agree_with_observations(meta):
    ada = AdaptiveRanking(meta.subset([1, 2, 3, 4, 5]))  # task0 (family 'a') is the new task
    final = meta.final_acc[0]
    for c in np.argsort(-final)[:6]:
        ada.observe(meta.configs[c], 3.0, float(final[c]))
    w = ada.task_weights()
    families = [meta.families[t] for t in (1, 2, 3, 4, 5)]
    assert sum(wi for wi, f in zip(w, families) if f == "a") > 0.9
    reordered = ada.reorder(list(meta.configs))
    best_true = meta.configs[int(np.argmax(final))]
    assert config_key(reordered[0]) == config_key(best_true)
    assert ada.observe({"lr": 0.5}, 3.0, 0.5) is False  # not a meta-dataset configuration

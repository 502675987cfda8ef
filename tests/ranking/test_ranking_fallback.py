"""The fallback: familiarity of a new task, the gated combination with the portfolio, what a user sees."""

import math

import numpy as np
import pytest

from hyperstar.ranking import AverageRank, Recommender
from hyperstar.ranking.fallback import FamiliarityModel, Gate, choose_gate, combine, portfolio_scores, standardize
from test_recommender import FAST, synthetic_meta  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def split(synthetic_meta):  # noqa: F811
    """Fitted without the gratings task (an unseen family) and without one shapes task (a sibling of known ones)."""
    meta = synthetic_meta
    sibling = [i for i, f in enumerate(meta.families) if f == "shapes"][-1]
    unseen = meta.families.index("gratings")
    train = meta.subset([i for i in range(meta.n_tasks) if i not in (sibling, unseen)])
    return Recommender(**FAST).fit(train), sibling, unseen


@pytest.fixture(scope="module")
def fitted(synthetic_meta):  # noqa: F811
    return Recommender(**FAST, seed=5).fit(synthetic_meta)


def test_an_unseen_family_is_less_familiar_than_a_sibling_of_a_known_task(split, synthetic_meta):  # noqa: F811
    from hyperstar.suite import make_task

    rec, sibling, unseen = split
    near = rec.familiarity(make_task(synthetic_meta.recipes[sibling]))
    far = rec.familiarity(make_task(synthetic_meta.recipes[unseen]))
    assert 0.0 <= far["familiarity"] < near["familiarity"] <= 1.0
    assert far["trust"] <= near["trust"]
    assert near["driving_tasks"][0]["family"] == "shapes"  # its siblings drive its ranking
    assert {d["task"] for d in near["driving_tasks"]} <= set(rec.task_names_)


def test_familiarity_model_is_calibrated_on_other_families():
    rng = np.random.default_rng(0)
    centres = {"a": 0.0, "b": 10.0, "c": 20.0}
    reps = np.array([[centres[f] + rng.normal(0, 0.3), rng.normal(0, 0.3)] for f in "aaabbbccc"])
    fam = FamiliarityModel().fit(reps, list("aaabbbccc"), [2])
    sibling = fam.familiarity(float(fam.distances(np.array([10.1, 0.0])).min()))
    stranger = fam.familiarity(float(fam.distances(np.array([60.0, 40.0])).min()))
    assert sibling == 1.0 and stranger == 0.0


def test_familiarity_forced_to_zero_ranks_exactly_as_the_portfolio(fitted, synthetic_meta, monkeypatch):  # noqa: F811
    from hyperstar.suite import make_task

    rec = fitted
    monkeypatch.setattr(rec.familiarity_model_, "familiarity", lambda distance: 0.0)
    task = make_task(synthetic_meta.recipes[0])
    portfolio = AverageRank().fit(synthetic_meta).rank(None, k=synthetic_meta.n_configs)
    assert rec.rank(task, candidates=synthetic_meta.configs, k=synthetic_meta.n_configs) == portfolio
    recs = rec.recommend(task, k=synthetic_meta.n_configs)  # fresh candidates too: none gets into the top
    assert [r.config for r in recs] == portfolio and all(r.measured for r in recs)
    assert recs.familiarity == 0.0 and recs.trust == 0.0 and recs.unfamiliar


def test_portfolio_scores_order_as_average_rank_and_combine_is_the_portfolio_at_zero_weight(synthetic_meta):  # noqa: F811
    acc = synthetic_meta.final_acc
    p = portfolio_scores(acc)
    assert list(np.argsort(-p, kind="stable")) == list(AverageRank().fit(synthetic_meta).order())
    other = standardize(np.random.default_rng(1).normal(size=p.shape))
    assert np.array_equal(combine(p, other, other, 0.0, 0.5), p)
    assert np.allclose(combine(p, other, p, 1.0, 1.0), other)


def test_the_gate_is_chosen_by_inner_cross_validation_and_prefers_the_portfolio_when_nothing_helps():
    rng = np.random.default_rng(0)
    acc = rng.uniform(0.5, 0.9, size=(6, 12))
    p = portfolio_scores(acc[1:])
    z = standardize(acc[1:])
    noise = standardize(rng.normal(size=12))
    useless = [{"p": p, "z_model": noise, "z": z, "distances": np.ones(5), "scale": 1.0, "familiarity": 0.5,
                "acc": np.where(np.arange(12) == int(np.argmax(p)), 0.99, 0.5)}]  # the portfolio's first is best
    gate, table = choose_gate(useless)
    assert gate.gamma == 0.0 and len(table) == 5 * 5 * 4
    helpful = [{**useless[0], "z_model": standardize(np.arange(12.0)),
                "acc": np.where(np.arange(12) == 11, 0.99, 0.5)}]  # the model knows config 11 is best
    gate, _ = choose_gate(helpful)
    assert gate.weight(0.5) > 0 and gate.beta > 0


def test_recommendations_are_marked_measured_or_extrapolated_and_fresh_ones_follow_trust(fitted, synthetic_meta,  # noqa: F811
                                                                                          monkeypatch):
    import json

    from hyperstar.suite import make_task

    rec = fitted
    task = make_task(synthetic_meta.recipes[1])
    ids = {r["id"]: r["config"] for r in synthetic_meta.manifest["configs"]}
    for gate in (Gate(gamma=4.0, beta=1.0), Gate(gamma=1.0, beta=0.5), Gate(gamma=0.0)):
        monkeypatch.setattr(rec, "gate_", gate)
        recs = rec.recommend(task, k=10)
        quota = math.floor(recs.trust * recs.model_share * 10 + 1e-9)
        assert sum(not r.measured for r in recs) <= quota
        for r in recs:
            assert (r.config_id is not None) == r.measured
            if r.measured:
                assert ids[r.config_id] == r.config
        row = json.loads(json.dumps(recs[0].to_dict()))
        assert {"measured", "config_id", "config", "score"} <= set(row)


def test_same_seed_same_ranking_and_familiarity_with_the_fallback(fitted, synthetic_meta, tmp_path):  # noqa: F811
    from hyperstar.suite import make_task

    task = make_task(synthetic_meta.recipes[2])
    a = fitted
    b = Recommender(**FAST, seed=5).fit(synthetic_meta)
    ra, rb = a.recommend(task, k=8), b.recommend(task, k=8)
    assert [r.config for r in ra] == [r.config for r in rb] and ra.summary() == rb.summary()
    assert a.gate_ == b.gate_
    loaded = Recommender.load(a.save(tmp_path / "m")).recommend(task, k=8)  # the fallback survives save / load
    assert [r.config for r in loaded] == [r.config for r in ra] and loaded.summary() == ra.summary()


def test_the_shipped_embedding_does_not_collapse_on_the_suite_families():
    """Tasks of different suite families must not all look alike to the shipped recommender (the failure on
    real folders: every one 'resembled' the same glyph task at 0.97)."""
    from hyperstar.suite import make_task, tiny_suite

    rec = Recommender.default()
    recipes = tiny_suite()
    assert len({r.family for r in recipes}) >= 3
    emb = np.stack([rec._task_embeddings(make_task(r), 0).mean(0).numpy() for r in recipes])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cos = (emb @ emb.T)[~np.eye(len(recipes), dtype=bool)]
    assert cos.mean() < 0.9 and cos.min() < 0.8, cos

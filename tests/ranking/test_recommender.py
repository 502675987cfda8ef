import json

import numpy as np
import pytest

from hyperstar.ranking.baselines import AverageRank, NearestNeighbors, Oracle, RandomOrder
from hyperstar.exceptions import IncompatibleVersionError, InvalidInputError, NotFittedError
from hyperstar.meta.dataset import FORMAT_VERSION, RESULTS, append_record, load_meta_dataset, write_manifest
from hyperstar.ranking.recommender import Recommender
from hyperstar.space import sample_configurations, validate_configuration

FAST = dict(encoder="stats_tiny", predictor="mlp_tiny", steps=40, batch_images=16, n_batches=3, eval_every=20,
            n_fresh_candidates=5, max_images_per_task=60)


@pytest.fixture(scope="module")
def synthetic_meta(tmp_path_factory):
    """Tiny-suite tasks with synthetic curves: glyph tasks like high learning rates, others low."""
    from hyperstar.suite import TaskRecipe, make_task, tiny_suite

    out = tmp_path_factory.mktemp("meta")
    recipes = [r.to_dict() for r in tiny_suite()]
    recipes += [TaskRecipe("shapes", {"n_classes": 3, "per_class": 10}, seed=s).to_dict() for s in (1, 2, 3)]
    configs = sample_configurations(n=12, seed=0)
    tasks = []
    for r in recipes:
        tasks.append({"name": r["name"], "family": r["family"], "recipe": r, "descriptors": make_task(r).describe()})
    write_manifest(out, {"format_version": FORMAT_VERSION, "name": "synthetic", "max_budget": 3, "backbone": "smallcnn",
                         "tasks": tasks, "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    for t, task in enumerate(tasks):
        sign = 1.0 if task["family"] == "glyphs" else -1.0
        for i, c in enumerate(configs):
            peak = 0.5 + 0.1 * sign * np.log10(c["lr"]) / 5 + 0.01 * t
            append_record(out / RESULTS, {"task": task["name"], "config_id": f"c{i:04d}", "seed": 0,
                                          "val_acc": [peak * 0.6, peak * 0.8, peak], "test_acc": peak})
    return load_meta_dataset(out)


def test_fit_recommend_returns_k_valid_ranked_configurations(synthetic_meta):
    from hyperstar.suite import make_task

    rec = Recommender(**FAST).fit(synthetic_meta)
    task = make_task(synthetic_meta.recipes[0])
    recs = rec.recommend(task, k=4)
    assert [r.rank for r in recs] == [1, 2, 3, 4]
    assert all(validate_configuration(r.config) == r.config for r in recs)
    assert [r.score for r in recs] == sorted([r.score for r in recs], reverse=True)
    assert all(r.std >= 0 for r in recs)
    json.dumps([r.to_dict() for r in recs])
    names = [n for n, _ in rec.similar_tasks(task, k=3)]
    assert len(names) == 3 and set(names) <= set(synthetic_meta.task_names)


def test_same_seed_same_ranking(synthetic_meta):
    from hyperstar.suite import make_task

    task = make_task(synthetic_meta.recipes[1])
    a = Recommender(**FAST, seed=3).fit(synthetic_meta).recommend(task, k=5)
    b = Recommender(**FAST, seed=3).fit(synthetic_meta).recommend(task, k=5)
    assert [r.config for r in a] == [r.config for r in b]
    assert [r.score for r in a] == pytest.approx([r.score for r in b])


def test_save_load_round_trip_and_version_check(synthetic_meta, tmp_path):
    from hyperstar.suite import make_task

    task = make_task(synthetic_meta.recipes[2])
    rec = Recommender(**FAST).fit(synthetic_meta)
    rec.save(tmp_path / "model")
    loaded = Recommender.load(tmp_path / "model")
    a, b = rec.recommend(task, k=5), loaded.recommend(task, k=5)
    assert [r.config for r in a] == [r.config for r in b]
    assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-5)
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    info["hyperstar_version"] = "0.0.1"
    (tmp_path / "model" / "model.json").write_text(json.dumps(info))
    with pytest.raises(IncompatibleVersionError, match="Refit it"):
        Recommender.load(tmp_path / "model")


def test_a_save_that_fails_on_a_full_disk_keeps_the_old_recommender(synthetic_meta, tmp_path, monkeypatch):
    import torch

    from hyperstar.suite import make_task

    task = make_task(synthetic_meta.recipes[2])
    old = Recommender(**FAST).fit(synthetic_meta)
    old.save(tmp_path / "model")
    before = [r.config for r in old.recommend(task, k=5)]
    new = Recommender(**{**FAST, "seed": 1}).fit(synthetic_meta)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        new.save(tmp_path / "model")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "weights.pt"]
    assert [r.config for r in Recommender.load(tmp_path / "model").recommend(task, k=5)] == before


def test_learns_the_task_dependent_ranking(synthetic_meta):
    """Glyph tasks prefer high learning rates and shape tasks low ones: a held-out shape task's top
    recommendation should come from the low end."""
    from hyperstar.suite import make_task

    held = synthetic_meta.task_names.index(next(n for n in synthetic_meta.task_names if n.startswith("shapes")))
    train = synthetic_meta.subset([i for i in range(synthetic_meta.n_tasks) if i != held])
    rec = Recommender(**{**FAST, "steps": 150}).fit(train)
    recs = rec.recommend(make_task(synthetic_meta.recipes[held]), k=3, candidates=synthetic_meta.configs)
    lrs = sorted(c["lr"] for c in synthetic_meta.configs)
    assert np.median([r.config["lr"] for r in recs]) < lrs[len(lrs) // 2]


def test_descriptor_only_recommender(synthetic_meta):
    rec = Recommender(**{**FAST, "encoder": "descriptors_tiny"}).fit(synthetic_meta)
    d = dict(zip(synthetic_meta.descriptor_names, synthetic_meta.descriptors[0]))
    recs = rec.recommend(d, k=3)
    assert len(recs) == 3


def test_errors(synthetic_meta):
    from hyperstar.suite import make_task

    with pytest.raises(NotFittedError, match="call fit"):
        Recommender().recommend(None)
    rec = Recommender(**FAST).fit(synthetic_meta)
    task = make_task(synthetic_meta.recipes[0])
    with pytest.raises(InvalidInputError, match="'k' argument of recommend"):
        rec.recommend(task, k=0)
    with pytest.raises(InvalidInputError, match="pass a hyperstar Task"):
        rec.recommend({"n_images": 3}, k=2)
    with pytest.raises(InvalidInputError, match="No saved recommender"):
        Recommender.load("/nonexistent/model")


def test_baselines(synthetic_meta):
    meta = synthetic_meta
    acc = meta.final_acc
    assert sorted(RandomOrder(seed=1).fit(meta).order()) == list(range(meta.n_configs))
    assert list(Oracle().fit(meta).order(true_acc=acc[0])) == list(np.argsort(-acc[0], kind="stable"))
    avg = AverageRank().fit(meta).order()
    assert len(avg) == meta.n_configs
    knn = NearestNeighbors(k=1).fit(meta)
    assert knn.neighbours(meta.descriptors[2])[0] == 2
    assert list(knn.order(meta.descriptors[2])) == list(np.argsort(-acc[2], kind="stable"))


def test_cli_fit_then_recommend_json_on_an_unseen_folder(synthetic_meta, image_folder, tmp_path, capsys):
    from hyperstar.cli.main import main

    model = tmp_path / "model"
    assert main(["fit", str(synthetic_meta.path), "--out", str(model), "--encoder", "stats_tiny", "--steps", "20",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_tasks"] == synthetic_meta.n_tasks

    def ranking():
        assert main(["recommend", str(image_folder), "-k", "4", "--model", str(model), "--json"]) == 0
        return json.loads(capsys.readouterr().out)["recommendations"]

    first = ranking()
    assert [r["rank"] for r in first] == [1, 2, 3, 4]
    assert all(validate_configuration(r["config"]) == r["config"] and "score" in r and "std" in r for r in first)
    assert ranking() == first  # same seed, same ranking


def test_cli_recommend_with_a_model_from_another_version_is_refused(synthetic_meta, image_folder, tmp_path, capsys):
    from hyperstar.cli.main import main

    model = tmp_path / "model"
    Recommender(**FAST).fit(synthetic_meta).save(model)
    info = json.loads((model / "model.json").read_text())
    info["model_format"] = 99
    (model / "model.json").write_text(json.dumps(info))
    assert main(["recommend", str(image_folder), "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert "was saved by hyperstar" in err and "Traceback" not in err


def test_similarity_targets_survive_a_task_that_learned_nothing():
    from scipy.stats import spearmanr

    from hyperstar._internal.stats import spearman_matrix as _spearman_matrix

    acc = np.random.default_rng(0).random((4, 12))
    assert np.allclose(_spearman_matrix(acc), spearmanr(acc.T).statistic)
    acc[1] = 0.1  # constant: every configuration at chance
    s = _spearman_matrix(acc)
    assert s.shape == (4, 4) and np.all(s[1, [0, 2, 3]] == 0) and s[1, 1] == 1

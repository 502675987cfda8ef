"""A recommender keeps the search space of the meta-data it was fitted on: the shipped one that of the shipped
meta-data, one fitted on the version-1 space (meta-data v1's) loads and ranks over it (a versioned encoding), and a
recommender saved now records the space version it means."""

import json

from hyperstar.meta.dataset import FORMAT_VERSION, RESULTS, append_record, load_meta_dataset, write_manifest
from hyperstar.ranking import Recommender
from hyperstar.space import default_space, encode, feature_names, same_space, sample_configurations, \
    validate_configuration

TINY = dict(encoder="descriptors_tiny", predictor="mlp_tiny", steps=20, eval_every=10, n_fresh_candidates=5,
            fallback="none")


def test_the_shipped_recommender_ranks_over_the_space_of_the_shipped_meta_data(tiny_task, tmp_path):
    rec, meta = Recommender.default(), load_meta_dataset()
    assert same_space(rec.space_, meta.space)
    assert encode(rec.configs_[:2], rec.space_).shape[1] == len(feature_names(meta.space))
    top = rec.recommend(tiny_task, k=3)
    assert len(top) == 3 and all(validate_configuration(r.config, rec.space_) == r.config for r in top)
    again = Recommender.load(rec.save(tmp_path / "again"))
    assert same_space(again.space_, rec.space_)
    assert [r.config for r in again.recommend(tiny_task, k=3)] == [r.config for r in top]


def _version_1_meta(folder):
    """Six described tasks (no images) x 8 configurations of the version-1 space, as meta-data v1 holds."""
    configs = sample_configurations(default_space(version=1), n=8, seed=0)
    tasks = [{"name": f"t{t}", "family": "ab"[t % 2], "recipe": None, "descriptors": {"x": float(t)}}
             for t in range(6)]
    write_manifest(folder, {"format_version": FORMAT_VERSION, "space_version": 1, "name": "v1-like", "max_budget": 2,
                            "backbone": "smallcnn", "tasks": tasks,
                            "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    for t, task in enumerate(tasks):
        for i in range(len(configs)):
            acc = 0.3 + 0.05 * ((i * (t + 1)) % 7)
            append_record(folder / RESULTS, {"task": task["name"], "config_id": f"c{i:04d}", "seed": 0,
                                             "val_acc": [acc - 0.1, acc], "test_acc": acc})
    return load_meta_dataset(folder)


def test_a_recommender_fitted_on_the_version_1_space_keeps_it_and_ranks(tmp_path):
    rec = Recommender(**TINY).fit(_version_1_meta(tmp_path / "meta"))
    assert same_space(rec.space_, default_space(version=1)) and not same_space(rec.space_, default_space())
    assert encode(rec.configs_[:2], rec.space_).shape[1] == 31  # the version-1 encoding it was fitted on
    top = rec.recommend({"x": 2.5}, k=3)
    assert len(top) == 3 and all("layer_lr_decay" not in r.config for r in top)
    # each runs as a version-2 configuration with the techniques off
    assert all(validate_configuration(r.config)["unfreeze"] == "off" for r in top)
    rec.save(tmp_path / "again")
    info = json.loads((tmp_path / "again" / "model.json").read_text())
    assert info["space_version"] == 2 and info["space"] is not None  # version 1 is written out in full
    again = Recommender.load(tmp_path / "again")
    assert same_space(again.space_, rec.space_)
    assert [r.config for r in again.recommend({"x": 2.5}, k=3)] == [r.config for r in top]

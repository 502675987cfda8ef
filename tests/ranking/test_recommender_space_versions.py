"""The shipped recommender was fitted on the version-1 space: it still loads and ranks over it (a versioned
encoding), and a recommender saved now records the space version it means."""

import json

from hyperstar.ranking import Recommender
from hyperstar.space import default_space, encode, same_space, validate_configuration


def test_the_shipped_recommender_keeps_its_version_1_space_and_ranks(tiny_task, tmp_path):
    rec = Recommender.default()
    assert same_space(rec.space_, default_space(version=1))
    assert encode(rec.configs_[:2], rec.space_).shape[1] == 31  # the version-1 encoding it was fitted on
    top = rec.recommend(tiny_task, k=3)
    assert len(top) == 3 and all("layer_lr_decay" not in r.config for r in top)
    # each runs as a version-2 configuration with the techniques off
    assert all(validate_configuration(r.config)["unfreeze"] == "off" for r in top)
    rec.save(tmp_path / "again")
    info = json.loads((tmp_path / "again" / "model.json").read_text())
    assert info["space_version"] == 2 and info["space"] is not None  # version 1 is written out in full
    again = Recommender.load(tmp_path / "again")
    assert same_space(again.space_, rec.space_)
    assert [r.config for r in again.recommend(tiny_task, k=3)] == [r.config for r in top]

"""Tests of hyperstar.hpo: the hpbandster workers, in this process."""

from __future__ import annotations

import json
import time

import pytest
from hpo_support import events

from hyperstar.exceptions import InvalidInputError
from hyperstar.hpo import FineTuneWorker, TabularWorker
from hyperstar.space import sample_configurations, validate_configuration


def test_tabular_worker_answers_from_stored_curves_and_rejects_other_configs(meta):
    w = TabularWorker(meta, 2, "unit", nameserver="127.0.0.1", nameserver_port=1)
    c = meta.configs[5]
    t0 = time.perf_counter()
    res = w.compute((0, 0, 0), c, 2.0, ".")
    assert time.perf_counter() - t0 < 0.05
    assert res["loss"] == pytest.approx(1 - meta.curves[2, 5, 1])
    assert res["info"]["curve"] == pytest.approx(list(meta.curves[2, 5, :2]))
    assert res["info"]["test_acc"] is None  # only known at the maximum budget
    assert w.compute((0, 0, 0), c, 3.0, ".")["info"]["test_acc"] == pytest.approx(meta.test_acc[2, 5])
    with pytest.raises(InvalidInputError, match="only evaluates configurations of its meta-dataset"):
        w.compute((0, 0, 1), sample_configurations(n=1, seed=99)[0], 1.0, ".")


def test_finetune_worker_continues_promotions_and_reports_failures(tiny_task, tmp_path):
    from hyperstar.finetune import fine_tune

    w = FineTuneWorker(tiny_task, "unit", max_budget=3, backbone="smallcnn_tiny", weights=None,
                       nameserver="127.0.0.1", nameserver_port=1)
    config = validate_configuration({"lr": 0.05, "batch_size": 16})
    first = w.compute((0, 0, 0), config, 1.0, str(tmp_path))
    second = w.compute((0, 0, 0), config, 3.0, str(tmp_path))
    assert first["info"]["resumed_from_epoch"] is None and second["info"]["resumed_from_epoch"] == 1
    scratch = fine_tune(tiny_task, config, budget=3, max_budget=3, backbone="smallcnn_tiny", weights=None)
    assert second["info"]["curve"] == [e.val_acc for e in scratch.curve]  # exact on CPU
    assert second["loss"] == pytest.approx(1 - scratch.val_acc)
    assert len(list((tmp_path / "checkpoints").rglob("*.pt"))) == 1  # one per configuration

    diverged = w.compute((0, 0, 1), {"lr": 10.0, "optimizer": "sgd", "momentum": 0.99}, 1.0, str(tmp_path))
    assert diverged["info"]["diverged"] is True
    assert diverged["loss"] == pytest.approx(1 - diverged["info"]["val_acc"])  # the majority-class accuracy

    failed = w.compute((0, 0, 2), {"lr": 1e6}, 1.0, str(tmp_path))
    assert failed["loss"] == 1.0 and "lr" in failed["info"]["error"]
    for res in (first, second, diverged, failed):
        json.dumps(res, allow_nan=False)
        assert type(res["loss"]) is float
    ends = events(tmp_path, "end")
    assert [e["config_id"] for e in ends] == [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 2]]


def test_finetune_worker_reports_the_time_split_of_each_job(tiny_task, tmp_path):
    w = FineTuneWorker(tiny_task, "unit", max_budget=3, backbone="smallcnn_tiny", weights=None,
                       nameserver="127.0.0.1", nameserver_port=1)
    config = validate_configuration({"lr": 0.05, "batch_size": 16})
    first = w.compute((0, 0, 0), config, 1.0, str(tmp_path))["info"]
    second = w.compute((0, 0, 0), config, 3.0, str(tmp_path))["info"]
    for info in (first, second):
        t = info["timings"]
        assert t["train"] > 0 and t["eval"] > 0 and sum(t.values()) <= info["wall_time"]
    assert first["timings"]["checkpoint_save"] > 0 and first["timings"]["checkpoint_load"] == 0
    assert second["timings"]["checkpoint_load"] > 0 and second["timings"]["checkpoint_save"] == 0  # at max_budget
    # WiSE-FT is evaluated where an incumbent can come from, the maximum budget, and skipped below it
    assert first["wise_ft"] is None
    assert second["wise_ft"]["alphas"][-1] == 1.0 and second["wise_ft"]["val"][-1] == pytest.approx(second["val_acc"])

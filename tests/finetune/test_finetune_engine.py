"""Tests for hyperstar.finetune.engine: fine_tune's curve, learning, seeding, train modes, L2-SP, divergence, devices."""

import json
import math

import numpy as np
import pytest
import torch
from tiny_runs import FAST, TINY, curve_values

from hyperstar.exceptions import InvalidInputError
from hyperstar.finetune import fine_tune, resolve_device
from hyperstar.models.backbones import create_backbone


def test_result_has_curve_accuracies_and_timing(tiny_task):
    r = fine_tune(tiny_task, FAST, budget=3, max_budget=5, seed=0, **TINY)
    assert [e.epoch for e in r.curve] == [1, 2, 3]
    assert all(0.0 <= e.val_acc <= 1.0 and math.isfinite(e.train_loss) for e in r.curve)
    assert 0.0 <= r.test_acc <= 1.0
    assert r.wall_time > 0 and r.samples_per_s > 0 and not r.diverged
    assert r.n_train + r.n_val + r.n_test == len(tiny_task)
    json.dumps(r.to_dict(), allow_nan=False)


def test_learns_a_learnable_task(tiny_task):
    r = fine_tune(tiny_task, {"batch_size": 16, "lr": 0.1, "augment": 0.0}, budget=8, seed=0, **TINY)
    assert r.best_val_acc >= 0.6  # chance is 1/3


def test_same_seed_same_curve_different_seed_different_curve(tiny_task):
    a = fine_tune(tiny_task, FAST, budget=2, seed=1, **TINY)
    b = fine_tune(tiny_task, FAST, budget=2, seed=1, **TINY)
    c = fine_tune(tiny_task, FAST, budget=2, seed=2, **TINY)
    assert curve_values(a) == curve_values(b) and a.test_acc == b.test_acc
    assert curve_values(a) != curve_values(c)


def test_divergence_is_flagged_not_raised(tiny_task):
    r = fine_tune(tiny_task, {"lr": 10.0, "momentum": 0.99, "batch_size": 16}, budget=3, seed=0, **TINY)
    assert r.diverged and r.diverged_epoch is not None and len(r.curve) <= 3
    assert 0.0 <= r.test_acc <= 1.0  # the majority-class accuracy
    d = r.to_dict()
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("mode", ["linear_probe", "bitfit", "last_block", "full"])
def test_train_mode_only_changes_its_parameters(tiny_task, mode):
    net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
    before = {k: v.clone() for k, v in net.body.state_dict().items()}
    fine_tune(tiny_task, {**FAST, "train_mode": mode}, budget=1, seed=0, backbone=net)
    after = net.body.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    weights_changed = {k for k in changed if k.endswith(".weight")}
    if mode == "linear_probe":
        assert not changed  # frozen BatchNorm keeps its running statistics too
    elif mode == "bitfit":
        assert changed and not weights_changed
    elif mode == "last_block":
        assert changed and all(k.startswith("3.") for k in changed)
    else:
        assert any(k.startswith("0.") for k in weights_changed)


def test_l2sp_keeps_weights_closer_to_the_start(tiny_task):
    def distance(config):
        net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
        start = [p.detach().clone() for p in net.body.parameters()]
        fine_tune(tiny_task, config, budget=4, seed=0, backbone=net)
        return sum(float(((p.detach() - s) ** 2).sum()) for p, s in zip(net.body.parameters(), start))

    base = {**FAST, "lr": 0.5, "use_weight_decay": "no", "lr_schedule": "constant"}
    assert distance({**base, "use_l2sp": "yes", "l2sp_strength": 0.1}) < distance(base)


def test_streaming_task_gives_the_same_curve(image_folder):
    from hyperstar.data import Task

    mem = Task.from_folder(image_folder, resolution=16)
    stream = Task.from_folder(image_folder, resolution=16, max_in_memory=0)
    assert mem.in_memory and not stream.in_memory
    a = fine_tune(mem, FAST, budget=2, seed=0, **TINY)
    b = fine_tune(stream, FAST, budget=2, seed=0, **TINY)
    assert np.allclose(np.array(curve_values(a)), np.array(curve_values(b)), rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_clear(tiny_task):
    with pytest.raises(InvalidInputError, match="larger than max_budget"):
        fine_tune(tiny_task, FAST, budget=5, max_budget=3, **TINY)
    with pytest.raises(InvalidInputError, match="'budget' argument"):
        fine_tune(tiny_task, FAST, budget=0, **TINY)
    with pytest.raises(InvalidInputError, match="device"):
        resolve_device("tpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_run_is_close_to_cpu_run(tiny_task):
    cpu = fine_tune(tiny_task, FAST, budget=2, seed=0, device="cpu", **TINY)
    gpu = fine_tune(tiny_task, FAST, budget=2, seed=0, device="cuda", **TINY)
    assert gpu.device.startswith("cuda") and not gpu.diverged
    assert abs(gpu.curve[-1].val_acc - cpu.curve[-1].val_acc) <= 0.35

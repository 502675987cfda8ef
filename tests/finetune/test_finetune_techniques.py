"""Tests for the fine-tuning techniques: discriminative rates, gradual unfreezing, the slanted triangular schedule
(each keeps the fixed-horizon prefix guarantee), WiSE-FT's evaluation and export, and the shifted split."""

import math
from types import SimpleNamespace

import pytest
import torch
from tiny_runs import FAST, TINY, curve_values

from hyperstar.data.shift import shifted_images
from hyperstar.exceptions import InvalidInputError
from hyperstar.finetune import fine_tune, lr_multiplier
from hyperstar.finetune.engine import _evaluate, _Feeder, _make_optimizer, _set_trainable
from hyperstar.finetune.schedule import STLR_RATIO, unfrozen_groups
from hyperstar.finetune.wiseft import WISE_ALPHAS, load_model
from hyperstar.models.backbones import create_backbone
from hyperstar.space import validate_configuration

ALL_TECHNIQUES = {**FAST, "layer_lr_decay": 0.5, "unfreeze": "gradual", "lr_schedule": "slanted_triangular"}


def _changed(before, net):
    after = net.body.state_dict()
    return {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}


# --------------------------------------------------------------------------- discriminative rates


@pytest.mark.parametrize("l2sp", ["no", "yes"])
def test_layer_decay_gives_each_group_its_rate(l2sp):
    net = create_backbone("smallcnn_tiny", num_classes=3)
    config = validate_configuration({"lr": 0.1, "layer_lr_decay": 0.5, "use_l2sp": l2sp})
    opt, _ = _make_optimizer(net, config, _set_trainable(net, "full"))
    rate = {id(p): g["lr"] * g["lr_scale"] for g in opt.param_groups for p in g["params"]}
    groups = net.layer_groups()
    assert len(rate) == sum(len(g) for g in groups)  # every parameter once
    for k, group in enumerate(groups):
        assert [rate[id(p)] for p in group] == pytest.approx([0.1 * 0.5**k] * len(group))
    if l2sp == "yes":  # L2-SP's body groups keep no weight decay, the head keeps its own
        head = {id(p) for p in net.head.parameters()}
        assert all((g["weight_decay"] > 0) == (id(g["params"][0]) in head) for g in opt.param_groups)


def test_layer_decay_one_keeps_the_plain_optimiser():
    net = create_backbone("smallcnn_tiny", num_classes=3)
    opt, _ = _make_optimizer(net, validate_configuration({"lr": 0.1}), _set_trainable(net, "full"))
    assert len(opt.param_groups) == 1 and "lr_scale" not in opt.param_groups[0]


def test_layer_decay_moves_the_lower_layers_less(tiny_task):
    def moved(decay):
        net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
        start = {k: v.clone() for k, v in net.body[0].state_dict().items() if k.endswith("weight")}
        fine_tune(tiny_task, {**FAST, "layer_lr_decay": decay, "lr_schedule": "constant"}, budget=1, seed=0, backbone=net)
        return sum(float((net.body[0].state_dict()[k] - v).norm()) for k, v in start.items())

    assert moved(0.25) < 0.5 * moved(1.0)


# --------------------------------------------------------------------------- gradual unfreezing


def test_gradual_unfreezing_trains_exactly_the_scheduled_groups(tiny_task):
    # smallcnn_tiny's groups from the head: head, body.3 (last block), body.2, body.1, body.0
    order = ["3", "2", "1", "0"]
    for budget in (1, 2, 3):
        net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
        before = {k: v.clone() for k, v in net.body.state_dict().items()}
        fine_tune(tiny_task, {**FAST, "unfreeze": "gradual"}, budget=budget, max_budget=6, seed=0, backbone=net)
        assert _changed(before, net) == set(order[: budget - 1])  # epoch e trains e + 1 groups, the head first


def test_gradual_unfreezing_only_unfreezes_what_the_train_mode_trains(tiny_task):
    net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
    before = {k: v.clone() for k, v in net.body.state_dict().items()}
    fine_tune(tiny_task, {**FAST, "unfreeze": "gradual", "train_mode": "last_block"}, budget=4, seed=0, backbone=net)
    assert _changed(before, net) == {"3"}
    assert all(p.requires_grad == (n.startswith("3.")) for n, p in net.body.named_parameters())


def test_unfrozen_groups_counts_one_more_each_epoch():
    assert [unfrozen_groups({"unfreeze": "gradual"}, e, 3) for e in range(5)] == [1, 2, 3, 3, 3]
    assert unfrozen_groups({"unfreeze": "off"}, 0, 3) == 3 and unfrozen_groups({}, 0, 3) == 3


# --------------------------------------------------------------------------- slanted triangular


def test_slanted_triangular_shape():
    c, total = {"lr_schedule": "slanted_triangular"}, 200
    f = [lr_multiplier(c, s, total) for s in range(total)]
    peak = f.index(max(f))
    assert peak == 20 and f[peak] == pytest.approx(1.0)  # the rise lasts 10% of the horizon
    assert f[0] == pytest.approx(1 / STLR_RATIO) and f[-1] < 0.05
    assert all(a < b for a, b in zip(f[:peak], f[1 : peak + 1]))  # strictly rising, then strictly falling
    assert all(a > b for a, b in zip(f[peak:-1], f[peak + 1 :]))
    rise, fall = f[1] - f[0], f[peak] - f[peak + 1]
    assert rise == pytest.approx(9 * fall, rel=1e-6)  # linear both ways, the rise 9x steeper
    assert lr_multiplier(c, 50, total) == lr_multiplier(c, 50, total)  # depends on the horizon only


# --------------------------------------------------------------------------- the prefix guarantee


@pytest.mark.parametrize("config", [
    {**FAST, "unfreeze": "gradual"},
    {**FAST, "lr_schedule": "slanted_triangular"},
    {**ALL_TECHNIQUES, "optimizer": "adamw", "lr": 0.01},
], ids=["gradual", "slanted_triangular", "all_adamw"])
def test_budget_b_is_the_prefix_of_the_horizon_run_for_every_technique(tiny_task, config, tmp_path):
    short = fine_tune(tiny_task, config, budget=2, max_budget=4, seed=0, checkpoint_path=tmp_path / "b2.pt",
                      wise_ft=False, **TINY)
    full = fine_tune(tiny_task, config, budget=4, max_budget=4, seed=0, wise_ft=False, **TINY)
    resumed = fine_tune(tiny_task, config, budget=4, max_budget=4, seed=0, resume_from=tmp_path / "b2.pt",
                        wise_ft=False, **TINY)
    assert curve_values(short) == curve_values(full)[:2]
    assert curve_values(resumed) == curve_values(full) and resumed.test_acc == full.test_acc


# --------------------------------------------------------------------------- WiSE-FT


def _accuracy(model, task, indices):
    return _evaluate(model, _Feeder(task, indices, torch.device("cpu"), 0), torch.device("cpu"), False)[1]


def test_wise_ft_ends_are_the_pretrained_body_and_the_fine_tuned_model(tiny_task, tmp_path):
    init = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
    net = create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)
    net.load_state_dict(init.state_dict())
    r = fine_tune(tiny_task, {**FAST, "lr": 0.2}, budget=3, seed=0, backbone=net)
    w = r.wise_ft
    assert w["alphas"] == list(WISE_ALPHAS) and w["body_changed"]
    split = tiny_task.split(seed=0)
    # alpha = 1: the fine-tuned model's own numbers
    assert w["val"][-1] == r.val_acc and w["test"][-1] == r.test_acc and w["shifted"][-1] == r.shifted_acc
    # alpha = 0: the pre-trained body read by the fine-tuned head (the head rule)
    init.head.load_state_dict(net.head.state_dict())
    assert w["val"][0] == _accuracy(init, tiny_task, split.val) and w["test"][0] == _accuracy(init, tiny_task, split.test)
    assert _accuracy(net, tiny_task, split.test) == r.test_acc  # the fine-tuned body is back after the evaluation
    assert 0 < w["seconds"] < r.wall_time


def test_wise_ft_is_moot_where_the_body_is_frozen(tiny_task):
    r = fine_tune(tiny_task, {**FAST, "train_mode": "linear_probe"}, budget=2, seed=0, **TINY)
    assert not r.wise_ft["body_changed"] and r.wise_ft["best_alpha"] == 1.0
    assert set(r.wise_ft["test"]) == {r.test_acc} and set(r.wise_ft["val"]) == {r.val_acc}


def test_wise_ft_can_be_switched_off_and_is_skipped_for_a_diverged_run(tiny_task):
    assert fine_tune(tiny_task, FAST, budget=1, seed=0, wise_ft=False, **TINY).wise_ft is None
    r = fine_tune(tiny_task, {"lr": 10.0, "momentum": 0.99, "batch_size": 16}, budget=3, seed=0, **TINY)
    assert r.diverged and r.wise_ft is None and r.shifted_acc is None


@pytest.mark.parametrize("alpha", ["best", 0.0, 0.5])
def test_an_exported_model_applies_the_chosen_alpha(tiny_task, tmp_path, alpha):
    r = fine_tune(tiny_task, {**FAST, "lr": 0.2}, budget=3, seed=0, export_path=tmp_path / "m.pt", export_alpha=alpha,
                  **TINY)
    w = r.wise_ft
    chosen = w["best_alpha"] if alpha == "best" else alpha
    model = load_model(tmp_path / "m.pt")
    assert model.export_info["wise_ft_alpha"] == chosen == r.extra["exported_alpha"]
    split = tiny_task.split(seed=0)
    i = w["alphas"].index(chosen)
    assert _accuracy(model, tiny_task, split.test) == w["test"][i] and _accuracy(model, tiny_task, split.val) == w["val"][i]


def test_bad_export_alpha_and_model_files_are_one_line_errors(tiny_task, tmp_path):
    with pytest.raises(InvalidInputError, match="alpha of fine_tune must be 'best' or a number in"):
        fine_tune(tiny_task, FAST, budget=1, export_alpha=1.5, **TINY)
    (tmp_path / "x.pt").write_bytes(b"not a model")
    with pytest.raises(Exception, match="no readable description"):
        load_model(tmp_path / "x.pt")


def test_shifted_split_is_fixed_and_corrupts_every_image():
    x = (torch.arange(6 * 3 * 16 * 16) % 251).to(torch.uint8).view(6, 3, 16, 16)
    a, b = shifted_images(x), shifted_images(x)
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == x.shape
    assert all(not torch.equal(a[i], x[i]) for i in range(len(x)))
    assert not torch.equal(shifted_images(x, seed=1), a)
    assert math.isfinite(float(a.float().mean()))


# --------------------------------------------------------------------------- STILTs


def test_stilts_auto_takes_the_most_similar_known_task_that_builds_here(monkeypatch):
    import numpy as np

    from hyperstar.stilts import choose_intermediate
    from hyperstar.suite import TaskRecipe, _debian

    recipes = {"drawn": TaskRecipe("wesnoth_units", {"n_classes": 2}).to_dict(),
               "glyph": TaskRecipe("glyphs", {"n_classes": 2, "per_class": 5}).to_dict(),
               "big": TaskRecipe("shapes", {"n_classes": 2, "per_class": 500}).to_dict()}
    meta = SimpleNamespace(task_names=list(recipes), recipes=list(recipes.values()), descriptor_names=["n_images"],
                           descriptors=np.array([[20.0], [10.0], [1000.0]]), n_tasks=3)
    order = [("drawn", 0.9), ("big", 0.8), ("glyph", 0.5)]
    rec = SimpleNamespace(task_names_=list(recipes), similar_tasks=lambda task, k: order[:k])
    monkeypatch.setattr(_debian, "installed_version", lambda package: "1:1.16.9-1")
    assert choose_intermediate(None, rec, meta)[0]["name"] == recipes["drawn"]["name"]
    monkeypatch.setattr(_debian, "installed_version", lambda package: None)  # a fresh machine: no Debian package
    assert choose_intermediate(None, rec, meta) == (recipes["big"], 0.8)
    assert choose_intermediate(None, rec, meta, max_images=100) == (recipes["glyph"], 0.5)
    with pytest.raises(InvalidInputError, match="not installed here"):
        choose_intermediate(None, rec, meta, exclude=["glyph", "big"])

"""Backbones beyond the registered ones (issue 18): any torchvision classification model and timm models,
through the same Backbone interface (features, head, training modes, body weights, grayscale)."""

from __future__ import annotations

import pytest
import torch

from hyperstar.exceptions import InvalidInputError
from hyperstar.models import create_backbone


@pytest.mark.parametrize("train_mode", ["full", "last_block", "linear_probe", "bitfit"])
def test_a_torchvision_model_by_name_is_a_backbone(train_mode):
    m = create_backbone("torchvision:mobilenet_v3_small", num_classes=5)
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    n_all = sum(p.numel() for p in m.trainable_parameters("full"))
    n = sum(p.numel() for p in m.trainable_parameters(train_mode))
    assert 0 < n <= n_all and (train_mode == "full") == (n == n_all)
    assert sum(p.numel() for p in m.head.parameters()) <= n


def test_last_block_is_the_last_stage():
    m = create_backbone("torchvision:resnet18", num_classes=2)
    share = sum(p.numel() for p in m.last_block.parameters()) / sum(p.numel() for p in m.body.parameters())
    assert 0.5 < share < 0.9  # layer4, as for the registered resnet18


def test_grayscale_and_body_weights_round_trip(tmp_path):
    a = create_backbone("torchvision:mobilenet_v3_small", num_classes=3, in_channels=1).eval()
    path = tmp_path / "body.pt"
    torch.save({f"body.{k}": v for k, v in a.body.state_dict().items()}, path)
    b = create_backbone("torchvision:mobilenet_v3_small", num_classes=3, in_channels=1, weights=path).eval()
    x = torch.rand(2, 1, 32, 32)
    assert torch.allclose(a.forward_features(x), b.forward_features(x))


def test_unknown_models_are_refused_in_one_line():
    with pytest.raises(InvalidInputError, match="torchvision has no model 'nonesuch'"):
        create_backbone("torchvision:nonesuch")
    with pytest.raises(InvalidInputError, match="Unknown backbone"):
        create_backbone("pytorch:resnet18")


def test_fine_tune_runs_an_adapted_backbone(tiny_task):
    from hyperstar.finetune import fine_tune

    r = fine_tune(tiny_task, {"lr": 0.01, "batch_size": 16}, budget=1, backbone="torchvision:mobilenet_v3_small",
                  weights=None)
    assert len(r.curve) == 1 and 0.0 <= r.val_acc <= 1.0


def test_a_timm_model_is_a_backbone():
    pytest.importorskip("timm", reason="timm is optional (pip install timm)")
    m = create_backbone("timm:test_convnext", num_classes=4)
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 4)
    assert 0 < sum(p.numel() for p in m.trainable_parameters("last_block")) < sum(
        p.numel() for p in m.trainable_parameters("full"))
    with pytest.raises(InvalidInputError, match="timm could not create"):
        create_backbone("timm:nonesuch_model")

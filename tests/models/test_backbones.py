import pytest
import torch

from hyperstar.models.backbones import create_backbone, list_backbones, load_body_weights, state_dict_digest
from hyperstar.exceptions import InvalidInputError


def test_registry_lists_small_cnns_and_resnets():
    names = list_backbones()
    for name in ["smallcnn", "smallcnn_tiny", "resnet18", "resnet34", "resnet50"]:
        assert name in names
    with pytest.raises(InvalidInputError, match="Unknown backbone 'vgg'"):
        create_backbone("vgg")


@pytest.mark.parametrize("name", ["smallcnn_tiny", "smallcnn", "resnet18"])
def test_forward_shapes(name):
    net = create_backbone(name, num_classes=4).eval()
    x = torch.rand(2, 3, 32, 32)
    assert net(x).shape == (2, 4)
    assert net.forward_features(x).shape == (2, net.feature_dim)


def test_grayscale_input():
    net = create_backbone("smallcnn_tiny", num_classes=2, in_channels=1).eval()
    assert net(torch.rand(2, 1, 16, 16)).shape == (2, 2)


def test_param_groups_make_each_strategy_one_line():
    net = create_backbone("smallcnn_tiny", num_classes=3)
    groups = net.param_groups()
    ids = lambda ps: {id(p) for p in ps}  # noqa: E731
    assert ids(net.trainable_parameters("full")) == ids(net.parameters())
    assert ids(net.trainable_parameters("linear_probe")) == ids(net.head.parameters())
    assert ids(groups["last_block"]) < ids(groups["body"])
    bitfit = net.trainable_parameters("bitfit")
    assert ids(net.head.parameters()) <= ids(bitfit)
    assert all(p.ndim == 1 for p in groups["bias"])
    with pytest.raises(InvalidInputError, match="train_mode"):
        net.trainable_parameters("everything")


def test_state_dict_has_no_duplicates_and_weights_round_trip(tmp_path):
    a = create_backbone("smallcnn_tiny", num_classes=3)
    assert not any(k.startswith("last_block") for k in a.state_dict())
    path = tmp_path / "w.pt"
    torch.save(a.state_dict(), path)
    b = create_backbone("smallcnn_tiny", num_classes=5, weights=path)  # head size differs: not loaded
    assert state_dict_digest(a.body) == state_dict_digest(b.body)
    with pytest.raises(InvalidInputError, match="do not fit backbone"):
        load_body_weights(create_backbone("smallcnn", num_classes=3), path)
    with pytest.raises(InvalidInputError, match="does not exist"):
        create_backbone("smallcnn_tiny", weights=tmp_path / "missing.pt")

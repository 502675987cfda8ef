import pytest
from damaged_files import Evil, torch_bytes
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




@pytest.mark.parametrize("kind, fragment", [
    ("empty", r"is not a PyTorch state-dict file \(it is empty\)"),
    ("truncated", r"is truncated or damaged \(its archive is incomplete or corrupt\)"),
    ("random", r"is not a PyTorch state-dict file \(it is not a PyTorch file\)"),
    ("malicious_pickle", r"is not a PyTorch state-dict file \(it is not a PyTorch file\)"),
    ("malicious_torch_file", r"holds Python objects, e.g. (posix|nt).system, besides tensors"),
    ("a_list", r"is not a PyTorch state-dict file \(it holds a list\)"),
    ("not_tensors", r"is not a PyTorch state-dict file \(it holds a dict without only tensors\)"),
])
def test_damaged_backbone_weights_give_one_line_and_run_nothing(tmp_path, monkeypatch, kind, fragment):
    import pickle

    import numpy as np

    from hyperstar.exceptions import ModelFileError

    monkeypatch.chdir(tmp_path)
    good = torch_bytes(create_backbone("smallcnn_tiny", num_classes=3).state_dict())
    content = {"empty": b"", "truncated": good[: len(good) // 3], "random": np.random.default_rng(1).bytes(2000),
               "malicious_pickle": pickle.dumps(Evil()), "malicious_torch_file": torch_bytes({"body.0": Evil()}),
               "a_list": torch_bytes([torch.zeros(2)]), "not_tensors": torch_bytes({"body.0.weight": "x"})}[kind]
    path = tmp_path / "w.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=fragment) as info:
        create_backbone("smallcnn_tiny", num_classes=3, weights=path)
    text = str(info.value)
    assert text.startswith(f"Backbone weights '{path}' ") and "\n" not in text and "weights_only" not in text
    assert "weights=None" in text and not (tmp_path / "PWNED").exists()


def test_damaged_weights_in_finetune_cli_give_one_line(tmp_path, image_folder, capsys):
    from hyperstar.cli.main import main

    path = tmp_path / "w.pt"
    path.write_bytes(b"")
    assert main(["finetune", str(image_folder), "--epochs", "1", "--backbone", "smallcnn_tiny", "--weights",
                 str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"hyperstar: error: Backbone weights '{path}' is not a PyTorch state-dict file (it is empty). "
                   "Pass a state-dict file saved with torch.save(model.state_dict()), or weights=None.\n")


def test_weights_that_name_a_folder_are_refused_in_one_line(tmp_path):
    from hyperstar._internal.paths import resolve_weights

    with pytest.raises(InvalidInputError, match=f"Backbone weights '{tmp_path}' is a folder. Pass a .pt file"):
        resolve_weights("smallcnn_tiny", str(tmp_path), check=True)

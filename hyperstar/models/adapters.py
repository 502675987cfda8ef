"""Backbones beyond the registered ones: any torchvision classification model, and timm models.

``create_backbone("torchvision:<name>")`` builds ``torchvision.models.get_model(name)`` (e.g.
``torchvision:mobilenet_v3_small``, ``torchvision:convnext_tiny``, ``torchvision:efficientnet_b0``);
``create_backbone("timm:<name>")`` builds ``timm.create_model(name)`` (``pip install timm``; e.g.
``timm:convnext_tiny``, ``timm:resnet18``). ``weights``: ``None`` (random initialisation), a local
state-dict file (hyperstar's own ``body.``-prefixed keys or the model's bare keys; the classifier is
never loaded), or, for torchvision, a weights name the machine has cached (``"DEFAULT"``).

How a model becomes a :class:`~hyperstar.models.Backbone`: its last ``nn.Linear`` (the classifier)
is replaced by an identity, so the model's output is its pooled features, and hyperstar's own head
is put on top. The first 3-channel convolution is summed over its input channels for grayscale
tasks. ``last_block`` (what the ``last_block`` training mode trains) is the last child of the body
that holds at least 5% of its parameters, looked for inside it when that child wraps more than 90%
of them (e.g. torchvision's ``features`` or ``encoder``): ResNet's ``layer4``, ConvNeXt's last
stage, ViT's last encoder block.
Inputs are normalised with ImageNet's mean and standard deviation.

    >>> net = create_adapted("torchvision:mobilenet_v3_small", num_classes=4)
    >>> net.name, net.feature_dim, net.head.out_features
    ('torchvision:mobilenet_v3_small', 1024, 4)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hyperstar.exceptions import InvalidInputError

__all__ = ["ADAPTER_PREFIXES", "create_adapted", "is_adapted"]

ADAPTER_PREFIXES = ("torchvision:", "timm:")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def is_adapted(name: Any) -> bool:
    """Whether ``name`` names a model through an adapter (``torchvision:...`` or ``timm:...``)."""
    return isinstance(name, str) and name.startswith(ADAPTER_PREFIXES) and len(name.split(":", 1)[1]) > 0


def _local(weights: Any) -> bool:
    return isinstance(weights, (Path, dict)) or (isinstance(weights, str) and bool(Path(weights).suffix))


def _torchvision_model(arch: str, weights: Any) -> nn.Module:
    import torchvision

    if arch not in torchvision.models.list_models():
        raise InvalidInputError(
            f"torchvision has no model {arch!r}. Names: torchvision.models.list_models() (e.g. resnet18, "
            "mobilenet_v3_small, convnext_tiny, efficientnet_b0)."
        )
    try:
        return torchvision.models.get_model(arch, weights=None if weights is None or _local(weights) else weights)
    except Exception as exc:  # no internet, an unknown weights name, ...
        raise InvalidInputError(
            f"Could not create torchvision {arch} with weights={weights!r}: {exc}. Pass weights=None, a local "
            "state-dict file, or weights the machine has cached."
        ) from None


def _timm_model(arch: str) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise InvalidInputError(f"Backbone 'timm:{arch}' needs timm: pip install timm.") from None
    try:
        return timm.create_model(arch, pretrained=False)
    except Exception as exc:  # unknown name and the like
        raise InvalidInputError(f"timm could not create {arch!r}: {exc}. Names: timm.list_models().") from None


def _strip_classifier(net: nn.Module) -> int:
    """Replace the last ``nn.Linear`` by an identity; its input size (the feature dimension)."""
    last = None
    for name, module in net.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise InvalidInputError("The model has no linear classifier to replace; it cannot be used as a backbone.")
    parent = net
    *path, leaf = last.split(".")
    for part in path:
        parent = getattr(parent, part)
    features = getattr(parent, leaf).in_features
    setattr(parent, leaf, nn.Identity())
    return int(features)


def _to_gray(net: nn.Module) -> None:
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            new = nn.Conv2d(1, module.out_channels, module.kernel_size, module.stride, module.padding,
                            module.dilation, module.groups, module.bias is not None)
            with torch.no_grad():
                new.weight.copy_(module.weight.sum(dim=1, keepdim=True))
                if module.bias is not None:
                    new.bias.copy_(module.bias)
            parent = net
            *path, leaf = name.split(".")
            for part in path:
                parent = getattr(parent, part)
            setattr(parent, leaf, new)
            return
    raise InvalidInputError("The model has no 3-channel convolution to adapt to grayscale images.")


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _last_block(body: nn.Module) -> nn.Module:
    total = max(_n_params(body), 1)
    node = body
    for _ in range(4):  # the last child with >= 5% of the parameters; inside it when it wraps > 90% of them
        children = [c for c in node.children() if _n_params(c) >= 0.05 * total]
        if not children:
            break
        node = children[-1]
        if _n_params(node) <= 0.9 * total:
            break
    return node


def create_adapted(name: str, num_classes: int = 10, weights: Any = None, in_channels: int = 3):
    """The :class:`~hyperstar.models.Backbone` for ``torchvision:<arch>`` or ``timm:<arch>``."""
    from hyperstar.models.backbones import Backbone, load_body_weights

    if not is_adapted(name):
        raise InvalidInputError(f"An adapted backbone is 'torchvision:<name>' or 'timm:<name>'. Got {name!r}.")
    source, arch = name.split(":", 1)
    if source == "timm" and weights is not None and not _local(weights):
        raise InvalidInputError(f"timm weights are given as a local state-dict file here. Got {weights!r}.")
    net = _torchvision_model(arch, weights) if source == "torchvision" else _timm_model(arch)
    feature_dim = _strip_classifier(net)
    if in_channels == 1:
        _to_gray(net)
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if in_channels == 3 else ((0.449,), (0.226,))
    model = Backbone(net, feature_dim, num_classes, _last_block(net), mean, std, name=name)
    if weights is not None and _local(weights):
        load_body_weights(model, weights)
    return model

"""Backbone registry: the project's small CNNs (fast on CPU) and torchvision ResNets.

Every backbone is a :class:`Backbone`: it takes float images in [0, 1] (it normalises them
itself), exposes ``forward_features`` for the dataset encoder, a linear ``head``, and named
parameter groups so that each fine-tuning strategy is one line::

    >>> from hyperstar.models import create_backbone
    >>> net = create_backbone("smallcnn_tiny", num_classes=3)
    >>> sorted(net.param_groups())
    ['all', 'bias', 'body', 'head', 'last_block']
    >>> params = net.trainable_parameters("bitfit")   # bias terms plus head
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hyperstar._internal.io import load_torch_file
from hyperstar._internal.registry import Registry
from hyperstar.exceptions import InvalidInputError, ModelFileError

__all__ = [
    "Backbone",
    "create_backbone",
    "list_backbones",
    "register_backbone",
    "load_body_weights",
    "state_dict_digest",
]

_REGISTRY: Registry[Callable[..., "Backbone"]] = Registry("backbone")


class Backbone(nn.Module):
    """A feature extractor (``body``) plus a linear classification ``head``.

    ``last_block`` is the part of the body trained in the ``last_block`` strategy.
    """

    def __init__(
        self,
        body: nn.Module,
        feature_dim: int,
        num_classes: int,
        last_block: nn.Module,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        name: str = "backbone",
    ) -> None:
        super().__init__()
        self.name = name
        self.body = body
        # A sub-module of body, kept by reference only so that state_dict has no duplicate keys.
        object.__setattr__(self, "_last_block", last_block)
        self.feature_dim = int(feature_dim)
        self.head = nn.Linear(self.feature_dim, int(num_classes))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    @property
    def last_block(self) -> nn.Module:
        return self._last_block

    @property
    def in_channels(self) -> int:
        return int(self.mean.shape[1])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features [N, feature_dim] of float images [N, C, H, W] in [0, 1]."""
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return torch.flatten(self.body(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))

    def reset_head(self, num_classes: int, generator: torch.Generator | None = None) -> None:
        """A new zero-bias head for ``num_classes`` classes, initialised from ``generator``."""
        head = nn.Linear(self.feature_dim, int(num_classes)).to(self.mean.device)
        with torch.no_grad():
            bound = 1.0 / self.feature_dim**0.5
            head.weight.copy_(torch.rand(head.weight.shape, generator=generator) * 2 * bound - bound)
            head.bias.zero_()
        self.head = head

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Named parameter groups: head, last_block, bias (every bias term), body, all."""
        head = list(self.head.parameters())
        body = list(self.body.parameters())
        last = list(self.last_block.parameters())
        bias = [p for n, p in self.body.named_parameters() if _is_bias(n)]
        return {"head": head, "last_block": last, "bias": bias, "body": body, "all": body + head}

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """The parameters in layer groups from the head towards the input (discriminative rates and gradual
        unfreezing): the head, then the body's top-level blocks, last first, skipping blocks without
        parameters (small CNN: head, last block, three conv blocks; ResNet: head, layer4 ... layer1, bn1,
        conv1). A body that is not a sequence of blocks holding ``last_block`` gives head, last block, rest.

            >>> [len(g) for g in create_backbone("smallcnn_tiny", num_classes=3).layer_groups()]
            [2, 6, 3, 3, 3]
        """
        groups = [list(self.head.parameters())]
        children = list(self.body.children()) if isinstance(self.body, nn.Sequential) else []
        if any(child is self.last_block for child in children):
            blocks = [list(child.parameters()) for child in reversed(children)]
        else:
            last = list(self.last_block.parameters())
            ids = {id(p) for p in last}
            blocks = [last, [p for p in self.body.parameters() if id(p) not in ids]]
        return groups + [b for b in blocks if b]

    def trainable_parameters(self, train_mode: str) -> list[nn.Parameter]:
        """The parameters a fine-tuning strategy trains; the head is always among them."""
        groups = self.param_groups()
        if train_mode == "full":
            return groups["all"]
        if train_mode == "last_block":
            return groups["last_block"] + groups["head"]
        if train_mode == "linear_probe":
            return groups["head"]
        if train_mode == "bitfit":
            return groups["bias"] + groups["head"]
        raise InvalidInputError(
            f"Unknown train_mode {train_mode!r}: expected one of 'full', 'last_block', 'linear_probe', 'bitfit'."
        )


def _is_bias(name: str) -> bool:
    # BatchNorm's shift is a bias term too (BitFit trains it); its scale is not.
    return name.endswith(".bias")


def register_backbone(
    name: str, *, overwrite: bool = False
) -> Callable[[Callable[..., Backbone]], Callable[..., Backbone]]:
    """Decorator adding a backbone factory ``f(num_classes, weights, in_channels) -> Backbone``.

    A taken name is refused unless ``overwrite=True``.
    """
    return _REGISTRY.register(name, overwrite=overwrite)


def list_backbones() -> list[str]:
    """Names accepted by :func:`create_backbone`."""
    return _REGISTRY.names()


def backbone_module(name: str) -> str | None:
    """The module whose import registers backbone ``name`` (where its factory is defined), so that
    worker processes can import it and see the backbone too; ``None`` for an unknown name.

        >>> backbone_module("smallcnn")
        'hyperstar.models.backbones'
    """
    factory = _REGISTRY.get(name) if name in _REGISTRY.names() else None
    return getattr(factory, "__module__", None) if factory is not None else None


def create_backbone(name: str, num_classes: int = 10, weights: Any = None, in_channels: int = 3) -> Backbone:
    """Build a registered backbone.

    ``weights``: for the small CNNs, ``None`` (random init), a path to a state dict saved by
    hyperstar (``.pt``), or a state dict; the head is never loaded (it is task-specific). For
    torchvision ResNets it is passed through to torchvision (e.g. ``"DEFAULT"`` where the user
    has the ImageNet weights cached), or a path / state dict as for the small CNNs. ``name`` may also be
    ``"torchvision:<any classification model>"`` or ``"timm:<model>"`` (:mod:`hyperstar.models.adapters`).
    """
    from hyperstar.models.adapters import create_adapted, is_adapted

    factory = (lambda **kw: create_adapted(name, **kw)) if is_adapted(name) else _REGISTRY.get(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise InvalidInputError(f"num_classes must be an int >= 1. Got {num_classes!r}.")
    if in_channels not in (1, 3):
        raise InvalidInputError(f"in_channels must be 1 or 3. Got {in_channels!r}.")
    return factory(num_classes=num_classes, weights=weights, in_channels=in_channels)


def load_body_weights(model: Backbone, weights: str | Path | dict[str, torch.Tensor]) -> Backbone:
    """Load body weights (a state-dict file or mapping) into ``model``; head entries are ignored."""
    if isinstance(weights, (str, Path)):
        path = Path(weights)
        if not path.is_file():
            raise InvalidInputError(f"Backbone weights file '{path}' does not exist. Pass an existing .pt file or None.")
        todo = "Pass a state-dict file saved with torch.save(model.state_dict()), or weights=None."
        state = load_torch_file(path, what="a PyTorch state-dict file", label="Backbone weights", todo=todo)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
            got = f"a {type(state).__name__}" if not isinstance(state, dict) else "a dict without only tensors"
            raise ModelFileError(f"Backbone weights '{path}' is not a PyTorch state-dict file (it holds {got}). {todo}")
    else:
        state = weights
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise InvalidInputError(
            f"Backbone weights must be a state dict (names to tensors) or a .pt file. Got {type(state).__name__}."
        )
    body_state = {k[len("body."):]: v for k, v in state.items() if k.startswith("body.")}
    if not body_state:  # a bare body state dict
        body_state = {k: v for k, v in state.items() if not k.startswith("head.")}
    try:
        missing, unexpected = model.body.load_state_dict(body_state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        missing, unexpected = [str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)], []
    if missing or unexpected:
        raise InvalidInputError(
            f"The weights do not fit backbone '{model.name}': {len(missing)} missing and "
            f"{len(unexpected)} unexpected entries (e.g. {(missing or unexpected)[:2]}). "
            "Use the backbone the weights were trained for."
        )
    return model


def state_dict_digest(module: nn.Module) -> str:
    """A short SHA-256 of a module's parameters and buffers (to check a checkpoint's start)."""
    h = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- small CNNs


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _small_cnn(widths: tuple[int, int, int, int], num_classes: int, weights: Any, in_channels: int, name: str) -> Backbone:
    w0, w1, w2, w3 = widths
    last = nn.Sequential(_conv_bn(w2, w3, 2), _conv_bn(w3, w3))
    body = nn.Sequential(
        _conv_bn(in_channels, w0),
        _conv_bn(w0, w1, 2),
        _conv_bn(w1, w2, 2),
        last,
        nn.AdaptiveAvgPool2d(1),
    )
    mean = (0.5,) * in_channels
    std = (0.25,) * in_channels
    model = Backbone(body, w3, num_classes, last, mean, std, name=name)
    if weights is not None:
        load_body_weights(model, weights)
    return model


@register_backbone("smallcnn")
def smallcnn(num_classes: int = 10, weights: Any = None, in_channels: int = 3) -> Backbone:
    """The project's small CNN (about 0.25 M parameters, ~7 M multiply-adds at 32x32)."""
    return _small_cnn((24, 32, 64, 128), num_classes, weights, in_channels, "smallcnn")


@register_backbone("smallcnn_tiny")
def smallcnn_tiny(num_classes: int = 10, weights: Any = None, in_channels: int = 3) -> Backbone:
    """A very small variant for tests."""
    return _small_cnn((8, 8, 16, 16), num_classes, weights, in_channels, "smallcnn_tiny")


# --------------------------------------------------------------------------- torchvision


def _resnet(arch: str, num_classes: int, weights: Any, in_channels: int) -> Backbone:
    import torchvision

    # Strings without a file suffix ("DEFAULT", "IMAGENET1K_V1") and torchvision weight enums go to
    # torchvision; a path or a state dict is loaded here.
    is_local = isinstance(weights, (Path, dict)) or (isinstance(weights, str) and bool(Path(weights).suffix))
    tv_weights = None if weights is None or is_local else weights
    try:
        net = getattr(torchvision.models, arch)(weights=tv_weights)
    except Exception as exc:  # no internet, unknown enum name, ...
        raise InvalidInputError(
            f"Could not create torchvision {arch} with weights={weights!r}: {exc}. Pass weights=None, "
            "a local state-dict file, or weights the machine has cached."
        ) from None
    if in_channels != 3:
        old = net.conv1
        net.conv1 = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)
        with torch.no_grad():
            net.conv1.weight.copy_(old.weight.sum(dim=1, keepdim=True))
    feature_dim = net.fc.in_features
    body = nn.Sequential(
        net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4, net.avgpool
    )
    if in_channels == 3:
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    else:
        mean, std = (0.449,), (0.226,)
    model = Backbone(body, feature_dim, num_classes, net.layer4, mean, std, name=arch)
    if weights is not None and tv_weights is None:
        load_body_weights(model, weights)
    return model


for _arch in ("resnet18", "resnet34", "resnet50"):
    register_backbone(_arch)(
        lambda num_classes=10, weights=None, in_channels=3, _a=_arch: _resnet(_a, num_classes, weights, in_channels)
    )

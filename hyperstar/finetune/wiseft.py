"""WiSE-FT (Wortsman et al., CVPR 2022, "Robust fine-tuning of zero-shot models") for a classifier whose head
is new: evaluating weight-space interpolations of a finished fine-tune, and exporting one.

**The head rule.** A fine-tuned classifier here has a new head, so there is no pre-trained head to
interpolate towards. hyperstar interpolates the *body* (every floating-point parameter and buffer, BatchNorm's
running statistics included) between its pre-trained and its fine-tuned values and keeps the *fine-tuned head*
at every alpha::

    body(alpha) = (1 - alpha) * body_pretrained + alpha * body_finetuned,   head(alpha) = head_finetuned

so alpha = 1 is the fine-tuned model and alpha = 0 the pre-trained body read by the fine-tuned head. It costs
no training and, unlike WiSE-FT's linear-classifier variant, needs no linear probe fitted per run. Where the
body did not change (``train_mode="linear_probe"``, or gradual unfreezing that has not reached the body yet)
every alpha is the same model: nothing is evaluated again (``body_changed: false``).

The alpha is chosen on the validation split (the highest validation accuracy; ties go to the larger alpha,
the model closer to the one trained); test and shifted accuracies are reported at every alpha.

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> from hyperstar.finetune import fine_tune
    >>> rng = np.random.default_rng(0)
    >>> task = Task.from_arrays(rng.integers(0, 256, (30, 8, 8, 3), dtype=np.uint8), np.arange(30) % 2)
    >>> r = fine_tune(task, {"lr": 0.05}, budget=2, backbone="smallcnn_tiny", weights=None, device="cpu")
    >>> r.wise_ft["alphas"], r.wise_ft["val"][-1] == r.val_acc, r.wise_ft["test"][-1] == r.test_acc
    ([0.0, 0.25, 0.5, 0.75, 1.0], True, True)
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hyperstar._internal.io import atomic_torch_save, atomic_write_json, load_torch_file
from hyperstar.exceptions import InvalidInputError, ModelFileError

__all__ = ["WISE_ALPHAS", "HEAD_RULE", "interpolated_body", "body_state", "best_alpha", "check_alpha",
           "export_model", "load_model", "MODEL_FORMAT"]

#: the alphas evaluated at the end of every fine-tuning run
WISE_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: the name of the head rule, stored with the results
HEAD_RULE = "body interpolated, fine-tuned head"
#: the layout of an exported model file
MODEL_FORMAT = 1


def body_state(body: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a body's state (the pre-trained end of the interpolation)."""
    return {k: v.detach().clone() for k, v in body.state_dict().items()}


def _mix(init: torch.Tensor, tuned: torch.Tensor, alpha: float) -> torch.Tensor:
    if not torch.is_floating_point(tuned):
        return tuned.clone()  # BatchNorm's step counters: the fine-tuned value
    return torch.lerp(init.to(tuned.device, tuned.dtype), tuned, float(alpha))


def mixed_state(init: Mapping[str, torch.Tensor], tuned: Mapping[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """The body state at ``alpha`` (0: ``init``, 1: ``tuned``)."""
    return {k: _mix(init[k], v, alpha) if k in init else v.clone() for k, v in tuned.items()}


@contextlib.contextmanager
def interpolated_body(model: nn.Module, init: Mapping[str, torch.Tensor], alpha: float) -> Iterator[nn.Module]:
    """``model`` with its body at ``alpha`` inside the block; the fine-tuned body is back afterwards."""
    body = model.body
    tuned = body_state(body)
    try:
        with torch.no_grad():
            body.load_state_dict(mixed_state(init, tuned, alpha))
        yield model
    finally:
        with torch.no_grad():
            body.load_state_dict(tuned)


def body_changed(body: nn.Module, init: Mapping[str, torch.Tensor]) -> bool:
    """Whether any entry of the body's state differs from ``init`` (else every alpha is the same model)."""
    now = body.state_dict()
    return any(not torch.equal(now[k], v.to(now[k].device)) for k, v in init.items() if k in now)


def best_alpha(alphas: Sequence[float], val: Sequence[float | None]) -> float | None:
    """The alpha with the highest validation accuracy (ties: the larger alpha); None without any.

        >>> best_alpha([0.0, 0.5, 1.0], [0.6, 0.8, 0.8])
        1.0
    """
    pairs = [(v, a) for a, v in zip(alphas, val) if v is not None and v == v]
    return max(pairs)[1] if pairs else None


def check_alpha(alpha: Any, where: str) -> float | str:
    """``"best"`` or a float in [0, 1] (one-line error otherwise)."""
    if isinstance(alpha, str) and alpha == "best":
        return alpha
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise InvalidInputError(f"The WiSE-FT alpha of {where} must be 'best' or a number in [0, 1]. Got {alpha!r}.")
    return float(alpha)


def export_model(path: str | Path, model: nn.Module, init: Mapping[str, torch.Tensor] | None, alpha: float,
                 info: Mapping[str, Any]) -> Path:
    """Write the model with its body at ``alpha`` (``init`` None: alpha 1) to ``path`` (a ``.pt`` of tensors
    only, read with ``weights_only=True``) and its description to ``path`` + ``.json``."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if init is not None and alpha != 1.0:
        body = mixed_state({k: v.cpu() for k, v in init.items()},
                           {k[len("body."):]: v for k, v in state.items() if k.startswith("body.")}, alpha)
        state.update({f"body.{k}": v for k, v in body.items()})
    atomic_torch_save(path, {"format": MODEL_FORMAT, "state_dict": state})
    atomic_write_json(path.with_name(path.name + ".json"), {"format": MODEL_FORMAT, "wise_ft_alpha": float(alpha),
                                                           "head_rule": HEAD_RULE, **dict(info)})
    return path


def load_model(path: str | Path):
    """The :class:`~hyperstar.models.backbones.Backbone` saved by :func:`export_model` (eval mode, on the CPU),
    with the WiSE-FT alpha it was exported at already applied; its description is ``model.export_info``."""
    from hyperstar.models.backbones import create_backbone

    path = Path(path)
    todo = "Export it again with `hyperstar finetune --export` or fine_tune(..., export_path=...)."
    side = path.with_name(path.name + ".json")
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"The exported model '{path}' has no readable description '{side}' ({exc}). {todo}") from None
    blob = load_torch_file(path, what="an exported hyperstar model", label="Model", todo=todo)
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT or not isinstance(blob.get("state_dict"), dict):
        raise ModelFileError(f"'{path}' is not an exported hyperstar model (format {MODEL_FORMAT}). {todo}")
    model = create_backbone(info["backbone"], num_classes=int(info["n_classes"]), weights=None,
                            in_channels=int(info["channels"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    model.export_info = info
    return model

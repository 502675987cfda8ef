"""Pre-train a backbone on the source task, to give fine-tuning a pre-trained start offline.

No public weights can be downloaded on the project's machines, so the shipped small CNN is
pre-trained here on :func:`hyperstar.suite.source_task` (a task that is not in the suite) and its
weights ship in ``meta_data/backbones/``. Reproduce with ``hyperstar pretrain-source``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import torch

from hyperstar._internal.paths import source_weights_path
from hyperstar.models.backbones import create_backbone, state_dict_digest
from hyperstar.finetune import fine_tune
from hyperstar._internal.io import atomic_torch_save, atomic_write_json
from hyperstar._internal.provenance import code_version

__all__ = ["pretrain_source_backbone", "SOURCE_CONFIG"]

#: The pre-training recipe: plain SGD with momentum, cosine schedule with warm-up, light augmentation.
SOURCE_CONFIG: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "use_weight_decay": "yes",
    "weight_decay": 5e-4,
    "batch_size": 128,
    "lr_schedule": "cosine",
    "warmup": "linear",
    "train_mode": "full",
    "use_l2sp": "no",
    "label_smoothing": 0.1,
    "augment": 0.5,
    "hflip": "no",
}


def pretrain_source_backbone(
    out: str | Path | None = None,
    backbone: str = "smallcnn",
    epochs: int = 30,
    seed: int = 0,
    per_class: int = 300,
    progress: bool = False,
) -> dict[str, Any]:
    """Train ``backbone`` from scratch on the source task and save its body weights.

    Writes ``out`` (a weights-only state dict, ``body.*`` keys) and ``out`` with suffix ``.json``
    (how it was made, and its source-task accuracy). Returns that report.
    """
    from hyperstar.suite import SOURCE_DESCRIPTION, source_task

    out = Path(out) if out is not None else source_weights_path(backbone)
    task = source_task(seed=seed, per_class=per_class)
    split = task.split(val_fraction=0.1, test_fraction=0.1, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = create_backbone(backbone, num_classes=task.n_classes)
    result = fine_tune(task, SOURCE_CONFIG, budget=epochs, max_budget=epochs, backbone=net, split=split, seed=seed,
                       progress=progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {f"body.{k}": v.detach().cpu() for k, v in net.body.state_dict().items()}
    atomic_torch_save(out, state)
    report = {
        "backbone": backbone,
        "weights_file": out.name,
        "body_digest": state_dict_digest(net.body),
        "source_task": task.name,
        "source_description": SOURCE_DESCRIPTION,
        "n_classes": task.n_classes,
        "n_images": len(task),
        "per_class": per_class,
        "epochs": epochs,
        "seed": seed,
        "config": SOURCE_CONFIG,
        "val_acc_curve": [round(e.val_acc, 4) for e in result.curve],
        "final_val_acc": result.val_acc,
        "test_acc": result.test_acc,
        "wall_time_s": round(result.wall_time, 1),
        "device": result.device,
        "code_version": code_version(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": f"hyperstar pretrain-source --backbone {backbone} --epochs {epochs} --per-class {per_class} --seed {seed}",
    }
    atomic_write_json(out.with_suffix(".json"), report, indent=2)
    return report

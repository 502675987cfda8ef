"""What a fine-tuning run gives back: the per-epoch curve and the final accuracies.

    >>> r = EpochRecord(epoch=1, train_loss=1.0, val_loss=1.1, val_acc=0.5, lr=0.1, seconds=0.2)
    >>> r.val_acc
    0.5
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hyperstar._internal.convert import json_safe

__all__ = ["EpochRecord", "FineTuneResult"]


@dataclass
class EpochRecord:
    """One epoch of a learning curve."""

    epoch: int
    train_loss: float
    val_loss: float
    val_acc: float
    lr: float
    seconds: float


@dataclass
class FineTuneResult:
    """What :func:`~hyperstar.finetune.fine_tune` returns: the per-epoch curve and the final accuracies."""

    config: dict[str, Any]
    budget: int
    max_budget: int
    seed: int
    backbone: str
    curve: list[EpochRecord]
    test_acc: float | None
    diverged: bool
    wall_time: float
    samples_per_s: float
    device: str
    n_train: int
    n_val: int
    n_test: int
    start_epoch: int = 0
    checkpoint: str | None = None
    diverged_epoch: int | None = None
    threads: int | None = None  # torch's intra-op thread count during training (part of "same seed, same curve")
    extra: dict[str, Any] = field(default_factory=dict)
    #: WiSE-FT at the end of the run (:mod:`hyperstar.finetune.wiseft`): "alphas", per split ("val", "test",
    #: "shifted") the accuracy at each alpha, "best_alpha" (chosen on val), "best", "body_changed", "seconds"
    wise_ft: dict[str, Any] | None = None
    shifted_acc: float | None = None  # test images under the fixed corruption (hyperstar.data.shift), alpha 1

    @property
    def val_acc(self) -> float:
        """Validation accuracy at the last epoch run."""
        return self.curve[-1].val_acc if self.curve else float("nan")

    @property
    def best_val_acc(self) -> float:
        return max((e.val_acc for e in self.curve), default=float("nan"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become ``None``)."""
        d = asdict(self)
        d["val_acc"] = self.val_acc
        return json_safe(d)

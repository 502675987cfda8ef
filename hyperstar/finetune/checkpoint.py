"""Checkpoints: the state of a fine-tuning run at the end of an epoch, so that it can be continued to
a larger budget with exactly the curve a run from scratch would give (how Hyperband promotes a
configuration).

A checkpoint is one :class:`TrainState`, written atomically (a kill leaves the old file or none) as
a dict of tensors and plain values, and read back with ``torch.load(..., weights_only=True)``, which
runs no code from the file. A file that is empty, cut short, damaged, not a checkpoint or written by
another checkpoint format is refused with one line (:class:`~hyperstar.exceptions.ModelFileError`,
:class:`~hyperstar.exceptions.IncompatibleVersionError`). A write that fails for lack of space raises
:class:`~hyperstar.exceptions.DiskFullError` and leaves the previous file, if any, untouched.

    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> net = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> state = TrainState.capture(net, opt, [], torch.Generator().manual_seed(0), [], config={"lr": 0.1},
    ...                            seed=0, max_budget=4, backbone="linear", init_digest="abc")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     loaded = load_checkpoint(save_checkpoint(Path(folder) / "run.pt", state))
    >>> loaded.epoch, loaded.max_budget, loaded.backbone
    (0, 4, 'linear')
"""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hyperstar._version import __version__
from hyperstar._internal.io import atomic_torch_save, load_torch_file
from hyperstar.exceptions import IncompatibleVersionError, InvalidInputError, ModelFileError
from hyperstar.finetune.result import EpochRecord

__all__ = ["CHECKPOINT_FORMAT", "TrainState", "check_resume", "data_digest", "load_checkpoint", "save_checkpoint"]

#: The layout of the stored dict; a file of another format is refused.
CHECKPOINT_FORMAT = 1


@dataclass
class TrainState:
    """What a checkpoint stores: everything a run needs to continue exactly where it stopped, and
    what identifies the run (to refuse resuming it with other settings)."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    anchors: list[torch.Tensor]  # L2-SP's pre-trained values of the body's trainable parameters
    generator: torch.Tensor  # the run's CPU generator (batch order and augmentation)
    curve: list[EpochRecord]
    epoch: int  # epochs done (the length of the curve)
    config: dict[str, Any]
    seed: int
    max_budget: int
    backbone: str
    init_digest: str  # digest of the body's initial weights
    data_digest: str = ""  # digest of the task and split trained on ("" in checkpoints written before it)

    @classmethod
    def capture(
        cls, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        anchors: list[tuple[torch.nn.Parameter, torch.Tensor]], generator: torch.Generator,
        curve: list[EpochRecord], *, config: dict[str, Any], seed: int, max_budget: int, backbone: str,
        init_digest: str, data_digest: str = "",
    ) -> TrainState:
        """The state of a run now (tensors copied to the CPU)."""
        return cls(
            model={k: v.detach().cpu() for k, v in model.state_dict().items()},
            optimizer=optimizer.state_dict(),
            anchors=[a.detach().cpu() for _, a in anchors],
            generator=generator.get_state(),
            curve=list(curve),
            epoch=len(curve),
            config=dict(config),
            seed=seed,
            max_budget=max_budget,
            backbone=backbone,
            init_digest=init_digest,
            data_digest=data_digest,
        )

    def restore(
        self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        anchors: list[tuple[torch.nn.Parameter, torch.Tensor]], generator: torch.Generator,
        device: torch.device,
    ) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
        """Load this state into a freshly built run; returns its anchors (on ``device``)."""
        model.load_state_dict(self.model)
        optimizer.load_state_dict(self.optimizer)
        generator.set_state(self.generator)
        if not anchors:
            return anchors
        return [(p, a.to(device)) for (p, _), a in zip(anchors, self.anchors)]

    def to_dict(self) -> dict[str, Any]:
        """The stored form: plain values and tensors only (loadable with ``weights_only=True``)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["curve"] = [asdict(r) for r in self.curve]
        return {"format": CHECKPOINT_FORMAT, "hyperstar_version": __version__, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        """The inverse of :meth:`to_dict` (a ``KeyError`` for a missing field)."""
        values = {f.name: d[f.name] if f.default is MISSING else d.get(f.name, f.default) for f in fields(cls)}
        values["curve"] = [EpochRecord(**r) for r in values["curve"]]
        values["epoch"] = int(values["epoch"])
        if not isinstance(values["model"], dict) or not all(isinstance(v, torch.Tensor) for v in values["model"].values()):
            raise TypeError("model is not a state dict")
        if not isinstance(values["generator"], torch.Tensor) or values["epoch"] != len(values["curve"]):
            raise ValueError("inconsistent fields")
        return cls(**values)

    @property
    def n_classes(self) -> int | None:
        """Classes of the task the run trained on (the head's rows), when the state says."""
        head = self.model.get("head.weight")
        return int(head.shape[0]) if isinstance(head, torch.Tensor) and head.ndim == 2 else None


def data_digest(task: Any, split: Any) -> str:
    """A short digest of what a run trains and validates on: classes, labels, the split and the pixels of a
    few training images (a resume onto other data is refused, even with the same class count)."""
    h = hashlib.sha256()
    h.update(f"{task.n_classes}|{task.resolution}|{task.channels}|{len(task)}".encode())
    h.update(np.ascontiguousarray(task.labels, dtype=np.int64).tobytes())
    for part in (split.train, split.val):
        h.update(np.ascontiguousarray(part, dtype=np.int64).tobytes())
    sample = np.asarray(split.train[:8], dtype=np.int64)
    if len(sample):
        h.update(task.images(sample).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def save_checkpoint(path: str | Path, state: TrainState) -> Path:
    """Write ``state`` to ``path`` atomically (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_torch_save(path, state.to_dict())


#: what to do with a checkpoint that cannot be used
_CHECKPOINT_TODO = ("Pass a file written by fine_tune(checkpoint_path=...) / `hyperstar finetune --checkpoint`, "
                    "or train from scratch without resuming.")


def load_checkpoint(path: str | Path) -> TrainState:
    """Read a checkpoint written by :func:`save_checkpoint`; a one-line error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"Checkpoint '{path}' does not exist. Pass a file written by fine_tune(checkpoint_path=...).")
    stored = load_torch_file(path, what="a hyperstar checkpoint file", label="Checkpoint", todo=_CHECKPOINT_TODO)
    if not isinstance(stored, dict):
        raise ModelFileError(f"Checkpoint '{path}' is not a hyperstar checkpoint file (it holds a "
                             f"{type(stored).__name__}, not a dict). {_CHECKPOINT_TODO}")
    if "format" not in stored:
        missing = [f.name for f in fields(TrainState) if f.default is MISSING and f.name not in stored]
        keys = f"no 'format' entry, and {len(missing)} of the fields missing" if missing else "no 'format' entry"
        raise ModelFileError(f"Checkpoint '{path}' is not a hyperstar checkpoint file ({keys}). {_CHECKPOINT_TODO}")
    if stored.get("format") != CHECKPOINT_FORMAT:
        by = stored.get("hyperstar_version", "an unknown version")
        raise IncompatibleVersionError(
            f"Checkpoint '{path}' was saved by hyperstar {by} in checkpoint format {stored.get('format')!r}; this is "
            f"hyperstar {__version__}, which reads format {CHECKPOINT_FORMAT}. Train from scratch without resuming."
        )
    missing = [f.name for f in fields(TrainState) if f.default is MISSING and f.name not in stored]
    if missing:
        raise ModelFileError(f"Checkpoint '{path}' is not a hyperstar checkpoint file (missing "
                             f"{', '.join(map(repr, missing[:4]))}{' ...' if len(missing) > 4 else ''}). {_CHECKPOINT_TODO}")
    try:
        return TrainState.from_dict(stored)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ModelFileError(f"Checkpoint '{path}' is truncated or damaged (its fields do not fit together). "
                             f"{_CHECKPOINT_TODO}") from None


def check_resume(
    state: TrainState, *, config: dict[str, Any], seed: int, max_budget: int, backbone: str, init_digest: str,
    budget: int, path: str | Path, n_classes: int | None = None, data: str = "",
) -> None:
    """Refuse to continue ``state`` with other settings than its run's, on other data (``n_classes``,
    ``data``: :func:`data_digest`; checked when given), or past ``budget``."""
    problems = []
    if n_classes is not None and state.n_classes is not None and state.n_classes != n_classes:
        problems.append(f"a task of {state.n_classes} classes (this one has {n_classes})")
    elif data and state.data_digest and state.data_digest != data:
        problems.append("other images, labels or split")
    if state.config != dict(config):
        problems.append("a different configuration")
    if state.seed != seed:
        problems.append(f"seed {state.seed} (not {seed})")
    if state.max_budget != max_budget:
        problems.append(f"max_budget {state.max_budget} (not {max_budget})")
    if state.backbone != backbone:
        problems.append(f"backbone {state.backbone!r} (not {backbone!r})")
    if state.init_digest != init_digest:
        problems.append("different initial weights")
    if problems:
        raise InvalidInputError(
            f"Checkpoint '{path}' was written by a run with {', '.join(problems)}; resume it with the same settings."
        )
    if state.epoch > budget:
        raise InvalidInputError(
            f"Checkpoint '{path}' is at epoch {state.epoch}, past the requested budget {budget}. Ask for a budget >= {state.epoch}."
        )

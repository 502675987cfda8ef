"""Checkpoints: the state of a fine-tuning run at the end of an epoch, so that it can be continued to
a larger budget with exactly the curve a run from scratch would give (how Hyperband promotes a
configuration).

A checkpoint is one :class:`TrainState`, written atomically (a kill leaves the old file or none) as
a dict of tensors and plain values, and read back with ``torch.load(..., weights_only=True)``, which
runs no code from the file.

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

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from hyperstar._internal.io import atomic_torch_save
from hyperstar.exceptions import InvalidInputError
from hyperstar.finetune.result import EpochRecord

__all__ = ["CHECKPOINT_FORMAT", "TrainState", "check_resume", "load_checkpoint", "save_checkpoint"]

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

    @classmethod
    def capture(
        cls, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
        anchors: list[tuple[torch.nn.Parameter, torch.Tensor]], generator: torch.Generator,
        curve: list[EpochRecord], *, config: dict[str, Any], seed: int, max_budget: int, backbone: str,
        init_digest: str,
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
        return {"format": CHECKPOINT_FORMAT, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        """The inverse of :meth:`to_dict` (a ``KeyError`` for a missing field)."""
        values = {f.name: d[f.name] for f in fields(cls)}
        values["curve"] = [EpochRecord(**r) for r in values["curve"]]
        values["epoch"] = int(values["epoch"])
        return cls(**values)


def save_checkpoint(path: str | Path, state: TrainState) -> Path:
    """Write ``state`` to ``path`` atomically (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_torch_save(path, state.to_dict())


def load_checkpoint(path: str | Path) -> TrainState:
    """Read a checkpoint written by :func:`save_checkpoint`; a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"Checkpoint '{path}' does not exist. Pass a file written by fine_tune(checkpoint_path=...).")
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InvalidInputError(f"Checkpoint '{path}' could not be read ({type(exc).__name__}); it is not a hyperstar checkpoint.") from None
    not_ours = InvalidInputError(f"Checkpoint '{path}' is not a hyperstar checkpoint of format {CHECKPOINT_FORMAT}.")
    if not isinstance(stored, dict) or stored.get("format") != CHECKPOINT_FORMAT:
        raise not_ours
    try:
        return TrainState.from_dict(stored)
    except (KeyError, TypeError, ValueError):
        raise not_ours from None


def check_resume(
    state: TrainState, *, config: dict[str, Any], seed: int, max_budget: int, backbone: str, init_digest: str,
    budget: int, path: str | Path,
) -> None:
    """Refuse to continue ``state`` with other settings than its run's, or past ``budget``."""
    problems = []
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

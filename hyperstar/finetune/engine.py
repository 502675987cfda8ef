"""The fine-tuning engine: train a backbone on a task for one configuration and budget.

The learning-rate schedule is defined over a fixed horizon (``max_budget`` epochs), so a run to
budget ``b`` is exactly the first ``b`` epochs of the run to the horizon, and a checkpoint saved
at epoch ``b`` can be continued to any larger budget with the same result as training from
scratch. Stored curves are therefore valid for every budget.

Example::

    >>> from hyperstar.finetune import fine_tune
    >>> result = fine_tune(task, {"lr": 0.05}, budget=3, max_budget=9, seed=0)
    >>> [round(e.val_acc, 3) for e in result.curve]
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperstar._internal.paths import source_weights_path
from hyperstar._internal.convert import json_safe
from hyperstar.models.backbones import Backbone, create_backbone, state_dict_digest
from hyperstar.data import Split, Task
from hyperstar.exceptions import InvalidInputError
from hyperstar.space import validate_configuration

__all__ = ["EpochRecord", "FineTuneResult", "fine_tune", "resolve_device", "lr_multiplier"]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
WARMUP_FRACTION = 0.1
STEP_MILESTONES = (0.5, 0.75)
#: A run whose train or validation loss exceeds this many times ln(n_classes), the loss of a
#: uniform guess, has diverged even if the loss is still finite.
EXPLODED_LOSS_FACTOR = 100.0


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
    """What :func:`fine_tune` returns: the per-epoch curve and the final accuracies."""

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
    extra: dict[str, Any] = field(default_factory=dict)

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


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else CPU. Anything else is checked and returned."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidInputError(f"Unknown device {device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"Device {device!r} was asked for but CUDA is not available here. Use device='auto' or 'cpu'.")
    return dev


def lr_multiplier(config: Mapping[str, Any], step: int, total_steps: int) -> float:
    """The schedule's factor on the base learning rate at optimiser step ``step`` (0-based).

    It depends only on the step and the horizon's total steps, never on the budget.
    """
    total = max(int(total_steps), 1)
    t = min(step, total - 1)
    factor = 1.0
    schedule = config.get("lr_schedule", "constant")
    if schedule == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * t / total))
    elif schedule == "step":
        factor = 0.1 ** sum(t >= m * total for m in STEP_MILESTONES)
    if config.get("warmup", "none") == "linear":
        warm = max(1, math.ceil(WARMUP_FRACTION * total))
        if t < warm:
            factor *= (t + 1) / warm
    return factor


# --------------------------------------------------------------------------- data feeding


class _Feeder:
    """Yields uint8 image batches on the device, from memory or streamed from disk."""

    def __init__(self, task: Task, indices: np.ndarray, device: torch.device, num_workers: int) -> None:
        self.task = task
        self.indices = np.asarray(indices, dtype=np.int64)
        self.device = device
        self.num_workers = num_workers
        self.labels = torch.as_tensor(task.labels[self.indices], dtype=torch.long).to(device)
        self.images: torch.Tensor | None = None
        if task.in_memory:
            imgs = task.images(self.indices)
            if device.type == "cuda":
                imgs = imgs.pin_memory()
            self.images = imgs.to(device, non_blocking=True)

    def __len__(self) -> int:
        return len(self.indices)

    def batches(self, order: torch.Tensor, batch_size: int):
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if self.images is not None:
            for chunk in chunks:
                idx = chunk.to(self.device)
                yield self.images[idx], self.labels[idx]
            return
        loader = torch.utils.data.DataLoader(
            self.task.torch_dataset(self.indices),
            batch_sampler=[c.tolist() for c in chunks],
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


def _augment(x: torch.Tensor, config: Mapping[str, Any], gen: torch.Generator) -> torch.Tensor:
    """Random translation, colour jitter and flips on a float batch in [0, 1].

    All randomness comes from ``gen`` (a CPU generator), so CPU and GPU see the same draws.
    """
    b, _, h, w = x.shape
    strength = float(config.get("augment", 0.0))
    flip = config.get("hflip", "no") == "yes"
    # Draw every random number, used or not, so the stream does not depend on the device.
    shift = max(0, round(strength * min(h, w) / 8))
    dy = torch.randint(-shift, shift + 1, (b,), generator=gen)
    dx = torch.randint(-shift, shift + 1, (b,), generator=gen)
    bright = (torch.rand(b, generator=gen) * 2 - 1) * 0.4 * strength
    contrast = 1 + (torch.rand(b, generator=gen) * 2 - 1) * 0.4 * strength
    flips = torch.rand(b, generator=gen) < 0.5
    dev = x.device
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
        rows = (torch.arange(h)[None, :] + shift + dy[:, None]).to(dev)
        cols = (torch.arange(w)[None, :] + shift + dx[:, None]).to(dev)
        bidx = torch.arange(b, device=dev)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[bidx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if strength > 0:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast.to(dev).view(-1, 1, 1, 1) + mean + bright.to(dev).view(-1, 1, 1, 1)
        x = x.clamp(0.0, 1.0)
    if flip:
        x = torch.where(flips.to(dev).view(-1, 1, 1, 1), x.flip(-1), x)
    return x.contiguous()


# --------------------------------------------------------------------------- the engine


def _build_model(
    backbone: str | Backbone, weights: Any, n_classes: int, channels: int, seed: int
) -> tuple[Backbone, str]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(backbone, Backbone):
            model = backbone
            name = backbone.name
        else:
            name = backbone
            resolved = weights
            if weights == "auto":
                path = source_weights_path(backbone)
                resolved = path if path.is_file() else None
                if resolved is None:
                    logger.info("No shipped source weights for %s; starting from random initialisation.", backbone)
            model = create_backbone(backbone, num_classes=n_classes, weights=resolved, in_channels=channels)
        gen = torch.Generator().manual_seed(seed)
        model.reset_head(n_classes, generator=gen)
    return model, name


def _set_trainable(model: Backbone, train_mode: str) -> list[nn.Parameter]:
    trainable = model.trainable_parameters(train_mode)
    ids = {id(p) for p in trainable}
    for p in model.parameters():
        p.requires_grad_(id(p) in ids)
    return trainable


def _train_mode(model: Backbone) -> None:
    """Training mode, except BatchNorm layers whose scale is frozen keep their running stats."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None and not m.weight.requires_grad:
            m.eval()


def _make_optimizer(
    model: Backbone, config: Mapping[str, Any], trainable: list[nn.Parameter]
) -> tuple[torch.optim.Optimizer, list[tuple[nn.Parameter, torch.Tensor]]]:
    wd = float(config.get("weight_decay", 0.0)) if config.get("use_weight_decay") == "yes" else 0.0
    l2sp_on = config.get("use_l2sp") == "yes"
    head_ids = {id(p) for p in model.head.parameters()}
    body = [p for p in trainable if id(p) not in head_ids]
    head = [p for p in trainable if id(p) in head_ids]
    if l2sp_on:
        # L2-SP (Li et al. 2018): the body is pulled towards its pre-trained values instead of
        # towards zero; plain weight decay stays on the new head only.
        groups = [{"params": body, "weight_decay": 0.0}, {"params": head, "weight_decay": wd}]
        anchors = [(p, p.detach().clone()) for p in body]
    else:
        groups = [{"params": body + head, "weight_decay": wd}]
        anchors = []
    groups = [g for g in groups if g["params"]]
    lr = float(config["lr"])
    if config.get("optimizer", "sgd") == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(groups, lr=lr, momentum=float(config.get("momentum", 0.0)))
    else:
        opt = torch.optim.AdamW(groups, lr=lr)
    return opt, anchors


@torch.no_grad()
def _evaluate(model: Backbone, feeder: _Feeder, device: torch.device, amp: bool) -> tuple[float, float]:
    if len(feeder) == 0:
        return float("nan"), float("nan")
    model.eval()
    total_loss, correct = 0.0, 0
    order = torch.arange(len(feeder))
    for xb, yb in feeder.batches(order, 512):
        x = xb.float().div_(255)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(x)
        logits = logits.float()
        total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    return total_loss / len(feeder), correct / len(feeder)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidInputError(f"The '{name}' argument of fine_tune must be an int {rng}. Got {value!r}.")
    return int(value)


def fine_tune(
    task: Task,
    config: Mapping[str, Any] | None = None,
    budget: int = 1,
    *,
    max_budget: int | None = None,
    backbone: str | Backbone = "smallcnn",
    weights: Any = "auto",
    seed: int = 0,
    split: Split | None = None,
    split_seed: int = 0,
    device: str | torch.device = "auto",
    checkpoint_path: str | Path | None = None,
    resume_from: str | Path | None = None,
    eval_test: bool = True,
    num_workers: int = 0,
    progress: bool = False,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> FineTuneResult:
    """Fine-tune ``backbone`` on ``task`` with ``config`` for ``budget`` epochs.

    ``max_budget`` (default: ``budget``) is the horizon the learning-rate schedule is defined on.
    ``weights="auto"`` starts from the shipped source-pretrained weights of a small CNN when
    present (random initialisation otherwise); pass ``None``, a state-dict path, or torchvision
    weights for a ResNet. ``checkpoint_path`` saves the state at the end (atomically);
    ``resume_from`` continues such a checkpoint to a larger budget with exactly the curve a run
    from scratch would give. A run whose loss becomes NaN or infinite, or explodes past
    ``EXPLODED_LOSS_FACTOR * ln(n_classes)``, stops after that epoch and comes back with
    ``diverged=True`` (it never raises); a non-finite model is scored as always predicting the
    most frequent training class. Same seed on CPU, same curve.
    """
    t_start = time.perf_counter()
    config = validate_configuration(config or {})
    budget = _check_int("budget", budget, 1)
    max_budget = budget if max_budget is None else _check_int("max_budget", max_budget, 1)
    if budget > max_budget:
        raise InvalidInputError(
            f"budget ({budget}) is larger than max_budget ({max_budget}), the schedule's horizon. "
            "Raise max_budget or lower budget."
        )
    seed = _check_int("seed", seed, 0)
    dev = resolve_device(device)
    amp = dev.type == "cuda"
    split = split if split is not None else task.split(seed=split_seed)

    model, backbone_name = _build_model(backbone, weights, task.n_classes, task.channels, seed)
    init_digest = state_dict_digest(model.body)
    model.to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    trainable = _set_trainable(model, config["train_mode"])
    optimizer, anchors = _make_optimizer(model, config, trainable)
    gen = torch.Generator().manual_seed(seed)

    train = _Feeder(task, split.train, dev, num_workers)
    val = _Feeder(task, split.val, dev, num_workers)
    batch_size = int(config["batch_size"])
    n_train = len(train)
    steps_per_epoch = max(1, math.ceil(n_train / batch_size) - (1 if n_train % batch_size == 1 and n_train > 1 else 0))
    total_steps = steps_per_epoch * max_budget
    l2sp = float(config.get("l2sp_strength", 0.0)) if anchors else 0.0
    smoothing = float(config.get("label_smoothing", 0.0))
    base_lrs = [float(config["lr"])] * len(optimizer.param_groups)

    curve: list[EpochRecord] = []
    start_epoch = 0
    if resume_from is not None:
        state = _load_checkpoint(resume_from)
        _check_resume(state, config, seed, max_budget, backbone_name, init_digest, budget, resume_from)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if anchors:
            anchors = [(p, a.to(dev)) for (p, _), a in zip(anchors, state["anchors"])]
        gen.set_state(state["generator"])
        curve = [EpochRecord(**r) for r in state["curve"]]
        start_epoch = int(state["epoch"])

    diverged, diverged_epoch, exploded = False, None, False
    train_seconds, samples = 0.0, 0
    step = start_epoch * steps_per_epoch
    epochs = range(start_epoch, budget)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget - start_epoch, desc="fine-tune", unit="epoch", leave=False)
    for epoch in epochs:
        t_epoch = time.perf_counter()
        _train_mode(model)
        order = torch.randperm(n_train, generator=gen)
        if n_train % batch_size == 1 and n_train > 1:
            order = order[:-1]  # a batch of one breaks BatchNorm; drop it (same every epoch)
        loss_sum, loss_n = 0.0, 0
        factor = lr_multiplier(config, step, total_steps)
        for xb, yb in train.batches(order, batch_size):
            factor = lr_multiplier(config, step, total_steps)
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * factor
            x = _augment(xb.float().div_(255), config, gen)
            if dev.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), yb, label_smoothing=smoothing)
            if l2sp > 0:
                loss = loss + 0.5 * l2sp * sum(((p - a) ** 2).sum() for p, a in anchors)
            if not torch.isfinite(loss):
                diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(yb)
            loss_n += len(yb)
            samples += len(yb)
            step += 1
        train_seconds += time.perf_counter() - t_epoch
        if not diverged and not all(torch.isfinite(p).all() for p in trainable):
            diverged = True
        if diverged:  # non-finite: the model predicts nothing, score it as the majority class
            diverged_epoch = epoch + 1
            chance = _majority_accuracy(task, split)
            record = EpochRecord(epoch + 1, float("nan"), float("nan"), chance["val"], base_lrs[0] * factor,
                                 time.perf_counter() - t_epoch)
        else:
            val_loss, val_acc = _evaluate(model, val, dev, amp)
            train_loss = loss_sum / max(loss_n, 1)
            record = EpochRecord(epoch + 1, train_loss, val_loss, val_acc,
                                 base_lrs[0] * lr_multiplier(config, max(step - 1, 0), total_steps),
                                 time.perf_counter() - t_epoch)
            # Finite but exploded (BatchNorm keeps huge weights finite): also a divergence.
            limit = EXPLODED_LOSS_FACTOR * max(math.log(task.n_classes), 1.0)
            if train_loss > limit or not val_loss <= limit:
                diverged, diverged_epoch, exploded = True, epoch + 1, True
        curve.append(record)
        if on_epoch:
            on_epoch(record)
        if diverged:
            break
        if bar is not None:
            bar.update(1)
            bar.set_postfix(val_acc=f"{val_acc:.3f}")
    if bar is not None:
        bar.close()

    test_acc: float | None = None
    if diverged and not exploded:
        test_acc = _majority_accuracy(task, split)["test"] if eval_test else None
    elif eval_test and len(split.test):
        test_acc = _evaluate(model, _Feeder(task, split.test, dev, num_workers), dev, amp)[1]

    saved = None
    if checkpoint_path is not None and not diverged:
        saved = str(_save_checkpoint(checkpoint_path, model, optimizer, anchors, gen, curve, config, seed,
                                     max_budget, backbone_name, init_digest))
    return FineTuneResult(
        config=config,
        budget=budget,
        max_budget=max_budget,
        seed=seed,
        backbone=backbone_name,
        curve=curve,
        test_acc=test_acc,
        diverged=diverged,
        wall_time=time.perf_counter() - t_start,
        samples_per_s=samples / train_seconds if train_seconds > 0 else 0.0,
        device=str(dev),
        n_train=len(split.train),
        n_val=len(split.val),
        n_test=len(split.test),
        start_epoch=start_epoch,
        checkpoint=saved,
        diverged_epoch=diverged_epoch,
    )


def _majority_accuracy(task: Task, split: Split) -> dict[str, float]:
    majority = int(np.bincount(task.labels[split.train], minlength=task.n_classes).argmax())
    out = {}
    for part in ("val", "test"):
        idx = getattr(split, part)
        out[part] = float(np.mean(task.labels[idx] == majority)) if len(idx) else float("nan")
    return out


# --------------------------------------------------------------------------- checkpoints


def _save_checkpoint(path, model, optimizer, anchors, gen, curve, config, seed, max_budget, backbone, digest) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "anchors": [a.detach().cpu() for _, a in anchors],
        "generator": gen.get_state(),
        "curve": [asdict(r) for r in curve],
        "epoch": len(curve),
        "config": dict(config),
        "seed": seed,
        "max_budget": max_budget,
        "backbone": backbone,
        "init_digest": digest,
    }
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill never leaves a half-written checkpoint
    return path


def _load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"Checkpoint '{path}' does not exist. Pass a file written by fine_tune(checkpoint_path=...).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InvalidInputError(f"Checkpoint '{path}' could not be read ({type(exc).__name__}); it is not a hyperstar checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InvalidInputError(f"Checkpoint '{path}' is not a hyperstar checkpoint of format {CHECKPOINT_FORMAT}.")
    return state


def _check_resume(state, config, seed, max_budget, backbone, digest, budget, path) -> None:
    problems = []
    if state["config"] != dict(config):
        problems.append("a different configuration")
    if state["seed"] != seed:
        problems.append(f"seed {state['seed']} (not {seed})")
    if state["max_budget"] != max_budget:
        problems.append(f"max_budget {state['max_budget']} (not {max_budget})")
    if state["backbone"] != backbone:
        problems.append(f"backbone {state['backbone']!r} (not {backbone!r})")
    if state["init_digest"] != digest:
        problems.append("different initial weights")
    if problems:
        raise InvalidInputError(
            f"Checkpoint '{path}' was written by a run with {', '.join(problems)}; resume it with the same settings."
        )
    if state["epoch"] > budget:
        raise InvalidInputError(
            f"Checkpoint '{path}' is at epoch {state['epoch']}, past the requested budget {budget}. Ask for a budget >= {state['epoch']}."
        )

"""The fine-tuning engine: train a backbone on a task for one configuration and budget.

The learning-rate schedule (:mod:`~hyperstar.finetune.schedule`) is defined over a fixed horizon
(``max_budget`` epochs), so a run to budget ``b`` is exactly the first ``b`` epochs of the run to the
horizon, and a checkpoint (:mod:`~hyperstar.finetune.checkpoint`) saved at epoch ``b`` can be
continued to any larger budget with the same result as training from scratch. Stored curves are
therefore valid for every budget.

Reproducibility: on the CPU, the same seed, data, configuration and **intra-op thread count**
(``torch.get_num_threads()``, which ``threads=`` sets) give the same curve, bit for bit. Another
thread count sums in another order and can change the curve (by a validation image or two after a
few epochs); every result records the count it ran with (``FineTuneResult.threads``).

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> from hyperstar.finetune import fine_tune
    >>> rng = np.random.default_rng(0)
    >>> task = Task.from_arrays(rng.integers(0, 256, (24, 8, 8, 3), dtype=np.uint8), np.arange(24) % 2)
    >>> result = fine_tune(task, {"lr": 0.05}, budget=1, max_budget=3, backbone="smallcnn_tiny",
    ...                    weights=None, seed=0, device="cpu")
    >>> [e.epoch for e in result.curve], result.diverged, 0.0 <= result.val_acc <= 1.0
    ([1], False, True)
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperstar._internal.device import resolve_device
from hyperstar._internal.paths import resolve_weights
from hyperstar._internal.validation import check_choice, check_int, check_seed
from hyperstar.data import Split, Task
from hyperstar.exceptions import DiskFullError, InvalidInputError
from hyperstar.finetune.augment import augment
from hyperstar.finetune.checkpoint import (
    TrainState,
    check_resume,
    data_digest,
    load_checkpoint,
    save_checkpoint,
)
from hyperstar.finetune.result import EpochRecord, FineTuneResult
from hyperstar.finetune.schedule import drops_last_image, lr_multiplier, steps_per_epoch, unfrozen_groups
from hyperstar.finetune import wiseft
from hyperstar.models.backbones import Backbone, create_backbone, state_dict_digest
from hyperstar.space import validate_configuration

__all__ = ["EpochRecord", "FineTuneResult", "fine_tune", "lr_multiplier", "resolve_device"]

logger = logging.getLogger(__name__)

#: A run whose train or validation loss exceeds this many times ln(n_classes), the loss of a
#: uniform guess, has diverged even if the loss is still finite.
EXPLODED_LOSS_FACTOR = 100.0
#: On CUDA, how often (optimiser steps) the inner loop reads the loss back to stop a non-finite run early.
SYNC_EVERY = 50


def _defers_loss_checks(dev: torch.device) -> bool:
    """Whether the training loop keeps its loss on the device and checks it every SYNC_EVERY steps
    (CUDA) rather than after every step (CPU, where reading a loss costs nothing)."""
    return dev.type == "cuda"


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
        self._loader: torch.utils.data.DataLoader | None = None
        self._epoch_batches: list[list[int]] = []
        if task.in_memory:
            imgs = task.images(self.indices)
            if device.type == "cuda":
                imgs = imgs.pin_memory()
            self.images = imgs.to(device, non_blocking=True)

    def __len__(self) -> int:
        return len(self.indices)

    def batches(self, order: torch.Tensor, batch_size: int):
        if self.images is not None:
            # one copy of the order per epoch: a copy per batch from pageable memory syncs with the GPU
            order = order.to(self.device)
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                yield self.images[idx], self.labels[idx]
            return
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        # one DataLoader per feeder, its worker processes kept from epoch to epoch (not started anew for
        # every epoch and every evaluation); its batch sampler reads this epoch's batches
        self._epoch_batches[:] = [c.tolist() for c in chunks]
        if self._loader is None:
            self._loader = torch.utils.data.DataLoader(
                self.task.torch_dataset(self.indices),
                batch_sampler=_EpochBatches(self._epoch_batches),
                num_workers=self.num_workers,
                pin_memory=self.device.type == "cuda",
                persistent_workers=self.num_workers > 0,
            )
        for x, y in self._loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


class _EpochBatches:
    """A batch sampler over a list that its feeder refills each epoch (read in the main process)."""

    def __init__(self, batches: list[list[int]]) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(list(self.batches))

    def __len__(self) -> int:
        return len(self.batches)


# --------------------------------------------------------------------------- the engine


#: held while a model is initialised from torch's global generator (anything else that draws from it
#: while fine-tunes may run in other threads of the process should hold it too)
MODEL_INIT_LOCK = threading.Lock()


def _build_model(
    backbone: str | Backbone, weights: Any, n_classes: int, channels: int, seed: int
) -> tuple[Backbone, str]:
    # torch's global generator initialises the layers: one model at a time, or two fine-tunes in two
    # threads (tune's thread workers) would draw from each other's stream and start from other weights.
    with MODEL_INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(backbone, Backbone):
            model = backbone
            name = backbone.name
        else:
            name = backbone
            resolved = resolve_weights(backbone, weights)
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
    decay = float(config.get("layer_lr_decay", 1.0))
    if decay != 1.0:
        # Discriminative rates (ULMFiT): layer group k from the head trains at lr * decay**k. Only here are
        # the groups split, so that a run without the technique keeps its optimiser layout (and checkpoints).
        wd_of = {id(p): (0.0 if l2sp_on and id(p) not in head_ids else wd) for p in trainable}
        ids = set(wd_of)
        groups = []
        for k, layer in enumerate(model.layer_groups()):
            for wd_k in sorted({wd_of[id(p)] for p in layer if id(p) in ids}, reverse=True):
                params = [p for p in layer if id(p) in ids and wd_of[id(p)] == wd_k]
                groups.append({"params": params, "weight_decay": wd_k, "lr_scale": decay**k})
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
    # sums stay on the device (one read-back at the end, not two per batch); same values on the CPU
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    order = torch.arange(len(feeder))
    for xb, yb in feeder.batches(order, 512):
        x = xb.float().div_(255)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(x)
        logits = logits.float()
        total_loss += F.cross_entropy(logits, yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    return float(total_loss) / len(feeder), int(correct) / len(feeder)


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
    threads: int | None = None,
    precision: str = "auto",
    wise_ft: bool = True,
    export_path: str | Path | None = None,
    export_alpha: float | str = "best",
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
    most frequent training class.

    Same seed on the CPU, same curve, for the same intra-op thread count: ``threads`` sets it
    (``torch.set_num_threads``, which is process-wide and stays set); ``None`` keeps the process's.
    The count used is in ``result.threads``. ``precision``: ``"auto"`` (bf16 autocast on CUDA, fp32
    elsewhere), ``"bf16"`` or ``"fp32"``.

    ``result.extra["timings"]`` splits ``wall_time`` into seconds of ``setup``, ``train``, ``eval``
    (validation), ``test``, ``wise_ft`` (its evaluations and the export), ``checkpoint_load`` and
    ``checkpoint_save``.

    At the end, ``wise_ft`` (default on) evaluates WiSE-FT's weight-space interpolations at
    :data:`~hyperstar.finetune.wiseft.WISE_ALPHAS` on the validation, test and shifted splits
    (:mod:`hyperstar.finetune.wiseft`: the body interpolated, the fine-tuned head kept; the shifted split is
    the test images under :func:`~hyperstar.data.shift.shifted_images`): ``result.wise_ft``, and
    ``result.shifted_acc`` (alpha 1). ``export_path`` writes the model at ``export_alpha`` (``"best"``: the
    alpha with the best validation accuracy) for :func:`~hyperstar.finetune.wiseft.load_model`.

    A checkpoint that cannot be written for lack of space raises
    :class:`~hyperstar.exceptions.DiskFullError` *after* the training: its ``result`` attribute holds
    the finished :class:`FineTuneResult` (curve and accuracies measured, ``checkpoint=None``), so a
    caller can still report or record it; no temporary file is left and an older checkpoint at the
    path is kept. Callers that schedule jobs (the HPO workers) treat it as a retryable crash.
    """
    t_start = time.perf_counter()
    config = validate_configuration(config or {})
    budget = check_int(budget, "budget", "fine_tune", 1)
    max_budget = budget if max_budget is None else check_int(max_budget, "max_budget", "fine_tune", 1)
    if budget > max_budget:
        raise InvalidInputError(
            f"budget ({budget}) is larger than max_budget ({max_budget}), the schedule's horizon. "
            "Raise max_budget or lower budget."
        )
    seed = check_seed(seed, "fine_tune")
    export_alpha = wiseft.check_alpha(export_alpha, "fine_tune")
    if threads is not None:
        torch.set_num_threads(check_int(threads, "threads", "fine_tune", 1, 4096))
    if checkpoint_path is not None:
        _check_checkpoint_path(Path(checkpoint_path))
    dev = resolve_device(device)
    precision = check_choice(precision, "precision", "fine_tune", ("auto", "bf16", "fp32"))
    amp = dev.type == "cuda" if precision == "auto" else precision == "bf16"
    split = split if split is not None else task.split(seed=split_seed)

    model, backbone_name = _build_model(backbone, weights, task.n_classes, task.channels, seed)
    # the digest hashes every body weight: only checkpoints (written or resumed) need it
    init_digest = state_dict_digest(model.body) if checkpoint_path is not None or resume_from is not None else ""
    model.to(dev)
    init_body = wiseft.body_state(model.body) if (wise_ft or export_path is not None) else None
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    trainable = _set_trainable(model, config["train_mode"])
    optimizer, anchors = _make_optimizer(model, config, trainable)
    layers = _trainable_layers(model, trainable) if config.get("unfreeze", "off") == "gradual" else None
    gen = torch.Generator().manual_seed(seed)

    train = _Feeder(task, split.train, dev, num_workers)
    val = _Feeder(task, split.val, dev, num_workers)
    batch_size = int(config["batch_size"])
    n_train = len(train)
    epoch_steps = steps_per_epoch(n_train, batch_size)
    total_steps = epoch_steps * max_budget
    l2sp = float(config.get("l2sp_strength", 0.0)) if anchors else 0.0
    smoothing = float(config.get("label_smoothing", 0.0))
    base_lrs = [float(config["lr"]) * g.get("lr_scale", 1.0) for g in optimizer.param_groups]
    data = data_digest(task, split) if checkpoint_path is not None or resume_from is not None else ""

    curve: list[EpochRecord] = []
    start_epoch = 0
    timings = {"setup": 0.0, "train": 0.0, "eval": 0.0, "test": 0.0, "wise_ft": 0.0, "checkpoint_load": 0.0,
               "checkpoint_save": 0.0}
    if resume_from is not None:
        t_load = time.perf_counter()
        state = load_checkpoint(resume_from)
        check_resume(state, config=config, seed=seed, max_budget=max_budget, backbone=backbone_name,
                     init_digest=init_digest, budget=budget, path=resume_from, n_classes=task.n_classes, data=data)
        anchors = state.restore(model, optimizer, anchors, gen, dev)
        curve = list(state.curve)
        start_epoch = state.epoch
        timings["checkpoint_load"] = time.perf_counter() - t_load

    diverged, diverged_epoch, exploded = False, None, False
    train_seconds, samples = 0.0, 0
    step = start_epoch * epoch_steps
    epochs = range(start_epoch, budget)
    threads_seen = {torch.get_num_threads()}
    timings["setup"] = time.perf_counter() - t_start - timings["checkpoint_load"]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget - start_epoch, desc="fine-tune", unit="epoch", leave=False)
    for epoch in epochs:
        threads_seen.add(torch.get_num_threads())
        t_epoch = time.perf_counter()
        if layers is not None:  # gradual unfreezing: this epoch trains the first groups from the head
            _unfreeze(layers, unfrozen_groups(config, epoch, len(layers)))
        _train_mode(model)
        order = torch.randperm(n_train, generator=gen)
        if drops_last_image(n_train, batch_size):
            order = order[:-1]
        loss_sum, loss_n = 0.0, 0
        # on CUDA the epoch's loss is summed on the device and checked every SYNC_EVERY steps: a
        # float() or an `if` on a device tensor per step would stall the GPU once per batch
        loss_dev = torch.zeros((), dtype=torch.float64, device=dev) if _defers_loss_checks(dev) else None
        factor = lr_multiplier(config, step, total_steps)
        for xb, yb in train.batches(order, batch_size):
            factor = lr_multiplier(config, step, total_steps)
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * factor
            x = augment(xb.float().div_(255), config, gen)
            if dev.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), yb, label_smoothing=smoothing)
            if l2sp > 0:
                loss = loss + 0.5 * l2sp * sum(((p - a) ** 2).sum() for p, a in anchors)
            if loss_dev is None and not torch.isfinite(loss):
                diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if loss_dev is not None:
                loss_dev += loss.detach().double() * len(yb)
                if (step + 1) % SYNC_EVERY == 0 and not torch.isfinite(loss_dev):
                    diverged = True
                    break
            else:
                loss_sum += float(loss.detach()) * len(yb)
            loss_n += len(yb)
            samples += len(yb)
            step += 1
        if loss_dev is not None:  # one sync per epoch, before the clock stops
            loss_sum = float(loss_dev)
            diverged = diverged or not math.isfinite(loss_sum)
        train_seconds += time.perf_counter() - t_epoch
        if not diverged and not bool(torch.stack([torch.isfinite(p).all() for p in trainable]).all()):
            diverged = True
        if diverged:  # non-finite: the model predicts nothing, score it as the majority class
            diverged_epoch = epoch + 1
            chance = _majority_accuracy(task, split)
            record = EpochRecord(epoch + 1, float("nan"), float("nan"), chance["val"], base_lrs[0] * factor,
                                 time.perf_counter() - t_epoch)
        else:
            t_eval = time.perf_counter()
            val_loss, val_acc = _evaluate(model, val, dev, amp)
            timings["eval"] += time.perf_counter() - t_eval
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

    t_test = time.perf_counter()
    test_acc: float | None = None
    if diverged and not exploded:
        test_acc = _majority_accuracy(task, split)["test"] if eval_test else None
    elif eval_test and len(split.test):
        test_acc = _evaluate(model, _Feeder(task, split.test, dev, num_workers), dev, amp)[1]
    if layers is not None:
        _unfreeze(layers, len(layers))  # the trained parameters as the train mode has them, for the caller
    timings["test"] = time.perf_counter() - t_test
    t_wise = time.perf_counter()
    wise = None
    if wise_ft and not diverged and curve:
        wise = _wise_ft(model, init_body, task, split, curve[-1].val_acc, test_acc, val, dev, amp, num_workers,
                        eval_test)
    exported, alpha = None, 1.0
    if export_path is not None and not diverged:
        alpha = export_alpha if export_alpha != "best" else ((wise or {}).get("best_alpha") or 1.0)
        exported = str(wiseft.export_model(export_path, model, init_body, float(alpha), {
            "backbone": backbone_name, "n_classes": task.n_classes, "channels": task.channels,
            "resolution": task.resolution, "config": config, "budget": budget, "max_budget": max_budget,
            "seed": seed, "classes": list(getattr(task, "classes", []) or [])}))
    timings["wise_ft"] = time.perf_counter() - t_wise  # WiSE-FT's evaluations and the export

    saved, save_error = None, None
    if checkpoint_path is not None and not diverged:
        t_save = time.perf_counter()
        state = TrainState.capture(model, optimizer, anchors, gen, curve, config=config, seed=seed,
                                   max_budget=max_budget, backbone=backbone_name, init_digest=init_digest,
                                   data_digest=data)
        try:
            saved = str(save_checkpoint(checkpoint_path, state))
        except DiskFullError as exc:  # the training is done: keep its result for the caller
            save_error = exc
        timings["checkpoint_save"] = time.perf_counter() - t_save
    threads_seen.add(torch.get_num_threads())
    wall_time = time.perf_counter() - t_start
    if len(threads_seen) > 1:
        logger.warning("torch's thread count changed during the run (%s): its curve may not be reproducible.",
                       sorted(threads_seen))
    result = FineTuneResult(
        config=config,
        budget=budget,
        max_budget=max_budget,
        seed=seed,
        backbone=backbone_name,
        curve=curve,
        test_acc=test_acc,
        diverged=diverged,
        wall_time=wall_time,
        samples_per_s=samples / train_seconds if train_seconds > 0 else 0.0,
        device=str(dev),
        n_train=len(split.train),
        n_val=len(split.val),
        n_test=len(split.test),
        start_epoch=start_epoch,
        checkpoint=saved,
        diverged_epoch=diverged_epoch,
        threads=torch.get_num_threads() if len(threads_seen) == 1 else max(threads_seen),
        extra={"timings": {**timings, "train": train_seconds},
               **({"threads_seen": sorted(threads_seen)} if len(threads_seen) > 1 else {}),
               **({"exported": exported, "exported_alpha": float(alpha)} if exported else {})},
        wise_ft=wise,
        shifted_acc=None if wise is None else wise["shifted"][-1],
    )
    if save_error is not None:
        save_error.result = result
        raise save_error
    return result


def _trainable_layers(model: Backbone, trainable: list[nn.Parameter]) -> list[list[nn.Parameter]]:
    """The layer groups from the head (:meth:`Backbone.layer_groups`), each cut to what the train mode trains;
    groups it does not train at all are left out (gradual unfreezing counts only groups that train)."""
    ids = {id(p) for p in trainable}
    layers = [[p for p in group if id(p) in ids] for group in model.layer_groups()]
    return [group for group in layers if group]


def _unfreeze(layers: list[list[nn.Parameter]], n: int) -> None:
    """Train the first ``n`` layer groups, freeze the rest (a frozen parameter gets no gradient, so neither the
    optimiser nor weight decay moves it, and a frozen BatchNorm keeps its statistics)."""
    for k, group in enumerate(layers):
        for p in group:
            p.requires_grad_(k < n)


class _TensorFeeder(_Feeder):
    """A feeder over images already in memory (the shifted split)."""

    def __init__(self, images: torch.Tensor, labels: np.ndarray, device: torch.device) -> None:
        self.indices = np.arange(len(images))
        self.device = device
        self.num_workers = 0
        self.labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        self.images = images.to(device)


def _wise_ft(model: Backbone, init_body, task: Task, split: Split, val_acc: float, test_acc: float | None,
             val: _Feeder, dev: torch.device, amp: bool, num_workers: int, eval_test: bool) -> dict[str, Any]:
    """WiSE-FT accuracies at every alpha on val, test and the shifted split (alpha 1: the numbers measured)."""
    from hyperstar.data.shift import shifted_images

    t0 = time.perf_counter()
    alphas = [float(a) for a in wiseft.WISE_ALPHAS]
    feeders = {"val": val}
    if eval_test and len(split.test):
        feeders["test"] = _Feeder(task, split.test, dev, num_workers)
        feeders["shifted"] = _TensorFeeder(shifted_images(task.images(split.test)), task.labels[split.test], dev)
    out: dict[str, Any] = {"alphas": alphas, "rule": wiseft.HEAD_RULE}
    at_one = {"val": val_acc, "test": test_acc}
    at_one["shifted"] = _evaluate(model, feeders["shifted"], dev, amp)[1] if "shifted" in feeders else None
    changed = wiseft.body_changed(model.body, init_body)
    for name in ("val", "test", "shifted"):
        if name not in feeders:
            out[name] = [None] * len(alphas)
        elif not changed:  # the body never moved: every alpha is the fine-tuned model
            out[name] = [at_one[name]] * len(alphas)
        else:
            accs = []
            for a in alphas[:-1]:
                with wiseft.interpolated_body(model, init_body, a):
                    accs.append(_evaluate(model, feeders[name], dev, amp)[1])
            out[name] = accs + [at_one[name]]
    best = wiseft.best_alpha(alphas, out["val"])
    out["body_changed"] = changed
    out["best_alpha"] = best
    if best is not None:
        i = alphas.index(best)
        out["best"] = {name: out[name][i] for name in ("val", "test", "shifted")}
    out["seconds"] = time.perf_counter() - t0
    return out


def _check_checkpoint_path(path: Path) -> None:
    """Before any training: the checkpoint's folder exists (or is made) and is writable."""
    if path.is_dir():
        raise InvalidInputError(f"The checkpoint path '{path}' is a folder; pass a file path such as '{path / 'run.pt'}'.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot create the checkpoint folder '{path.parent}' ({exc.strerror or exc}). Pass a writable path."
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InvalidInputError(f"The checkpoint folder '{path.parent}' is not writable. Pass a writable path.")


def _majority_accuracy(task: Task, split: Split) -> dict[str, float]:
    majority = int(np.bincount(task.labels[split.train], minlength=task.n_classes).argmax())
    out = {}
    for part in ("val", "test"):
        idx = getattr(split, part)
        out[part] = float(np.mean(task.labels[idx] == majority)) if len(idx) else float("nan")
    return out

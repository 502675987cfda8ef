"""hpbandster workers: real fine-tuning (:class:`FineTuneWorker`) and table look-ups (:class:`TabularWorker`).

Both plug into hpbandster's ``Worker.compute`` seam and send back only plain Python values
(``{"loss": float, "info": {...}}``, loss = 1 - validation accuracy).

* :class:`FineTuneWorker` runs :func:`hyperstar.finetune.fine_tune` for ``round(budget)`` epochs.
  A configuration promoted to a larger budget continues from its checkpoint (one per
  configuration, kept in ``<run_dir>/checkpoints``) - exact, because the learning-rate schedule is
  defined over ``max_budget``. A run that fails reports loss 1 with the error in ``info``; a
  diverged run reports the majority-class accuracy with ``diverged: true``; the run goes on.
* :class:`TabularWorker` answers from a meta-dataset's stored curves (``curves[task, config,
  budget - 1]``) in no time, so the same real hpbandster loop can be benchmarked quickly. It only
  accepts configurations of the meta-dataset.

:func:`serve_worker` is what ``hyperstar worker`` runs: it finds the run's nameserver, reads the
run's settings published there by ``tune`` (:class:`WorkerSpec`), builds the worker and serves jobs
until the master shuts it down (or the master disappears).

Example (a worker process joining a run on another machine)::

    $ hyperstar worker --run-id 20240101-1200-bohb --nameserver 10.0.0.5 --nameserver-port 40123 \\
          --host 10.0.0.7 --secret "$SECRET" --data /data/my_images
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hpbandster.core.worker import Worker as _HpBandSterWorker

from hyperstar._internal.validation import check_int
from hyperstar.exceptions import DataError, HyperstarError, InvalidInputError
from hyperstar.meta.dataset import MetaDataset, append_record
from hyperstar.space import config_key
from hyperstar.hpo.seam import (
    DEFAULT_HOST,
    SecretMismatchError,
    budget_to_epochs,
    can_connect,
    locate_nameserver,
    plain_budget,
    plain_config,
    plain_info,
    pyro_secret,
)

__all__ = ["HyperstarWorker", "FineTuneWorker", "TabularWorker", "WorkerSpec", "serve_worker",
           "spec_name", "WORKER_LOG"]

logger = logging.getLogger(__name__)

WORKER_LOG = "worker_log.jsonl"
CHECKPOINTS = "checkpoints"
FAILED_LOSS = 1.0


def spec_name(run_id: str) -> str:
    """The nameserver entry under which ``tune`` publishes a run's :class:`WorkerSpec`."""
    return f"hyperstar.run_{run_id}.spec"


class HyperstarWorker(_HpBandSterWorker):
    """An hpbandster worker that speaks plain Python types; subclasses implement :meth:`evaluate`.

    With ``errors_as_results`` (the default) an exception in :meth:`evaluate` becomes a result with
    loss 1 and the error in ``info`` (``retry: true`` when the disk was full) instead of a traceback;
    hyperstar's master logs such a job as failed (or crashed, with ``retry``) and never treats it as a
    result (:func:`hyperstar.hpo.master.as_crashed`).
    """

    errors_as_results = True

    def __init__(self, run_id: str, *, nameserver: str = DEFAULT_HOST, nameserver_port: int | None = None,
                 host: str = DEFAULT_HOST, id: Any = None, timeout: float | None = None,
                 logger: logging.Logger | None = None) -> None:
        # hpbandster calls logging.basicConfig(DEBUG) when no logger is given: always pass one.
        super().__init__(str(run_id), nameserver=nameserver, nameserver_port=nameserver_port,
                         logger=logger or logging.getLogger(__name__), host=host, id=id, timeout=timeout)
        self.n_jobs = 0

    def evaluate(self, config_id: tuple[int, ...], config: dict[str, Any], budget: float,
                 working_directory: str) -> tuple[float, dict[str, Any]]:
        """Return ``(loss, info)`` for one job; ``config`` and ``budget`` are plain Python values."""
        raise NotImplementedError

    def compute(self, config_id, config, budget, working_directory, **kwargs) -> dict[str, Any]:
        config_id = tuple(int(i) for i in config_id)
        config = plain_config(config)
        budget = plain_budget(budget)
        try:
            loss, info = self.evaluate(config_id, config, budget, str(working_directory))
        except Exception as exc:
            if not self.errors_as_results:
                raise
            self.logger.warning("Job %s (budget %g) failed: %s: %s", config_id, budget, type(exc).__name__, exc)
            loss, info = FAILED_LOSS, {"error": _one_line(exc), "val_acc": None, "test_acc": None,
                                       "curve": [], "diverged": False, "wall_time": None, "resumed_from_epoch": None,
                                       "retry": is_disk_full(exc)}
        self.n_jobs += 1
        loss = float(loss)
        if not np.isfinite(loss):
            loss = FAILED_LOSS
        return {"loss": loss, "info": plain_info(info)}


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk is full: a job that a retry could finish."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ == "DiskFullError" or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC,
                                                                                                 errno.EDQUOT)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------- fine-tuning


def _config_digest(config: Mapping[str, Any], seed: int) -> str:
    return hashlib.sha1(f"{config_key(config)}|{seed}".encode()).hexdigest()[:16]


class FineTuneWorker(HyperstarWorker):
    """Fine-tunes ``task`` for each job; promotions continue from the configuration's checkpoint.

    ``max_budget``: the run's largest budget in epochs (the learning-rate schedule's horizon).
    ``run_dir``: where checkpoints (``checkpoints/``) and the job log (``worker_log.jsonl``) go
    (default: the master's working directory sent with each job). ``backbone``, ``weights``,
    ``seed``, ``split_seed``, ``device``, ``eval_test``: as in :func:`~hyperstar.finetune.fine_tune`.
    """

    def __init__(self, task, run_id: str, *, max_budget: int, run_dir: str | Path | None = None,
                 backbone: str = "smallcnn", weights: Any = "auto", seed: int = 0, split_seed: int = 0,
                 device: str = "auto", eval_test: bool = True, **kwargs: Any) -> None:
        super().__init__(run_id, **kwargs)
        self.task = task
        self.max_budget = int(max_budget)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.backbone = backbone
        self.weights = weights
        self.seed = int(seed)
        self.split_seed = int(split_seed)
        self.device = device
        self.eval_test = bool(eval_test)
        self._where = f"{socket.gethostname()}:{os.getpid()}"

    def _log(self, run_dir: Path, record: dict[str, Any]) -> None:
        try:
            append_record(run_dir / WORKER_LOG, plain_info({**record, "worker": self._where, "pid": os.getpid(),
                                                            "time": time.time()}))
        except OSError as exc:  # the log is a convenience; never fail a job over it
            self.logger.debug("Could not write the worker log: %s", exc)

    @staticmethod
    def _checkpoints(folder: Path) -> dict[int, Path]:
        out = {}
        if folder.is_dir():
            for p in folder.glob("epoch_*.pt"):
                try:
                    out[int(p.stem.split("_")[1])] = p
                except (IndexError, ValueError):
                    continue
        return out

    def evaluate(self, config_id, config, budget, working_directory):
        from hyperstar.finetune import fine_tune

        epochs = budget_to_epochs(budget, self.max_budget)
        run_dir = self.run_dir or Path(working_directory)
        folder = run_dir / CHECKPOINTS / _config_digest(config, self.seed)
        existing = self._checkpoints(folder)
        start = max((e for e in existing if e <= epochs), default=0)
        resume_from = existing.get(start)
        save = folder / f"epoch_{epochs:04d}.pt" if start < epochs < self.max_budget and epochs > max(existing, default=0) else None
        self._log(run_dir, {"event": "start", "config_id": list(config_id), "budget": budget, "epochs": epochs})
        kwargs = dict(budget=epochs, max_budget=self.max_budget, backbone=self.backbone, weights=self.weights,
                      seed=self.seed, split_seed=self.split_seed, device=self.device, eval_test=self.eval_test,
                      checkpoint_path=save,
                      # WiSE-FT's evaluations only where an incumbent can come from (the maximum budget): at one
                      # epoch they would cost about a third of the job (benchmarks/results/techniques.md)
                      wise_ft=epochs >= self.max_budget)
        error = None
        try:
            try:
                result = fine_tune(self.task, config, resume_from=resume_from, **kwargs)
            except InvalidInputError as exc:
                if resume_from is None or "Checkpoint" not in str(exc):
                    raise
                self.logger.warning("Ignoring checkpoint %s (%s); training from scratch.", resume_from, exc)
                start, resume_from = 0, None
                result = fine_tune(self.task, config, **kwargs)
        except Exception as exc:
            result = getattr(exc, "result", None) if is_disk_full(exc) else None
            self._log(run_dir, {"event": "end", "config_id": list(config_id), "budget": budget, "epochs": epochs,
                                "error": _one_line(exc), "result_kept": result is not None})
            if result is None:
                raise
            # The training finished but its checkpoint could not be written (a full disk): the result stands;
            # a promotion of this configuration trains from the start (the same curve, more time).
            error = _one_line(exc)
            self.logger.warning("Job %s: %s; the result is kept, the checkpoint is not.", config_id, error)
        if save is not None and result.checkpoint and error is None:
            for e, p in self._checkpoints(folder).items():
                if e < epochs:  # one checkpoint per configuration: the furthest one
                    p.unlink(missing_ok=True)
        val_acc = result.val_acc
        info = {
            "val_acc": val_acc,
            "test_acc": result.test_acc,
            "curve": [e.val_acc for e in result.curve],
            "diverged": result.diverged,
            "wall_time": result.wall_time,
            "resumed_from_epoch": start if resume_from is not None else None,
            "epochs": epochs,
            "device": result.device,
            "worker": self._where,
            "error": None,
            "checkpoint_error": error,
            "timings": result.extra.get("timings"),
            "shifted_acc": result.shifted_acc,
            "wise_ft": None if result.wise_ft is None else {k: result.wise_ft[k] for k in (
                "alphas", "val", "test", "shifted", "best_alpha", "body_changed", "seconds") if k in result.wise_ft},
        }
        self._log(run_dir, {"event": "end", "config_id": list(config_id), "budget": budget, "epochs": epochs,
                            "resumed_from_epoch": info["resumed_from_epoch"], "val_acc": val_acc,
                            "diverged": result.diverged, "wall_time": result.wall_time})
        if not np.isfinite(val_acc):
            raise DataError("The validation split is empty; the task needs more images per class.")
        return 1.0 - float(val_acc), info


# --------------------------------------------------------------------------- tables


class TabularWorker(HyperstarWorker):
    """Answers jobs from ``meta``'s stored curves for task ``task_index``: no training, no time.

    Only configurations of the meta-dataset are accepted (looked up by
    :func:`~hyperstar.space.config_key`); anything else is an error (a crashed job).
    """

    errors_as_results = False

    def __init__(self, meta: MetaDataset, task_index: int, run_id: str, **kwargs: Any) -> None:
        super().__init__(run_id, **kwargs)
        if not isinstance(meta, MetaDataset):
            raise InvalidInputError(f"TabularWorker needs a MetaDataset. Got {type(meta).__name__}.")
        self.meta = meta
        self.task_index = check_int(task_index, "task_index", "TabularWorker", 0, meta.n_tasks - 1)
        self._index = {config_key(c): i for i, c in enumerate(meta.configs)}

    def lookup(self, config: Mapping[str, Any]) -> int:
        """The meta-dataset index of ``config`` (``InvalidInputError`` if it is not there)."""
        c = self._index.get(config_key(config))
        if c is None:
            raise InvalidInputError(
                "TabularWorker only evaluates configurations of its meta-dataset; this one is not among its "
                f"{self.meta.n_configs}. Restrict the generator to them (candidates=meta.configs)."
            )
        return c

    def evaluate(self, config_id, config, budget, working_directory):
        c = self.lookup(config)
        epochs = budget_to_epochs(budget, self.meta.max_budget)
        t = self.task_index
        acc = float(self.meta.curves[t, c, epochs - 1])
        if not np.isfinite(acc):
            raise DataError(f"The meta-dataset has no result for task {self.meta.task_names[t]!r}, configuration {c}.")
        test = float(self.meta.test_acc[t, c]) if epochs == self.meta.max_budget else None
        info = {
            "val_acc": acc,
            "test_acc": test,
            "curve": self.meta.curves[t, c, :epochs].tolist(),
            "diverged": bool(self.meta.diverged[t, c]),
            "wall_time": 0.0,
            "resumed_from_epoch": None,
            "epochs": epochs,
            "config_index": c,
        }
        return 1.0 - acc, info


# --------------------------------------------------------------------------- serving a run


@dataclass
class WorkerSpec:
    """The settings a worker needs, published by ``tune`` on the nameserver."""

    kind: str = "finetune"
    data: str | None = None
    data_format: str = "folder"
    resolution: int = 32
    channels: int = 3
    max_budget: int = 9
    backbone: str = "smallcnn"
    weights: str | None = "auto"
    seed: int = 0
    split_seed: int = 0
    device: str = "auto"
    eval_test: bool = True
    run_dir: str | None = None
    meta: str | None = None
    task_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        values = json.loads(text)
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def load_spec_task(spec: WorkerSpec, data: str | None = None):
    """The :class:`~hyperstar.data.Task` a spec names (``data`` overrides its path)."""
    from hyperstar.data import Task

    path = data or spec.data
    if path is None:
        raise InvalidInputError("The run did not say where its images are; pass the image folder with --data.")
    if spec.data_format == "npz" and data is None:
        if not Path(path).is_file():
            raise DataError(f"The run's task file '{path}' is not on this machine; pass the image folder with --data.")
        with np.load(path, allow_pickle=False) as z:
            return Task.from_arrays(z["images"], z["labels"], resolution=None, channels=None,
                                    name=str(z["name"]), class_names=[str(c) for c in z["classes"]])
    return Task.from_folder(path, resolution=spec.resolution, channels=spec.channels)


def build_worker(spec: WorkerSpec, run_id: str, *, nameserver: str, nameserver_port: int, host: str = DEFAULT_HOST,
                 data: str | None = None, device: str | None = None, work_dir: str | None = None, task=None,
                 meta: MetaDataset | None = None, objective: Any = None, id: Any = None) -> HyperstarWorker:
    """The worker a :class:`WorkerSpec` describes (``task`` / ``meta`` / ``objective`` skip loading them)."""
    common = dict(nameserver=nameserver, nameserver_port=nameserver_port, host=host, id=id)
    if spec.kind == "objective":
        from hyperstar.hpo.objective import objective_worker

        return objective_worker(spec, run_id, objective=objective, work_dir=work_dir, **common)
    if spec.kind == "tabular":
        from hyperstar.meta.dataset import load_meta_dataset

        meta = meta if meta is not None else load_meta_dataset(spec.meta)
        return TabularWorker(meta, int(spec.task_index or 0), run_id, **common)
    if spec.kind != "finetune":
        raise InvalidInputError(f"Unknown worker kind {spec.kind!r} in the run's settings.")
    _import_backbone(spec)
    run_dir = Path(work_dir or spec.run_dir or ".")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write to the run directory '{run_dir}' here ({exc.strerror}); pass --work-dir.") from None
    task = task if task is not None else load_spec_task(spec, data)
    return FineTuneWorker(task, run_id, max_budget=spec.max_budget, run_dir=run_dir, backbone=spec.backbone,
                          weights=spec.weights, seed=spec.seed, split_seed=spec.split_seed,
                          device=device or spec.device, eval_test=spec.eval_test, **common)


def _import_backbone(spec: WorkerSpec) -> None:
    """Import the module that registers the run's backbone, when it is not one of hyperstar's own."""
    import importlib
    import sys

    from hyperstar.models import list_backbones

    module = (spec.extra or {}).get("backbone_module")
    if not module or spec.backbone in list_backbones():
        return
    for folder in (spec.extra or {}).get("sys_path") or []:
        if folder not in sys.path and Path(folder).is_dir():
            sys.path.insert(0, folder)
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise InvalidInputError(
            f"The run's backbone {spec.backbone!r} is registered by the module {module!r}, which cannot be imported "
            f"here ({exc}). Install it on this machine or set PYTHONPATH."
        ) from None


def fetch_spec(nameserver: str, port: int, run_id: str, wait: float = 0.0) -> WorkerSpec:
    """Read the run's :class:`WorkerSpec` from the nameserver (waiting up to ``wait`` seconds for it)."""
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            ns = locate_nameserver(nameserver, port)
        except SecretMismatchError:
            raise
        except HyperstarError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)
            continue
        with ns:
            entries = ns.list(prefix=spec_name(run_id), return_metadata=True)
        if spec_name(run_id) in entries:
            _, metadata = entries[spec_name(run_id)]
            for item in metadata:
                if item.startswith("{"):
                    return WorkerSpec.from_json(item)
        if time.monotonic() >= deadline:
            raise HyperstarError(
                f"No hyperstar run {run_id!r} on the nameserver at {nameserver}:{port}. Check --run-id "
                "(it is in the run directory's nameserver.json)."
            )
        time.sleep(1.0)


def _watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            logger.warning("The tune process (pid %d) is gone; this worker exits.", parent_pid)
            os._exit(0)


def _watch_nameserver(host: str, port: int, interval: float = 10.0, misses: int = 3) -> None:
    missed = 0
    while True:
        time.sleep(interval)
        missed = 0 if can_connect(host, port) else missed + 1
        if missed >= misses:
            logger.warning("The nameserver at %s:%d is gone; this worker exits.", host, port)
            os._exit(0)


def serve_worker(run_id: str, nameserver: str, nameserver_port: int, *, secret: str | bytes | None = None,
                 host: str = DEFAULT_HOST, data: str | None = None, device: str | None = None,
                 threads: int | None = None, work_dir: str | None = None, parent_pid: int | None = None,
                 wait: float = 30.0, objective: str | None = None) -> int:
    """Join run ``run_id`` and compute its jobs until the master shuts this worker down.

    ``host``: this machine's address as the master can reach it (loopback by default).
    ``secret``: the run's shared secret. ``data``: the image folder on this machine, if its path
    differs from the master's. ``parent_pid``: exit when that process dies (workers started by
    ``tune``). ``objective``: ``"module:function"`` of an :func:`~hyperstar.hpo.optimize` run's objective on
    this machine (default: the one the run published). Returns the number of jobs computed.
    """
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    with pyro_secret(secret):
        spec = fetch_spec(nameserver, int(nameserver_port), run_id, wait=wait)
        worker = build_worker(spec, run_id, nameserver=nameserver, nameserver_port=int(nameserver_port), host=host,
                              data=data, device=device, work_dir=work_dir, objective=objective)
        if parent_pid is not None:
            threading.Thread(target=_watch_parent, args=(int(parent_pid),), daemon=True).start()
        threading.Thread(target=_watch_nameserver, args=(nameserver, int(nameserver_port)), daemon=True).start()
        logger.info("Worker %s joined run %s (%s).", worker.worker_id, run_id, spec.kind)
        try:
            worker.run(background=False)
        except Exception as exc:
            if not hasattr(worker, "pyro_daemon"):
                raise HyperstarError(f"The worker could not join run {run_id!r}: {type(exc).__name__}: {exc}") from None
            # After the master shut us down the nameserver may already be gone; that is the normal end.
            logger.debug("Worker loop ended: %s: %s", type(exc).__name__, exc)
        logger.info("Worker %s done after %d job(s).", worker.worker_id, worker.n_jobs)
        return worker.n_jobs

"""The meta-dataset: how well each configuration fine-tunes each task, epoch by epoch.

On-disk format (a folder; text only, append-friendly)::

    manifest.json    format version, backbone and its weights digest, max_budget, split settings,
                     the tasks (name, family, recipe, descriptors) and the shared configurations
    results.jsonl    one JSON object per line and per finished cell (task, configuration, seed):
                     {"task", "config_id", "seed", "val_acc": [...per epoch], "val_loss", "train_loss",
                      "test_acc", "diverged", "diverged_epoch", "wall_time", "samples_per_s",
                      "code_version", "machine", "finished_at"}

A cell is only ever appended as one complete line (written with a single ``write`` and fsync'd);
a line cut short by a kill is ignored on load and removed before the builder appends again, so a
crash loses at most the cells in flight. Curves are stored to ``max_budget`` epochs; a run that
diverged at epoch ``d`` keeps its last accuracy for the remaining epochs (training stopped there).

Example::

    >>> from hyperstar.meta import load_meta_dataset
    >>> meta = load_meta_dataset()          # the shipped default
    >>> meta.curves.shape == (meta.n_tasks, meta.n_configs, meta.max_budget)   # validation accuracy per epoch
    True
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar._internal.convert import as_float
from hyperstar._version import __version__
from hyperstar._internal.io import append_jsonl, atomic_write_json
from hyperstar._internal.paths import meta_data_dir
from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.space import encode

__all__ = [
    "MetaDataset",
    "load_meta_dataset",
    "FORMAT_VERSION",
    "DEFAULT_NAME",
    "write_manifest",
    "append_record",
    "read_records",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_NAME = "default"
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"


# --------------------------------------------------------------------------- low-level I/O


def write_manifest(folder: str | Path, manifest: Mapping[str, Any]) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / MANIFEST, dict(manifest))


def repair_results(path: Path) -> int:
    """Remove a trailing partial line left by a kill; returns the number of bytes cut."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        fh.seek(max(0, size - 1))
        if fh.read(1) == b"\n":
            return 0
        # Walk back to the last newline and cut there.
        block = 65536
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        else:
            keep = 0
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    logger.warning("Removed a partial last line (%d bytes) from %s, left by an interrupted run.", size - keep, path)
    return size - keep


def append_record(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as one complete line (single write + fsync)."""
    append_jsonl(path, dict(record))


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All complete records of a results file; a cut-short or corrupt line is skipped with a warning."""
    path = Path(path)
    if not path.is_file():
        return []
    records, bad = [], 0
    with open(path) as fh:
        for line in fh:
            if not line.endswith("\n"):
                bad += 1
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                bad += 1
    if bad:
        logger.warning("Skipped %d incomplete line(s) in %s.", bad, path)
    return records


def pad_curve(values: Sequence[float | None], length: int) -> list[float]:
    """A curve to ``length`` epochs: missing epochs after a divergence keep the last value."""
    out = [float("nan") if v is None else float(v) for v in values][:length]
    if not out:
        return [float("nan")] * length
    return out + [out[-1]] * (length - len(out))


# --------------------------------------------------------------------------- the dataset


@dataclass
class MetaDataset:
    """Tasks x configurations x epochs of validation accuracy, plus test accuracy and descriptors.

    ``curves[t, c, e]`` is the validation accuracy of configuration ``c`` on task ``t`` after
    ``e + 1`` epochs (seed 0); NaN where the cell is missing. ``noise_curves`` holds the same for
    seed 1 where it was run (NaN elsewhere).
    """

    path: Path | None
    manifest: dict[str, Any]
    task_names: list[str]
    families: list[str]
    recipes: list[dict[str, Any] | None]
    descriptors: np.ndarray
    descriptor_names: list[str]
    configs: list[dict[str, Any]]
    curves: np.ndarray
    test_acc: np.ndarray
    noise_curves: np.ndarray
    noise_test_acc: np.ndarray
    diverged: np.ndarray
    wall_time: np.ndarray
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def n_tasks(self) -> int:
        return len(self.task_names)

    @property
    def n_configs(self) -> int:
        return len(self.configs)

    @property
    def max_budget(self) -> int:
        return int(self.curves.shape[2])

    @property
    def complete(self) -> bool:
        """Every (task, configuration) cell has a full curve for seed 0."""
        return bool(self.n_tasks and self.n_configs and np.isfinite(self.curves).all())

    @property
    def final_acc(self) -> np.ndarray:
        """[task, configuration] validation accuracy at the maximum budget."""
        return self.curves[:, :, -1]

    @property
    def has_images(self) -> bool:
        """Whether tasks can be rebuilt as images (recipes), not just described by descriptors."""
        return all(r is not None for r in self.recipes)

    def config_vectors(self) -> np.ndarray:
        return encode(self.configs)

    def task_index(self, name: str) -> int:
        try:
            return self.task_names.index(name)
        except ValueError:
            raise InvalidInputError(f"No task named {name!r} in the meta-dataset. Known: {', '.join(self.task_names[:8])}...") from None

    def subset(self, tasks: Sequence[int]) -> "MetaDataset":
        """The meta-dataset restricted to some tasks (by index), e.g. for leave-one-task-out."""
        idx = list(tasks)
        return MetaDataset(
            path=self.path,
            manifest=self.manifest,
            task_names=[self.task_names[i] for i in idx],
            families=[self.families[i] for i in idx],
            recipes=[self.recipes[i] for i in idx],
            descriptors=self.descriptors[idx],
            descriptor_names=list(self.descriptor_names),
            configs=self.configs,
            curves=self.curves[idx],
            test_acc=self.test_acc[idx],
            noise_curves=self.noise_curves[idx],
            noise_test_acc=self.noise_test_acc[idx],
            diverged=self.diverged[idx],
            wall_time=self.wall_time[idx],
        )

    def info(self) -> dict[str, Any]:
        """Counts, as printed by ``hyperstar metadata info``."""
        fam: dict[str, int] = {}
        for f in self.families:
            fam[f] = fam.get(f, 0) + 1
        filled = np.isfinite(self.curves).all(axis=2)
        finite = self.curves[np.isfinite(self.curves)]
        return {
            "path": str(self.path) if self.path else None,
            "n_tasks": self.n_tasks,
            "n_configs": self.n_configs,
            "max_budget": self.max_budget,
            "families": fam,
            "complete": self.complete,
            "cells_filled": int(filled.sum()),
            "cells_total": int(filled.size),
            "noise_cells": int(np.isfinite(self.noise_curves).all(axis=2).sum()),
            "diverged_cells": int(self.diverged.sum()),
            "val_acc_min": float(finite.min()) if finite.size else None,
            "val_acc_max": float(finite.max()) if finite.size else None,
            "backbone": self.manifest.get("backbone"),
            "compute_hours": float(np.nansum(self.wall_time) / 3600.0),
        }


def _resolve(path: str | Path | None) -> Path:
    if path is None:
        return meta_data_dir() / DEFAULT_NAME
    return Path(path)


def load_meta_dataset(path: str | Path | None = None, allow_incomplete: bool = True) -> MetaDataset:
    """Load a meta-dataset folder (``None``: the shipped default, ``meta_data/default``).

    With ``allow_incomplete=False`` a meta-dataset with missing cells is refused.
    """
    folder = _resolve(path)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        hint = " (the shipped meta-data has not been built yet: run `hyperstar metadata build`)" if path is None else ""
        raise DataError(f"No meta-dataset at '{folder}': expected a folder with {MANIFEST} and {RESULTS}{hint}.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"'{manifest_path}' is not valid JSON ({exc.msg}); the meta-dataset is damaged.") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"'{manifest_path}' has format version {manifest.get('format_version')!r}; this hyperstar "
            f"({__version__}) reads version {FORMAT_VERSION}."
        )
    tasks = manifest["tasks"]
    configs = [c["config"] for c in manifest["configs"]]
    config_ids = {c["id"]: i for i, c in enumerate(manifest["configs"])}
    task_ids = {t["name"]: i for i, t in enumerate(tasks)}
    max_budget = int(manifest["max_budget"])
    T, C, E = len(tasks), len(configs), max_budget
    curves = np.full((T, C, E), np.nan)
    noise = np.full((T, C, E), np.nan)
    test = np.full((T, C), np.nan)
    noise_test = np.full((T, C), np.nan)
    diverged = np.zeros((T, C), dtype=bool)
    wall = np.zeros((T, C))
    records = read_records(folder / RESULTS)
    for rec in records:
        t = task_ids.get(rec.get("task"))
        c = config_ids.get(rec.get("config_id"))
        if t is None or c is None:
            continue
        curve = pad_curve(rec["val_acc"], E)
        seed = int(rec.get("seed", 0))
        if seed == 0:
            curves[t, c] = curve
            test[t, c] = np.nan if rec.get("test_acc") is None else rec["test_acc"]
            diverged[t, c] = bool(rec.get("diverged", False))
            wall[t, c] = float(rec.get("wall_time") or 0.0)
        elif seed == 1:
            noise[t, c] = curve
            noise_test[t, c] = np.nan if rec.get("test_acc") is None else rec["test_acc"]
    descriptor_names = list(manifest.get("descriptor_names") or _descriptor_names(tasks))
    descriptors = np.array(
        [[as_float(t.get("descriptors", {}).get(n)) for n in descriptor_names] for t in tasks], dtype=float
    ).reshape(T, len(descriptor_names))
    meta = MetaDataset(
        path=folder,
        manifest=manifest,
        task_names=[t["name"] for t in tasks],
        families=[t.get("family", "external") for t in tasks],
        recipes=[t.get("recipe") for t in tasks],
        descriptors=descriptors,
        descriptor_names=descriptor_names,
        configs=configs,
        curves=curves,
        test_acc=test,
        noise_curves=noise,
        noise_test_acc=noise_test,
        diverged=diverged,
        wall_time=wall,
        records=records,
    )
    if not allow_incomplete and not meta.complete:
        info = meta.info()
        raise DataError(
            f"The meta-dataset at '{folder}' is incomplete: {info['cells_filled']} of {info['cells_total']} cells filled. "
            "Finish it with `hyperstar metadata build` (it resumes)."
        )
    return meta


def _descriptor_names(tasks: Iterable[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for t in tasks:
        for k, v in (t.get("descriptors") or {}).items():
            if k not in names and isinstance(v, (int, float, list)) and not isinstance(v, bool):
                names.append(k)
    return names

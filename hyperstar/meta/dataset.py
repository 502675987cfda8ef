"""The meta-dataset: how well each configuration fine-tunes each task, epoch by epoch.

On-disk format (a folder; text only, append-friendly)::

    manifest.json    format version, backbone and its weights digest, max_budget, split settings,
                     the tasks (name, family, recipe, descriptors), the shared configurations and,
                     optionally, "space": the search space of the configurations as ConfigSpace's
                     serialized dict (``ConfigurationSpace.to_json``); without it, hyperstar's default space
    results.jsonl    one JSON object per line and per finished cell (task, configuration, seed):
                     {"task", "config_id", "seed", "val_acc": [...per epoch], "val_loss", "train_loss",
                      "test_acc", "diverged", "diverged_epoch", "wall_time", "samples_per_s",
                      "code_version", "machine", "finished_at"}; format 2 adds "shifted_acc" and "wise_ft"
                     (WiSE-FT accuracy per alpha on val, test and shifted: :attr:`MetaDataset.wise_ft`)

Format 1 (the shipped meta-data) still loads: without "space" its manifest means the default space of version 1
(before the fine-tuning techniques; each configuration fine-tunes as one with them off), and its rows have no
WiSE-FT numbers (NaN in :attr:`MetaDataset.wise_ft`).

A cell is only ever appended as one complete line (written with a single ``write`` and fsync'd);
a line cut short by a kill is ignored on load and removed before the builder appends again, so a
crash loses at most the cells in flight. Curves are stored to ``max_budget`` epochs; a run that
diverged at epoch ``d`` keeps its last accuracy for the remaining epochs (training stopped there).

Loading checks everything it reads and refuses a damaged meta-dataset with a
:class:`~hyperstar.exceptions.MetaDataError` rather than loading wrong numbers: the manifest must
have its keys with the right types (the error names the file and the key); every result row must
be a JSON object naming a known task and configuration, with accuracies (``val_acc``, ``test_acc``)
that are finite fractions in [0, 1], finite losses (or null), an int seed >= 0. Two rows of one cell
(task, configuration, seed) must agree on ``val_acc``, ``test_acc`` and ``diverged`` (then the first
is kept; provenance such as times may differ) - otherwise both are refused. All rows are checked
before the error is raised, which has one line per kind of problem with the first row numbers
(line numbers of ``results.jsonl``) and a count. Every configuration must be one of the space (and no
two the same configuration of it). Every seed of a cell is kept: ``curves`` (and so ``final_acc``)
is the mean over the seeds, ``seed_curves`` the runs one by one.

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
from ConfigSpace import ConfigurationSpace

from hyperstar._internal.convert import as_float
from hyperstar._internal.io import append_jsonl, atomic_write_json
from hyperstar._internal.paths import meta_data_dir
from hyperstar.exceptions import DataError, InvalidInputError, MetaDataError
from hyperstar.meta.validate import (  # noqa: F401 (check_accuracies and RowProblems: importable from here too)
    FORMAT_VERSION,
    MANIFEST,
    RESULTS,
    RowProblems,
    _check_record,
    check_accuracies,
    check_configs,
    check_manifest,
    manifest_space,
)
from hyperstar.space.default import SPACE_VERSIONS
from hyperstar.space import config_key, default_configuration, default_space, encode, same_space, validate_configuration

__all__ = [
    "MetaDataset",
    "load_meta_dataset",
    "FORMAT_VERSION",
    "DEFAULT_NAME",
    "write_manifest",
    "append_record",
    "read_records",
    "RowProblems",
    "check_manifest",
]

logger = logging.getLogger(__name__)

DEFAULT_NAME = "default"
#: the splits of :attr:`MetaDataset.wise_ft`
WISE_SPLITS = ("val", "test", "shifted")


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


# --------------------------------------------------------------------------- reading the results


def _numbered_lines(path: Path) -> Iterable[tuple[int, str]]:
    """(line number, text) of the complete, non-blank lines; a last line cut short by a kill is skipped
    with a warning (the builder removes it before appending again)."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                logger.warning("Skipped an incomplete last line (line %d) of %s, left by an interrupted run.", i, path)
                continue
            if line.strip():
                yield i, line


# --------------------------------------------------------------------------- the dataset


@dataclass
class MetaDataset:
    """Tasks x configurations x epochs of validation accuracy, plus test accuracy and descriptors.

    ``curves[t, c, e]`` is the validation accuracy of configuration ``c`` on task ``t`` after ``e + 1``
    epochs, the mean over every seed run of the cell; NaN where the cell is missing. The runs themselves
    are in ``seed_curves[r, t, c, e]`` (the cell's runs in increasing seed order; NaN past its last run),
    their seeds in ``seeds[r, t, c]`` (-1: no run) and their test accuracies in ``seed_test_acc``;
    ``noise_curves`` is the cell's second run where it has one (seed 1 in a built meta-dataset). ``test_acc`` is
    the mean over the runs that have one, ``diverged`` whether any run diverged, ``wall_time`` the time of all
    of them. The configurations belong to :attr:`space` (the manifest's ``"space"``, hyperstar's default space
    without one).
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
    seed_curves: np.ndarray | None = field(default=None, repr=False)
    seed_test_acc: np.ndarray | None = field(default=None, repr=False)
    seeds: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Built by hand too (not only by load_meta_dataset): the arrays must agree and hold fractions.
        T, C = len(self.task_names), len(self.configs)
        curves = np.asarray(self.curves)
        E = curves.shape[2] if curves.ndim == 3 and curves.shape[2] >= 1 else None
        if self.seed_curves is None and E is not None and np.shape(self.noise_curves) == (T, C, E):
            self._runs_from_curves()
        R = np.shape(self.seed_curves)[0] if np.ndim(self.seed_curves) == 4 else None
        shapes = {"curves": (T, C, E), "noise_curves": (T, C, E), "test_acc": (T, C), "noise_test_acc": (T, C),
                  "diverged": (T, C), "wall_time": (T, C), "descriptors": (T, len(self.descriptor_names)),
                  "seed_curves": (R, T, C, E), "seed_test_acc": (R, T, C), "seeds": (R, T, C)}
        for name, want in shapes.items():
            got = np.shape(getattr(self, name))
            if E is None or R is None or got != want:
                raise MetaDataError(f"MetaDataset: '{name}' must have shape {want} ({T} tasks x {C} configurations"
                                    f"{'' if E is None else f' x {E} epochs'}). Got {got}.")
        for name in ("families", "recipes"):
            if len(getattr(self, name)) != T:
                raise MetaDataError(f"MetaDataset: '{name}' must have one entry per task ({T}). Got {len(getattr(self, name))}.")
        for name in ("curves", "noise_curves", "test_acc", "noise_test_acc", "seed_curves", "seed_test_acc"):
            values = np.asarray(getattr(self, name), dtype=float)
            bad = ~np.isnan(values) & ~((values >= 0.0) & (values <= 1.0))
            if bad.any():
                raise MetaDataError(f"MetaDataset: '{name}' must hold fractions in [0, 1] (NaN where missing). "
                                    f"Got {float(values[bad].flat[0])!r} at index {tuple(int(i) for i in np.argwhere(bad)[0])}.")
        self._space: ConfigurationSpace | None = None

    def _runs_from_curves(self) -> None:
        """The runs of a hand-built meta-dataset that gives only ``curves`` (seed 0) and ``noise_curves`` (seed 1)."""
        curves, noise = np.asarray(self.curves, dtype=float), np.asarray(self.noise_curves, dtype=float)
        second = np.isfinite(noise).any()
        self.seed_curves = np.stack([curves, noise] if second else [curves])
        tests = [np.asarray(self.test_acc, dtype=float), np.asarray(self.noise_test_acc, dtype=float)]
        self.seed_test_acc = np.stack(tests if second else tests[:1])
        self.seeds = np.stack([np.where(np.isfinite(c).any(axis=2), s, -1) for s, c in enumerate(self.seed_curves)])

    @property
    def space(self) -> ConfigurationSpace:
        """The search space of the configurations: the manifest's ``"space"`` (ConfigSpace's serialized dict),
        hyperstar's :func:`~hyperstar.space.default_space` when the manifest has none."""
        if self._space is None:
            self._space = manifest_space(self.manifest, (self.path / MANIFEST) if self.path else MANIFEST)
        return self._space

    @property
    def own_space(self) -> bool:
        """Whether the configurations belong to a space other than hyperstar's default one."""
        return self.manifest.get("space") is not None and not any(
            same_space(self.space, default_space(version=v)) for v in SPACE_VERSIONS)

    @property
    def default_index(self) -> int | None:
        """Index of hyperstar's default configuration (:func:`~hyperstar.space.default_configuration`) among the
        configurations; None when it is not one of them, or when the meta-dataset has its own space."""
        if self.own_space:
            return None
        want = config_key(default_configuration(self.space))
        for i, c in enumerate(self.configs):
            try:
                if config_key(validate_configuration(c, self.space)) == want:
                    return i
            except Exception:  # noqa: BLE001 - a configuration the loader did not check: not the default
                continue
        return None

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
    def n_seeds(self) -> np.ndarray:
        """[task, configuration] how many seeds were run of each cell."""
        return (np.asarray(self.seeds) >= 0).sum(axis=0)

    @property
    def complete(self) -> bool:
        """Every (task, configuration) cell has a full curve (of at least one seed)."""
        return bool(self.n_tasks and self.n_configs and np.isfinite(self.curves).all())

    @property
    def final_acc(self) -> np.ndarray:
        """[task, configuration] validation accuracy at the maximum budget, the mean over the cell's seeds."""
        return self.curves[:, :, -1]

    @property
    def has_images(self) -> bool:
        """Whether tasks can be rebuilt as images (recipes), not just described by descriptors."""
        return all(r is not None for r in self.recipes)

    @property
    def wise_ft(self) -> np.ndarray:
        """``[task, configuration, alpha, split]`` WiSE-FT accuracy at the maximum budget, the mean over the
        cell's seeds, for the alphas :data:`WISE_ALPHAS` and the splits :data:`WISE_SPLITS` (val, test, shifted);
        NaN where a row has none (every row of a format-1 meta-dataset, and diverged runs)."""
        from hyperstar.finetune.wiseft import WISE_ALPHAS

        T, C, A = self.n_tasks, self.n_configs, len(WISE_ALPHAS)
        total, count = np.zeros((T, C, A, len(WISE_SPLITS))), np.zeros((T, C, A, len(WISE_SPLITS)))
        tasks = {n: i for i, n in enumerate(self.task_names)}
        ids = {c["id"]: i for i, c in enumerate(self.manifest.get("configs", []))}
        for rec in self.records:
            wise, t, c = rec.get("wise_ft"), tasks.get(rec.get("task")), ids.get(rec.get("config_id"))
            if not wise or t is None or c is None:
                continue
            for j, alpha in enumerate(wise["alphas"]):
                if float(alpha) not in WISE_ALPHAS:
                    continue
                a = WISE_ALPHAS.index(float(alpha))
                for k, split in enumerate(WISE_SPLITS):
                    v = wise[split][j]
                    if v is not None:
                        total[t, c, a, k] += v
                        count[t, c, a, k] += 1
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def config_vectors(self) -> np.ndarray:
        """The configurations encoded over :attr:`space` (:func:`~hyperstar.space.encode`)."""
        return encode(self.configs, self.space)

    def task_index(self, name: str) -> int:
        try:
            return self.task_names.index(name)
        except ValueError:
            raise InvalidInputError(f"No task named {name!r} in the meta-dataset. Known: {', '.join(self.task_names[:8])}...") from None

    def subset(self, tasks: Sequence[int]) -> "MetaDataset":
        """The meta-dataset restricted to some tasks (by index), e.g. for leave-one-task-out; same space."""
        idx = list(tasks)
        sub = MetaDataset(
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
            seed_curves=np.asarray(self.seed_curves)[:, idx],
            seed_test_acc=np.asarray(self.seed_test_acc)[:, idx],
            seeds=np.asarray(self.seeds)[:, idx],
            records=self.records,  # rows name their task: wise_ft picks those of the subset's tasks
        )
        sub._space = self._space
        return sub

    def subset_configs(self, configs: Sequence[int]) -> "MetaDataset":
        """The meta-dataset restricted to some configurations (by index, in that order; same tasks and space),
        e.g. :meth:`complete_configurations` of a build still running. The manifest's list of configurations is
        restricted alike, so their ids still name them."""
        idx = list(configs)
        manifest = self.manifest
        if len(manifest.get("configs") or []) == self.n_configs:
            kept = [manifest["configs"][i] for i in idx]
            manifest = dict(manifest, configs=kept)
            if manifest.get("noise_config_ids"):
                ids = {c.get("id") for c in kept}
                manifest["noise_config_ids"] = [i for i in manifest["noise_config_ids"] if i in ids]
        sub = MetaDataset(
            path=self.path, manifest=manifest, task_names=list(self.task_names), families=list(self.families),
            recipes=list(self.recipes), descriptors=self.descriptors, descriptor_names=list(self.descriptor_names),
            configs=[self.configs[i] for i in idx], curves=self.curves[:, idx], test_acc=self.test_acc[:, idx],
            noise_curves=self.noise_curves[:, idx], noise_test_acc=self.noise_test_acc[:, idx],
            diverged=self.diverged[:, idx], wall_time=self.wall_time[:, idx],
            seed_curves=np.asarray(self.seed_curves)[:, :, idx], seed_test_acc=np.asarray(self.seed_test_acc)[:, :, idx],
            seeds=np.asarray(self.seeds)[:, :, idx], records=self.records,
        )
        sub._space = self._space
        return sub

    def complete_configurations(self) -> np.ndarray:
        """Indices of the configurations with a full curve on every task: what a configuration-major build that
        is still running has finished (its whole columns)."""
        return np.flatnonzero(np.isfinite(self.curves).all(axis=(0, 2)))

    def info(self) -> dict[str, Any]:
        """Counts, as printed by ``hyperstar metadata info``."""
        fam: dict[str, int] = {}
        for f in self.families:
            fam[f] = fam.get(f, 0) + 1
        filled = np.isfinite(self.curves).all(axis=2)
        finite = self.curves[np.isfinite(self.curves)]
        n_seeds = self.n_seeds
        own = self.own_space
        return {
            "path": str(self.path) if self.path else None,
            "n_tasks": self.n_tasks,
            "n_configs": self.n_configs,
            "max_budget": self.max_budget,
            "families": fam,
            "complete": self.complete,
            "cells_filled": int(filled.sum()),
            "cells_total": int(filled.size),
            "noise_cells": int((n_seeds >= 2).sum()),
            "max_seeds": int(n_seeds.max()) if n_seeds.size else 0,
            "diverged_cells": int(self.diverged.sum()),
            "val_acc_min": float(finite.min()) if finite.size else None,
            "val_acc_max": float(finite.max()) if finite.size else None,
            "backbone": self.manifest.get("backbone"),
            "space": f"own ({len(list(self.space.keys()))} hyperparameters)" if own else "hyperstar's default",
            "compute_hours": float(np.nansum(self.wall_time) / 3600.0),
        }


def _resolve(path: str | Path | None) -> Path:
    if path is None:
        return meta_data_dir() / DEFAULT_NAME
    return Path(path)


def load_meta_dataset(path: str | Path | None = None, allow_incomplete: bool = True) -> MetaDataset:
    """Load a meta-dataset folder (``None``: the shipped default, ``meta_data/default``).

    Every value is checked (see the module's notes): a damaged manifest or bad result rows raise a
    :class:`~hyperstar.exceptions.MetaDataError` listing the problems. With ``allow_incomplete=False`` a
    meta-dataset with missing cells is refused too.
    """
    folder = _resolve(path)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        hint = " (the shipped meta-data has not been built yet: run `hyperstar metadata build`)" if path is None else ""
        raise DataError(f"No meta-dataset at '{folder}': expected a folder with {MANIFEST} and {RESULTS}{hint}.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise MetaDataError(f"'{manifest_path}' is not valid JSON ({why}); the meta-dataset is damaged. Restore it "
                            "from a copy, or rebuild the meta-dataset in a new folder.") from None
    manifest = check_manifest(manifest, manifest_path)
    space = manifest_space(manifest, manifest_path)
    check_configs(manifest, space, manifest_path)
    tasks = manifest["tasks"]
    configs = [c["config"] for c in manifest["configs"]]
    config_ids = {c["id"]: i for i, c in enumerate(manifest["configs"])}
    task_ids = {t["name"]: i for i, t in enumerate(tasks)}
    max_budget = int(manifest["max_budget"])
    T, C, E = len(tasks), len(configs), max_budget
    results_path = folder / RESULTS
    problems = RowProblems(results_path)
    records: list[dict[str, Any]] = []
    first_row: dict[tuple[int, int, int], tuple[int, tuple]] = {}
    runs: dict[tuple[int, int], list[tuple[int, list[float], float, bool, float]]] = {}
    for row, line in _numbered_lines(results_path):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add("is not valid JSON", row, exc.msg)
            continue
        checked = _check_record(rec, row, task_ids, config_ids, problems)
        if checked is None:
            continue
        t, c, seed, acc, test_acc = checked
        value = (acc, test_acc if np.isfinite(test_acc) else None, bool(rec.get("diverged", False)))
        if (t, c, seed) in first_row:
            first, first_value = first_row[(t, c, seed)]
            if first_value != value:
                problems.add("repeats a cell (task, config_id, seed) with other values", row,
                             f"{rec['task']}/{rec['config_id']} seed {seed}, first at row {first}")
            continue  # an identical repeat is kept once
        first_row[(t, c, seed)] = (row, value)
        records.append(rec)
        runs.setdefault((t, c), []).append((seed, pad_curve(acc, E), test_acc, value[2], float(rec.get("wall_time") or 0.0)))
    problems.raise_if_any()
    R = max((len(v) for v in runs.values()), default=1)
    seed_curves = np.full((R, T, C, E), np.nan)
    seed_test = np.full((R, T, C), np.nan)
    seeds = np.full((R, T, C), -1, dtype=np.int64)
    diverged = np.zeros((T, C), dtype=bool)
    wall = np.zeros((T, C))
    for (t, c), cell in runs.items():
        for r, (seed, curve, test_acc, div, secs) in enumerate(sorted(cell, key=lambda run: run[0])):
            seed_curves[r, t, c], seed_test[r, t, c], seeds[r, t, c] = curve, test_acc, seed
            diverged[t, c] |= div
            wall[t, c] += secs
    curves, test = _mean_over_runs(seed_curves), _mean_over_runs(seed_test)
    noise = seed_curves[1] if R > 1 else np.full((T, C, E), np.nan)
    noise_test = seed_test[1] if R > 1 else np.full((T, C), np.nan)
    descriptor_names = list(manifest.get("descriptor_names") or _descriptor_names(tasks))
    descriptors = np.array(
        [[as_float((t.get("descriptors") or {}).get(n)) for n in descriptor_names] for t in tasks], dtype=float
    ).reshape(T, len(descriptor_names))
    meta = MetaDataset(
        path=folder,
        manifest=manifest,
        task_names=[t["name"] for t in tasks],
        families=[t.get("family") or "external" for t in tasks],
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
        seed_curves=seed_curves,
        seed_test_acc=seed_test,
        seeds=seeds,
    )
    meta._space = space
    if not allow_incomplete and not meta.complete:
        info = meta.info()
        raise DataError(
            f"The meta-dataset at '{folder}' is incomplete: {info['cells_filled']} of {info['cells_total']} cells filled. "
            "Finish it with `hyperstar metadata build` (it resumes)."
        )
    return meta


def _mean_over_runs(values: np.ndarray) -> np.ndarray:
    """The mean over the first axis of the finite values (NaN where there is none), without numpy's warning."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _descriptor_names(tasks: Iterable[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for t in tasks:
        for k, v in (t.get("descriptors") or {}).items():
            if k not in names and isinstance(v, (int, float, list)) and not isinstance(v, bool):
                names.append(k)
    return names

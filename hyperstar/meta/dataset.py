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

Loading checks everything it reads and refuses a damaged meta-dataset with a
:class:`~hyperstar.exceptions.MetaDataError` rather than loading wrong numbers: the manifest must
have its keys with the right types (the error names the file and the key); every result row must
be a JSON object naming a known task and configuration, with accuracies (``val_acc``, ``test_acc``)
that are finite fractions in [0, 1], finite losses (or null), an int seed >= 0. Two rows of one cell
(task, configuration, seed) must agree on ``val_acc``, ``test_acc`` and ``diverged`` (then the first
is kept; provenance such as times may differ) - otherwise both are refused. All rows are checked
before the error is raised, which has one line per kind of problem with the first row numbers
(line numbers of ``results.jsonl``) and a count.

Example::

    >>> from hyperstar.meta import load_meta_dataset
    >>> meta = load_meta_dataset()          # the shipped default
    >>> meta.curves.shape == (meta.n_tasks, meta.n_configs, meta.max_budget)   # validation accuracy per epoch
    True
"""

from __future__ import annotations

import json
import math
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
from hyperstar.exceptions import DataError, InvalidInputError, MetaDataError
from hyperstar.space import encode

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


# --------------------------------------------------------------------------- validation

_NOTHING = object()
#: how many row numbers a problem line lists before "and N more"
_SHOW_ROWS = 5


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RowProblems:
    """The problems found in the rows of one file, reported together by :meth:`raise_if_any`: one line per
    kind of problem, with its first row numbers, a count and the first bad value.

        >>> p = RowProblems("t.csv")
        >>> p.add("accuracies must be fractions in [0, 1]", 3, 1.7)
        >>> p.add("accuracies must be fractions in [0, 1]", 5, -2.0)
        >>> p.add("no 'task'", 4)
        >>> print(p.message())
        't.csv' has 3 bad rows; fix or remove them:
          rows 3, 5 (2 rows): accuracies must be fractions in [0, 1]; got 1.7 (row 3)
          row 4: no 'task'
    """

    def __init__(self, source: str | Path, what_to_do: str = "fix or remove them") -> None:
        self.source = str(source)
        self.what_to_do = what_to_do
        self._kinds: dict[str, tuple[list[int], Any]] = {}
        self.n_added = 0

    def add(self, kind: str, row: int, got: Any = _NOTHING) -> None:
        """Record that ``row`` has the problem ``kind`` (a fixed text, e.g. "'seed' must be an int >= 0"),
        with the bad value ``got`` when there is one."""
        if kind not in self._kinds:
            self._kinds[kind] = ([], got)
        self._kinds[kind][0].append(row)
        self.n_added += 1

    def __bool__(self) -> bool:
        return bool(self._kinds)

    def rows(self) -> set[int]:
        return {r for rows, _ in self._kinds.values() for r in rows}

    def message(self) -> str:
        lines = []
        for kind, (rows, got) in self._kinds.items():
            rows = sorted(set(rows))
            shown = ", ".join(map(str, rows[:_SHOW_ROWS])) + (f" and {len(rows) - _SHOW_ROWS} more" if len(rows) > _SHOW_ROWS else "")
            head = f"row {rows[0]}" if len(rows) == 1 else f"rows {shown} ({len(rows)} rows)"
            tail = "" if got is _NOTHING else f"; got {_short(got)}" + ("" if len(rows) == 1 else f" (row {rows[0]})")
            lines.append(f"{head}: {kind}{tail}")
        n = len(self.rows())
        if len(lines) == 1 and n == 1:
            return f"'{self.source}' {lines[0]}. {self.what_to_do[0].upper()}{self.what_to_do[1:].replace('them', 'it')}."
        return f"'{self.source}' has {n} bad rows; {self.what_to_do}:\n" + "\n".join("  " + line for line in lines)

    def raise_if_any(self) -> None:
        if self._kinds:
            raise MetaDataError(self.message())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_fraction(v: Any) -> bool:
    return _is_number(v) and 0.0 <= v <= 1.0


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_accuracies(values: Any, problems: RowProblems, row: int, key: str = "val_acc") -> list[float] | None:
    """``values`` as a list of floats when it is a non-empty list of finite fractions in [0, 1]; else the
    problem is recorded and None returned."""
    if not isinstance(values, list) or not values:
        problems.add(f"'{key}' must be a non-empty list of per-epoch accuracies", row, values)
        return None
    bad = next((v for v in values if not _is_fraction(v)), _NOTHING)
    if bad is not _NOTHING:
        problems.add(f"'{key}' accuracies must be finite fractions in [0, 1]", row, bad)
        return None
    return [float(v) for v in values]


def _check_losses(values: Any) -> bool:
    return values is None or (isinstance(values, list) and all(v is None or _is_number(v) for v in values))


def _check_record(rec: Any, row: int, task_ids: Mapping[str, int], config_ids: Mapping[str, int],
                  problems: RowProblems) -> tuple[int, int, int, list[float], float] | None:
    """(task index, config index, seed, val_acc, test_acc) of a valid result row; None (and the problems
    recorded) otherwise."""
    if not isinstance(rec, dict):
        problems.add("must be a JSON object (one result per line)", row, type(rec).__name__)
        return None
    before = problems.n_added
    t = task_ids.get(rec.get("task")) if isinstance(rec.get("task"), str) else None
    if t is None:
        problems.add(f"'task' is not a task of {MANIFEST}", row, rec.get("task"))
    c = config_ids.get(rec.get("config_id")) if isinstance(rec.get("config_id"), str) else None
    if c is None:
        problems.add(f"'config_id' is not a configuration of {MANIFEST}", row, rec.get("config_id"))
    seed = rec.get("seed", 0)
    if not _is_count(seed):
        problems.add("'seed' must be an int >= 0", row, seed)
    acc = check_accuracies(rec.get("val_acc"), problems, row)
    test = rec.get("test_acc")
    if test is not None and not _is_fraction(test):
        problems.add("'test_acc' must be a finite fraction in [0, 1] or null", row, test)
    for key in ("val_loss", "train_loss"):
        if not _check_losses(rec.get(key)):
            problems.add(f"'{key}' must be a list of finite numbers (null for a diverged epoch)", row, rec.get(key))
    if not isinstance(rec.get("diverged", False), bool):
        problems.add("'diverged' must be true or false", row, rec.get("diverged"))
    if rec.get("diverged_epoch") is not None and not _is_count(rec.get("diverged_epoch")):
        problems.add("'diverged_epoch' must be an int >= 0 or null", row, rec.get("diverged_epoch"))
    for key in ("wall_time", "samples_per_s"):
        v = rec.get(key)
        if v is not None and not (_is_number(v) and v >= 0):
            problems.add(f"'{key}' must be a finite number >= 0 or null", row, v)
    if problems.n_added > before:
        return None
    return t, c, seed, acc, float("nan") if test is None else float(test)


def _manifest_error(path: Path, key: str, wrong: str, got: Any = _NOTHING) -> MetaDataError:
    got_text = "" if got is _NOTHING else f" Got {_short(got)}."
    return MetaDataError(
        f"'{path}' is damaged: {key} {wrong}.{got_text} Restore it from a copy, or rebuild the meta-dataset "
        "(`hyperstar metadata build` or `import`) in a new folder."
    )


def check_manifest(manifest: Any, path: str | Path = MANIFEST) -> dict[str, Any]:
    """``manifest`` when it has every key a meta-dataset needs, with the right types; else a
    :class:`~hyperstar.exceptions.MetaDataError` naming the file and the first missing or bad key."""
    path = Path(path)
    if not isinstance(manifest, dict):
        raise _manifest_error(path, "the file", "must hold a JSON object", type(manifest).__name__)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise MetaDataError(
            f"'{path}' has format version {manifest.get('format_version')!r}; this hyperstar "
            f"({__version__}) reads version {FORMAT_VERSION}. Use the hyperstar that wrote it, or rebuild it."
        )
    for key in ("tasks", "configs"):
        if key not in manifest:
            raise _manifest_error(path, f"'{key}'", "is missing")
        if not isinstance(manifest[key], list):
            raise _manifest_error(path, f"'{key}'", "must be a list", type(manifest[key]).__name__)
    mb = manifest.get("max_budget")
    if "max_budget" not in manifest:
        raise _manifest_error(path, "'max_budget'", "is missing")
    if not (_is_count(mb) and mb >= 1):
        raise _manifest_error(path, "'max_budget'", "must be an int >= 1", mb)
    names: set[str] = set()
    for i, t in enumerate(manifest["tasks"]):
        where = f"'tasks[{i}]'"
        if not isinstance(t, dict):
            raise _manifest_error(path, where, "must be an object", type(t).__name__)
        if not isinstance(t.get("name"), str) or not t["name"]:
            raise _manifest_error(path, f"{where}.name", "must be a non-empty string", t.get("name"))
        if t["name"] in names:
            raise _manifest_error(path, f"{where}.name", "repeats an earlier task", t["name"])
        names.add(t["name"])
        for key, types, wrong in (("family", (str,), "must be a string"), ("recipe", (dict,), "must be an object or null"),
                                  ("descriptors", (dict,), "must be an object")):
            if t.get(key) is not None and not isinstance(t[key], types):
                raise _manifest_error(path, f"{where}.{key}", wrong, t[key])
    ids: set[str] = set()
    for i, c in enumerate(manifest["configs"]):
        where = f"'configs[{i}]'"
        if not isinstance(c, dict):
            raise _manifest_error(path, where, "must be an object", type(c).__name__)
        if not isinstance(c.get("id"), str) or not c["id"]:
            raise _manifest_error(path, f"{where}.id", "must be a non-empty string", c.get("id"))
        if c["id"] in ids:
            raise _manifest_error(path, f"{where}.id", "repeats an earlier configuration id", c["id"])
        ids.add(c["id"])
        if not isinstance(c.get("config"), dict):
            raise _manifest_error(path, f"{where}.config", "must be an object", c.get("config"))
    dn = manifest.get("descriptor_names")
    if dn is not None and not (isinstance(dn, list) and all(isinstance(n, str) for n in dn)):
        raise _manifest_error(path, "'descriptor_names'", "must be a list of strings", dn)
    return manifest


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

    def __post_init__(self) -> None:
        # Built by hand too (not only by load_meta_dataset): the arrays must agree and hold fractions.
        T, C = len(self.task_names), len(self.configs)
        curves = np.asarray(self.curves)
        E = curves.shape[2] if curves.ndim == 3 and curves.shape[2] >= 1 else None
        shapes = {"curves": (T, C, E), "noise_curves": (T, C, E), "test_acc": (T, C), "noise_test_acc": (T, C),
                  "diverged": (T, C), "wall_time": (T, C), "descriptors": (T, len(self.descriptor_names))}
        for name, want in shapes.items():
            got = np.shape(getattr(self, name))
            if E is None or got != want:
                raise MetaDataError(f"MetaDataset: '{name}' must have shape {want} ({T} tasks x {C} configurations"
                                    f"{'' if E is None else f' x {E} epochs'}). Got {got}.")
        for name in ("families", "recipes"):
            if len(getattr(self, name)) != T:
                raise MetaDataError(f"MetaDataset: '{name}' must have one entry per task ({T}). Got {len(getattr(self, name))}.")
        for name in ("curves", "noise_curves", "test_acc", "noise_test_acc"):
            values = np.asarray(getattr(self, name), dtype=float)
            bad = ~np.isnan(values) & ~((values >= 0.0) & (values <= 1.0))
            if bad.any():
                raise MetaDataError(f"MetaDataset: '{name}' must hold fractions in [0, 1] (NaN where missing). "
                                    f"Got {float(values[bad].flat[0])!r} at index {tuple(int(i) for i in np.argwhere(bad)[0])}.")

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
    results_path = folder / RESULTS
    problems = RowProblems(results_path)
    records: list[dict[str, Any]] = []
    first_row: dict[tuple[int, int, int], tuple[int, tuple]] = {}
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
        if seed > 1:
            continue
        curve = pad_curve(acc, E)
        if seed == 0:
            curves[t, c] = curve
            test[t, c] = test_acc
            diverged[t, c] = value[2]
            wall[t, c] = float(rec.get("wall_time") or 0.0)
        else:
            noise[t, c] = curve
            noise_test[t, c] = test_acc
    problems.raise_if_any()
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

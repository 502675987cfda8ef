"""Import external meta-data (tasks known only by descriptors, no images) from CSV / TSV / JSON Lines.

    >>> import json, tempfile
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> rows = [{"task": t, "config": {"lr": lr}, "val_acc": [a, a + 0.1]}
    ...         for t in ("a", "b") for lr, a in ((0.01, 0.5), (0.1, 0.3))]
    >>> _ = (tmp / "table.jsonl").write_text("\\n".join(json.dumps(r) for r in rows))
    >>> meta = import_table(tmp / "table.jsonl", tmp / "meta")
    >>> meta.n_tasks, meta.n_configs, meta.max_budget
    (2, 2, 2)
    >>> import_table(tmp / "table.jsonl", tmp / "meta", append=True).n_tasks   # identical rows: kept once
    2

An import never damages what is already there. Every row is checked first (all problems reported
together, one line per kind, with row numbers); the new meta-dataset is then written into a
temporary folder beside ``out`` (``.<name>.import-<pid>``), checked by the loader, and swapped in
with one atomic rename (Linux ``renameat2(RENAME_EXCHANGE)``; two renames elsewhere). A failure
at any point removes the temporary folder and leaves ``out`` as it was; a ``kill -9`` can leave a
temporary folder behind, which the next import into ``out`` removes (``out`` itself is either the
old or the new meta-dataset). ``out`` is locked while it is written: an import into a folder that
another import or ``metadata build`` is writing is refused.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import logging
import math
import os
import re
import shutil
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperstar._internal.io import atomic_write_bytes, jsonl_line
from hyperstar._internal.locks import LOCK_FILE, OWNER_FILE, file_lock
from hyperstar._internal.provenance import code_version
from hyperstar._internal.validation import check_int
from hyperstar.exceptions import ConfigurationError, ConfigurationWarning, InvalidInputError, MetaDataError
from hyperstar.meta.dataset import (
    FORMAT_VERSION,
    MANIFEST,
    RESULTS,
    MetaDataset,
    RowProblems,
    _descriptor_names,
    load_meta_dataset,
    write_manifest,
)
from hyperstar.meta.validate import manifest_space
from hyperstar.space import config_key, default_space, load_space, same_space, validate_configuration
from hyperstar.space.serialize import space_to_dict

__all__ = ["import_table"]

logger = logging.getLogger(__name__)

#: the keys a JSON Lines row may have (a CSV may also have acc_<epoch>, desc_<name> and hyperparameter columns)
ROW_KEYS = ("task", "config", "val_acc", "test_acc", "seed", "family", "descriptors")
_LOCK_FILES = {LOCK_FILE, OWNER_FILE}


def import_table(file: str | Path, out: str | Path, max_budget: int | None = None, name: str | None = None, *,
                 append: bool = False, replace: bool = False, space: Any = None) -> MetaDataset:
    """Import external meta-data (tasks without images) from CSV or JSON Lines into the folder ``out``.

    Each row: ``task``; ``config`` (a JSON object, or one column per hyperparameter); per-epoch
    validation accuracies (``val_acc`` as a JSON list, or columns ``acc_1``, ``acc_2``, ...); optional
    ``test_acc``, ``family``, ``seed`` (int >= 0, default 0) and task descriptors (``descriptors`` as a
    JSON object, or columns ``desc_<name>``). Accuracies are finite fractions in [0, 1]; other columns
    are refused (a misspelt hyperparameter would otherwise be dropped). Rows are numbered from 1 (JSON
    Lines: the line number; CSV: the data row, the header not counted). Epochs past ``max_budget`` (by
    default the longest curve) are not loaded. Every seed of a cell is kept (the meta-dataset's
    ``curves`` and ``final_acc`` are the mean over them).

    ``space`` is the search space of the configurations: a ConfigSpace ``ConfigurationSpace``, its
    serialized dict, or the path of its JSON file (``ConfigurationSpace.to_json(path)``); by default
    hyperstar's own (:func:`~hyperstar.space.default_space`). Every configuration is checked against it
    (a hyperparameter such as the backbone can be part of it), inactive values are dropped and missing
    ones take the space's defaults, and the space is written into the manifest. Two rows whose different
    configurations become the same configuration of the space are one configuration: for one task and
    seed they must have the same results (then kept once) - otherwise the import is refused, naming
    the rows; across tasks or seeds they are merged with a :class:`~hyperstar.exceptions.ConfigurationWarning`.

    ``out`` must be new or empty, unless:

    * ``replace=True``: an existing meta-dataset in ``out`` is replaced by the table's;
    * ``append=True``: the table's rows are added to the meta-dataset in ``out``, which keeps its tasks,
      configurations (matched by value), ids, ``max_budget`` and results. A cell (task, configuration,
      seed) present twice - in the table, or in the table and ``out`` - is kept once when both have the
      same ``val_acc`` and ``test_acc``, and refused when they differ; so are curves longer than
      ``out``'s ``max_budget`` and task descriptors or families that differ from ``out``'s.

    An append keeps the space of the meta-dataset in ``out``: ``space`` must then be left out or be that
    space.

    Nothing in ``out`` changes unless the whole import succeeds (see the module's notes).
    """
    file, out = Path(file), Path(out)
    if append and replace:
        raise InvalidInputError("import_table got both append=True and replace=True. Give one: append adds the rows "
                                "to the meta-dataset in 'out', replace replaces it.")
    if max_budget is not None:
        check_int(max_budget, "max_budget", "import_table", 1, 10_000)
    given = None if space is None else load_space(space, "space", "import_table")
    if not file.is_file():
        raise InvalidInputError(f"Meta-data table '{file}' does not exist. Give a .csv, .tsv or .jsonl file.")
    space = _rows_space(out, given) if append else given or default_space()
    problems = RowProblems(file)
    rows = _read_table(file, problems, space)
    table = _check_rows(rows, problems, space)
    table["space"] = given
    problems.raise_if_any()
    if not table["cells"]:
        raise MetaDataError(f"'{file}' has no rows. Give a table with one row per (task, configuration[, seed]).")
    existed = _target_state(out, append, replace) is not None
    try:
        with file_lock(out, what="meta-dataset"):
            state = _target_state(out, append, replace)  # again, now that nobody else can change it
            _remove_stale_temporaries(out)
            manifest, old_results, keep = _merged(file, out, table, max_budget, name, problems) if state == "meta" and append \
                else (_fresh_manifest(file, out, table, max_budget, name), b"", [])
            meta = _write_and_swap(out, manifest, old_results + b"".join(jsonl_line(r) for r in table["records"]), keep)
    except BaseException:
        if not existed:
            _remove_if_only_lock(out)
        raise
    meta.path = out
    return meta


# --------------------------------------------------------------------------- reading and checking the table


def _rows_space(out: Path, given):
    """The space an append checks the rows against: that of the meta-dataset in ``out`` (``given`` must be it)."""
    manifest = out / MANIFEST
    if not manifest.is_file():
        return given or default_space()
    try:
        have = manifest_space(json.loads(manifest.read_text(encoding="utf-8")), manifest)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return given or default_space()  # a damaged meta-dataset: the append refuses it when it loads it
    if given is not None and not same_space(given, have):
        raise InvalidInputError(f"'{out}' holds a meta-dataset over another search space than the one given; an append "
                                "keeps its space. Leave the space out (or give that one), or import into a new folder.")
    return have


def _read_table(file: Path, problems: RowProblems, space) -> list[tuple[int, Any]]:
    suffix = file.suffix.lower()
    rows: list[tuple[int, Any]] = []
    if suffix in (".jsonl", ".json", ".ndjson"):
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MetaDataError(f"'{file}' is not UTF-8 text. Give a JSON Lines table (one JSON object per line).") from None
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((i, json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.add("is not valid JSON", i, exc.msg)
    elif suffix in (".csv", ".tsv"):
        try:
            with open(file, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
                names = set(space.keys())
                _check_header(file, reader.fieldnames or [], names)
                for i, r in enumerate(reader, 1):
                    rows.append((i, _csv_row(r, i, problems, names)))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise MetaDataError(f"'{file}' is not a readable {suffix[1:].upper()} table ({exc}).") from None
    else:
        raise InvalidInputError(f"Unsupported table '{file}': expected a .csv, .tsv or .jsonl file.")
    return rows


def _check_header(file: Path, header: list[str], names: set[str]) -> None:
    fixed = {"task", "family", "test_acc", "seed", "config", "val_acc", "descriptors"}
    unknown = [h for h in header if h not in fixed and h not in names and not re.fullmatch(r"acc_\d+", h or "")
               and not (h or "").startswith("desc_")]
    if unknown:
        raise MetaDataError(
            f"'{file}' has column(s) import does not read: {', '.join(map(repr, unknown))}. Known: {', '.join(sorted(fixed))}, "
            f"acc_<epoch>, desc_<name> and the hyperparameters ({', '.join(sorted(names))}); rename or remove them."
        )
    if "task" not in header:
        raise MetaDataError(f"'{file}' has no 'task' column. Give one row per (task, configuration) with a 'task' column.")


def _csv_row(row: Mapping[str | None, Any], i: int, problems: RowProblems, names: set[str]) -> dict[str, Any]:
    if row.get(None):
        problems.add("has more values than the header has columns", i, row[None])
    out: dict[str, Any] = {"task": row.get("task"), "family": row.get("family") or None, "test_acc": _number(row.get("test_acc")),
                           "seed": row.get("seed")}
    for key in ("config", "val_acc", "descriptors"):
        if row.get(key):
            try:
                out[key] = json.loads(row[key])
            except json.JSONDecodeError:
                problems.add(f"'{key}' is not valid JSON", i, row[key])
    if "config" not in out:
        out["config"] = {k: _parse_scalar(v) for k, v in row.items() if k in names and v not in (None, "")}
    if "val_acc" not in out:
        cols = sorted((int(k[4:]), k) for k in row if k and re.fullmatch(r"acc_\d+", k))
        values = [row[k] for _, k in cols]
        while values and values[-1] in (None, ""):  # a shorter curve (e.g. stopped early) leaves the last columns empty
            values.pop()
        if any(v in (None, "") for v in values):
            problems.add("has an empty acc_<epoch> column before a filled one (epochs must be consecutive)", i)
        out["val_acc"] = [_number(v) for v in values] if values else None
    desc = out.get("descriptors", {})
    if isinstance(desc, dict):
        desc = dict(desc)
        desc.update({k[5:]: _number(v) for k, v in row.items() if k and k.startswith("desc_") and v not in (None, "")})
    out["descriptors"] = desc
    return out


def _number(v: Any) -> Any:
    """A CSV cell as a float where it reads as one; anything else unchanged (and refused later)."""
    if v in (None, ""):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _parse_scalar(v: str) -> Any:
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _given_key(config: Mapping[str, Any]) -> str:
    """A configuration as given (numbers compared as numbers: 1 and 1.0 are the same)."""
    return json.dumps({k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in config.items()},
                      sort_keys=True, default=str)


def _difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """The hyperparameters where two given configurations differ, e.g. "'momentum' (0.5 vs not given)"."""
    names = sorted(k for k in set(a) | set(b) if _given_key({k: a.get(k)}) != _given_key({k: b.get(k)}))
    show = [f"{k!r} ({a[k] if k in a else 'not given'} vs {b[k] if k in b else 'not given'})" for k in names[:3]]
    return ", ".join(show) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _check_rows(rows: list[tuple[int, Any]], problems: RowProblems, space=None) -> dict[str, Any]:
    """The table's tasks, configurations and cells; every problem of every row recorded in ``problems``.

    Configurations are checked against ``space`` (hyperstar's default space when None)."""
    space = space or default_space()
    tasks: dict[str, dict[str, Any]] = {}
    task_rows: dict[str, int] = {}
    configs: dict[str, dict[str, Any]] = {}  # config_key -> configuration
    cells: dict[tuple[str, str, int], tuple[int, list[float], float | None]] = {}
    given: dict[tuple[str, str, int], tuple[str, dict[str, Any]]] = {}  # cell -> its configuration as given
    merged: dict[str, dict[str, int]] = {}  # config_key -> {configuration as given: first row}
    bad_rows = problems.rows()  # found while reading (a CSV cell that is not JSON, a gap in the epochs)
    for i, row in rows:
        if not isinstance(row, dict):
            problems.add("must be a JSON object (one row per line)", i, type(row).__name__)
            continue
        before = problems.n_added
        extra = sorted(set(row) - set(ROW_KEYS))
        if extra:
            problems.add(f"has keys import does not read (known: {', '.join(ROW_KEYS)})", i, extra)
        task = row.get("task")
        if task in (None, ""):
            problems.add("has no 'task'", i)
        elif not isinstance(task, str):
            problems.add("'task' must be a string", i, task)
        config = row.get("config") if row.get("config") is not None else {}
        key = raw = None
        if not isinstance(config, dict):
            problems.add("'config' must be a JSON object of hyperparameters", i, config)
        else:
            try:
                raw = (_given_key(config), dict(config))
                config = validate_configuration(config, space)
                key = config_key(config)
            except ConfigurationError as exc:
                problems.add(str(exc).rstrip("."), i)
        acc = row.get("val_acc")
        if not isinstance(acc, list) or not acc:
            problems.add("has no per-epoch accuracies ('val_acc' list or acc_1, acc_2, ... columns)", i)
        elif any(not _finite(a) for a in acc):
            problems.add("accuracies must be numbers", i, next(a for a in acc if not _finite(a)))
        elif any(not (0.0 <= a <= 1.0) for a in acc):
            problems.add("accuracies must be fractions in [0, 1]", i, next(a for a in acc if not 0.0 <= a <= 1.0))
        test = row.get("test_acc")
        if test is not None and not (_finite(test) and 0.0 <= test <= 1.0):
            problems.add("'test_acc' must be a fraction in [0, 1] or empty", i, test)
        seed = row.get("seed")
        seed = 0 if seed in (None, "") else _parse_scalar(seed) if isinstance(seed, str) else seed
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            problems.add("'seed' must be an int >= 0", i, row.get("seed"))
        family = row.get("family")
        if family is not None and not isinstance(family, str):
            problems.add("'family' must be a string", i, family)
        desc = row.get("descriptors") if row.get("descriptors") is not None else {}
        if not isinstance(desc, dict):
            problems.add("'descriptors' must be a JSON object of numbers", i, desc)
        elif any(not _finite(v) for v in desc.values()):
            problems.add("descriptor values must be finite numbers", i, next(v for v in desc.values() if not _finite(v)))
        if problems.n_added > before or i in bad_rows:
            continue
        t = tasks.get(task)
        if t is None:
            t = tasks[task] = {"name": task, "family": family or "external", "recipe": None, "descriptors": {}}
            task_rows[task] = i
        elif family and family != t["family"]:
            problems.add("gives its task another family than an earlier row", i, f"{family!r}, not {t['family']!r} (row {task_rows[task]})")
        for k, v in desc.items():
            if k in t["descriptors"] and t["descriptors"][k] != float(v):
                problems.add("gives its task another descriptor value than an earlier row", i,
                             f"{k}={v!r}, not {t['descriptors'][k]!r}")
            t["descriptors"].setdefault(k, float(v))
        configs.setdefault(key, config)
        merged.setdefault(key, {}).setdefault(raw[0], i)
        value = ([float(a) for a in acc], None if test is None else float(test))
        cell = (task, key, seed)
        if cell in cells:
            first = cells[cell][0]
            if cells[cell][1:] == value:
                continue  # an identical repeat is kept once (the same configuration given another way too)
            if given[cell][0] == raw[0]:
                problems.add("repeats a cell (task, config, seed) with other values", i, f"first at row {first}")
            else:
                problems.add("has another configuration than an earlier row of its task and seed, with other results, "
                             "but the search space makes both the same configuration (inactive values dropped, missing "
                             "ones at their defaults): add the hyperparameter that tells them apart to the space, or "
                             "remove one", i, f"row {i} vs row {first}: {_difference(raw[1], given[cell][1])}")
            continue
        cells[cell] = (i, *value)
        given[cell] = raw
    collapsed = {key: rows_ for key, rows_ in merged.items() if len(rows_) > 1}
    if collapsed and not problems:
        shown = "; ".join("rows " + ", ".join(map(str, sorted(r.values())[:4])) for r in list(collapsed.values())[:3])
        warnings.warn(f"{sum(len(r) - 1 for r in collapsed.values())} configuration(s) of the table, given differently, "
                      "are the same configuration of the search space as another (inactive values dropped, missing ones "
                      f"at their defaults) and are imported as one ({shown}{' ...' if len(collapsed) > 3 else ''}).",
                      ConfigurationWarning, stacklevel=3)
    return {"tasks": tasks, "configs": configs, "cells": cells}


# --------------------------------------------------------------------------- the manifest and results to write


def _records(table: dict[str, Any], ids: Mapping[str, str], source: str, skip: set[tuple[str, str, int]] = frozenset()):
    return [{"task": task, "config_id": ids[key], "seed": seed, "val_acc": acc, "test_acc": test, "diverged": False,
             "imported_from": source}
            for (task, key, seed), (_, acc, test) in table["cells"].items() if (task, key, seed) not in skip]


def _fresh_manifest(file: Path, out: Path, table: dict[str, Any], max_budget: int | None, name: str | None) -> dict[str, Any]:
    ids = {key: f"c{i:04d}" for i, key in enumerate(table["configs"])}
    table["records"] = _records(table, ids, file.name)
    space = {} if table.get("space") is None else {"space": space_to_dict(table["space"])}
    return {
        "format_version": FORMAT_VERSION,
        "name": name or out.name,
        "created": _now(),
        "code_version": code_version(),
        "source": f"imported from {file.name}",
        "backbone": None,
        "max_budget": max_budget or max(len(acc) for _, acc, _ in table["cells"].values()),
        "tasks": list(table["tasks"].values()),
        "configs": [{"id": ids[key], "config": cfg} for key, cfg in table["configs"].items()],
        "descriptor_names": _descriptor_names(table["tasks"].values()),
        **space,
    }


def _merged(file: Path, out: Path, table: dict[str, Any], max_budget: int | None, name: str | None,
            problems: RowProblems) -> tuple[dict[str, Any], bytes, list[Path]]:
    """The manifest of ``out``'s meta-dataset with the table added, ``out``'s results (bytes) and the other
    files of ``out`` to carry over; conflicts with ``out`` are refused, listing the table's rows."""
    old = load_meta_dataset(out)  # refuses a damaged one: nothing is merged into bad data
    if table.get("space") is not None and not same_space(table["space"], old.space):
        raise InvalidInputError(f"'{out}' holds a meta-dataset over another search space than the one given; an append "
                                "keeps its space. Leave the space out (or give that one), or import into a new folder.")
    manifest = json.loads(json.dumps(old.manifest))
    budget = int(manifest["max_budget"])
    if max_budget is not None and max_budget != budget:
        raise InvalidInputError(f"'{out}' has max_budget {budget}; an append keeps it. Got max_budget={max_budget}: leave "
                                "it out, or import into a new folder.")
    if name is not None:
        manifest["name"] = name
    tasks = {t["name"]: t for t in manifest["tasks"]}
    for tname, t in table["tasks"].items():
        if tname not in tasks:
            manifest["tasks"].append(t)
            continue
        have = tasks[tname]
        row = next(i for (task, _, _), (i, _, _) in table["cells"].items() if task == tname)
        if t["family"] != "external" and t["family"] != have.get("family"):
            problems.add(f"gives a task of '{out}' another family", row, f"{tname}: {t['family']!r}, not {have.get('family')!r}")
        if have.get("descriptors") is None:
            have["descriptors"] = {}
        have_desc = have["descriptors"]
        for k, v in t["descriptors"].items():
            if k in have_desc and (not _finite(have_desc[k]) or float(have_desc[k]) != v):
                problems.add(f"gives a task of '{out}' another descriptor value", row, f"{tname}: {k}={v!r}, not {have_desc[k]!r}")
            have_desc.setdefault(k, v)
    ids = {config_key(validate_configuration(c["config"], old.space)): c["id"] for c in manifest["configs"]}
    taken = set(ids.values())
    for key, cfg in table["configs"].items():
        if key not in ids:
            n = len(manifest["configs"])
            while f"c{n:04d}" in taken:
                n += 1
            ids[key] = f"c{n:04d}"
            taken.add(ids[key])
            manifest["configs"].append({"id": ids[key], "config": cfg})
    existing = {(r["task"], r["config_id"], r.get("seed", 0)): r for r in old.records}
    skip = set()
    for (tname, key, seed), (row, acc, test) in table["cells"].items():
        if len(acc) > budget:
            problems.add(f"has a longer curve than the max_budget ({budget}) of '{out}'", row, f"{len(acc)} epochs")
        have = existing.get((tname, ids[key], seed))
        if have is not None:
            same = [float(a) for a in have["val_acc"]] == acc and have.get("test_acc") == test
            if not same:
                problems.add(f"repeats a cell of '{out}' (task, config, seed) with other values", row,
                             f"{tname}/{ids[key]} seed {seed}")
            skip.add((tname, key, seed))
    problems.raise_if_any()
    table["records"] = _records(table, ids, file.name, skip)
    if manifest.get("descriptor_names") is not None:
        names = manifest["descriptor_names"]
        names += [n for n in _descriptor_names(table["tasks"].values()) if n not in names]
    manifest.setdefault("appended", []).append({"source": file.name, "rows": len(table["records"]), "at": _now()})
    results = (out / RESULTS).read_bytes() if (out / RESULTS).is_file() else b""
    if results and not results.endswith(b"\n"):  # a line cut short by a kill: the loader skipped it too
        results = results[: results.rfind(b"\n") + 1]
    keep = [p for p in out.iterdir() if p.name not in {MANIFEST, RESULTS, *_LOCK_FILES}]
    return manifest, results, keep


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the target folder and the swap


def _content(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name not in _LOCK_FILES]


def _target_state(out: Path, append: bool, replace: bool) -> str | None:
    """None (new), "empty" or "meta"; anything else is refused."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise InvalidInputError(f"'{out}' is a file. Give a folder for the meta-dataset (new, or empty).")
    if not _content(out):
        return "empty"
    if not (out / MANIFEST).is_file():
        raise InvalidInputError(f"'{out}' is not empty and holds no meta-dataset ({MANIFEST}). Import into a new or empty "
                                "folder.")
    if not (append or replace):
        raise InvalidInputError(f"'{out}' already holds a meta-dataset. Pass --append to add the table's rows to it, "
                                "--replace to replace it, or choose another --out folder.")
    return "meta"


_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<kind>import|replaced)-(?P<pid>\d+)")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier import of this process that died half-way cannot still be running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(out: Path) -> None:
    """Remove the temporary folders that a killed import into ``out`` left beside it (the lock on ``out`` is
    held, so no live import of this host is writing them)."""
    for p in out.parent.iterdir():
        m = _TEMP.fullmatch(p.name)
        if not m or m["name"] != out.name or _pid_alive(int(m["pid"])):
            continue
        if m["kind"] == "replaced" and not (out / MANIFEST).is_file():
            raise MetaDataError(f"An import into '{out}' was interrupted mid-swap: the meta-dataset is in '{p}'. Rename "
                                f"'{p}' back to '{out}', then import again.")
        logger.warning("Removing '%s', left by an import that was interrupted.", p)
        shutil.rmtree(p, ignore_errors=True)


def _remove_if_only_lock(out: Path) -> None:
    with contextlib.suppress(OSError):
        if out.is_dir() and not _content(out):
            for n in _LOCK_FILES:
                with contextlib.suppress(FileNotFoundError):
                    (out / n).unlink()
            out.rmdir()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap(tmp: Path, out: Path) -> None:
    """Put ``tmp`` at ``out``; ``out``'s old content ends at ``tmp`` (to be removed)."""
    if _exchange(tmp, out):
        return
    aside = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    os.rename(out, aside)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(aside, out)
        raise
    os.rename(aside, tmp)


def _write_and_swap(out: Path, manifest: dict[str, Any], results: bytes, keep: list[Path]) -> MetaDataset:
    tmp = out.with_name(f".{out.name}.import-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for p in keep:  # the other files of an appended-to meta-dataset (notes, figures) stay with it
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, tmp / p.name)
        atomic_write_bytes(tmp / RESULTS, results)
        write_manifest(tmp, manifest)
        meta = load_meta_dataset(tmp)  # what replaces ``out`` passes the loader's checks first
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(out.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    shutil.rmtree(tmp, ignore_errors=True)  # now the old content
    return meta

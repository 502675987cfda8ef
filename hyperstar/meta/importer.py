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
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperstar._internal.provenance import code_version
from hyperstar.exceptions import ConfigurationError, DataError, InvalidInputError
from hyperstar.meta.dataset import (
    FORMAT_VERSION,
    RESULTS,
    MetaDataset,
    _descriptor_names,
    append_record,
    load_meta_dataset,
    write_manifest,
)
from hyperstar.space import config_key, validate_configuration

__all__ = ["import_table"]


def import_table(file: str | Path, out: str | Path, max_budget: int | None = None, name: str | None = None) -> MetaDataset:
    """Import external meta-data (tasks without images) from CSV or JSON Lines into a folder.

    Each row: ``task``; ``config`` (a JSON object, or one column per hyperparameter); per-epoch
    validation accuracies (``val_acc`` as a JSON list, or columns ``acc_1``, ``acc_2``, ...);
    optional ``test_acc``, ``family``, ``seed`` and task descriptors (``descriptors`` as a JSON
    object, or columns ``desc_<name>``). Accuracies are fractions in [0, 1].
    """
    file, out = Path(file), Path(out)
    if not file.is_file():
        raise InvalidInputError(f"Meta-data table '{file}' does not exist.")
    suffix = file.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = []
        for i, line in enumerate(file.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"'{file}' line {i} is not valid JSON: {exc.msg}.") from None
    elif suffix in (".csv", ".tsv"):
        with open(file, newline="") as fh:
            rows = [_csv_row(r) for r in csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")]
    else:
        raise InvalidInputError(f"Unsupported table '{file}': expected a .csv, .tsv or .jsonl file.")
    if not rows:
        raise DataError(f"'{file}' has no rows.")
    tasks: dict[str, dict[str, Any]] = {}
    configs: dict[str, tuple[str, dict[str, Any]]] = {}
    records = []
    budget = 0
    for i, row in enumerate(rows, 1):
        where = f"'{file}' row {i}"
        task = row.get("task")
        if task in (None, ""):
            raise DataError(f"{where} has no 'task'.")
        try:
            config = validate_configuration(row.get("config") or {})
        except ConfigurationError as exc:
            raise DataError(f"{where}: {exc}") from None
        key = config_key(config)
        if key not in configs:
            configs[key] = (f"c{len(configs):04d}", config)
        acc = row.get("val_acc")
        if not isinstance(acc, list) or not acc:
            raise DataError(f"{where} has no per-epoch accuracies ('val_acc' list or acc_1, acc_2, ... columns).")
        try:
            acc = [float(a) for a in acc]
        except (TypeError, ValueError):
            raise DataError(f"{where}: accuracies must be numbers. Got {acc!r}.") from None
        if any(not (0.0 <= a <= 1.0) for a in acc):
            raise DataError(f"{where}: accuracies must be fractions in [0, 1]. Got {acc!r}.")
        budget = max(budget, len(acc))
        t = tasks.setdefault(str(task), {"name": str(task), "family": row.get("family") or "external",
                                         "recipe": None, "descriptors": {}})
        t["descriptors"].update({k: float(v) for k, v in (row.get("descriptors") or {}).items()})
        records.append({"task": str(task), "config_id": configs[key][0], "seed": int(row.get("seed") or 0),
                        "val_acc": acc, "test_acc": None if row.get("test_acc") in (None, "") else float(row["test_acc"]),
                        "diverged": False, "imported_from": file.name})
    max_budget = max_budget or budget
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name or out.name,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "source": f"imported from {file.name}",
        "backbone": None,
        "max_budget": max_budget,
        "tasks": list(tasks.values()),
        "configs": [{"id": cid, "config": cfg} for cid, cfg in configs.values()],
        "descriptor_names": _descriptor_names(tasks.values()),
    }
    # Every row is checked before anything in ``out`` is touched: a bad table leaves the folder as it was.
    (out / RESULTS).exists() and (out / RESULTS).unlink()
    write_manifest(out, manifest)
    for rec in records:
        append_record(out / RESULTS, rec)
    return load_meta_dataset(out)


def _csv_row(row: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"task": row.get("task"), "family": row.get("family"), "test_acc": row.get("test_acc"),
                           "seed": row.get("seed")}
    if row.get("config"):
        out["config"] = json.loads(row["config"])
    else:
        from hyperstar.space import default_space

        names = set(default_space().keys())
        config = {}
        for k, v in row.items():
            if k in names and v not in (None, ""):
                config[k] = _parse_scalar(v)
        out["config"] = config
    if row.get("val_acc"):
        out["val_acc"] = json.loads(row["val_acc"])
    else:
        cols = sorted((int(k.split("_", 1)[1]), k) for k in row if k and k.startswith("acc_") and k[4:].isdigit())
        out["val_acc"] = [row[k] for _, k in cols if row[k] not in (None, "")]
    desc = json.loads(row["descriptors"]) if row.get("descriptors") else {}
    desc.update({k[5:]: float(v) for k, v in row.items() if k and k.startswith("desc_") and v not in (None, "")})
    out["descriptors"] = desc
    return out


def _parse_scalar(v: str) -> Any:
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f

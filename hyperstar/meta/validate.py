"""Checks of a meta-dataset's files: the manifest (keys, types, its search space and configurations) and the
result rows, with every problem of every row reported together (:class:`RowProblems`).

    >>> check_manifest({"format_version": FORMAT_VERSION, "tasks": [], "configs": [], "max_budget": 0})
    Traceback (most recent call last):
    ...
    hyperstar.exceptions.MetaDataError: 'manifest.json' is damaged: 'max_budget' must be an int >= 1. Got 0. Restore it from a copy, or rebuild the meta-dataset (`hyperstar metadata build` or `import`) in a new folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperstar._version import __version__
from hyperstar.exceptions import ConfigurationError, InvalidInputError, MetaDataError
from hyperstar.space.default import SPACE_VERSION, SPACE_VERSIONS

__all__ = ["RowProblems", "check_manifest", "check_configs", "manifest_space", "check_accuracies", "FORMAT_VERSION", "READABLE_FORMATS",
           "manifest_space_version", "MANIFEST", "RESULTS"]

#: Version 2 (the fine-tuning techniques): a manifest without ``"space"`` means the default space of its
#: ``"space_version"`` (2 when absent), and result rows may carry ``"wise_ft"`` (WiSE-FT accuracies per alpha on
#: the validation, test and shifted splits) and ``"shifted_acc"``. Version 1 manifests still load: without
#: ``"space"`` they mean the default space of version 1 (no techniques; each configuration reads as one with
#: the techniques off), and their rows have no WiSE-FT numbers (read as missing, NaN).
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"

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


def _wise_ok(wise: Any) -> bool:
    if not isinstance(wise, dict) or not isinstance(wise.get("alphas"), list) or not wise["alphas"]:
        return False
    n = len(wise["alphas"])
    return all(_is_fraction(a) for a in wise["alphas"]) and all(
        isinstance(wise.get(k), list) and len(wise[k]) == n and all(v is None or _is_fraction(v) for v in wise[k])
        for k in ("val", "test", "shifted"))


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
    if rec.get("shifted_acc") is not None and not _is_fraction(rec["shifted_acc"]):
        problems.add("'shifted_acc' must be a finite fraction in [0, 1] or null", row, rec["shifted_acc"])
    wise = rec.get("wise_ft")
    if wise is not None and not _wise_ok(wise):
        problems.add("'wise_ft' must be null or an object with 'alphas' (fractions) and, for 'val', 'test' and "
                     "'shifted', one accuracy (a fraction or null) per alpha", row, wise)
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


def _named_entries(path, items, section: str, key: str, what: str):
    """``(index, entry)`` of a manifest list whose entries are objects with a unique non-empty string ``key``."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"'{section}[{i}]'"
        if not isinstance(item, dict):
            raise _manifest_error(path, where, "must be an object", type(item).__name__)
        if not isinstance(item.get(key), str) or not item[key]:
            raise _manifest_error(path, f"{where}.{key}", "must be a non-empty string", item.get(key))
        if item[key] in seen:
            raise _manifest_error(path, f"{where}.{key}", f"repeats an earlier {what}", item[key])
        seen.add(item[key])
        yield i, item


def check_manifest(manifest: Any, path: str | Path = MANIFEST) -> dict[str, Any]:
    """``manifest`` when it has every key a meta-dataset needs, with the right types; else a
    :class:`~hyperstar.exceptions.MetaDataError` naming the file and the first missing or bad key."""
    path = Path(path)
    if not isinstance(manifest, dict):
        raise _manifest_error(path, "the file", "must hold a JSON object", type(manifest).__name__)
    if manifest.get("format_version") not in READABLE_FORMATS:
        raise MetaDataError(
            f"'{path}' has format version {manifest.get('format_version')!r}; this hyperstar "
            f"({__version__}) reads versions {', '.join(map(str, READABLE_FORMATS))}. Use the hyperstar that wrote it, "
            "or rebuild it."
        )
    sv = manifest.get("space_version")
    if sv is not None and sv not in SPACE_VERSIONS:
        raise _manifest_error(path, "'space_version'", f"must be one of {list(SPACE_VERSIONS)} or absent", sv)
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
    for i, t in _named_entries(path, manifest["tasks"], "tasks", "name", "task"):
        for key, types, wrong in (("family", (str,), "must be a string"), ("recipe", (dict,), "must be an object or null"),
                                  ("descriptors", (dict,), "must be an object")):
            if t.get(key) is not None and not isinstance(t[key], types):
                raise _manifest_error(path, f"'tasks[{i}]'.{key}", wrong, t[key])
    for i, c in _named_entries(path, manifest["configs"], "configs", "id", "configuration id"):
        where = f"'configs[{i}]'"
        if not isinstance(c.get("config"), dict):
            raise _manifest_error(path, f"{where}.config", "must be an object", c.get("config"))
    dn = manifest.get("descriptor_names")
    if dn is not None and not (isinstance(dn, list) and all(isinstance(n, str) for n in dn)):
        raise _manifest_error(path, "'descriptor_names'", "must be a list of strings", dn)
    if manifest.get("space") is not None and not isinstance(manifest["space"], dict):
        raise _manifest_error(path, "'space'", "must be a ConfigSpace search space (its serialized dict) or null",
                              type(manifest["space"]).__name__)
    return manifest


def manifest_space(manifest: Mapping[str, Any], path: str | Path = MANIFEST):
    """The search space a (checked) manifest records under ``"space"``; without one, hyperstar's default space of
    the manifest's ``"space_version"`` (version 1 for a format-1 manifest, which predates the versions)."""
    from hyperstar.space import default_space
    from hyperstar.space.serialize import space_from_dict

    if manifest.get("space") is None:
        return default_space(version=manifest_space_version(manifest))
    try:
        return space_from_dict(manifest["space"])
    except InvalidInputError as exc:
        raise _manifest_error(Path(path), "'space'", f"is not a search space ConfigSpace can read ({exc})") from None


def manifest_space_version(manifest: Mapping[str, Any]) -> int:
    """The default-space version a manifest without ``"space"`` means: its ``"space_version"``, else 1 for a
    format-1 manifest and the current version otherwise."""
    if manifest.get("space_version") is not None:
        return int(manifest["space_version"])
    return 1 if manifest.get("format_version") == 1 else SPACE_VERSION


def check_configs(manifest: Mapping[str, Any], space, path: str | Path = MANIFEST) -> list[str]:
    """The canonical key (:func:`~hyperstar.space.config_key`) of each configuration of a (checked) manifest,
    after checking each against ``space``; a :class:`~hyperstar.exceptions.MetaDataError` names the first that is
    not a configuration of ``space``, or that is the same configuration as an earlier one."""
    from hyperstar.space import config_key, validate_configuration

    path = Path(path)
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(manifest["configs"]):
        try:
            key = config_key(validate_configuration(c["config"], space))
        except ConfigurationError as exc:
            where = "hyperstar's default search space" if manifest.get("space") is None else "the search space of 'space'"
            raise _manifest_error(path, f"'configs[{i}].config'", f"is not a configuration of {where} "
                                  f"({str(exc).rstrip('.')})") from None
        if key in seen:
            raise _manifest_error(path, f"'configs[{i}].config'", f"is the same configuration as 'configs[{seen[key]}]' "
                                  "in the search space (inactive values dropped, missing ones at their defaults)")
        seen[key] = i
        keys.append(key)
    return keys

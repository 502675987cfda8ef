"""The run log: hpbandster's ``configs.json`` / ``results.json``, one whole line per record, resumable.

The files are what hpbandster's own ``json_result_logger`` writes, so
``hpbandster.core.result.logged_results_to_HBS_result(run_dir)`` reads a hyperstar run. Every record
is appended as one complete line in a single write and an fsync (a kill leaves whole lines; a cut
last line is repaired by :func:`read_log`).

    >>> import tempfile
    >>> from hyperstar.hpo.log import ResultLog, read_log
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ResultLog(d).new_config((0, 0, 0), {"lr": 0.1}, {"source": "random"})
    ...     read_log(d)
    ({(0, 0, 0): ({'lr': 0.1}, {'source': 'random'})}, [])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpbandster.core.result import json_result_logger

from hyperstar._internal.io import append_jsonl
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import repair_results
from hyperstar.hpo.seam import plain_budget, plain_config, plain_info

__all__ = ["ResultLog", "read_log", "CONFIGS_FILE", "RESULTS_FILE"]

logger = logging.getLogger(__name__)

CONFIGS_FILE = "configs.json"
RESULTS_FILE = "results.json"


class ResultLog(json_result_logger):
    """hpbandster's ``json_result_logger`` format, written one whole line at a time, resumable.

    With ``resume=True`` the existing ``configs.json`` / ``results.json`` are kept and appended to;
    results replayed from them are not written twice. ``on_result(job)`` is called for every result.
    """

    def __init__(self, directory: str | Path, *, resume: bool = False,
                 on_result: Callable[[Any], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        directory = Path(directory)
        if resume:
            directory.mkdir(parents=True, exist_ok=True)
            self.config_fn = str(directory / CONFIGS_FILE)
            self.results_fn = str(directory / RESULTS_FILE)
            for fn in (self.config_fn, self.results_fn):
                Path(fn).touch()
            self.config_ids = set(read_log(directory)[0])
        else:
            super().__init__(str(directory), overwrite=False)
        self.on_result = on_result
        self.on_error = on_error

    def new_config(self, config_id, config, config_info) -> None:
        config_id = tuple(config_id)
        if config_id in self.config_ids:
            return
        self.config_ids.add(config_id)
        append_jsonl(self.config_fn, [list(config_id), plain_config(config), plain_info(config_info)])

    def __call__(self, job) -> None:
        # Runs inside hpbandster's result callback, where an exception would hang the run: report instead.
        if not getattr(job, "replayed", False):
            config_id = tuple(job.id)
            try:
                if config_id not in self.config_ids:
                    self.new_config(config_id, job.kwargs["config"], {})
                append_jsonl(self.results_fn, [list(config_id), plain_budget(job.kwargs["budget"]),
                                               plain_info(job.timestamps), plain_info(job.result),
                                               None if job.exception is None else str(job.exception)])
            except Exception as exc:
                message = f"Could not write the run log {self.results_fn}: {type(exc).__name__}: {exc}"
                logger.error(message)
                if self.on_error is not None:
                    self.on_error(message)
        if self.on_result is not None:
            try:
                self.on_result(job)
            except Exception as exc:  # progress display must never break the run
                logger.debug("progress callback failed: %s", exc)


def _records(path: Path, what: str):
    """``(line number, parsed JSON)`` for each non-blank line of ``path`` (a clear error on a damaged line)."""
    if not path.is_file():
        return
    for n, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInputError(f"Line {n + 1} of '{path}' is not {what}; the run log is damaged.") from None


def read_log(run_dir: str | Path) -> tuple[dict[tuple, tuple[dict, dict]], list[tuple]]:
    """The logged configurations ``{id: (config, info)}`` and results ``[(id, budget, timestamps, result, exception)]``.

    A last line cut short by a kill is removed from the files first.
    """
    run_dir = Path(run_dir)
    configs: dict[tuple, tuple[dict, dict]] = {}
    results: list[tuple] = []
    cfg, res = run_dir / CONFIGS_FILE, run_dir / RESULTS_FILE
    for path in (cfg, res):
        repair_results(path)
    for _, item in _records(cfg, "JSON"):
        info = item[2] if len(item) > 2 and isinstance(item[2], dict) else {}
        configs[tuple(item[0])] = (item[1], info)
    for n, item in _records(res, "a result"):
        try:
            config_id, budget, stamps, result, exception = item
        except (TypeError, ValueError):
            raise InvalidInputError(f"Line {n + 1} of '{res}' is not a result; the run log is damaged.") from None
        results.append((tuple(config_id), float(budget), stamps, result, exception))
    return configs, results

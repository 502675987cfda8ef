"""What a run returns: :class:`TuneResult`, built from a run directory's logs by :func:`summarize`.

    >>> import tempfile
    >>> from hyperstar.hpo.log import ResultLog
    >>> from hyperstar.hpo.result import summarize
    >>> class Job:  # what hpbandster hands to the result logger
    ...     id, kwargs, timestamps, exception = (0, 0, 0), {"config": {"lr": 0.1}, "budget": 3.0}, {}, None
    ...     result = {"loss": 0.25, "info": {"val_acc": 0.75, "test_acc": 0.7}}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ResultLog(d)(Job())
    ...     r = summarize(d, 3, optimizer="hb", warm_start=False)
    >>> r.incumbent, r.val_acc, r.test_acc, r.budget_to_reach(0.75)
    ({'lr': 0.1}, 0.75, 0.7, 3.0)
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hyperstar.exceptions import InvalidInputError
from hyperstar.space import config_key
from hyperstar.hpo.log import read_log
from hyperstar.hpo.seam import plain_budget, plain_info

__all__ = ["TuneResult", "summarize", "val_acc_of", "job_outcome", "failure_message", "WORKER_DIED", "CRASH_PREFIX"]

logger = logging.getLogger(__name__)

#: hpbandster's exception text for a job whose worker vanished while running it
WORKER_DIED = "Worker died unexpectedly."
#: the start of the logged exception of a job that did not fail on its own (a lost worker, a full disk):
#: ``--resume`` runs such jobs again, while failed jobs (an error in the job itself) are kept as they are
CRASH_PREFIX = "crashed: "


def job_outcome(result: Mapping[str, Any] | None, exception: str | None) -> str:
    """``"ok"`` (a result), ``"failed"`` (the job's own error; not retried) or ``"crashed"`` (its worker died
    or the disk was full; ``--resume`` retries it) for one logged job.

        >>> job_outcome({"loss": 0.2, "info": {}}, None), job_outcome(None, "ValueError: bad lr")
        ('ok', 'failed')
        >>> job_outcome(None, WORKER_DIED), job_outcome({"loss": 1.0, "info": {"error": "x"}}, None)
        ('crashed', 'failed')
    """
    if result is not None and result.get("loss") is not None and not (result.get("info") or {}).get("error"):
        loss = result["loss"]
        if isinstance(loss, (int, float)) and math.isfinite(loss):
            return "ok"
    text = str(exception or "")
    if text.startswith(WORKER_DIED) or text.startswith(CRASH_PREFIX):
        return "crashed"
    return "failed"


def failure_message(result: Mapping[str, Any] | None, exception: str | None) -> str:
    """The one line that says why a job did not give a result (the last line of a traceback)."""
    error = ((result or {}).get("info") or {}).get("error") if isinstance(result, Mapping) else None
    text = str(error or exception or "no result")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else "no result"
    return line[len(CRASH_PREFIX):] if line.startswith(CRASH_PREFIX) else line


@dataclass
class TuneResult:
    """What :func:`tune` and :func:`run_tabular` return.

    ``incumbent``: the configuration with the best validation accuracy at the maximum budget;
    ``val_acc`` / ``test_acc`` its accuracies. ``trajectory``: one entry per finished job, in the
    order they finished, with ``cumulative_budget`` (sum of job budgets in epochs),
    ``cumulative_epochs`` (epochs actually trained when promotions continue from checkpoints),
    ``best_val_acc`` (best at the maximum budget so far), ``best_val_acc_any_budget`` and
    ``incumbent_test_acc``.
    """

    incumbent: dict[str, Any] | None
    incumbent_id: list[int] | None
    val_acc: float | None
    test_acc: float | None
    budget: float | None
    trajectory: list[dict[str, Any]]
    optimizer: str
    warm_start: bool
    n_jobs: int
    n_new_jobs: int
    n_crashed: int
    total_budget: float
    total_epochs: float
    run_dir: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    n_failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    #: the incumbent's WiSE-FT evaluation (:mod:`hyperstar.finetune.wiseft`; None when its job had none)
    wise_ft: dict[str, Any] | None = None

    def wise_ft_summary(self) -> str | None:
        """One line: the incumbent's best WiSE-FT alpha (chosen on validation) and its accuracies with and
        without it (alpha 1); None when the incumbent has no WiSE-FT evaluation."""
        w = self.wise_ft
        if not w or w.get("best_alpha") is None:
            return None
        i, one = w["alphas"].index(w["best_alpha"]), len(w["alphas"]) - 1

        def pair(split: str) -> str:
            v = w.get(split) or []
            if len(v) <= one or v[one] is None:
                return f"{split} n/a"
            return f"{split} {v[i]:.3f} (alpha 1: {v[one]:.3f})"

        note = "" if w.get("body_changed", True) else "; the body did not change, alpha is moot"
        return (f"WiSE-FT: best alpha {w['best_alpha']:g} on validation: {pair('val')}, {pair('test')}, "
                f"{pair('shifted')}{note}")

    @property
    def no_result_reason(self) -> str | None:
        """Why there is no incumbent (None when there is one): nothing ran, or every job failed."""
        if self.incumbent is not None:
            return None
        if not self.failures:
            return f"No job finished ({self.n_jobs} job(s) logged)."
        top = self.failures[0]
        where = f" Logs: {self.run_dir}." if self.run_dir else ""
        return (f"Every one of the {self.n_jobs} job(s) failed; the most common failure ({top['count']} of "
                f"{self.n_failed + self.n_crashed}): {top['message']}{where}")

    def to_dict(self, trajectory: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become ``None``)."""
        d = asdict(self)
        if not trajectory:
            d.pop("trajectory")
        return plain_info(d)

    def budget_to_reach(self, val_acc: float) -> float | None:
        """Cumulative budget at which the best accuracy (max budget) first reached ``val_acc`` (None: never)."""
        for p in self.trajectory:
            if p["best_val_acc"] is not None and p["best_val_acc"] >= val_acc - 1e-12:
                return p["cumulative_budget"]
        return None

    def hpbandster_result(self):
        """The run as hpbandster's ``Result`` (``logged_results_to_HBS_result`` on the run directory)."""
        from hpbandster.core.result import logged_results_to_HBS_result

        if self.run_dir is None:
            raise InvalidInputError("This result has no run directory (run_tabular without run_dir).")
        return logged_results_to_HBS_result(self.run_dir)


def val_acc_of(result: Mapping[str, Any]) -> float:
    """The validation accuracy of a job's result: ``info["val_acc"]``, else ``1 - loss``."""
    val = (result.get("info") or {}).get("val_acc")
    return 1.0 - float(result["loss"]) if val is None else float(val)


def summarize(run_dir: str | Path, max_budget: float, *, optimizer: str, warm_start: bool, n_new_jobs: int = 0,
              keep_run_dir: bool = True, extra: Mapping[str, Any] | None = None) -> TuneResult:
    """Build a :class:`TuneResult` from a run directory's logs."""
    configs, results = read_log(run_dir)
    max_budget = plain_budget(max_budget)
    best, best_any, inc_id, inc_test, inc_budget = None, None, None, None, None
    inc_wise = None
    cum_budget, cum_epochs = 0.0, 0.0
    counts = {"ok": 0, "failed": 0, "crashed": 0}
    messages: Counter[str] = Counter()
    done: dict[str, float] = {}  # per configuration (as its checkpoints are kept): the furthest budget run
    trajectory = []
    for n, (config_id, budget, _stamps, result, exc) in enumerate(results):
        cum_budget += budget
        logged = configs.get(config_id)
        key = config_key(logged[0]) if logged is not None else repr(config_id)
        prev = done.get(key, 0.0)
        cum_epochs += budget - (prev if prev <= budget else 0.0)
        done[key] = max(prev, budget)
        outcome = job_outcome(result, exc)
        counts[outcome] += 1
        val = test = None
        if outcome == "ok":
            val = val_acc_of(result)
            test = (result.get("info") or {}).get("test_acc")
            best_any = val if best_any is None else max(best_any, val)
            if math.isclose(budget, max_budget) and (best is None or val > best):
                best, inc_id, inc_test, inc_budget = val, config_id, test, budget
                inc_wise = (result.get("info") or {}).get("wise_ft")
        else:
            messages[failure_message(result, exc)] += 1
        trajectory.append({"job": n + 1, "config_id": list(config_id), "budget": budget, "val_acc": val,
                           "outcome": outcome, "cumulative_budget": cum_budget, "cumulative_epochs": cum_epochs,
                           "best_val_acc": best, "best_val_acc_any_budget": best_any, "incumbent_test_acc": inc_test})
    if inc_id is None and counts["ok"]:
        # nothing finished at the maximum budget: the best at the largest budget that has results
        top = max(b for _, b, _, r, e in results if job_outcome(r, e) == "ok")
        for config_id, budget, _s, result, exc in results:
            if budget != top or job_outcome(result, exc) != "ok":
                continue
            val = val_acc_of(result)
            if best is None or val > best:
                best, inc_id, inc_test, inc_budget = val, config_id, (result.get("info") or {}).get("test_acc"), budget
                inc_wise = (result.get("info") or {}).get("wise_ft")
        logger.warning("No job finished at the maximum budget %g; the incumbent is the best at budget %g.",
                       max_budget, inc_budget)
    return TuneResult(
        incumbent=None if inc_id is None else dict(configs.get(inc_id, ({}, {}))[0]),
        incumbent_id=None if inc_id is None else list(inc_id),
        val_acc=best if inc_id is not None else None,
        test_acc=inc_test,
        budget=inc_budget,
        trajectory=trajectory,
        optimizer=optimizer,
        warm_start=warm_start,
        n_jobs=len(results),
        n_new_jobs=n_new_jobs,
        n_crashed=counts["crashed"],
        total_budget=cum_budget,
        total_epochs=cum_epochs,
        run_dir=str(run_dir) if keep_run_dir else None,
        extra=dict(extra or {}),
        n_failed=counts["failed"],
        failures=[{"message": m, "count": c} for m, c in messages.most_common()],
        wise_ft=inc_wise if inc_id is not None else None,
    )

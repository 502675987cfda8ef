"""Adaptive seed replication of a meta-data build: more seeds for the noisy cells only.

A v2 build runs every (task, configuration) cell on ``seeds`` seeds and its target is the mean over them.
Two seeds of a well-trained configuration agree within a point or two, but an under-trained one (a low
learning rate, a linear probe, BitFit) often has one seed that converges and one that does not, and two seeds
then estimate its mean poorly. With ``replicate_above`` (accuracy points), :func:`replicate_plan` gives such a
cell its next seeds, in the spirit of racing / intensification:

- a cell is considered once all its base seeds (``0 .. seeds-1``) have a row;
- it is *noisy* when the final validation accuracies of all the seeds done so far spread (max - min) by
  more than ``replicate_above`` points (5.0 means 0.05 of ``val_acc``);
- with ``within`` (accuracy points), only the *contenders* among them: cells whose best seed so far ends within
  ``within`` points of the task's best cell (the highest mean over the seeds done, among the cells whose base
  seeds are all done). A cell whose best seed ends that far below the top is no candidate for a pick: no
  top-k pick or regret on its task depends on it, although rank-based scores (Spearman, average ranks) still
  see its noise. Racing spends its runs on the contenders too;
- a noisy cell gets the seed numbers ``seeds, seeds+1, ...`` it has not run, up to ``max_seeds`` runs in all;
  a cell at ``max_seeds`` gets no more.

On the v2 build's first 4,927 complete cells, 34% spread by more than 5 points, but only 11% of those had a
seed within 5 points of their task's best: the rest ended far below it on both seeds. With 2 base seeds,
the spread ``d`` of a cell makes the standard error of its mean ``d / 2``, so ``replicate_above=2`` with
``within=5`` replicates the contenders whose mean is uncertain by more than a point.

Everything is decided from the rows done when it is asked (a pure function of the rows and the plan): a
resumed build asks again, so a cell whose further seeds were cut short by a kill is re-decided on the spread
of all its seeds done by then.

A seed's final accuracy is the last value of its row's ``val_acc``, as the row gives it: a run that diverged
is scored by the builder (as a model predicting the majority class) and counts like any other. A final value
that is missing, null or NaN (rows written by other tools) is left out of the spread: such a cell is noisy
only if its finite final values spread by more than the threshold, and never with fewer than two of them.

Example::

    >>> rows = [{"task": "t", "config_id": "c0000", "seed": 0, "val_acc": [0.2, 0.30]},
    ...         {"task": "t", "config_id": "c0000", "seed": 1, "val_acc": [0.5, 0.90]},
    ...         {"task": "t", "config_id": "c0001", "seed": 0, "val_acc": [0.7, 0.80]},
    ...         {"task": "t", "config_id": "c0001", "seed": 1, "val_acc": [0.7, 0.81]}]
    >>> replicate_plan(rows, ["t"], ["c0000", "c0001"], seeds=2, replicate_above=5.0, max_seeds=4)
    [('t', 'c0000', 2), ('t', 'c0000', 3)]
    >>> replicate_plan(rows, ["t"], ["c0000", "c0001"], seeds=2, replicate_above=5.0, max_seeds=4, within=5.0)
    [('t', 'c0000', 2), ('t', 'c0000', 3)]
    >>> rows[1]["val_acc"] = [0.5, 0.70]  # now c0000's better seed is 10.5 points below the best mean (0.805)
    >>> replicate_plan(rows, ["t"], ["c0000", "c0001"], seeds=2, replicate_above=5.0, max_seeds=4, within=5.0)
    []
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hyperstar._internal.validation import check_float, check_int
from hyperstar.exceptions import InvalidInputError

__all__ = ["check_replication", "final_accuracy", "cell_finals", "spread_points", "task_best", "replicate_plan",
           "further_runs"]

#: the most seeds a cell may be given (the limit of ``seeds`` too)
MAX_SEEDS = 100


def check_replication(where: str, replicate_above: Any, max_seeds: Any, seeds: int | None,
                      within: Any = None) -> None:
    """Refuse replication settings a build cannot follow, with an error saying what to give instead."""
    check_int(max_seeds, "max_seeds", where, 1, MAX_SEEDS)
    if within is not None:
        check_float(within, "replicate_within", where, 0.0, 100.0)
        if replicate_above is None:
            raise InvalidInputError(f"The 'replicate_within' argument of {where} narrows the replication of noisy "
                                    "cells to the contenders, and replication is off: give replicate_above too, or "
                                    "leave replicate_within out.")
    if replicate_above is None:
        return
    check_float(replicate_above, "replicate_above", where, 0.0, 100.0, low_open=True)
    if seeds is None:
        raise InvalidInputError(
            f"The 'replicate_above' argument of {where} needs the plan that runs every configuration on the same "
            "seeds: give seeds=N (`--seeds N`), or leave replicate_above out (the first builds' plan, seed 0 "
            "everywhere plus a second seed for the noise configurations, has no base seeds to compare).")
    if max_seeds < seeds:
        raise InvalidInputError(
            f"The 'max_seeds' argument of {where} must be at least seeds ({seeds}): it counts a cell's runs in all, "
            f"base seeds included. Got {max_seeds!r}.")


def final_accuracy(row: Mapping[str, Any]) -> float:
    """The final validation accuracy of a result row (the last value of its ``val_acc``), NaN when the row
    has none (no curve, or a last value that is null, NaN or not a number)."""
    curve = row.get("val_acc")
    if not isinstance(curve, (list, tuple)) or not curve:
        return math.nan
    last = curve[-1]
    if not isinstance(last, numbers.Real) or isinstance(last, bool):
        return math.nan
    return float(last)


def cell_finals(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[int, float]]:
    """``{(task, config_id): {seed: final accuracy}}`` of result rows; a repeated (task, configuration, seed)
    keeps its first row, as the loader does."""
    cells: dict[tuple[str, str], dict[int, float]] = {}
    for row in rows:
        try:
            key, seed = (str(row["task"]), str(row["config_id"])), int(row.get("seed", 0))
        except (KeyError, TypeError, ValueError):
            continue  # not a result row: the loader reports it
        cells.setdefault(key, {}).setdefault(seed, final_accuracy(row))
    return cells


def spread_points(finals: Iterable[float]) -> float:
    """max - min of the finite final accuracies, in accuracy points (0-100); NaN with fewer than two."""
    values = [float(v) for v in finals if v is not None and math.isfinite(float(v))]
    if len(values) < 2:
        return math.nan
    return 100.0 * (max(values) - min(values))


def task_best(finals: Mapping[tuple[str, str], Mapping[int, float]], seeds: int) -> dict[str, float]:
    """``{task: the highest mean final accuracy}`` over the cells whose base seeds ``0 .. seeds-1`` are all done
    (the mean of their finite finals, every seed done counted); tasks without such a cell are left out."""
    best: dict[str, float] = {}
    for (task, _), done in finals.items():
        values = [v for v in done.values() if math.isfinite(v)]
        if values and all(s in done for s in range(seeds)):
            best[task] = max(best.get(task, -math.inf), sum(values) / len(values))
    return best


def replicate_plan(rows: Iterable[Mapping[str, Any]], tasks: Sequence[str], config_ids: Sequence[str], seeds: int,
                   replicate_above: float, max_seeds: int, within: float | None = None) -> list[tuple[str, str, int]]:
    """The further runs ``(task, config_id, seed)`` the noisy cells need, given the rows done so far.

    Over the cells of ``tasks`` x ``config_ids`` whose base seeds ``0 .. seeds-1`` all have a row and whose
    seeds done so far spread by more than ``replicate_above`` accuracy points (:func:`spread_points`; NaN
    finals are left out, see the module's notes), the seed numbers from ``seeds`` up that the cell has not
    run, until it has ``max_seeds`` runs. With ``within``, only the cells whose best finite final is at most
    ``within`` points below the task's best mean (:func:`task_best`, over the configurations of every row, not
    only ``config_ids``; a difference of exactly ``within`` counts as within). In configuration-major order (each
    configuration on every task before the next), seeds increasing within a cell.
    """
    where = "replicate_plan"
    check_int(seeds, "seeds", where, 1, MAX_SEEDS)
    check_float(replicate_above, "replicate_above", where, 0.0, 100.0, low_open=True)
    check_replication(where, replicate_above, max_seeds, seeds, within)
    finals = cell_finals(rows)
    best = task_best(finals, seeds) if within is not None else {}
    plan = []
    for config_id in config_ids:
        for task in tasks:
            done = finals.get((task, config_id), {})
            if len(done) >= max_seeds or any(s not in done for s in range(seeds)):
                continue
            spread = spread_points(done.values())
            if not spread > replicate_above:  # NaN (fewer than two finite finals) is not noisy
                continue
            if within is not None and not 100.0 * (best[task] - max(v for v in done.values() if math.isfinite(v))) \
                    <= within + 1e-9:  # not a contender: its best seed ends too far below the task's best
                continue
            wanted, seed = max_seeds - len(done), seeds
            while wanted > 0:
                if seed not in done:
                    plan.append((task, config_id, seed))
                    wanted -= 1
                seed += 1
    return plan


def further_runs(rows: Iterable[Mapping[str, Any]], manifest: Mapping[str, Any], tasks: Sequence[str],
                 seeds: int | None, replicate_above: float | None, max_seeds: int,
                 within: float | None = None) -> list[tuple[str, str, int]]:
    """:func:`replicate_plan` over the configurations of a build's manifest; none when replication is off."""
    if replicate_above is None or seeds is None:
        return []
    return replicate_plan(rows, tasks, [c["id"] for c in manifest["configs"]], seeds, replicate_above, max_seeds,
                          within)

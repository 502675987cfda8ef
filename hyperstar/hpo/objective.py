"""Your own objective over your own search space: :func:`optimize` (task-aware Hyperband / BOHB / random search).

The objective is a function ``objective(config, budget, *, checkpoint_dir, previous_checkpoint)``:

* ``config``: a plain dict of the space's active hyperparameters (ints, floats, strings);
* ``budget``: the budget of the job (a float; whatever your budgets mean: epochs, trees, a fraction
  of the data);
* ``checkpoint_dir``: an empty folder that belongs to this (configuration, budget): save what a
  promotion should continue from there;
* ``previous_checkpoint``: the ``checkpoint_dir`` of the same configuration's largest finished
  budget below this one (``None`` when there is none): successive halving promotes a configuration
  to a larger budget, and the objective may continue from there instead of starting over. Only the
  furthest finished folder of a configuration is kept.

It returns the validation *accuracy* (a number, higher is better), or a dict with ``"accuracy"``
or ``"loss"`` (lower is better; accuracy = 1 - loss) and optionally ``"info"`` (a dict of plain
values, logged). A non-finite value or an exception is a failed job: logged, never promoted,
never learnt from, never the incumbent (see :mod:`hyperstar.hpo.master`).

Workers are threads of this process (``worker_mode="thread"``, any callable) or processes
(``"process"``: the objective must be importable, given as ``"module:function"`` or a module-level
function), and workers on other machines join with ``hyperstar worker --run-dir RUN`` (or
``--objective module:function``). Runs resume exactly (``resume=True``), like :func:`~hyperstar.hpo.tune`.

    >>> import tempfile
    >>> from ConfigSpace import ConfigurationSpace, Float, Integer
    >>> space = ConfigurationSpace(seed=0)
    >>> _ = space.add([Float("x", (0.0, 1.0), default=0.5), Integer("k", (1, 8), default=2)])
    >>> def objective(config, budget, *, checkpoint_dir, previous_checkpoint):
    ...     return 1 - abs(config["x"] - 0.3) - 0.01 * config["k"] / budget
    >>> with tempfile.TemporaryDirectory() as d:
    ...     r = optimize(objective, space, optimizer="hb", min_budget=1, max_budget=9, run_dir=d, seed=0)
    >>> r.n_jobs, sorted(r.incumbent), 0.0 < r.val_acc <= 1.0
    (20, ['k', 'x'], True)
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import logging
import math
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from hyperstar._internal.io import atomic_write_json
from hyperstar._internal.validation import check_choice, check_int, check_seed
from hyperstar.exceptions import InvalidInputError
from hyperstar.space import config_key, default_space, space_from_json, space_to_json  # noqa: F401 (re-exported)
from hyperstar.hpo.api import (
    RANKING_FILE,
    RUN_FILE,
    WORKER_MODES,
    _check_settings,
    _make_generator,
    _new_run_id,
    _previous_settings,
    _finish_run,
    _run_dir_lock,
)
from hyperstar.hpo.generators import as_ranking
from hyperstar.hpo.loop import _run_loop
from hyperstar.hpo.pools import _ProcessWorkers, _ThreadWorkers
from hyperstar.hpo.result import TuneResult, summarize
from hyperstar.hpo.seam import DEFAULT_HOST, SECRET_ENV, new_secret, plain_info
from hyperstar.hpo.workers import HyperstarWorker, WorkerSpec, build_worker

__all__ = ["optimize", "ObjectiveWorker", "load_objective", "objective_path", "space_from_json", "space_to_json"]

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
DONE_MARKER = ".done"
#: settings that must not change when an objective run is resumed
_RESUME_KEYS = ("optimizer", "min_budget", "max_budget", "eta", "seed", "kind", "objective", "space",
                "random_fraction", "generator_options", "bracket_order", "warm_start")


# --------------------------------------------------------------------------- objective and space by name


def objective_path(objective: Callable[..., Any] | str) -> str | None:
    """``"module:function"`` for an importable objective (``None`` for a lambda, a local function, or one
    defined in ``__main__``, which other processes cannot import)."""
    if isinstance(objective, str):
        return objective
    module = getattr(objective, "__module__", None)
    qualname = getattr(objective, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    try:
        if _resolve(module, qualname) is not objective:
            return None
    except (ImportError, AttributeError):
        return None
    return f"{module}:{qualname}"


def _resolve(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def load_objective(path: str) -> Callable[..., Any]:
    """The function a ``"module:function"`` path names (a one-line error when it cannot be imported)."""
    if not isinstance(path, str) or ":" not in path:
        raise InvalidInputError(f"An objective path is 'module:function'. Got {path!r}.")
    module, _, qualname = path.partition(":")
    try:
        fn = _resolve(module, qualname)
    except ImportError as exc:
        raise InvalidInputError(
            f"Cannot import the objective's module {module!r} ({exc}). Install it, or run the worker from the "
            "folder that holds it (or set PYTHONPATH)."
        ) from None
    except AttributeError:
        raise InvalidInputError(f"The module {module!r} has no {qualname!r} (the objective {path!r}).") from None
    if not callable(fn):
        raise InvalidInputError(f"The objective {path!r} is not callable.")
    return fn


# --------------------------------------------------------------------------- the worker


def _as_loss(value: Any) -> tuple[float, dict[str, Any]]:
    """``(loss, info)`` from what an objective returned (a one-line error for anything else)."""
    info: dict[str, Any] = {}
    if isinstance(value, Mapping):
        info = dict(value.get("info") or {})
        if "loss" in value:
            loss = value["loss"]
        elif "accuracy" in value:
            loss = None if value["accuracy"] is None else 1.0 - float(value["accuracy"])
        else:
            raise InvalidInputError(f"The objective returned a dict without 'loss' or 'accuracy': {sorted(value)}.")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        loss = 1.0 - float(value)
    else:
        raise InvalidInputError(f"The objective must return an accuracy (a number) or a dict. Got {type(value).__name__}.")
    if loss is None or not math.isfinite(float(loss)):
        raise InvalidInputError(f"The objective returned a non-finite result ({value!r}).")
    loss = float(loss)
    info.setdefault("val_acc", 1.0 - loss)
    return loss, info


class ObjectiveWorker(HyperstarWorker):
    """Runs a user's objective for each job, with a checkpoint folder per (configuration, budget).

    ``run_dir``: where ``checkpoints/`` go (default: the master's working directory sent with each job).
    """

    def __init__(self, objective: Callable[..., Any], run_id: str, *, run_dir: str | Path | None = None,
                 seed: int = 0, **kwargs: Any) -> None:
        super().__init__(run_id, **kwargs)
        self.objective = objective
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.seed = int(seed)

    def evaluate(self, config_id, config, budget, working_directory):
        import hashlib

        run_dir = self.run_dir or Path(working_directory)
        folder = run_dir / CHECKPOINTS / hashlib.sha1(f"{config_key(config)}|{self.seed}".encode()).hexdigest()[:16]
        done = sorted((float(p.parent.name.split("_", 1)[1]), p.parent) for p in folder.glob(f"budget_*/{DONE_MARKER}"))
        previous = max(((b, p) for b, p in done if b < budget), default=(None, None))[1]
        here = folder / f"budget_{budget:g}"
        if here.exists():
            shutil.rmtree(here, ignore_errors=True)  # left by a job that did not finish (killed, failed)
        here.mkdir(parents=True, exist_ok=True)
        try:
            value = self.objective(dict(config), float(budget), checkpoint_dir=here, previous_checkpoint=previous)
            loss, info = _as_loss(value)
        except BaseException:
            shutil.rmtree(here, ignore_errors=True)  # a failed job leaves nothing a promotion could pick up
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
            raise
        (here / DONE_MARKER).touch()
        for b, p in done:  # one folder per configuration: the furthest finished one
            if b < budget:
                shutil.rmtree(p, ignore_errors=True)
        info.setdefault("resumed_from_budget", None if previous is None else float(previous.name.split("_", 1)[1]))
        return loss, info


def objective_worker(spec: WorkerSpec, run_id: str, *, objective: Callable[..., Any] | str | None = None,
                     work_dir: str | None = None, **common: Any) -> ObjectiveWorker:
    """The worker of an objective run (``objective`` overrides the run's published ``module:function``)."""
    extra = spec.extra or {}
    for folder in extra.get("sys_path") or []:
        if folder not in sys.path and Path(folder).is_dir():
            sys.path.insert(0, folder)
    path = objective or extra.get("objective")
    if path is None:
        raise InvalidInputError("This run's objective lives in the tune process only (a thread worker run); "
                                "pass --objective module:function.")
    fn = load_objective(path) if isinstance(path, str) else path
    return ObjectiveWorker(fn, run_id, run_dir=work_dir or spec.run_dir, seed=spec.seed, **common)


# --------------------------------------------------------------------------- optimize


def _ranking_from(ranker, task, n_ranked: int, seed: int) -> list[Any]:
    """A ranker's configurations best first: ``rank(task, k=...)`` (the Ranker protocol) or a
    :class:`~hyperstar.ranking.Recommender`'s ``recommend(task, k=...)``."""
    if hasattr(ranker, "rank"):
        return list(ranker.rank(task, k=n_ranked))
    if hasattr(ranker, "recommend"):
        return list(ranker.recommend(task, k=n_ranked, seed=seed))
    raise InvalidInputError(f"A ranker needs rank(task, k) or recommend(task, k). Got {type(ranker).__name__}.")


def optimize(
    objective: Callable[..., Any] | str,
    space: ConfigurationSpace | None = None,
    *,
    optimizer: str = "bohb",
    ranking: Sequence[Any] | None = None,
    ranker=None,
    task: Any = None,
    n_ranked: int = 100,
    min_budget: float = 1,
    max_budget: float = 9,
    eta: float = 3,
    n_iterations: int | None = None,
    n_workers: int = 1,
    worker_mode: str = "thread",
    run_dir: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    random_fraction: float | None = None,
    generator_options: Mapping[str, Any] | None = None,
    bracket_order: str = "aggressive_first",
    host: str = DEFAULT_HOST,
    port: int = 0,
    secret: str | None = None,
    ping_interval: float = 1,
    max_worker_restarts: int = 3,
    progress: bool | Callable[[str], None] = False,
    plot: bool = True,
) -> TuneResult:
    """Minimise ``objective``'s loss (maximise its accuracy) over ``space`` with task-aware Hyperband / BOHB.

    ``objective``: see the module docstring (a callable, or ``"module:function"``). ``space``: any
    ConfigSpace space (float, integer, ordinal, categorical, conditions; forbidden clauses except
    with BOHB; default: hyperstar's fine-tuning space). Warm start: ``ranking`` (configurations
    best first) or ``ranker`` + ``task`` (a Recommender or any object with ``rank(task, k)``);
    without either, a cold start. ``optimizer``, budgets, ``eta``, ``n_iterations``,
    ``bracket_order``, ``random_fraction``, ``generator_options``, ``host``/``port``/``secret``:
    as in :func:`~hyperstar.hpo.tune`. ``n_workers`` workers, threads of this process
    (``worker_mode="thread"``, the default) or processes (``"process"``: the objective must be
    importable). ``run_dir`` (default: ``hyperstar-runs/<run id>``) holds hpbandster's logs, the
    checkpoint folders, ``run.json`` (with the space as ConfigSpace JSON), ``result.json`` and
    ``trajectory.png``; ``resume=True`` continues a killed run there exactly.
    """
    _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order, where="optimize")
    check_choice(worker_mode, "worker_mode", "optimize", WORKER_MODES)
    n_workers = check_int(n_workers, "n_workers", "optimize", 0)
    seed = check_seed(seed, "optimize")
    check_int(port, "port", "optimize", 0, 65535)
    space = space if space is not None else default_space()
    if not isinstance(space, ConfigurationSpace):
        raise InvalidInputError(f"The 'space' of optimize must be a ConfigSpace ConfigurationSpace. Got {type(space).__name__}.")
    path = objective_path(objective)
    fn = load_objective(objective) if isinstance(objective, str) else objective
    if not callable(fn):
        raise InvalidInputError(f"The objective must be callable or 'module:function'. Got {type(objective).__name__}.")
    params = inspect.signature(fn).parameters
    if not ({"checkpoint_dir", "previous_checkpoint"} <= set(params) or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())):
        raise InvalidInputError("The objective must accept keyword arguments checkpoint_dir and previous_checkpoint "
                                "(objective(config, budget, *, checkpoint_dir, previous_checkpoint)).")
    if worker_mode == "process" and path is None:
        raise InvalidInputError("Process workers import the objective: define it at module level in an importable "
                                "module (or pass 'module:function'), or use worker_mode='thread'.")
    run_id = _new_run_id(optimizer)
    if run_dir is None:
        if resume:
            raise InvalidInputError("resume=True needs the run_dir of the run to continue.")
        run_dir = Path("hyperstar-runs") / run_id
    run_dir = Path(run_dir).resolve()
    if resume:
        _previous_settings(run_dir, resume)

    with _run_dir_lock(run_dir):
        previous = _previous_settings(run_dir, resume)
        if previous is not None:
            run_id = previous["run_id"]
        settings = {"run_id": run_id, "kind": "objective", "optimizer": optimizer, "min_budget": float(min_budget),
                    "max_budget": float(max_budget), "eta": float(eta), "seed": seed, "objective": path,
                    "space": space_to_json(space), "random_fraction": random_fraction,
                    "generator_options": plain_info(generator_options or {}), "bracket_order": bracket_order,
                    "warm_start": ranking is not None or ranker is not None, "n_iterations": n_iterations}
        if previous is not None:
            changed = [k for k in _RESUME_KEYS if previous.get(k) != settings.get(k) and k != "objective"]
            if changed:
                raise InvalidInputError(f"Cannot resume '{run_dir}' with different settings ({', '.join(changed)}).")
        saved = resume and (run_dir / RANKING_FILE).is_file()
        if saved:
            ranked = as_ranking(json.loads((run_dir / RANKING_FILE).read_text()), space)
        elif ranking is not None:
            ranked = as_ranking(ranking, space)
        elif ranker is not None:
            ranked = as_ranking(_ranking_from(ranker, task, int(n_ranked), seed), space)
        else:
            ranked = []
        if not saved:
            atomic_write_json(run_dir / RANKING_FILE, ranked, unknown=repr)
        if previous is None:
            atomic_write_json(run_dir / RUN_FILE, settings, unknown=repr)
        cg = _make_generator(optimizer, ranked, seed=seed, random_fraction=random_fraction, adaptive=None,
                             max_budget=max_budget, options={**(generator_options or {}), "space": space})
        sys_path = [str(Path(m.__file__).resolve().parent)] if path and (m := sys.modules.get(path.split(":")[0])) \
            and getattr(m, "__file__", None) else []
        spec = WorkerSpec(kind="objective", seed=seed, run_dir=str(run_dir), max_budget=int(math.ceil(max_budget)),
                          extra={"objective": path, "sys_path": sys_path})
        secret = secret or os.environ.get(SECRET_ENV) or new_secret()

        def start_workers(ns_host, ns_port, publish):
            if n_workers == 0:
                return None
            if worker_mode == "thread":
                return _ThreadWorkers(lambda i: build_worker(spec, run_id, nameserver=ns_host, nameserver_port=ns_port,
                                                             host=host, objective=fn, id=f"t{i}"), n_workers)
            threads = max(1, (os.cpu_count() or 1) // n_workers)
            return _ProcessWorkers(n_workers, run_id=run_id, ns_host=ns_host, ns_port=ns_port, host=host,
                                   secret=secret, run_dir=run_dir, gpus=[], threads=threads,
                                   max_restarts=max_worker_restarts, on_change=publish)

        n_iter, n_new = _run_loop(optimizer=optimizer, cg=cg, run_dir=run_dir, run_id=run_id, host=host, port=port,
                                  secret=secret, min_budget=min_budget, max_budget=max_budget, eta=eta,
                                  n_iterations=n_iterations, spec=spec, start_workers=start_workers, resume=resume,
                                  ping_interval=ping_interval, progress=progress, write_connection=True,
                                  bracket_order=bracket_order, space=space)
        result = summarize(run_dir, max_budget, optimizer=optimizer, warm_start=bool(ranked), n_new_jobs=n_new,
                           extra={"run_id": run_id, "n_iterations": n_iter, "n_ranked": len(ranked),
                                  "bracket_order": bracket_order, "objective": path})
        _finish_run(result, run_dir, plot)
    return result

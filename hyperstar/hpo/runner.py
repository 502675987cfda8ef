"""Run task-aware Hyperband, BOHB or random search on hpbandster: :func:`tune` and :func:`run_tabular`.

:func:`tune` fine-tunes for real: it starts a Pyro4 nameserver (loopback, a free port, a shared
secret), hpbandster's optimizer with a hyperstar config generator, and worker processes (one per
GPU when there are several); more workers can join from other machines with ``hyperstar worker``.
Every result is logged as it arrives in hpbandster's own JSON format (``configs.json`` /
``results.json`` in the run directory, readable by
``hpbandster.core.result.logged_results_to_HBS_result``); ``resume=True`` continues a killed run
without losing or recomputing a finished job. :func:`run_tabular` runs the same loop with a
:class:`~hyperstar.hpo.workers.TabularWorker` on one task of a meta-dataset, for benchmarks.

How resume works: hpbandster's schedule is deterministic given the configurations its generator
hands out and the losses it gets back. On resume the logged configurations are handed out again
under their logged ids (``(iteration, stage, index)``), and every job whose (id, budget) result is
in the log is answered from the log instead of being dispatched; hpbandster then makes the same
successive-halving decisions and continues where the killed run stopped. Only jobs without a
logged result run (again).

Example::

    >>> from hyperstar.hpo import tune
    >>> result = tune("data/train", optimizer="bohb", meta="meta_data/default", min_budget=1, max_budget=9,
    ...               n_workers=2, run_dir="runs/bohb")
    >>> result.incumbent, result.val_acc, result.test_acc
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import math
import os
import secrets as _secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hpbandster.core.result import json_result_logger, logged_results_to_HBS_result
from hpbandster.optimizers import HyperBand, RandomSearch

from hyperstar.exceptions import HyperstarError, InvalidInputError
from hyperstar.meta.dataset import MetaDataset, repair_results
from hyperstar.space import config_key, default_space
from hyperstar.ranking.adaptive import AdaptiveRanking
from hyperstar.hpo.generators import RankedConfigGenerator, TaskAwareBOHB, as_ranking
from hyperstar.hpo.seam import (
    CONNECTION_FILE,
    DEFAULT_HOST,
    SECRET_ENV,
    NameServer,
    locate_nameserver,
    new_secret,
    plain_budget,
    plain_config,
    plain_info,
    pyro_secret,
    write_connection_file,
)
from hyperstar.hpo.workers import WorkerSpec, build_worker, spec_name

__all__ = ["tune", "run_tabular", "TuneResult", "resolve_ranking", "read_log", "plot_trajectory", "OPTIMIZERS"]

logger = logging.getLogger(__name__)

OPTIMIZERS = ("bohb", "hb", "random")
#: the order of Hyperband's brackets within a round: hpbandster's (most aggressive first: many
#: configurations at the minimum budget) or reversed (first the bracket that trains its few
#: configurations at the maximum budget, where a warm start's top picks are judged on full training).
#: On stored curves the reversed order reaches a task's best sooner in the median but ends a round with
#: more regret (benchmarks/results/hpo_tabular.md, warmstart_variants.md), so it is an option.
BRACKET_ORDERS = ("aggressive_first", "conservative_first")
RUN_FILE = "run.json"
RANKING_FILE = "ranking.json"
RESULT_FILE = "result.json"
PLOT_FILE = "trajectory.png"
#: settings that must not change when a run is resumed
_RESUME_KEYS = ("optimizer", "min_budget", "max_budget", "eta", "warm_start", "seed", "kind", "backbone", "weights",
                "resolution", "channels", "random_fraction", "adaptive", "data", "generator_options", "bracket_order")


# --------------------------------------------------------------------------- the result log


def _append_json_line(path: str | Path, obj: Any) -> None:
    line = (json.dumps(obj) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write: a kill leaves whole lines (a cut last line is repaired on resume)
        os.fsync(fd)
    finally:
        os.close(fd)


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
            self.config_fn = str(directory / "configs.json")
            self.results_fn = str(directory / "results.json")
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
        _append_json_line(self.config_fn, [list(config_id), plain_config(config), plain_info(config_info)])

    def __call__(self, job) -> None:
        # Runs inside hpbandster's result callback, where an exception would hang the run: report instead.
        if not getattr(job, "replayed", False):
            config_id = tuple(job.id)
            try:
                if config_id not in self.config_ids:
                    self.new_config(config_id, job.kwargs["config"], {})
                _append_json_line(self.results_fn, [list(config_id), plain_budget(job.kwargs["budget"]),
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


def read_log(run_dir: str | Path) -> tuple[dict[tuple, tuple[dict, dict]], list[tuple]]:
    """The logged configurations ``{id: (config, info)}`` and results ``[(id, budget, timestamps, result, exception)]``.

    A last line cut short by a kill is removed from the files first.
    """
    run_dir = Path(run_dir)
    configs: dict[tuple, tuple[dict, dict]] = {}
    results: list[tuple] = []
    cfg, res = run_dir / "configs.json", run_dir / "results.json"
    for path in (cfg, res):
        repair_results(path)
    if cfg.is_file():
        for n, line in enumerate(cfg.read_text().splitlines()):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise InvalidInputError(f"Line {n + 1} of '{cfg}' is not JSON; the run log is damaged.") from None
            config_id, config = tuple(item[0]), item[1]
            info = item[2] if len(item) > 2 and isinstance(item[2], dict) else {}
            configs[config_id] = (config, info)
    if res.is_file():
        for n, line in enumerate(res.read_text().splitlines()):
            if not line.strip():
                continue
            try:
                config_id, budget, stamps, result, exception = json.loads(line)
            except (json.JSONDecodeError, ValueError):
                raise InvalidInputError(f"Line {n + 1} of '{res}' is not a result; the run log is damaged.") from None
            results.append((tuple(config_id), float(budget), stamps, result, exception))
    return configs, results


# --------------------------------------------------------------------------- hpbandster masters


class _Stopped(Exception):
    pass


class _SeamMixin:
    """Plain types at the seam, resume replays and a shutdown that cannot hang, on an hpbandster optimizer."""

    def __init__(self, *, config_generator, replay_configs=None, replay_results=None,
                 bracket_order: str = "aggressive_first", **kwargs):
        super().__init__(**kwargs)
        self.config_generator = config_generator
        self.bracket_order = bracket_order
        self.budgets = [plain_budget(b) for b in self.budgets]
        self.min_budget, self.max_budget = plain_budget(self.min_budget), plain_budget(self.max_budget)
        self.config.update(budgets=list(self.budgets), min_budget=self.min_budget, max_budget=self.max_budget)
        self._replay_configs = dict(replay_configs or {})
        self._replay_results = dict(replay_results or {})
        self.n_replayed = 0
        self._stop_reason: str | None = None
        self.waiting_message: Callable[[], None] | None = None
        self.waiting_after = 0.0
        self.startup_grace = 60.0

    # -- what hpbandster would run
    def planned(self, n_iterations: int) -> tuple[int, float]:
        """(jobs, total budget) of ``n_iterations`` brackets, from hpbandster's own bracket plans."""
        jobs, budget = 0, 0.0
        for i in range(n_iterations):
            it = super().get_next_iteration(self._bracket(i), {})
            jobs += int(sum(it.num_configs))
            budget += float(sum(n * float(b) for n, b in zip(it.num_configs, it.budgets)))
        return jobs, budget

    def get_next_iteration(self, iteration, iteration_kwargs={}):
        if self._stop_reason is not None:
            raise _Stopped(self._stop_reason)
        it = super().get_next_iteration(self._bracket(iteration), iteration_kwargs)
        it.HPB_iter = iteration  # config ids and result routing follow the position in the run, not the bracket
        it.budgets = [plain_budget(b) for b in it.budgets]
        it.config_sampler = functools.partial(self._sample, it)
        return it

    def _bracket(self, iteration: int) -> int:
        """The index hpbandster's bracket formula gets for the ``iteration``-th bracket of this run."""
        m = getattr(self, "max_SH_iter", 1)
        if self.bracket_order == "aggressive_first" or m <= 1:
            return iteration
        return (iteration // m) * m + (m - 1 - iteration % m)  # the same brackets, each round reversed

    def _sample(self, iteration, budget):
        config_id = (iteration.HPB_iter, iteration.stage, iteration.actual_num_configs[iteration.stage])
        logged = self._replay_configs.pop(config_id, None)
        if logged is not None:
            config, info = logged
            mark = getattr(self.config_generator, "mark_used", None)
            if mark is not None:
                mark(config, plain_budget(budget))
            return plain_config(config), plain_info(info)
        config, info = self.config_generator.get_config(plain_budget(budget))
        return plain_config(config), plain_info(info)

    def _submit_job(self, config_id, config, budget):
        if self._stop_reason is not None:
            raise _Stopped(self._stop_reason)
        config, budget = plain_config(config), plain_budget(budget)
        logged = self._replay_results.pop((tuple(config_id), budget), None)
        if logged is None:
            return super()._submit_job(config_id, config, budget)
        from hpbandster.core.dispatcher import Job

        stamps, result, exception = logged
        job = Job(config_id, config=config, budget=budget, working_directory=self.working_directory)
        job.timestamps = dict(stamps or {})
        job.result, job.exception = result, exception
        job.replayed = True
        with self.thread_cond:
            self.num_running_jobs += 1
            self.n_replayed += 1
        self.job_callback(job)  # as if it had just finished; the log is not written twice

    def _queue_wait(self):
        if self._stop_reason is not None:
            raise _Stopped(self._stop_reason)
        return super()._queue_wait()

    def wait_for_workers(self, min_n_workers=1):
        # hpbandster's loop, plus a way out (stop), a message while waiting, and a grace period:
        # wait for all ``min_n_workers`` (the local ones) for up to ``startup_grace`` s, then for one.
        told, start = False, time.monotonic()
        with self.thread_cond:
            while True:
                n = self.dispatcher.number_of_workers()
                if n >= min_n_workers or (n >= 1 and time.monotonic() - start > self.startup_grace):
                    break
                if self._stop_reason is not None:
                    raise _Stopped(self._stop_reason)
                if not told and self.waiting_message is not None and time.monotonic() - start >= self.waiting_after:
                    self.waiting_message()
                    told = True
                self.thread_cond.wait(0.2)  # hpbandster waits 1 s; new workers often register just after a discovery
                self.dispatcher.trigger_discover_worker()

    def stop(self, reason: str) -> None:
        """Make ``run`` raise soon (from another thread): no worker left, or an error."""
        with self.thread_cond:
            self._stop_reason = reason
            self.num_running_jobs = 0
            self.thread_cond.notify_all()

    def release_condition(self) -> None:
        """Release hpbandster's condition if this thread still holds it (after an exception in ``run``)."""
        cond = self.thread_cond
        while getattr(cond, "_is_owned", lambda: False)():
            try:
                cond.release()
            except RuntimeError:
                break

    def shutdown(self, shutdown_workers=False):
        d = self.dispatcher
        if shutdown_workers:
            with d.discover_cond:
                workers = list(d.worker_pool.values())
            for w in workers:
                try:
                    w.shutdown()
                except Exception as exc:  # a dead worker must not keep the dispatcher alive
                    logger.debug("Could not shut down worker %s: %s", w, exc)
        for _ in range(100):
            if hasattr(d, "pyro_daemon"):
                break
            time.sleep(0.05)
        try:
            with d.runner_cond:
                d.pyro_daemon.shutdown()
        except Exception as exc:
            logger.debug("Dispatcher shutdown: %s", exc)
        self.dispatcher_thread.join(timeout=30)
        if self.dispatcher_thread.is_alive():
            logger.warning("hpbandster's dispatcher did not stop within 30 s.")


class _HyperBandMaster(_SeamMixin, HyperBand):
    """hpbandster's Hyperband brackets with a hyperstar config generator (HB and BOHB)."""


class _RandomSearchMaster(_SeamMixin, RandomSearch):
    """hpbandster's random search schedule (everything at the maximum budget) with a hyperstar generator."""


# --------------------------------------------------------------------------- workers started by tune


class _ProcessWorkers:
    """Worker processes (``hyperstar worker``) started and supervised by ``tune``."""

    def __init__(self, n: int, *, run_id: str, ns_host: str, ns_port: int, host: str, secret: str | None,
                 run_dir: Path, gpus: list[str], threads: int, max_restarts: int, on_change: Callable[[], None]):
        self.n, self.run_id, self.ns_host, self.ns_port, self.host = n, run_id, ns_host, ns_port, host
        self.secret, self.run_dir, self.gpus, self.threads = secret, run_dir, gpus, threads
        self.max_restarts, self.on_change = max_restarts, on_change
        self.procs: list[subprocess.Popen | None] = [None] * n
        self.restarts = [0] * n
        self.dead = [False] * n
        self.stopping = False
        self.error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        (run_dir / "workers").mkdir(parents=True, exist_ok=True)

    def _spawn(self, slot: int) -> None:
        cmd = [sys.executable, "-m", "hyperstar.cli", "--verbose", "worker", "--run-id", self.run_id,
               "--nameserver", self.ns_host, "--nameserver-port", str(self.ns_port), "--host", self.host,
               "--parent-pid", str(os.getpid()), "--threads", str(self.threads)]
        env = dict(os.environ)
        if self.secret:
            env[SECRET_ENV] = self.secret  # not on the command line, where `ps` shows it
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        log = open(self.run_dir / "workers" / f"worker-{slot}.log", "ab")
        try:
            # own session: Ctrl-C reaches only tune, which then shuts the workers down cleanly
            self.procs[slot] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def start(self) -> None:
        for slot in range(self.n):
            self._spawn(slot)
        self.on_change()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p is not None and p.poll() is None]

    def log_tail(self, slot: int) -> str:
        path = self.run_dir / "workers" / f"worker-{slot}.log"
        try:
            lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        errors = [ln for ln in lines if "error" in ln.lower()]
        return (errors or lines or [""])[-1].strip()

    def check(self, registered: int) -> None:
        """Restart workers that died (up to ``max_restarts`` each); set ``error`` when none can run."""
        with self._lock:
            if self.stopping:
                return
            changed = False
            for slot, proc in enumerate(self.procs):
                if proc is None or self.dead[slot] or proc.poll() is None:
                    continue
                # a negative code is a signal (killed); a worker that exits on its own had a reason
                if proc.returncode < 0 and self.restarts[slot] < self.max_restarts:
                    self.restarts[slot] += 1
                    logger.warning("Worker %d (pid %d) exited with code %s; starting it again (%d/%d).", slot,
                                   proc.pid, proc.returncode, self.restarts[slot], self.max_restarts)
                    self._spawn(slot)
                else:
                    logger.warning("Worker %d (pid %d) exited with code %s.", slot, proc.pid, proc.returncode)
                    self.dead[slot] = True
                changed = True
            if changed:
                self.on_change()
            if all(self.dead) and registered == 0:
                tail = self.log_tail(0)
                self.error = "Every worker process exited" + (f"; the last one said: {tail}" if tail else ".") + \
                    f" (logs in {self.run_dir / 'workers'})"

    def supervise(self, master: _SeamMixin) -> None:
        def loop():
            while not self.stopping:
                time.sleep(0.5)
                try:
                    self.check(master.dispatcher.number_of_workers())
                except Exception as exc:  # supervision must never die silently
                    logger.debug("worker supervision: %s", exc)
                if self.error and not self.stopping:
                    master.stop(self.error)
                    return

        self._thread = threading.Thread(target=loop, name="hyperstar-worker-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self.stopping = True
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class _ThreadWorkers:
    """Workers running as threads of this process (tabular benchmarks, quick library use)."""

    def __init__(self, make_worker: Callable[[int], Any], n: int) -> None:
        self.make_worker, self.n = make_worker, n
        self.workers: list[Any] = []
        self.error = None

    def start(self) -> None:
        for i in range(self.n):
            w = self.make_worker(i)
            w.run(background=True)
            self.workers.append(w)

    def pids(self) -> list[int]:
        return [os.getpid()] if self.workers else []

    def supervise(self, master) -> None:
        pass

    def stop(self, timeout: float = 20.0) -> None:
        for w in self.workers:
            if w.thread is not None:
                w.thread.join(timeout=timeout)


# --------------------------------------------------------------------------- results


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
        if self.run_dir is None:
            raise InvalidInputError("This result has no run directory (run_tabular without run_dir).")
        return logged_results_to_HBS_result(self.run_dir)


def summarize(run_dir: str | Path, max_budget: float, *, optimizer: str, warm_start: bool, n_new_jobs: int = 0,
              keep_run_dir: bool = True, extra: Mapping[str, Any] | None = None) -> TuneResult:
    """Build a :class:`TuneResult` from a run directory's logs."""
    configs, results = read_log(run_dir)
    max_budget = plain_budget(max_budget)
    best, best_any, inc_id, inc_test, inc_budget = None, None, None, None, None
    cum_budget, cum_epochs, crashed = 0.0, 0.0, 0
    done: dict[str, float] = {}  # per configuration (as its checkpoints are kept): the furthest budget run
    trajectory = []
    for n, (config_id, budget, _stamps, result, _exc) in enumerate(results):
        cum_budget += budget
        logged = configs.get(config_id)
        key = config_key(logged[0]) if logged is not None else repr(config_id)
        prev = done.get(key, 0.0)
        cum_epochs += budget - (prev if prev <= budget else 0.0)
        done[key] = max(prev, budget)
        val = test = None
        if result is None or result.get("loss") is None:
            crashed += 1
        else:
            info = result.get("info") or {}
            val = info.get("val_acc")
            val = 1.0 - float(result["loss"]) if val is None else float(val)
            test = info.get("test_acc")
            if info.get("error"):
                crashed += 1
        if val is not None:
            best_any = val if best_any is None else max(best_any, val)
            if math.isclose(budget, max_budget) and (best is None or val > best):
                best, inc_id, inc_test, inc_budget = val, config_id, test, budget
        trajectory.append({"job": n + 1, "config_id": list(config_id), "budget": budget, "val_acc": val,
                           "cumulative_budget": cum_budget, "cumulative_epochs": cum_epochs, "best_val_acc": best,
                           "best_val_acc_any_budget": best_any, "incumbent_test_acc": inc_test})
    if inc_id is None and results:
        # nothing finished at the maximum budget: the best at the largest budget that has results
        top = max(b for _, b, _, r, _ in results if r is not None) if any(r is not None for *_, r, _ in results) else None
        for config_id, budget, _s, result, _e in results:
            if result is None or budget != top:
                continue
            val = (result.get("info") or {}).get("val_acc")
            val = 1.0 - float(result["loss"]) if val is None else float(val)
            if best is None or val > best:
                best, inc_id, inc_test, inc_budget = val, config_id, (result.get("info") or {}).get("test_acc"), budget
        if inc_id is not None:
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
        n_crashed=crashed,
        total_budget=cum_budget,
        total_epochs=cum_epochs,
        run_dir=str(run_dir) if keep_run_dir else None,
        extra=dict(extra or {}),
    )


def plot_trajectory(result: TuneResult, path: str | Path) -> Path:
    """Save best validation accuracy vs cumulative budget (epochs) as a PNG (matplotlib, Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    traj = result.trajectory
    if traj:
        x = [p["cumulative_budget"] for p in traj]
        ax.scatter(x, [p["val_acc"] if p["val_acc"] is not None else np.nan for p in traj], s=12, alpha=0.35,
                   c=[p["budget"] for p in traj], cmap="viridis", label="job (colour: budget)")
        ax.step(x, [p["best_val_acc_any_budget"] if p["best_val_acc_any_budget"] is not None else np.nan for p in traj],
                where="post", color="0.6", linestyle=":", label="best, any budget")
        ax.step(x, [p["best_val_acc"] if p["best_val_acc"] is not None else np.nan for p in traj], where="post",
                color="C3", linewidth=2, label="best at max budget")
        test = [p["incumbent_test_acc"] if p["incumbent_test_acc"] is not None else np.nan for p in traj]
        if np.isfinite(test).any():
            ax.step(x, test, where="post", color="C0", linestyle="--", label="incumbent test acc")
    ax.set_xlabel("cumulative budget (epochs)")
    ax.set_ylabel("accuracy")
    ws = "warm-started" if result.warm_start else "cold"
    ax.set_title(f"{result.optimizer} ({ws}): {result.n_jobs} jobs")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


# --------------------------------------------------------------------------- ranking


def resolve_ranking(task: Any = None, *, recommender=None, ranking: Sequence[Any] | None = None,
                    meta: MetaDataset | None = None, warm_start: bool = True, n_ranked: int = 100,
                    seed: int | None = None) -> list[dict[str, Any]]:
    """The warm-start ranking (configs best first): ``ranking`` as given, else ``recommender.recommend(task)``,
    else the average-rank portfolio of ``meta``; empty without a warm start."""
    if not warm_start:
        return []
    if ranking is not None:
        out = as_ranking(ranking)
        if not out:
            raise InvalidInputError("The 'ranking' is empty; pass configurations best first, or warm_start=False.")
        return out
    if recommender is not None:
        from hyperstar.data import Task

        if not isinstance(task, Task):
            raise InvalidInputError("A recommender ranks a Task; pass the task (or its folder) to tune.")
        return as_ranking(recommender.recommend(task, k=int(n_ranked), seed=seed))
    if meta is not None:
        from hyperstar.ranking.baselines import AverageRank

        order = AverageRank().fit(meta).order()
        return as_ranking([meta.configs[i] for i in order[: int(n_ranked)]])
    raise InvalidInputError(
        "A warm start needs a ranking: pass recommender=..., ranking=... or meta=... (average-rank portfolio), "
        "or warm_start=False."
    )


def _make_generator(optimizer: str, ranking, *, seed: int, random_fraction: float | None, adaptive, max_budget: float,
                    candidates=None, options: Mapping[str, Any] | None = None, scorer=None):
    """The config generator of an optimizer; ``options`` are extra keyword arguments of its class."""
    options = dict(options or {})
    if optimizer == "bohb":
        cls, rf = TaskAwareBOHB, (1 / 3 if random_fraction is None else random_fraction)
        options.setdefault("scorer", scorer)
    else:
        cls, rf = RankedConfigGenerator, (0.0 if random_fraction is None else random_fraction)
    if options.get("reserve_top"):
        options.setdefault("reserve_budget", float(max_budget))
    try:
        return cls(ranking, candidates=candidates, random_fraction=rf, adaptive=adaptive, seed=seed, **options)
    except TypeError as exc:
        raise InvalidInputError(f"Unknown generator option for {optimizer}: {exc}. See {cls.__name__}'s arguments.") from None


def _make_master(optimizer: str, cg, **kwargs):
    cls = _RandomSearchMaster if optimizer == "random" else _HyperBandMaster
    return cls(config_generator=cg, configspace=default_space(), **kwargs)


# --------------------------------------------------------------------------- the loop


def _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order="aggressive_first") -> None:
    if optimizer not in OPTIMIZERS:
        raise InvalidInputError(f"The 'optimizer' must be one of {', '.join(OPTIMIZERS)}. Got {optimizer!r}.")
    if bracket_order not in BRACKET_ORDERS:
        raise InvalidInputError(f"The 'bracket_order' must be one of {', '.join(BRACKET_ORDERS)}. Got {bracket_order!r}.")
    for name, value in (("min_budget", min_budget), ("max_budget", max_budget), ("eta", eta)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise InvalidInputError(f"The '{name}' must be a number. Got {value!r}.")
    if min_budget <= 0 or max_budget < min_budget:
        raise InvalidInputError(f"Budgets must satisfy 0 < min_budget <= max_budget. Got min {min_budget}, max {max_budget}.")
    if eta < 2:
        raise InvalidInputError(f"The 'eta' must be >= 2. Got {eta}.")
    if n_iterations is not None and (isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer))
                                     or n_iterations < 1):
        raise InvalidInputError(f"The 'n_iterations' must be an int >= 1. Got {n_iterations!r}.")


def _progress_printer(progress) -> Callable[[str], None] | None:
    if progress is True:
        return lambda line: (sys.stderr.write(f"hyperstar: {line}\n"), sys.stderr.flush())
    if callable(progress):
        return progress
    return None


def _run_loop(*, optimizer: str, cg, run_dir: Path, run_id: str, host: str, port: int, secret: str | None,
              min_budget: float, max_budget: float, eta: float, n_iterations: int | None, spec: WorkerSpec,
              start_workers: Callable[[str, int, Any], Any], resume: bool, ping_interval: float,
              progress, write_connection: bool, bracket_order: str = "aggressive_first") -> tuple[int, int]:
    """Nameserver, master, workers; run; always shut everything down. Returns (iterations, new jobs)."""
    say = _progress_printer(progress)
    replay_configs: dict = {}
    replay_results: dict = {}
    if resume:
        configs, results = read_log(run_dir)
        replay_configs = dict(configs)
        for config_id, budget, stamps, result, exception in results:
            replay_results.setdefault((config_id, plain_budget(budget)), (stamps, result, exception))
    counts = {"done": 0, "new": 0, "planned": 0}
    best = {"acc": None}

    def on_result(job):
        counts["done"] += 1
        if getattr(job, "replayed", False):
            return
        counts["new"] += 1
        if say is None:
            return
        if job.result is None:
            what = f"crashed ({str(job.exception).strip().splitlines()[-1] if job.exception else 'no result'})"
        else:
            info = job.result.get("info") or {}
            acc = info.get("val_acc")
            acc = 1.0 - job.result["loss"] if acc is None else acc
            if math.isclose(float(job.kwargs["budget"]), max_budget) and (best["acc"] is None or acc > best["acc"]):
                best["acc"] = acc
            what = f"val_acc {acc:.3f}" + (" (diverged)" if info.get("diverged") else "") + \
                (f" (error: {info['error']})" if info.get("error") else "")
        b = "-" if best["acc"] is None else f"{best['acc']:.3f}"
        say(f"[{counts['done']:>3}/{counts['planned']}] job {tuple(job.id)} at budget {float(job.kwargs['budget']):g}: "
            f"{what} | best at max budget {b}")

    master = pool = None

    def on_error(message):
        if master is not None:
            threading.Thread(target=master.stop, args=(message,), daemon=True).start()

    result_log = ResultLog(run_dir, resume=resume, on_result=on_result, on_error=on_error)
    with pyro_secret(secret):
        ns = NameServer(host=host, port=port)
        ns.start()
        conn_path = run_dir / CONNECTION_FILE
        try:
            with locate_nameserver(ns.host, ns.port) as proxy:
                proxy.register(spec_name(run_id), f"PYRO:hyperstar.spec@{ns.host}:{ns.port}", metadata=[spec.to_json()])
            conn = {"run_id": run_id, "host": ns.host, "port": ns.port, "secret": secret, "pid": os.getpid(),
                    "run_dir": str(run_dir), "worker_pids": []}

            def publish():
                if write_connection:
                    write_connection_file(run_dir, {**conn, "worker_pids": pool.pids() if pool else []})

            publish()
            master = _make_master(optimizer, cg, run_id=run_id, eta=eta, min_budget=min_budget,
                                  max_budget=max_budget, working_directory=str(run_dir), nameserver=ns.host,
                                  nameserver_port=ns.port, host=host, ping_interval=ping_interval,
                                  result_logger=result_log, logger=logging.getLogger("hyperstar.hpo.hpbandster"),
                                  replay_configs=replay_configs, replay_results=replay_results,
                                  bracket_order=bracket_order)
            n_iterations = n_iterations or master.max_SH_iter
            counts["planned"] = master.planned(n_iterations)[0]
            if say is not None:
                master.waiting_message = lambda: say(
                    f"waiting for workers; add some with `hyperstar worker --run-dir {run_dir}` "
                    f"(or --run-id {run_id} --nameserver {ns.host} --nameserver-port {ns.port})")
                say(f"{optimizer} run {run_id}: {counts['planned']} jobs planned in {n_iterations} iteration(s), "
                    f"nameserver {ns.host}:{ns.port}, run directory {run_dir}")
            pool = start_workers(ns.host, ns.port, publish)
            master.waiting_after = 0.0 if pool is None else 30.0
            if pool is not None:
                pool.start()
                publish()
                pool.supervise(master)
            try:
                n_local = getattr(pool, "n", 1) if pool is not None else 1
                master.run(n_iterations=n_iterations, min_n_workers=max(1, n_local), iteration_kwargs={})
            except _Stopped as exc:
                raise HyperstarError(str(exc)) from None
        finally:
            if master is not None:
                master.release_condition()
                master.shutdown(shutdown_workers=True)
            if pool is not None:
                pool.stop()
            ns.shutdown()
            if write_connection:
                conn_path.unlink(missing_ok=True)
    if resume and master is not None and master._replay_results:
        logger.warning("%d logged result(s) were not part of the resumed schedule (were the settings changed?).",
                       len(master._replay_results))
    return n_iterations, counts["new"]


def _gpu_ids(device: str) -> list[str]:
    if device not in ("auto", "cuda"):
        return []
    import torch

    if not torch.cuda.is_available():
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [v.strip() for v in visible.split(",") if v.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def _new_run_id(optimizer: str) -> str:
    return f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{optimizer}-{_secrets.token_hex(2)}"


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(plain_info(obj), indent=1) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- public entry points


def tune(
    task: Any,
    optimizer: str = "bohb",
    *,
    recommender=None,
    ranking: Sequence[Any] | None = None,
    meta: MetaDataset | str | Path | None = None,
    warm_start: bool = True,
    min_budget: float = 1,
    max_budget: int = 9,
    eta: float = 3,
    n_iterations: int | None = None,
    n_workers: int | None = None,
    worker_mode: str = "process",
    run_dir: str | Path | None = None,
    resume: bool = False,
    seed: int = 0,
    backbone: str = "smallcnn",
    weights: Any = "auto",
    resolution: int = 32,
    channels: int = 3,
    device: str = "auto",
    random_fraction: float | None = None,
    adaptive: bool = False,
    n_ranked: int = 100,
    generator_options: Mapping[str, Any] | None = None,
    bracket_order: str = "aggressive_first",
    host: str = DEFAULT_HOST,
    port: int = 0,
    secret: str | None = None,
    ping_interval: float = 5,
    max_worker_restarts: int = 3,
    progress: bool | Callable[[str], None] = False,
    plot: bool = True,
) -> TuneResult:
    """Tune fine-tuning hyperparameters of ``task`` with task-aware BOHB / Hyperband / random search.

    ``task``: an image folder (path) or a :class:`~hyperstar.data.Task`. ``optimizer``: ``"bohb"``,
    ``"hb"`` or ``"random"``. Warm start (``warm_start=True``): the ranking is ``ranking`` if given,
    else ``recommender.recommend(task)``, else the average-rank portfolio of ``meta``; HB takes
    the next ranked configuration for every new slot (``random_fraction`` mixes in random ones),
    BOHB replaces its random picks by ranked ones and its KDE learns from them, random search
    evaluates the ranking in order at the maximum budget. ``adaptive=True`` re-ranks the rest as
    results come in (needs ``meta``). ``bracket_order``: ``"aggressive_first"`` (default) is
    hpbandster's order; ``"conservative_first"`` reverses the brackets of each round, so a warm start
    trains its top-ranked configurations at the maximum budget first (a good model sooner; after a
    whole round, more regret on the stored-curve benchmarks). Budgets are epochs; ``n_iterations`` defaults to one full
    Hyperband round. ``n_workers`` worker processes (default: one per GPU, else 1; 0: none - add
    them with ``hyperstar worker``), or threads of this process with ``worker_mode="thread"``.
    ``run_dir`` (default ``hyperstar-runs/<run id>``) holds the hpbandster logs, checkpoints,
    ``trajectory.png`` and ``result.json``; ``resume=True`` continues a killed run there. ``host``:
    the address the nameserver and master bind to (loopback by default; use this machine's address
    to let workers on other machines join), ``port`` the nameserver port (0: free), ``secret`` the
    shared secret workers must present (default: a random one, written to the run directory's
    ``nameserver.json``, readable by you only). ``progress=True`` prints a line per finished job.

    Example::

        result = tune("data/train", optimizer="hb", meta="meta_data/default", max_budget=9, n_workers=2)
        print(result.incumbent, result.val_acc, result.test_acc)
    """
    from hyperstar.data import Task
    from hyperstar.meta.dataset import load_meta_dataset

    _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order)
    if isinstance(max_budget, float) and not max_budget.is_integer():
        raise InvalidInputError(f"The 'max_budget' is a number of epochs and must be whole. Got {max_budget}.")
    max_budget = int(max_budget)
    if worker_mode not in ("process", "thread"):
        raise InvalidInputError(f"The 'worker_mode' must be 'process' or 'thread'. Got {worker_mode!r}.")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 0):
        raise InvalidInputError(f"The 'n_workers' must be an int >= 0. Got {n_workers!r}.")
    if isinstance(meta, (str, Path)):
        meta_path = str(Path(meta).resolve())
        meta = load_meta_dataset(meta)
    else:
        meta_path = str(meta.path) if isinstance(meta, MetaDataset) and meta.path else None
    if adaptive and meta is None:
        raise InvalidInputError("adaptive=True re-weights meta-training tasks: pass meta=... (a meta-dataset).")

    # -- the run directory
    run_id = _new_run_id(optimizer)
    if run_dir is None:
        if resume:
            raise InvalidInputError("resume=True needs the run_dir of the run to continue.")
        run_dir = Path("hyperstar-runs") / run_id
    run_dir = Path(run_dir).resolve()
    settings_path = run_dir / RUN_FILE
    previous = None
    if resume:
        if not settings_path.is_file():
            raise InvalidInputError(f"Nothing to resume in '{run_dir}': no {RUN_FILE} (start the run without --resume).")
        previous = json.loads(settings_path.read_text())
        run_id = previous["run_id"]
    elif any((run_dir / f).exists() for f in ("results.json", "configs.json", RUN_FILE)):
        raise InvalidInputError(
            f"The run directory '{run_dir}' already holds a run. Continue it with resume=True (--resume) or choose another."
        )

    # -- the data the workers will read
    task_obj = task if isinstance(task, Task) else None
    if task_obj is None:
        if not isinstance(task, (str, Path)):
            raise InvalidInputError(f"The 'task' must be an image folder path or a Task. Got {type(task).__name__}.")
        if not Path(task).is_dir():
            raise InvalidInputError(f"Dataset folder '{task}' does not exist: expected one sub-folder per class (ImageFolder layout).")
        data, data_format = str(Path(task).resolve()), "folder"
    elif worker_mode == "process":
        if not task_obj.in_memory:
            raise InvalidInputError("A streamed Task cannot be sent to worker processes; pass its folder path instead.")
        data, data_format = str(run_dir / "task.npz"), "npz"
    else:
        data, data_format = None, "memory"
    need_task = worker_mode == "thread" or (recommender is not None and not (resume and (run_dir / RANKING_FILE).is_file()))
    if task_obj is None and need_task:
        task_obj = Task.from_folder(data, resolution=resolution, channels=channels)

    settings = {"run_id": run_id, "kind": "finetune", "optimizer": optimizer, "min_budget": float(min_budget),
                "max_budget": max_budget, "eta": float(eta), "warm_start": bool(warm_start), "seed": int(seed),
                "backbone": backbone, "weights": None if weights is None else str(weights), "resolution": resolution,
                "channels": channels, "random_fraction": random_fraction, "adaptive": bool(adaptive),
                "data": data if data_format == "folder" else data_format, "meta": meta_path,
                "generator_options": plain_info(generator_options or {}), "n_iterations": n_iterations,
                "bracket_order": bracket_order}
    if previous is not None:
        previous.setdefault("bracket_order", "aggressive_first")  # runs logged before the option existed
        changed = [k for k in _RESUME_KEYS if previous.get(k) != settings.get(k)]
        if changed:
            detail = ", ".join(f"{k}: {previous.get(k)!r} -> {settings.get(k)!r}" for k in changed)
            raise InvalidInputError(f"Cannot resume '{run_dir}' with different settings ({detail}).")

    # -- the warm-start ranking (saved, so a resumed run continues the same ranking)
    saved_ranking = resume and (run_dir / RANKING_FILE).is_file()
    if saved_ranking:
        ranked = as_ranking(json.loads((run_dir / RANKING_FILE).read_text()))
    else:
        ranked = resolve_ranking(task_obj, recommender=recommender, ranking=ranking, meta=meta,
                                 warm_start=warm_start, n_ranked=n_ranked, seed=seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    if data_format == "npz" and not Path(data).is_file():
        images = task_obj.images(np.arange(len(task_obj))).numpy()
        np.savez(data, images=images, labels=task_obj.labels, classes=np.array(task_obj.classes),
                 name=np.array(task_obj.name))
    if not saved_ranking:
        _write_json(run_dir / RANKING_FILE, ranked)
    if previous is None:
        _write_json(settings_path, settings)

    scorer = None
    if recommender is not None and optimizer == "bohb" and task_obj is not None:
        scorer = lambda configs: recommender.score(task_obj, configs)[0]
    cg = _make_generator(optimizer, ranked, seed=seed, random_fraction=random_fraction,
                         adaptive=AdaptiveRanking(meta) if adaptive else None, max_budget=max_budget,
                         options=generator_options, scorer=scorer)

    spec = WorkerSpec(kind="finetune", data=data, data_format=data_format if data_format != "memory" else "folder",
                      resolution=resolution, channels=channels, max_budget=max_budget, backbone=backbone,
                      weights=None if weights is None else str(weights), seed=seed, device=device, run_dir=str(run_dir))
    gpus = _gpu_ids(device)
    n_local = (len(gpus) or 1) if n_workers is None else n_workers
    secret = secret or os.environ.get(SECRET_ENV) or new_secret()

    def start_workers(ns_host, ns_port, publish):
        if n_local == 0:
            return None
        if worker_mode == "thread":
            def make(i):
                dev = f"cuda:{i % len(gpus)}" if gpus else device  # one worker per GPU (logical indices)
                return build_worker(spec, run_id, nameserver=ns_host, nameserver_port=ns_port, host=host,
                                    device=dev, task=task_obj, work_dir=str(run_dir), id=f"t{i}")
            return _ThreadWorkers(make, n_local)
        threads = max(1, (os.cpu_count() or 1) // n_local) if not gpus else 2
        return _ProcessWorkers(n_local, run_id=run_id, ns_host=ns_host, ns_port=ns_port, host=host, secret=secret,
                               run_dir=run_dir, gpus=gpus, threads=threads, max_restarts=max_worker_restarts,
                               on_change=publish)

    n_iter, n_new = _run_loop(optimizer=optimizer, cg=cg, run_dir=run_dir, run_id=run_id, host=host, port=port,
                              secret=secret, min_budget=min_budget, max_budget=max_budget, eta=eta,
                              n_iterations=n_iterations, spec=spec, start_workers=start_workers, resume=resume,
                              ping_interval=ping_interval, progress=progress, write_connection=True,
                              bracket_order=bracket_order)
    result = summarize(run_dir, max_budget, optimizer=optimizer, warm_start=bool(warm_start), n_new_jobs=n_new,
                       extra={"run_id": run_id, "n_iterations": n_iter, "n_ranked": len(ranked),
                              "bracket_order": bracket_order})
    _write_json(run_dir / RESULT_FILE, result.to_dict())
    if plot:
        try:
            plot_trajectory(result, run_dir / PLOT_FILE)
        except Exception as exc:  # a plot must never cost the result
            logger.warning("Could not save %s: %s", run_dir / PLOT_FILE, exc)
    return result


def run_tabular(
    meta: MetaDataset,
    task_index: int,
    optimizer: str = "hb",
    *,
    warm_start: bool = True,
    ranking: Sequence[Any] | None = None,
    adaptive: bool = False,
    seed: int = 0,
    min_budget: float = 1,
    max_budget: int | None = None,
    eta: float = 3,
    n_iterations: int | None = None,
    n_workers: int = 1,
    random_fraction: float | None = None,
    generator_options: Mapping[str, Any] | None = None,
    bracket_order: str = "aggressive_first",
    run_dir: str | Path | None = None,
    ping_interval: float = 1,
) -> TuneResult:
    """Run the real hpbandster loop on meta-dataset task ``task_index`` with :class:`TabularWorker` threads.

    Configurations come from the meta-dataset only. Warm start: ``ranking`` (configs, or indices
    into ``meta.configs``) if given, else the average-rank portfolio of the *other* tasks.
    ``adaptive=True`` re-ranks by agreement with the other tasks. Returns the trajectory; the
    ``extra`` field has the task's name and its oracle (best stored) accuracy. Takes about a second.

    Example::

        r = run_tabular(meta, 0, "hb", warm_start=True, seed=1)
        r.budget_to_reach(r.extra["oracle_val_acc"])
    """
    if not isinstance(meta, MetaDataset):
        raise InvalidInputError(f"run_tabular needs a MetaDataset. Got {type(meta).__name__}.")
    if isinstance(task_index, bool) or not isinstance(task_index, (int, np.integer)) or not 0 <= task_index < meta.n_tasks:
        raise InvalidInputError(f"The 'task_index' must be an int in [0, {meta.n_tasks - 1}]. Got {task_index!r}.")
    task_index = int(task_index)
    max_budget = meta.max_budget if max_budget is None else int(max_budget)
    _check_settings(optimizer, min_budget, max_budget, eta, n_iterations, bracket_order)
    if max_budget > meta.max_budget:
        raise InvalidInputError(f"max_budget {max_budget} is more than the meta-dataset's {meta.max_budget} epochs.")
    others = meta.subset([t for t in range(meta.n_tasks) if t != task_index]) if meta.n_tasks > 1 else None
    if ranking is not None and len(ranking) and isinstance(ranking[0], (int, np.integer)):
        ranking = [meta.configs[int(i)] for i in ranking]
    if warm_start and ranking is None and others is None:
        raise InvalidInputError("A warm start on a one-task meta-dataset needs an explicit ranking.")
    ranked = resolve_ranking(None, ranking=ranking, meta=others, warm_start=warm_start, n_ranked=meta.n_configs)
    if adaptive and others is None:
        raise InvalidInputError("adaptive=True needs other tasks in the meta-dataset.")
    cg = _make_generator(optimizer, ranked, seed=seed, random_fraction=random_fraction,
                         adaptive=AdaptiveRanking(others) if adaptive else None, max_budget=max_budget,
                         candidates=meta.configs, options=generator_options)
    spec = WorkerSpec(kind="tabular", max_budget=max_budget, seed=seed, task_index=task_index,
                      meta=str(meta.path) if meta.path else None)
    tmp = None
    if run_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="hyperstar-tabular-")
        folder = Path(tmp.name)
    else:
        folder = Path(run_dir).resolve()
        if (folder / "results.json").exists() or (folder / "configs.json").exists():
            raise InvalidInputError(f"The run directory '{folder}' already holds a run; choose another.")
        folder.mkdir(parents=True, exist_ok=True)
    run_id = f"tabular-{_secrets.token_hex(4)}"

    def start_workers(ns_host, ns_port, publish):
        return _ThreadWorkers(lambda i: build_worker(spec, run_id, nameserver=ns_host, nameserver_port=ns_port,
                                                     meta=meta, id=f"t{i}"), n_workers)

    try:
        n_iter, n_new = _run_loop(optimizer=optimizer, cg=cg, run_dir=folder, run_id=run_id, host=DEFAULT_HOST,
                                  port=0, secret=_secrets.token_hex(8), min_budget=min_budget, max_budget=max_budget,
                                  eta=eta, n_iterations=n_iterations, spec=spec, start_workers=start_workers,
                                  resume=False, ping_interval=ping_interval, progress=False, write_connection=False,
                                  bracket_order=bracket_order)
        oracle = float(np.nanmax(meta.curves[task_index, :, max_budget - 1]))
        return summarize(folder, max_budget, optimizer=optimizer, warm_start=warm_start, n_new_jobs=n_new,
                         keep_run_dir=run_dir is not None,
                         extra={"task": meta.task_names[task_index], "task_index": task_index, "oracle_val_acc": oracle,
                                "adaptive": bool(adaptive), "n_iterations": n_iter, "seed": seed,
                                "bracket_order": bracket_order})
    finally:
        if tmp is not None:
            tmp.cleanup()

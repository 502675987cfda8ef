"""hpbandster's own optimizers (Hyperband, random search) with a hyperstar config generator, at the seam.

:class:`_SeamMixin` adds to an hpbandster ``Master``: plain Python types for every configuration and
budget crossing Pyro, resume replays (logged configurations handed out again under their ids,
logged results answered from the log instead of dispatched), the bracket order option, a
``stop(reason)`` that makes ``run`` raise from another thread, and a shutdown that cannot hang.
The bracket arithmetic stays hpbandster's.

How resume works: hpbandster's schedule is deterministic given the configurations its generator
hands out and the losses it gets back. On resume the logged configurations are handed out again
under their logged ids (``(iteration, stage, index)``), and every job whose (id, budget) result is
in the log is answered from the log; hpbandster then makes the same successive-halving decisions
and continues where the killed run stopped. Only jobs without a logged result run (again), and jobs that crashed (see below).

Failures are not results. A job whose worker reports an error (``info["error"]``) is handed to
hpbandster as a crashed job (no result, the error as its exception): successive halving never
promotes it, BOHB's density model never learns from it, and it never becomes the incumbent; it stays
in ``results.json``, flagged by its exception. A job lost with its worker (killed, out of memory) is
queued again, up to :data:`MAX_REQUEUES` times per job (once per worker death); after that it is
logged as crashed, and so is a job that could not write its checkpoint on a full disk. ``--resume``
runs crashed jobs again; failed jobs (an error in the job itself, which would fail again) are kept.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from hpbandster.optimizers import HyperBand, RandomSearch

from hyperstar.space import default_space
from hyperstar.hpo.result import CRASH_PREFIX, WORKER_DIED, failure_message, job_outcome
from hyperstar.hpo.seam import plain_budget, plain_config, plain_info

logger = logging.getLogger(__name__)

#: how many times a job lost with its worker is queued again before it is logged as crashed
MAX_REQUEUES = 2

#: the order of Hyperband's brackets within a round: hpbandster's (most aggressive first: many
#: configurations at the minimum budget) or reversed (first the bracket that trains its few
#: configurations at the maximum budget, where a warm start's top picks are judged on full training).
#: On stored curves the reversed order reaches a task's best sooner in the median but ends a round with
#: more regret (benchmarks/results/hpo_tabular.md, warmstart_variants.md), so it is an option.
BRACKET_ORDERS = ("aggressive_first", "conservative_first")


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
        self.requeued: dict[tuple, int] = {}
        self.on_requeue: Callable[[object, int], None] | None = None

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

    def job_callback(self, job):
        if not getattr(job, "replayed", False) and self._requeue(job):
            return
        as_crashed(job)
        super().job_callback(job)

    def _requeue(self, job) -> bool:
        """Queue a job lost with its worker again (up to :data:`MAX_REQUEUES` times); True if it was."""
        if job.result is not None or not str(job.exception or "").startswith(WORKER_DIED) or self._stop_reason:
            return False
        key = (tuple(job.id), plain_budget(job.kwargs["budget"]))
        n = self.requeued.get(key, 0)
        if n >= MAX_REQUEUES:
            job.exception = f"{WORKER_DIED} (lost with its worker {n + 1} times; not queued again)"
            return False
        self.requeued[key] = n + 1
        logger.warning("Job %s (budget %g) was lost with its worker; queued again (%d/%d).", key[0], key[1], n + 1,
                       MAX_REQUEUES)
        if self.on_requeue is not None:
            self.on_requeue(job, n + 1)
        self.dispatcher.submit_job(job.id, config=job.kwargs["config"], budget=job.kwargs["budget"],
                                   working_directory=job.kwargs.get("working_directory", self.working_directory))
        return True

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


def as_crashed(job) -> None:
    """Turn a job whose worker reported an error into what hpbandster treats as crashed: no result, the
    error (one line) as its exception, prefixed with :data:`~hyperstar.hpo.result.CRASH_PREFIX` when a
    retry could succeed (the worker said ``retry``: a full disk). Jobs with a result are left alone."""
    if job.result is None or job_outcome(job.result, job.exception) == "ok":
        return
    retry = bool((job.result.get("info") or {}).get("retry")) if isinstance(job.result, dict) else False
    message = failure_message(job.result, job.exception)
    job.result, job.exception = None, (CRASH_PREFIX if retry else "") + message


class _HyperBandMaster(_SeamMixin, HyperBand):
    """hpbandster's Hyperband brackets with a hyperstar config generator (HB and BOHB)."""


class _RandomSearchMaster(_SeamMixin, RandomSearch):
    """hpbandster's random search schedule (everything at the maximum budget) with a hyperstar generator."""


def _make_master(optimizer: str, cg, space=None, **kwargs):
    cls = _RandomSearchMaster if optimizer == "random" else _HyperBandMaster
    return cls(config_generator=cg, configspace=space if space is not None else default_space(), **kwargs)

"""The hpbandster loop that :func:`~hyperstar.hpo.tune` and :func:`~hyperstar.hpo.run_tabular` share.

One run: a Pyro4 nameserver (with the run's secret), the run's :class:`~hyperstar.hpo.workers.WorkerSpec`
published on it, the master (:mod:`hyperstar.hpo.master`) logging to the run directory
(:mod:`hyperstar.hpo.log`), the workers (:mod:`hyperstar.hpo.pools`); everything is shut down
whatever happens. A progress line per finished job when asked.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hyperstar.exceptions import HyperstarError
from hyperstar.hpo.log import ResultLog, read_log
from hyperstar.hpo.master import MAX_REQUEUES, _make_master, _Stopped
from hyperstar.hpo.result import failure_message, job_outcome, val_acc_of
from hyperstar.hpo.seam import (
    CONNECTION_FILE,
    NameServer,
    locate_nameserver,
    plain_budget,
    pyro_secret,
    write_connection_file,
)
from hyperstar.hpo.workers import WorkerSpec, spec_name

logger = logging.getLogger(__name__)


def _progress_printer(progress) -> Callable[[str], None] | None:
    if progress is True:
        return lambda line: (sys.stderr.write(f"hyperstar: {line}\n"), sys.stderr.flush())
    if callable(progress):
        return progress
    return None


def _run_loop(*, optimizer: str, cg, run_dir: Path, run_id: str, host: str, port: int, secret: str | None,
              min_budget: float, max_budget: float, eta: float, n_iterations: int | None, spec: WorkerSpec,
              start_workers: Callable[[str, int, Any], Any], resume: bool, ping_interval: float,
              progress, write_connection: bool, bracket_order: str = "aggressive_first",
              space=None) -> tuple[int, int]:
    """Nameserver, master, workers; run; always shut everything down. Returns (iterations, new jobs)."""
    say = _progress_printer(progress)
    replay_configs: dict = {}
    replay_results: dict = {}
    if resume:
        configs, results = read_log(run_dir)
        replay_configs = dict(configs)
        for config_id, budget, stamps, result, exception in results:
            if job_outcome(result, exception) != "crashed":  # crashed jobs (a lost worker, a full disk) run again
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
        outcome = job_outcome(job.result, job.exception)
        if outcome != "ok":
            what = f"{outcome} ({failure_message(job.result, job.exception)})"
        else:
            info = job.result.get("info") or {}
            acc = val_acc_of(job.result)
            if math.isclose(float(job.kwargs["budget"]), max_budget) and (best["acc"] is None or acc > best["acc"]):
                best["acc"] = acc
            what = f"val_acc {acc:.3f}" + (" (diverged)" if info.get("diverged") else "")
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
                                  bracket_order=bracket_order, space=space)
            if say is not None:
                master.on_requeue = lambda job, n: say(
                    f"job {tuple(job.id)} at budget {float(job.kwargs['budget']):g} was lost with its worker; "
                    f"queued again ({n}/{MAX_REQUEUES})")
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

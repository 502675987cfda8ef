"""The workers ``tune`` starts itself: worker processes it supervises, or threads of its own process.

Both pools have the same small interface for the loop: ``start()``, ``pids()``, ``supervise(master)``
(restart killed processes; stop the run when none can run) and ``stop()``. Worker processes run
``hyperstar worker`` in their own session (Ctrl-C reaches only ``tune``, which shuts them down
cleanly), get the run's secret through the environment (never on the command line, where ``ps``
shows it) and one GPU each when there are several. They never take the run directory's lock: that
is the master's, held for the whole run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hyperstar.hpo.seam import SECRET_ENV

logger = logging.getLogger(__name__)

WORKERS_DIR = "workers"


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
        (run_dir / WORKERS_DIR).mkdir(parents=True, exist_ok=True)

    def _spawn(self, slot: int) -> None:
        cmd = [sys.executable, "-m", "hyperstar.cli", "--verbose", "worker", "--run-id", self.run_id,
               "--nameserver", self.ns_host, "--nameserver-port", str(self.ns_port), "--host", self.host,
               "--parent-pid", str(os.getpid()), "--threads", str(self.threads)]
        env = dict(os.environ)
        if self.secret:
            env[SECRET_ENV] = self.secret  # not on the command line, where `ps` shows it
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        log = open(self.run_dir / WORKERS_DIR / f"worker-{slot}.log", "ab")
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
        path = self.run_dir / WORKERS_DIR / f"worker-{slot}.log"
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
                    f" (logs in {self.run_dir / WORKERS_DIR})"

    def supervise(self, master) -> None:
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

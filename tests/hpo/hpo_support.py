"""Helpers of the hpo tests: a synthetic meta-dataset, the CLI in real subprocesses, the run's logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hyperstar.meta.dataset import (
    FORMAT_VERSION,
    RESULTS,
    append_record,
    load_meta_dataset,
    write_manifest,
)
from hyperstar.space import default_space, sample_configurations

TINY = ["--backbone", "smallcnn_tiny", "--weights", "none", "--resolution", "16",
        "--min-budget", "1", "--max-budget", "3", "--eta", "3"]


def make_synthetic_meta(out: Path, n_tasks: int = 6, n_configs: int = 20, max_budget: int = 3, seed: int = 0):
    """Two task families with opposite tastes: 'a' tasks like high learning rates, 'b' tasks low ones."""
    # over the space of version 1 (meta-data v1's), so its configurations are the ones the tests were
    # written for; the runs read them as version-2 configurations with the techniques off
    configs = sample_configurations(default_space(version=1), n=n_configs, seed=seed)
    tasks = [{"name": f"task{t}", "family": "a" if t % 2 == 0 else "b", "recipe": None, "descriptors": {"x": float(t)}}
             for t in range(n_tasks)]
    write_manifest(out, {"format_version": FORMAT_VERSION, "space_version": 1, "name": "synthetic", "max_budget": max_budget,
                         "backbone": "smallcnn", "tasks": tasks,
                         "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    rng = np.random.default_rng(seed)
    for t, task in enumerate(tasks):
        sign = 1.0 if task["family"] == "a" else -1.0
        for i, c in enumerate(configs):
            peak = 0.5 + 0.08 * sign * np.log10(c["lr"]) / 2 + 0.01 * rng.normal()
            curve = [peak * (0.6 + 0.4 * (e + 1) / max_budget) for e in range(max_budget)]
            append_record(out / RESULTS, {"task": task["name"], "config_id": f"c{i:04d}", "seed": 0,
                                          "val_acc": curve, "test_acc": peak - 0.01})
    return load_meta_dataset(out)


def hyperstar(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hyperstar.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"timed out; stderr:\n{err[-3000:]}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def events(run_dir: Path, kind: str) -> list[dict]:
    out = []
    for line in lines(run_dir / "worker_log.jsonl"):
        try:
            e = json.loads(line)
        except json.JSONDecodeError:  # a line being written right now
            continue
        if e["event"] == kind:
            out.append(e)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_until(condition, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


class FakeJob:
    """What hpbandster hands to ``new_result``."""

    def __init__(self, config, budget, loss, i=0):
        self.id = (0, 0, i)
        self.kwargs = {"config": config, "budget": budget}
        self.result = None if loss is None else {"loss": loss, "info": {}}
        self.exception = None


def finished_job(config, budget, loss=0.5):
    from hpbandster.core.dispatcher import Job

    job = Job((0, 0, 0), config=config, budget=budget, working_directory=".")
    job.result, job.exception = {"loss": loss, "info": {}}, None
    return job

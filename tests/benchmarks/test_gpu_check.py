"""Tests of benchmarks/gpu_check.sh: without a GPU its real mode stops with one line; --dry-run runs every step."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT, check=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_real_mode_without_a_gpu_fails_with_one_clear_line(tmp_path):
    r = _run(str(tmp_path / "out"), timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and "--dry-run" in lines[0]
    assert not (tmp_path / "out" / "summary.md").exists()


def test_unknown_option_is_refused(tmp_path):
    r = _run("--fast", timeout=60)
    assert r.returncode == 2 and "unknown option '--fast'" in r.stderr


@pytest.mark.slow  # about 1-2.5 minutes on 2 shared cores: every step of the check at tiny sizes on the CPU
def test_dry_run_runs_every_step_on_the_cpu(tmp_path):
    out = tmp_path / "check"
    r = _run("--dry-run", str(out), timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    steps = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines()[1:]]
    assert [s[0] for s in steps] == ["gpu_tests", "throughput_16px_bf16", "throughput_16px_fp32", "tune_two_workers"]
    assert all(s[1] == "0" for s in steps)
    summary = (out / "summary.md").read_text()
    assert "dry run" in summary and "smallcnn_tiny" in summary and "coordination" in summary
    for name in ("finetune_throughput_cpu_16px_bf16.json", "finetune_throughput_cpu_16px_fp32.json",
                 "tune_split_cpu.json", "tune_split_cpu.png"):
        assert (out / name).is_file(), name

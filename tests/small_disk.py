"""A real full disk for the fault tests: a small tmpfs in a private mount namespace (Linux, unshare(1))."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_on_small_disk(tmp_path: Path, script: str, *args: str | Path, size: str = "1m",
                      timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -c script DISK ARGS...`` with a ``size`` tmpfs mounted at DISK; skips the test (with the
    reason) when this machine cannot mount one."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("a small tmpfs needs Linux and unshare(1)")
    disk = tmp_path / "small_disk"
    disk.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size={size} tmpfs '{disk}'"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (unshare -rm mount: {probe.stderr.strip() or probe.returncode})")
    quoted = " ".join(f"'{a}'" for a in (disk, *args))
    command = f"mount -t tmpfs -o size={size} tmpfs '{disk}' && exec \"$0\" -c \"$1\" {quoted}"
    return subprocess.run(["unshare", "-rm", "sh", "-c", command, sys.executable, textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=timeout)

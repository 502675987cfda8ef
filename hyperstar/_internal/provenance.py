"""Where a result came from: the code version, the machine, digests of input files."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from pathlib import Path

from hyperstar._version import __version__


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """hyperstar's version plus the git commit of the checkout, when there is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
            text=True, timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"{__version__}+g{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def machine_description() -> str:
    """host | architecture | CPU count | device, for the provenance of measured results."""
    import torch

    dev = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return f"{socket.gethostname()}|{platform.machine()}|{os.cpu_count()}cpu|{dev}"


def file_digest(path: Path | str | None) -> str | None:
    """First 16 hex digits of a file's SHA-256; a torchvision weights name stands for itself."""
    if path is None:
        return None
    if isinstance(path, str) and not Path(path).exists():  # "DEFAULT", "IMAGENET1K_V1"
        return f"torchvision:{path}"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]

"""File writes that a kill, a crash or a full disk cannot leave half done.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` /
  :func:`atomic_torch_save`: write a temporary file beside the target, fsync it, rename it over the
  target. A reader sees the old file or the new one, never a mix; on any error the temporary file is
  removed and the old file is untouched.
* :func:`atomic_write_group`: several files that must change together (a model's weights and its
  description): all are written and fsync'd before any is renamed.
* :func:`append_jsonl`: one record as one complete line, in a single ``write`` then fsync.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from hyperstar._internal.convert import json_safe

def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_group(writers: Mapping[str | Path, Callable[[IO[bytes]], None]], *, mode: int | None = None) -> None:
    """Write several files so that a failure while writing (a full disk, an error) changes none of them:
    every temporary file is written and fsync'd first, then all are renamed over their targets."""
    done: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            target = Path(target)
            tmp = _tmp_path(target)
            done.append((tmp, target))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644 if mode is None else mode)
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, target in done:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in done:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for folder in {target.parent for _, target in done}:
        _fsync_dir(folder)


def _atomic_write(path: str | Path, write: Callable[[IO[bytes]], None], mode: int | None = None) -> Path:
    atomic_write_group({path: write}, mode=mode)
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (``mode``: file permissions, e.g. ``0o600`` for secrets)."""
    return _atomic_write(path, lambda fh: fh.write(data), mode)


def atomic_write_text(path: str | Path, text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = 1, mode: int | None = None,
                      sort_keys: bool = False, unknown: Callable[[Any], Any] | None = None) -> Path:
    """Write ``obj`` as strict JSON (numpy made plain, NaN/inf as ``null``) to ``path`` atomically."""
    text = json.dumps(json_safe(obj, unknown=unknown), indent=indent, sort_keys=sort_keys, allow_nan=False)
    return atomic_write_text(path, text + "\n", mode=mode)


def atomic_torch_save(path: str | Path, obj: Any) -> Path:
    """``torch.save(obj)`` to ``path`` atomically: a full disk or a kill leaves the old file or none."""
    import torch

    return _atomic_write(path, lambda fh: torch.save(obj, fh))


def jsonl_line(record: Mapping[str, Any] | Any) -> bytes:
    """One strict-JSON line (compact, ending in a newline) for ``record``."""
    return (json.dumps(json_safe(record), allow_nan=False, separators=(",", ":")) + "\n").encode()


def append_jsonl(path: str | Path, record: Mapping[str, Any] | Any) -> None:
    """Append ``record`` as one complete line: a single ``write`` and an fsync, so a kill leaves whole
    lines (a cut last line is repaired by the readers)."""
    line = jsonl_line(record)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)

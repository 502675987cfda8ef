"""File writes that a kill, a crash or a full disk cannot leave half done, and torch files read safely.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` / :func:`atomic_write_json` /
  :func:`atomic_torch_save`: write a temporary file beside the target, fsync it, rename it over the
  target. A reader sees the old file or the new one, never a mix; on any error the temporary file is
  removed and the old file is untouched.
* :func:`atomic_write_group`: several files that must change together (a model's weights and its
  description): all are written and fsync'd before any is renamed.
* :func:`append_jsonl`: one record as one complete line, in a single ``write`` then fsync.

:func:`load_torch_file` reads a torch file with ``weights_only=True`` (no code from the file runs)
and turns every way it can fail into one :class:`~hyperstar.exceptions.ModelFileError` line: empty,
not a PyTorch file, holding Python objects, truncated or damaged.

A write that fails for lack of space (``ENOSPC``/``EDQUOT`` anywhere in the error's chain, or torch's
``[enforce fail at inline_container.cc ...]`` / ``PytorchStreamWriter failed writing`` with almost nothing
free) raises :class:`~hyperstar.exceptions.DiskFullError` naming the path, the space needed and the
space free. Temporary files (``.NAME.tmpPID`` beside the target) are removed on every error, a
``KeyboardInterrupt`` included; only a process killed outright (``kill -9``) can leave one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import re
import shutil
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from hyperstar._internal.convert import json_safe
from hyperstar.exceptions import DiskFullError, ModelFileError

#: errno values that mean "no room": a full disk or an exhausted quota
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: what torch.save's C++ writer says when a write of its zip container came up short
_TORCH_WRITE_FAILURES = ("inline_container.cc", "PytorchStreamWriter failed writing", "file write failed")
#: a torch write failure with less than this free where it wrote counts as a full disk
LOW_SPACE_BYTES = 1 << 20

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


def free_bytes(folder: str | Path) -> int | None:
    """Bytes free for this user under ``folder`` (``None`` when it cannot be told)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return None


def _chain(exc: BaseException):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(seen) < 20:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def disk_full_errno(exc: BaseException, folder: str | Path | None = None) -> int | None:
    """``ENOSPC``/``EDQUOT`` when ``exc`` says the disk is full, else ``None``: an ``OSError`` with
    that errno anywhere in its chain, or torch's short-write ``RuntimeError`` while ``folder`` has
    less than :data:`LOW_SPACE_BYTES` free."""
    for e in _chain(exc):
        if isinstance(e, DiskFullError):
            return e.errno
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS:
            return e.errno
    if folder is not None and any(isinstance(e, RuntimeError) and any(m in str(e) for m in _TORCH_WRITE_FAILURES)
                                  for e in _chain(exc)):
        free = free_bytes(folder)
        if free is not None and free < LOW_SPACE_BYTES:
            return errno.ENOSPC
    return None


def estimate_torch_bytes(obj: Any) -> int:
    """About how many bytes ``torch.save(obj)`` writes: the tensors' storages plus a little per entry."""
    import torch

    seen: set[tuple[int, int]] = set()
    total, stack = 1024, [obj]
    while stack:
        x = stack.pop()
        total += 64
        if isinstance(x, torch.Tensor):
            storage = x.untyped_storage()
            key = (storage.data_ptr(), storage.nbytes())
            if key not in seen:
                seen.add(key)
                total += storage.nbytes()
        elif isinstance(x, Mapping):
            stack.extend(x.values())
            total += sum(len(str(k)) for k in x)
        elif isinstance(x, (list, tuple, set)):
            stack.extend(x)
        elif isinstance(x, (str, bytes)):
            total += len(x)
    return total


def atomic_write_group(writers: Mapping[str | Path, Callable[[IO[bytes]], None]], *, mode: int | None = None,
                       sizes: Mapping[str | Path, int] | None = None) -> None:
    """Write several files so that a failure while writing (a full disk, an error) changes none of them:
    every temporary file is written and fsync'd first, then all are renamed over their targets.

    ``sizes``: the expected size of each file, if known (for the :class:`DiskFullError` message).
    """
    done: list[tuple[Path, Path]] = []
    current: Path | None = None
    written = 0
    try:
        for target, write in writers.items():
            target = current = Path(target)
            tmp = _tmp_path(target)
            done.append((tmp, target))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644 if mode is None else mode)
            with os.fdopen(fd, "wb") as fh:
                try:
                    write(fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                finally:
                    with contextlib.suppress(OSError, ValueError):
                        written += os.fstat(fh.fileno()).st_size
        for tmp, target in done:
            os.replace(tmp, target)
    except BaseException as exc:
        for tmp, _ in done:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, Exception) and current is not None:
            code = disk_full_errno(exc, current.parent)
            if code is not None:
                hint = sum(int(v) for v in (sizes or {}).values()) or None
                needed = hint if hint and hint >= written else written or None
                raise DiskFullError(current, needed, free_bytes(current.parent), quota=code == errno.EDQUOT,
                                    at_least=needed is not None and needed == written and not hint) from exc
        raise
    for folder in {target.parent for _, target in done}:
        _fsync_dir(folder)


def _atomic_write(path: str | Path, write: Callable[[IO[bytes]], None], mode: int | None = None,
                  size: int | None = None) -> Path:
    atomic_write_group({path: write}, mode=mode, sizes=None if size is None else {path: size})
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (``mode``: file permissions, e.g. ``0o600`` for secrets)."""
    return _atomic_write(path, lambda fh: fh.write(data), mode, len(data))


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

    return _atomic_write(path, lambda fh: torch.save(obj, fh), size=estimate_torch_bytes(obj))


def jsonl_line(record: Mapping[str, Any] | Any) -> bytes:
    """One strict-JSON line (compact, ending in a newline) for ``record``."""
    return (json.dumps(json_safe(record), allow_nan=False, separators=(",", ":")) + "\n").encode()


def append_jsonl(path: str | Path, record: Mapping[str, Any] | Any) -> None:
    """Append ``record`` as one complete line: a single ``write`` and an fsync, so a kill leaves whole
    lines (a cut last line is repaired by the readers). On a full disk the part of the line that was
    written is cut off again and :class:`DiskFullError` is raised."""
    line = jsonl_line(record)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    n = 0
    try:
        n = os.write(fd, line)
        if n < len(line):  # a short write: the disk filled up within the line
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
    except OSError as exc:
        code = disk_full_errno(exc)
        if code is None:
            raise
        with contextlib.suppress(OSError):
            end = os.lseek(fd, 0, os.SEEK_CUR)
            if n and os.fstat(fd).st_size == end:  # nobody appended after our piece: cut it off
                os.ftruncate(fd, end - n)
        raise DiskFullError(path, len(line), free_bytes(Path(path).parent), quota=code == errno.EDQUOT) from exc
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading torch files

#: how torch.save's files begin: a zip archive (the format since torch 1.6) or the legacy pickle format
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"


def load_torch_file(path: str | Path, *, what: str, label: str = "", todo: str = "") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with one-line errors in the project's template.

    ``what``: the kind of file, as in "'PATH' is not {what} (...)", e.g. ``"a hyperstar model file"``;
    ``label``: a word put before the path ("Checkpoint"); ``todo``: what the user should do, appended to
    every message.
    Never suggests ``weights_only=False``: a file holding Python objects is refused, whoever wrote it.
    """
    import torch

    path = Path(path)
    name = f"{label} '{path}'" if label else f"'{path}'"
    tail = f" {todo}" if todo else ""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_LEGACY_MAGIC))
    except OSError as exc:
        raise ModelFileError(f"{name} cannot be read ({exc.strerror or type(exc).__name__}).{tail}") from None
    if not head:
        raise ModelFileError(f"{name} is not {what} (it is empty).{tail}")
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_LEGACY_MAGIC)):
        raise ModelFileError(f"{name} is not {what} (it is not a PyTorch file).{tail}")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are noise here
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise ModelFileError(
                f"{name} is not {what} (it holds Python objects, e.g. {found.group(1)}, besides "
                f"tensors; hyperstar loads tensors only and never runs code from a file).{tail}"
            ) from None
        raise ModelFileError(f"{name} is truncated or damaged (its contents cannot be decoded).{tail}") from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError, IndexError, TypeError, AttributeError,
            UnicodeDecodeError, MemoryError, OverflowError) as exc:
        # A cut zip archive ("failed finding central directory"), a cut pickle (EOFError), a bad offset ...
        reason = "it ends early" if isinstance(exc, EOFError) else "its archive is incomplete or corrupt"
        raise ModelFileError(f"{name} is truncated or damaged ({reason}).{tail}") from None

"""An exclusive lock on a folder, so that two processes cannot write the same run directory or
meta-dataset at once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hyperstar.exceptions import HyperstarError

LOCK_FILE = ".lock"


class FolderBusyError(HyperstarError, RuntimeError):
    """Another process holds the lock of a folder hyperstar was asked to write."""


@contextlib.contextmanager
def file_lock(folder: str | Path, *, what: str = "folder", timeout: float = 0.0) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (its ``.lock`` file) for the ``with`` block.

    Raises :class:`FolderBusyError` when another process holds it (after ``timeout`` seconds). The
    lock is released when the block ends or the process dies (an OS lock, not a stale PID file).
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_FILE), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusyError(
            f"The {what} '{folder}' is in use by another hyperstar process. Wait for it to finish, or use "
            "another folder."
        ) from None
    try:
        yield folder
    finally:
        lock.release()

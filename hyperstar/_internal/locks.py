"""An exclusive lock on a folder, so that two processes cannot write the same run directory or
meta-dataset at once.

The lock itself is an OS lock on ``<folder>/.lock`` (``filelock``): the OS frees it when its holder
ends, however it ends, so a lock can never be left "stale" in the sense of blocking forever. Beside
it, ``<folder>/.lock.owner`` (JSON) names the holder - pid, host, start time - so that a refusal can
say who has the folder, and a process that takes a folder over from a holder that died without
cleaning up says so (a warning naming the dead holder).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, file_lock(d, what="run directory"):
    ...     sorted(lock_owner(d))
    ['host', 'pid', 'since']
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hyperstar.exceptions import HyperstarError

__all__ = ["LOCK_FILE", "OWNER_FILE", "FolderBusyError", "file_lock", "lock_owner"]

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"
OWNER_FILE = ".lock.owner"


class FolderBusyError(HyperstarError, RuntimeError):
    """Another process holds the lock of a folder hyperstar was asked to write."""


def lock_owner(folder: str | Path) -> dict[str, Any] | None:
    """The holder recorded in ``folder``'s owner file (``{"pid", "host", "since"}``), or None."""
    try:
        owner = json.loads((Path(folder) / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _describe(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "another hyperstar process"
    since = owner.get("since")
    when = f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if isinstance(since, (int, float)) else ""
    return f"another hyperstar process (pid {owner.get('pid')} on {owner.get('host')}{when})"


@contextlib.contextmanager
def file_lock(folder: str | Path, *, what: str = "folder", timeout: float = 0.0) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (its ``.lock`` file) for the ``with`` block.

    Raises :class:`FolderBusyError` when another process holds it (after ``timeout`` seconds), naming
    that process (pid and host). The lock is released when the block ends or the process dies (an
    OS lock, not a PID file); a folder whose previous holder died is taken over with a warning.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_FILE), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusyError(
            f"The {what} '{folder}' is in use by {_describe(lock_owner(folder))}. Wait for it to finish, or use "
            "another folder."
        ) from None
    owner_path = folder / OWNER_FILE
    try:
        stale = lock_owner(folder)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        if stale and (stale.get("pid"), stale.get("host")) != (me["pid"], me["host"]):
            logger.warning("Taking over the %s '%s' from pid %s on %s, which ended without releasing it.", what,
                           folder, stale.get("pid"), stale.get("host"))
        with contextlib.suppress(OSError):  # the owner note is informative; the OS lock is what protects
            owner_path.write_text(json.dumps(me) + "\n")
    except BaseException:
        lock.release()
        raise
    try:
        yield folder
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()
        lock.release()

"""Exceptions raised by hyperstar.

Every error meant for a user says what was wrong, what was got, and what to do, in one line.
"""

from __future__ import annotations

import errno
import os
from typing import Any


class HyperstarError(Exception):
    """Base class of every error hyperstar raises on purpose."""


class InvalidInputError(HyperstarError, ValueError):
    """A user-given argument, file or folder is not what was expected."""


class DataError(InvalidInputError):
    """A dataset (folder, arrays, torchvision dataset) cannot be used as a task."""


class ConfigurationError(InvalidInputError):
    """A configuration is not valid in the search space."""


class NotFittedError(HyperstarError, RuntimeError):
    """A model was used before `fit` was called."""


class IncompatibleVersionError(InvalidInputError):
    """A saved file was written by an incompatible version of hyperstar."""




class ConfigurationWarning(UserWarning):
    """A configuration was accepted with a change (e.g. a value given for an inactive hyperparameter was dropped)."""

class ModelFileError(InvalidInputError):
    """A saved model, checkpoint or weights file is empty, truncated, damaged or not hyperstar's."""


class DiskFullError(HyperstarError, OSError):
    """A write failed because the disk (or the user's quota) is full; nothing was replaced.

    ``path``: the file being written; ``needed``: bytes the write needed (a best estimate, ``None`` when
    unknown); ``free``: bytes free there now; ``result``: what was computed and could not be saved
    (e.g. a finished :class:`~hyperstar.finetune.FineTuneResult` whose checkpoint write failed), or ``None``.
    ``errno`` is ``ENOSPC`` (``EDQUOT`` for a quota), so ``except OSError`` code keeps working.
    """

    def __init__(self, path: str | os.PathLike[str], needed: int | None, free: int | None, *,
                 quota: bool = False, at_least: bool = False, result: Any = None) -> None:
        self.path = str(path)
        self.needed = None if needed is None else int(needed)
        self.free = None if free is None else int(free)
        self.quota = bool(quota)
        self.at_least = bool(at_least)
        self.result = result
        what = "Disk quota exceeded writing" if quota else "Not enough disk space to write"
        parts = [] if self.needed is None else [f"needs {'more than' if at_least else 'about'} {format_bytes(self.needed)}"]
        parts += [] if self.free is None else [f"{format_bytes(self.free)} free"]
        detail = f" ({', '.join(parts)})" if parts else ""
        message = (f"{what} '{self.path}'{detail}. Free some space or write elsewhere, then run again; "
                   "`--resume` retries unfinished jobs.")
        super().__init__(message)
        self.errno = errno.EDQUOT if quota else errno.ENOSPC
        self.strerror = message
        self.filename = self.path

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):  # pickles across processes with its attributes (OSError's own reduce does not)
        return (_rebuild_disk_full, (self.path, self.needed, self.free, self.quota, self.at_least, self.result))


def _rebuild_disk_full(path, needed, free, quota, at_least, result) -> DiskFullError:
    return DiskFullError(path, needed, free, quota=quota, at_least=at_least, result=result)


def format_bytes(n: int) -> str:
    """A byte count for people: ``'512 bytes'``, ``'3.4 KB'``, ``'1.2 MB'``, ``'5.0 GB'`` (powers of 1000)."""
    if n < 1000:
        return f"{n} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"  # pragma: no cover

class MetaDataError(DataError):
    """A meta-dataset (its manifest or results) or a table given to import holds damaged or bad values."""

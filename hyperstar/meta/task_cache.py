"""A disk cache of built tasks, addressed by the digest of their pixels (what a build's manifest records).

Building a task of the v2 suite renders it or reads and deduplicates hundreds of package files, paid again
by every worker of every resumed build and by every benchmark run. A task whose manifest records ``images_digest`` D is stored once as ``<dir>/<D>-<resolution>.npz`` (:meth:`hyperstar.data.Task.save`:
plain arrays and JSON, no pickle) and read back from there. Addressed by content, it cannot serve other
images: a file is used only when the images it holds hash to D again (checked on every read; a file that does
not is removed and the task is built anew). It does not stand in for the recipe: ``hyperstar metadata
refresh`` always builds from the recipe, which is what tells whether a source changed. User folders are never
cached (reading them is quick, and a changed folder must be refused).

The folder is ``HYPERSTAR_TASK_CACHE_DIR`` when set (``off``: no cache), else ``$XDG_CACHE_HOME/hyperstar/tasks``
(``~/.cache/hyperstar/tasks``). Entries are a few MB a task; delete the folder to free it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cached_task", "meta_task", "remember"]

logger = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The cache folder, or None when ``HYPERSTAR_TASK_CACHE_DIR=off``."""
    env = os.environ.get("HYPERSTAR_TASK_CACHE_DIR", "").strip()
    if env.lower() in ("off", "0", "no", "none"):
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hyperstar" / "tasks"


def cached_task(recipe: Mapping[str, Any], resolution: int, digest: str | None,
                check: Callable[[Any], None] | None = None):
    """The task ``recipe`` builds at ``resolution``: from the cache when ``digest`` is known and a stored file
    hashes to it, else built (``make_task``), passed to ``check`` (which raises when the images are not the
    expected ones) and stored under ``digest``. Without a digest nothing is cached."""
    from hyperstar.data import Task
    from hyperstar.meta.builder import images_digest
    from hyperstar.suite import make_task

    # a user folder is read again every time: it is quick, and its recipe's own check (a changed folder is
    # refused) must see the files
    folder = cache_dir() if digest and recipe.get("family") != "folder" else None
    path = folder / f"{digest}-{int(resolution)}.npz" if folder is not None else None
    if path is not None and path.is_file():
        try:
            task = Task.load(path)
            if images_digest(task) == digest:
                return task
            logger.warning("Cached task %s does not hash to its name: removed, building it again.", path)
        except Exception as exc:  # a damaged file is a cache miss, never an error
            logger.warning("Cached task %s could not be read (%s): building it again.", path, exc)
        path.unlink(missing_ok=True)
    task = make_task(dict(recipe), resolution=int(resolution))
    if check is not None:
        check(task)
    if path is not None and images_digest(task) == digest:  # other images (a changed source) are not stored
        remember(task, digest)
    return task


def meta_task(meta, t: int, resolution: int | None = None):
    """Task ``t`` of a meta-dataset, built from its recipe, through the cache when the manifest records the
    digest of its images at this resolution (the build's)."""
    built_at = int(meta.manifest.get("resolution", 32))
    res = built_at if resolution is None else int(resolution)
    entry = next((e for e in meta.manifest.get("tasks", []) if e.get("name") == meta.task_names[t]), {})
    return cached_task(meta.recipes[t], res, entry.get("images_digest") if res == built_at else None)


def remember(task, digest: str) -> Path | None:
    """Store a task just built (and hashed to ``digest``) in the cache; the path, or None without a cache or
    when the disk refuses it (the caller goes on without)."""
    folder = cache_dir()
    if folder is None or not digest or not task.in_memory or str(task.source or "").endswith(":folder"):
        return None
    path = folder / f"{digest}-{int(task.resolution)}.npz"
    if path.is_file():
        return path
    try:
        return task.save(path)
    except OSError as exc:
        logger.warning("Could not store task %s in the cache (%s).", task.name, exc)
        return None

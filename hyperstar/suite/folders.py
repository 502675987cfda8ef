"""The ``folder`` task family: a user's image folder (ImageFolder layout) as a task of a meta-dataset.

:func:`folder_recipe` turns a folder (one sub-folder per class) into a :class:`TaskRecipe` that records
the folder's absolute path and a content digest of its image files (names and bytes, in sorted order).
:func:`~hyperstar.suite.make_task` reads it with hyperstar's folder reader
(:func:`hyperstar.data.readers.read_folder`, the reader of ``Task.from_folder``, with its error messages)
and first checks the digest: a folder that changed since the recipe was made is refused, so a task in a
meta-dataset always means the images it was built on. The recipe's ``params["family"]`` is the family
the task belongs to in a meta-dataset (default ``"folder"``), so that a leave-one-family-out evaluation
can treat a user's kind of data as one family.

Example::

    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from hyperstar.suite import make_task
    >>> root = Path(tempfile.mkdtemp()) / "leaves"
    >>> for k, cls in enumerate(["oak", "elm"]):
    ...     (root / cls).mkdir(parents=True)
    ...     for i in range(5):
    ...         Image.fromarray(np.full((8, 8), 40 * k + i, np.uint8)).save(root / cls / f"{i}.png")
    >>> recipe = folder_recipe(root, family="trees")
    >>> recipe.name, recipe.params["family"], recipe.params["n_files"]
    ('trees-leaves', 'trees', 10)
    >>> make_task(recipe, resolution=16).n_classes
    2
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.suite._core import TaskRecipe, list_families, register_family

__all__ = ["FOLDER_FAMILY", "folder_recipe", "folder_digest", "meta_family", "is_folder_recipe"]

#: the registered family of folder tasks, and the meta-data family they get unless told another
FOLDER_FAMILY = "folder"
_PARAMS = ("path", "digest", "n_files", "family")
_FAMILY_OK = re.compile(r"^[a-z][a-z0-9_]*$")
_CHUNK = 1 << 20


def _image_files(root: Path) -> list[str]:
    """The image files the folder reader reads: in class sub-folders, not hidden, with an image
    extension (relative POSIX paths, sorted)."""
    from hyperstar.data.readers import IMAGE_EXTENSIONS

    files = []
    for d in root.iterdir():
        if not d.is_dir() or d.name.startswith("."):
            continue
        for f in d.rglob("*"):
            rel = f.relative_to(root)
            if (f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file()
                    and not any(part.startswith(".") for part in f.relative_to(d).parts)):
                files.append(rel.as_posix())
    return sorted(files)


def folder_digest(path: str | Path) -> tuple[str, int]:
    """``("sha256:<hex>", n_files)``: a digest of the folder's image files, names and bytes, in sorted order.

    Renaming, adding, removing or editing an image changes it; other files (a README) do not.
    """
    root = Path(path)
    h = hashlib.sha256()
    files = _image_files(root)
    for rel in files:
        data = (root / rel).stat().st_size
        h.update(rel.encode("utf-8") + b"\0" + data.to_bytes(8, "little"))
        with open(root / rel, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                h.update(block)
    return "sha256:" + h.hexdigest(), len(files)


def _check_family(family: Any) -> str:
    if not isinstance(family, str) or not _FAMILY_OK.match(family):
        raise InvalidInputError(
            "The family name of a folder task must be a lower-case identifier ([a-z][a-z0-9_]*), e.g. "
            f"'xray' or 'folder'. Got {family!r}."
        )
    if family != FOLDER_FAMILY and family in list_families():
        raise InvalidInputError(
            f"The family name {family!r} of a folder task is a built-in task family of hyperstar's suite; give "
            "your data a name of its own (e.g. 'my_photos'), or the default 'folder'."
        )
    return family


def _task_name(family: str, root: Path) -> str:
    slug = re.sub(r"[^A-Za-z0-9._+-]", "_", root.name) or "root"
    return f"{family}-{slug}"


def folder_recipe(path: str | Path, family: str = FOLDER_FAMILY, name: str | None = None) -> TaskRecipe:
    """The recipe of an image folder (ImageFolder layout: one sub-folder per class) as a task.

    Records the absolute path, the content digest (:func:`folder_digest`), the number of image files and
    ``family``, the task's family in a meta-dataset. ``name`` defaults to ``<family>-<folder name>``. The
    folder is read once here (with hyperstar's folder reader, at a small size), so a folder in the wrong
    layout is refused now with the reader's message, not in the middle of a build.
    """
    family = _check_family(family)
    root = Path(path).expanduser()
    from hyperstar.data.readers import read_folder

    read_folder(root, 8, 3, None, 0, False)  # the layout checks and messages of Task.from_folder; reads no pixels
    root = root.resolve()
    digest, n_files = folder_digest(root)
    if name is not None and (not isinstance(name, str) or not name):
        raise InvalidInputError(f"The 'name' argument of folder_recipe must be a non-empty str. Got {name!r}.")
    params = {"path": str(root), "digest": digest, "n_files": n_files, "family": family}
    return TaskRecipe(FOLDER_FAMILY, params, seed=0, name=name or _task_name(family, root))


def is_folder_recipe(recipe: Any) -> bool:
    """Whether ``recipe`` (a TaskRecipe or its dict) is a folder task."""
    fam = recipe.family if isinstance(recipe, TaskRecipe) else (recipe or {}).get("family")
    return fam == FOLDER_FAMILY


def meta_family(recipe: Any) -> str:
    """The family a task of ``recipe`` belongs to in a meta-dataset: the recipe's family, or for a folder task
    the family name it was given."""
    if isinstance(recipe, TaskRecipe):
        recipe = recipe.to_dict()
    if is_folder_recipe(recipe):
        return str((recipe.get("params") or {}).get("family") or FOLDER_FAMILY)
    return str(recipe["family"])


@register_family(FOLDER_FAMILY)
def folder_family(params: dict, rng: np.random.Generator, *, resolution: int = 32):
    """Images and labels of a folder recipe, after checking that the folder still has the recorded content."""
    missing = [k for k in _PARAMS if k not in params]
    unknown = sorted(set(params) - set(_PARAMS))
    if missing or unknown:
        raise InvalidInputError(
            f"A '{FOLDER_FAMILY}' recipe needs exactly the parameters {', '.join(_PARAMS)}. Got "
            f"{sorted(params)}; make it with hyperstar.suite.folder_recipe(path)."
        )
    root = Path(params["path"])
    if not root.is_dir():
        raise DataError(
            f"The folder '{root}' of this folder task does not exist any more (or is not a folder). Restore it at "
            "that path to rebuild the task; the recipe records its absolute path and content digest."
        )
    digest, n_files = folder_digest(root)
    if digest != params["digest"]:
        raise DataError(
            f"The folder '{root}' changed since its recipe was made: its image files now have the content digest "
            f"{digest[:19]}... ({n_files} files), the recipe recorded {str(params['digest'])[:19]}... "
            f"({params['n_files']} files). Restore the folder as it was, or build meta-data on the new content "
            "in another --out folder."
        )
    from hyperstar.data.readers import read_folder

    parts = read_folder(root, int(resolution), 3, None, 1 << 62, False)
    data = parts["data"].numpy()  # uint8 [N, 3, r, r]
    gray = np.asarray(parts.get("native_gray"), dtype=bool)
    images = np.ascontiguousarray(data[:, 0]) if gray.size and gray.all() else np.ascontiguousarray(
        data.transpose(0, 2, 3, 1))
    return images, np.asarray(parts["labels"], dtype=np.int64), list(parts["classes"])

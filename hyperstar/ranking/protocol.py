"""The one interface every ranking of configurations offers: :class:`Ranker`.

``fit(meta) -> self`` learns from a meta-dataset; ``rank(task, candidates=None, k=10)`` returns up to
``k`` configurations (plain dicts) for ``task``, best first. ``task`` is what the ranker can use: a
:class:`~hyperstar.data.Task` (images), a dict of descriptors (a task known only by its
meta-features, e.g. ``{"n_images": 900, "n_classes": 6}``), or ``None`` for rankers that ignore the
task (the portfolio). ``candidates``: the configurations to choose from (default: the ranker's own,
usually the meta-dataset's). The :class:`~hyperstar.ranking.Recommender` and every baseline follow
it, and :func:`~hyperstar.hpo.tune` / :func:`~hyperstar.hpo.optimize` take any of them as ``ranker=``.

    >>> from hyperstar.meta.dataset import load_meta_dataset
    >>> from hyperstar._internal.paths import meta_data_dir
    >>> from hyperstar.ranking import AverageRank, NearestNeighbors
    >>> meta = load_meta_dataset(meta_data_dir() / "default")
    >>> isinstance(AverageRank(), Ranker), len(AverageRank().fit(meta).rank(None, k=3))
    (True, 3)
    >>> top = NearestNeighbors().fit(meta).rank({"n_classes": 10, "n_images": 600}, k=1)[0]
    >>> top in meta.configs
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hyperstar._internal.convert import as_float
from hyperstar.exceptions import InvalidInputError

__all__ = ["Ranker", "descriptor_vector"]


@runtime_checkable
class Ranker(Protocol):
    """``fit(meta)`` then ``rank(task, candidates=None, k=10)`` -> configurations, best first."""

    def fit(self, meta: Any) -> Any: ...

    def rank(self, task: Any, candidates: Sequence[Mapping[str, Any]] | None = None,
             k: int = 10) -> list[dict[str, Any]]: ...


def descriptor_vector(task: Any, names: Sequence[str]) -> np.ndarray | None:
    """The meta-features ``names`` of ``task`` (a Task: its :meth:`describe`; a dict: its values; missing
    ones NaN), or None for ``task=None``."""
    if task is None:
        return None
    if isinstance(task, Mapping):
        values = task
    elif hasattr(task, "describe"):
        values = task.describe()
    else:
        raise InvalidInputError(
            f"A task to rank is a Task, a dict of descriptors, or None. Got {type(task).__name__}."
        )
    return np.array([as_float(values.get(n)) for n in names], dtype=float)

"""STILTs (Phang et al. 2018, "Sentence Encoders on STILTs"): intermediate-task fine-tuning. Fine-tune first on
an intermediate labelled task, then on the target, starting from the body the first stage left.

The intermediate task is one of the meta-data's known tasks, rebuilt from its recipe
(:func:`hyperstar.suite.make_task`) at the target's resolution: by default the one the recommender finds
most similar to the target (:meth:`~hyperstar.ranking.Recommender.similar_tasks`; the shipped recommender and
meta-data unless given) among those whose stage costs at most a third of the horizon (:data:`AUTO_COST_SHARE`),
or one named by the caller.

**Budget.** ``budget`` counts both stages in target epochs: the intermediate stage's cost is the images it
trains on, in epochs of the target's training split, rounded up (``cost_epochs``), and the target stage trains
the rest (``budget - cost_epochs`` epochs, with the schedule's horizon ``max_budget - cost_epochs``). The first
stage does not depend on the budget, so a run to budget ``b`` is still the first ``b - cost_epochs`` target
epochs of the run to the horizon.

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> from hyperstar.suite import tiny_suite, make_task
    >>> recipe = tiny_suite()[0].to_dict()
    >>> target = make_task(tiny_suite()[1].to_dict(), resolution=16)
    >>> r = fine_tune_stilts(target, {"lr": 0.05}, budget=4, intermediate=recipe, intermediate_epochs=1,
    ...                      backbone="smallcnn_tiny", weights=None, device="cpu")
    >>> s = r.extra["stilts"]
    >>> s["intermediate"] == recipe["name"], s["cost_epochs"] + s["target_epochs"] == 4, len(r.curve) == s["target_epochs"]
    (True, True, True)
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hyperstar._internal.validation import check_int
from hyperstar.exceptions import InvalidInputError

__all__ = ["choose_intermediate", "fine_tune_stilts", "AUTO_COST_SHARE"]

#: ``intermediate="auto"`` only considers known tasks whose stage costs at most this share of the horizon
AUTO_COST_SHARE = 1 / 3
#: the share of a known task's images its training split holds (the meta-data's 20% / 20% split)
AUTO_TRAIN_SHARE = 0.6


def choose_intermediate(task, recommender=None, meta=None, exclude: Sequence[str] = (),
                        max_images: float | None = None) -> tuple[dict[str, Any], float]:
    """``(recipe, similarity)`` of the known task the recommender finds most similar to ``task`` among those of
    ``meta`` with a recipe that builds here (a family read from Debian packages needs them installed, at the
    versions the recipe pins), leaving out the names in ``exclude`` (e.g. the target itself when it is known) and,
    with ``max_images``, tasks with more images than that (their ``n_images`` descriptor)."""
    from hyperstar.meta import load_meta_dataset
    from hyperstar.ranking import Recommender
    from hyperstar.suite.packaged import builds_here

    recommender = recommender if recommender is not None else Recommender.default()
    meta = meta if meta is not None else load_meta_dataset()
    sizes = dict(zip(meta.task_names, meta.descriptors[:, meta.descriptor_names.index("n_images")]
                     if "n_images" in meta.descriptor_names else [0] * meta.n_tasks))
    recipes = {n: r for n, r in zip(meta.task_names, meta.recipes) if r is not None and n not in set(exclude)
               and (max_images is None or sizes[n] <= max_images) and builds_here(r)}
    if not recipes:
        raise InvalidInputError("No known task with a recipe to fine-tune on first: the meta-data has only imported "
                                "tasks, or all are excluded, too large for the budget or read from Debian packages "
                                "not installed here. Name an intermediate task, or raise max_budget.")
    for name, sim in recommender.similar_tasks(task, k=len(recommender.task_names_)):
        if name in recipes:
            return dict(recipes[name]), float(sim)
    raise InvalidInputError("The recommender knows none of the meta-data's tasks with a recipe; pass meta= of the "
                            "meta-data it was fitted on, or name the intermediate task.")


def _intermediate_task(intermediate, task, recommender, meta, exclude, max_images=None):
    from hyperstar.data import Task
    from hyperstar.suite import make_task

    if isinstance(intermediate, Task):
        return intermediate, intermediate.name, None
    if intermediate == "auto":
        recipe, sim = choose_intermediate(task, recommender, meta, exclude, max_images)
    elif isinstance(intermediate, str):
        from hyperstar.meta import load_meta_dataset

        meta = meta if meta is not None else load_meta_dataset()
        i = meta.task_index(intermediate)
        if meta.recipes[i] is None:
            raise InvalidInputError(f"The known task {intermediate!r} has no recipe (it was imported); its images "
                                    "cannot be rebuilt. Name a task of the suite.")
        recipe, sim = dict(meta.recipes[i]), None
    elif isinstance(intermediate, Mapping):
        recipe, sim = dict(intermediate), None
    else:
        raise InvalidInputError(f"The 'intermediate' argument of fine_tune_stilts must be 'auto', a known task's name, "
                                f"a recipe or a Task. Got {type(intermediate).__name__}.")
    return make_task(recipe, resolution=task.resolution), recipe.get("name", "recipe"), sim


def fine_tune_stilts(task, config: Mapping[str, Any] | None = None, budget: int = 1, *, max_budget: int | None = None,
                     intermediate: Any = "auto", intermediate_epochs: int = 2,
                     intermediate_config: Mapping[str, Any] | None = None, recommender=None, meta=None,
                     exclude: Sequence[str] = (), backbone: str = "smallcnn", weights: Any = "auto", seed: int = 0,
                     device: str = "auto", **kwargs: Any):
    """Fine-tune on the intermediate task for ``intermediate_epochs`` epochs (with ``intermediate_config``,
    default ``config``), then on ``task`` from that body; ``budget`` and ``max_budget`` count both stages (see
    the module's notes). Other keyword arguments go to the target stage's
    :func:`~hyperstar.finetune.fine_tune`. Returns the target stage's result; ``result.extra["stilts"]``
    says what the first stage was and cost, and ``wall_time`` covers both stages."""
    from hyperstar.finetune import fine_tune
    from hyperstar.finetune.checkpoint import load_checkpoint

    where = "fine_tune_stilts"
    budget = check_int(budget, "budget", where, 1)
    max_budget = budget if max_budget is None else check_int(max_budget, "max_budget", where, 1)
    intermediate_epochs = check_int(intermediate_epochs, "intermediate_epochs", where, 1, 10_000)
    n_target = len(kwargs["split"].train) if kwargs.get("split") is not None else len(task.split(seed=kwargs.get(
        "split_seed", 0)).train)
    # "auto" picks among the known tasks whose stage fits in a third of the horizon (never of the budget, so
    # that every budget of one horizon picks the same task): all its images, of which about 60% train
    max_images = max_budget * AUTO_COST_SHARE * n_target / intermediate_epochs / AUTO_TRAIN_SHARE
    first_task, name, sim = _intermediate_task(intermediate, task, recommender, meta, exclude, max_images)
    if first_task.channels != task.channels:
        raise InvalidInputError(f"The intermediate task {name!r} has {first_task.channels} channel(s), the target "
                                f"{task.channels}: load the target with 3 channels (--channels 3).")
    first_split = first_task.split(seed=0)
    cost = math.ceil(intermediate_epochs * len(first_split.train) / max(n_target, 1) - 1e-9)
    if budget - cost < 1 or max_budget - cost < 1:
        raise InvalidInputError(
            f"The intermediate stage ({intermediate_epochs} epoch(s) of {len(first_split.train)} images on {name!r}) "
            f"costs {cost} target epoch(s) of {n_target} images, leaving nothing of budget {budget} (horizon "
            f"{max_budget}). Raise the budget or lower intermediate_epochs.")
    with tempfile.TemporaryDirectory(prefix="hyperstar-stilts-") as folder:
        saved = Path(folder) / "intermediate.pt"
        first = fine_tune(first_task, dict(intermediate_config if intermediate_config is not None else (config or {})),
                          budget=intermediate_epochs, backbone=backbone, weights=weights, seed=seed, split=first_split,
                          device=device, wise_ft=False, threads=kwargs.get("threads"), checkpoint_path=saved)
        if first.diverged:
            raise InvalidInputError(f"The intermediate stage on {name!r} diverged; use a smaller learning rate for "
                                    "it (intermediate_config).")
        body = {k: v for k, v in load_checkpoint(saved).model.items() if k.startswith("body.")}
    result = fine_tune(task, config, budget=budget - cost, max_budget=max_budget - cost, backbone=backbone,
                       weights=body, seed=seed, device=device, **kwargs)
    result.wall_time += first.wall_time
    result.extra["stilts"] = {"intermediate": name, "similarity": sim, "intermediate_epochs": intermediate_epochs,
                              "intermediate_images": len(first_split.train), "cost_epochs": cost,
                              "target_epochs": budget - cost, "budget": budget, "max_budget": max_budget,
                              "intermediate_val_acc": first.val_acc, "intermediate_wall_time": first.wall_time}
    return result

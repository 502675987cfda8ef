"""What :func:`~hyperstar.hpo.tune` checks before it starts a worker, and what a resume must find unchanged.

* :func:`check_finetune_setup`: the device, the data (enough images per class for the split), the
  backbone and its weights are checked in the master, with the messages ``fine_tune`` gives, so a
  setup that would fail every job fails once, before any worker or run directory exists.
* :func:`planned_jobs`: the number of jobs a Hyperband schedule plans (hpbandster's formula), so a
  budget range that would plan millions of jobs is refused with a number instead of hanging.
* :func:`data_fingerprint`: the class names, image count and a digest of the images (for a folder:
  its files' names and sizes), recorded in ``run.json``; ``--resume`` on other data is refused.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from hyperstar.exceptions import InvalidInputError

__all__ = ["check_finetune_setup", "planned_jobs", "data_fingerprint", "compare_fingerprints", "MAX_PLANNED_JOBS"]

#: the most jobs one ``tune`` may plan (a typo such as ``--max-budget 1e9`` plans hundreds of millions)
MAX_PLANNED_JOBS = 100_000


def planned_jobs(min_budget: float, max_budget: float, eta: float, n_iterations: int | None = None,
                 optimizer: str = "hb") -> int:
    """Jobs of ``n_iterations`` Hyperband brackets (default: one full round), as hpbandster plans them.

        >>> planned_jobs(1, 9, 3), planned_jobs(1, 9, 3, optimizer="random")
        (20, 9)
    """
    max_sh_iter = -int(np.log(min_budget / max_budget) / np.log(eta)) + 1
    n_iterations = max_sh_iter if n_iterations is None else int(n_iterations)
    if optimizer == "random":  # hpbandster's random search: one Hyperband round's budget at the maximum budget
        budgets = max_budget * np.power(eta, -np.linspace(max_sh_iter - 1, 0, max_sh_iter))
        per_iteration = sum(b * eta ** i for i, b in enumerate(budgets[::-1]))
        return n_iterations * int(per_iteration // max_budget)
    total = 0
    for i in range(n_iterations):
        s = max_sh_iter - 1 - (i % max_sh_iter)
        n0 = int(np.floor(max_sh_iter / (s + 1)) * eta ** s)
        total += sum(max(int(n0 * eta ** (-k)), 1) for k in range(s + 1))
        if total > MAX_PLANNED_JOBS:
            break
    return total


def check_plan(min_budget: float, max_budget: float, eta: float, n_iterations: int | None, optimizer: str,
               where: str = "tune") -> int:
    """:func:`planned_jobs`, refused with one line above :data:`MAX_PLANNED_JOBS`."""
    n = planned_jobs(min_budget, max_budget, eta, n_iterations, optimizer)
    if n > MAX_PLANNED_JOBS:
        raise InvalidInputError(
            f"The budgets of {where} (min {min_budget:g}, max {max_budget:g}, eta {eta:g}"
            f"{'' if n_iterations is None else f', {n_iterations} iterations'}) plan more than {MAX_PLANNED_JOBS} "
            "jobs. Budgets are epochs: lower max_budget, or raise min_budget or eta."
        )
    return n


def check_finetune_setup(task, *, backbone: str, weights: Any, device: str, seed: int = 0, split_seed: int = 0) -> None:
    """Raise what every job of a fine-tuning run would raise: a bad device, too few images per class, an
    unknown backbone or unusable weights (missing, truncated, not a state dict). ``task``: a loaded Task."""
    from hyperstar._internal.device import resolve_device
    from hyperstar._internal.paths import resolve_weights
    from hyperstar.models import create_backbone, list_backbones
    from hyperstar.models.adapters import is_adapted

    resolve_device(device)
    if backbone not in list_backbones() and not is_adapted(backbone):  # before resolving its weights (a warning)
        create_backbone(backbone)  # raises the registry's "Unknown backbone ... Available: ..." error
    task.split(seed=split_seed)
    import torch

    from hyperstar.finetune.engine import MODEL_INIT_LOCK

    with MODEL_INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        create_backbone(backbone, num_classes=task.n_classes, weights=resolve_weights(backbone, weights, check=True),
                        in_channels=task.channels)


def _folder_digest(folder: Path) -> tuple[list[str], int, str]:
    from hyperstar.data import IMAGE_EXTENSIONS

    h = hashlib.sha256()
    classes, n = [], 0
    for entry in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        classes.append(entry.name)
        for root, dirs, files in os.walk(entry):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                path = Path(root) / name
                h.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\n".encode())
                n += 1
    return classes, n, h.hexdigest()[:16]


def data_fingerprint(task: Any) -> dict[str, Any]:
    """``{"classes", "n_images", "digest"}`` of an image folder (path) or a Task."""
    if isinstance(task, (str, Path)):
        classes, n, digest = _folder_digest(Path(task))
        return {"classes": classes, "n_images": n, "digest": digest}
    h = hashlib.sha256(np.ascontiguousarray(task.labels).tobytes())
    if task.in_memory:
        h.update(np.ascontiguousarray(task.images(np.arange(len(task))).numpy()).tobytes())
    return {"classes": [str(c) for c in task.classes], "n_images": int(len(task)), "digest": h.hexdigest()[:16]}


def compare_fingerprints(previous: dict[str, Any] | None, now: dict[str, Any], run_dir: Path) -> None:
    """Refuse to resume ``run_dir`` on data other than the run's (runs logged before fingerprints: no check)."""
    if not previous:
        return
    what = None
    if previous.get("classes") != now["classes"]:
        before, after = previous.get("classes") or [], now["classes"]
        what = (f"{len(before)} classes -> {len(after)}" if len(before) != len(after)
                else f"class names {before[:5]} -> {after[:5]}")
    elif previous.get("n_images") != now["n_images"]:
        what = f"{previous.get('n_images')} images -> {now['n_images']}"
    elif previous.get("digest") != now["digest"]:
        what = "the same number of images, but other files"
    if what is not None:
        raise InvalidInputError(
            f"Cannot resume '{run_dir}' on other data ({what}): its finished jobs were trained on the run's "
            "original images. Resume with those, or start a new run."
        )

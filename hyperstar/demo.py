"""The demo behind ``hyperstar demo``: recommend for a shipped task the recommender never saw, tune it.

:func:`run_demo` loads the shipped recommender and meta-dataset, picks a held-out task, ranks
configurations for it before any training, runs task-aware BOHB on it with real fine-tuning, writes
``recommendations.json``, ``demo.json`` and the run (hpbandster's logs, ``trajectory.png``) to the
output folder, and returns a :class:`DemoReport` with everything it found. It prints nothing: the
``on_stage`` callback hears of each stage as it ends (the command line prints from it).

Example (about a minute on 2 CPU cores)::

    from hyperstar.demo import run_demo

    report = run_demo(out="hyperstar-demo", iterations=1, max_budget=3, top=3)
    print(report.task, report.recommendations[0]["config"], report.result.val_acc)
    print(report.summary()["meta_data_context"])
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the demo's default task in meta-data v1: held out of the shipped recommender's training, fine-tunes in a few
#: seconds, and the common-practice default configuration is far from the best one on it (0.53 vs 0.77 val acc).
#: A shipped meta-dataset without it demos on the recommender's first held-out task that needs no Debian package.
DEMO_TASK = "glyphs-digits-all-10c-100s-hard-color"
#: the file that marks a folder as the demo's own (only such a folder is ever replaced)
DEMO_MARKER = ".hyperstar-demo"
ETA = 3

#: the stages ``on_stage`` hears of, in order
STAGES = ("loading", "building", "task", "recommended", "tuning", "done")


@dataclass
class DemoReport:
    """What a demo run did and found. ``note`` is ``None`` for a held-out task, else why the ranking is
    not a test on unseen data; ``recommendations`` are ``Recommendation.to_dict()`` rows plus
    ``meta_data`` (what that configuration reached on the task in the meta-data, or ``None``);
    ``context`` the meta-data's accuracies of the common-practice default and of the best stored
    configuration; ``incumbent_source`` the generator's note on where the incumbent came from."""

    out: Path
    started: float
    task: str = ""
    note: str | None = None
    family: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    n_images: int = 0
    n_classes: int = 0
    resolution: int = 0
    meta_max_budget: int = 0
    n_stored: int = 0
    top: int = 0
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    similar_tasks: list[tuple[str, float]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    incumbent_source: dict[str, Any] = field(default_factory=dict)
    default_config: dict[str, Any] | None = None
    context: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_time_s: float = 0.0

    @property
    def held_out(self) -> bool:
        return self.note is None

    @property
    def run_dir(self) -> Path:
        return self.out / "run"

    @property
    def plot(self) -> Path:
        return self.run_dir / "trajectory.png"

    def summary(self) -> dict[str, Any]:
        """The content of ``demo.json``."""
        return {"task": self.task, "held_out": self.held_out, "wall_time_s": round(self.wall_time_s, 1),
                "settings": self.settings,
                "result": None if self.result is None else self.result.to_dict(trajectory=False),
                "meta_data_context": self.context}


def pick_task(requested: str | None, meta, rec) -> tuple[str, str | None]:
    """The task to demo on, and a note when the recommender has seen it in training.

    Without ``requested``: :data:`DEMO_TASK` when the recommender holds it out, else its first held-out task that
    builds without Debian packages (so that the demo runs on a fresh machine), else its first held-out task; with
    no held-out task, the first task (that builds without Debian packages, if one does).
    """
    from hyperstar.exceptions import InvalidInputError
    from hyperstar.suite.packaged import reads_debian_packages

    holdout = [t for t in rec.holdout_tasks_ if t in meta.task_names]
    if requested is None:
        if DEMO_TASK in holdout:
            return DEMO_TASK, None
        recipes = dict(zip(meta.task_names, meta.recipes))
        buildable = [t for t in holdout if not reads_debian_packages(recipes[t])]
        if holdout:
            return (buildable or holdout)[0], None
        first = next((t for t in meta.task_names if not reads_debian_packages(recipes[t])), meta.task_names[0])
        return first, "the recommender has no held-out tasks, so this one was seen in training"
    if requested not in meta.task_names:
        raise InvalidInputError(
            f"Unknown demo task {requested!r}. Choose a shipped task: one the recommender was not trained on "
            f"({', '.join(holdout) or 'none'}), or any task of `hyperstar metadata tasks`."
        )
    if requested in holdout:
        return requested, None
    return requested, ("the shipped recommender was trained on this task, so its ranking here is not a test on "
                       f"unseen data (held-out tasks: {', '.join(holdout) or 'none'})")


def prepare_out_dir(out: str | Path) -> Path:
    """Create (or reuse a previous demo's) output folder; never touch a folder the demo did not make."""
    import shutil

    from hyperstar._internal.io import atomic_write_text
    from hyperstar.exceptions import InvalidInputError

    folder = Path(out).resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"The demo's output '{folder}' is a file; pass --out with a folder.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / DEMO_MARKER).is_file():
        raise InvalidInputError(
            f"The folder '{folder}' already exists and was not written by `hyperstar demo`; pass another --out."
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / DEMO_MARKER, "written by `hyperstar demo`; the next demo run with this --out replaces it\n")
    if (folder / "run").exists():  # a previous demo's run: replaced
        shutil.rmtree(folder / "run")
    return folder


def _stored(meta, ti: int, keys: list[str], config) -> dict[str, Any] | None:
    """What ``config`` reached on task ``ti`` in the meta-data (``None``: not one of its configurations)."""
    import numpy as np

    from hyperstar.space import config_key

    key = config_key(config)
    if key not in keys:
        return None
    final = meta.final_acc[ti]
    j = keys.index(key)
    val = float(final[j])
    return {"val_acc": val, "test_acc": float(meta.test_acc[ti, j]),
            "rank": int(np.sum(final[np.isfinite(final)] > val)) + 1, "of": int(np.isfinite(final).sum())}


def _context(report: DemoReport, meta, ti: int, keys: list[str]) -> None:
    """The meta-data's accuracies of the common-practice default and of the best stored configuration."""
    import numpy as np

    final = meta.final_acc[ti]
    j = meta.default_index  # the default of the meta-data's own space version
    if j is not None:
        report.context["default"] = {"val_acc": float(final[j]), "test_acc": float(meta.test_acc[ti, j])}
        report.default_config = dict(meta.configs[j])
    if report.n_stored:
        j = int(np.nanargmax(final))
        report.context["best_stored"] = {"val_acc": float(final[j]), "test_acc": float(meta.test_acc[ti, j])}


def run_demo(task: str | None = None, out: str | Path = "hyperstar-demo", *, top: int = 5, iterations: int = 9,
             min_budget: float = 1, max_budget: int = 9, workers: int = 2, seed: int = 0,
             on_stage: Callable[[str, DemoReport], None] | None = None,
             on_job: Callable[[str], None] | None = None) -> DemoReport:
    """Run the demo on the shipped task ``task`` (default: see :func:`pick_task`) and write it to ``out``.

    ``on_stage(stage, report)`` is called as each of :data:`STAGES` ends (``"loading"`` and
    ``"building"`` as they begin); ``on_job(line)`` with tune's line per finished job. Raises
    :class:`~hyperstar.exceptions.InvalidInputError` for an unknown task or an ``out`` folder the demo
    did not write (before anything is written).
    """
    import numpy as np

    from hyperstar._internal.io import atomic_write_json
    from hyperstar.hpo import read_log, tune
    from hyperstar.meta import load_meta_dataset
    from hyperstar.ranking import Recommender
    from hyperstar.space import config_key
    from hyperstar.meta.task_cache import meta_task

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name, report)

    report = DemoReport(out=Path(out).resolve(), started=time.time())
    stage("loading")
    rec = Recommender.default()
    meta = load_meta_dataset()
    report.task, report.note = pick_task(task, meta, rec)
    report.out = prepare_out_dir(out)
    ti = meta.task_names.index(report.task)
    recipe = meta.recipes[ti]
    report.resolution = int(meta.manifest.get("resolution", 32))
    report.meta_max_budget = meta.max_budget
    stage("building")
    task_obj = meta_task(meta, ti, report.resolution)  # from the task cache after the first demo
    report.family, report.params = meta.families[ti], dict((recipe or {}).get("params", {}))
    report.n_images, report.n_classes = len(task_obj), task_obj.n_classes
    stage("task")

    # -- recommend before any training on the task
    keys = [config_key(c) for c in meta.configs]
    report.n_stored = int(np.isfinite(meta.final_acc[ti]).sum())
    report.top = top
    recs = rec.recommend(task_obj, k=top, seed=seed)
    report.recommendations = [{**r.to_dict(), "meta_data": _stored(meta, ti, keys, r.config)} for r in recs]
    holdout = set(rec.holdout_tasks_)
    report.similar_tasks = [(n, s) for n, s in rec.similar_tasks(task_obj, k=len(rec.task_names_), seed=seed)
                            if n != report.task and n not in holdout][:3]
    atomic_write_json(report.out / "recommendations.json",
                      {"task": report.task, "recommendations": report.recommendations,
                       "similar_tasks": [{"task": n, "similarity": s} for n, s in report.similar_tasks]})
    stage("recommended")

    # -- task-aware BOHB with real fine-tuning
    report.settings = {"optimizer": "bohb", "min_budget": min_budget, "max_budget": max_budget, "eta": ETA,
                       "n_iterations": iterations, "n_workers": workers, "seed": seed}
    stage("tuning")
    report.result = tune(task_obj, "bohb", recommender=rec, min_budget=min_budget, max_budget=max_budget, eta=ETA,
                         n_iterations=iterations, n_workers=workers, run_dir=report.run_dir, seed=seed,
                         resolution=report.resolution, progress=on_job if on_job is not None else False)
    report.wall_time_s = time.time() - report.started

    # -- where the incumbent came from, and the meta-data's numbers for context
    if report.result.incumbent is not None:
        configs = read_log(report.run_dir)[0]
        report.incumbent_source = dict(configs.get(tuple(report.result.incumbent_id or ()), ({}, {}))[1])
    _context(report, meta, ti, keys)
    atomic_write_json(report.out / "demo.json", report.summary())
    stage("done")
    return report

"""Tune a scikit-learn random forest through hyperstar.hpo.optimize (a second domain: tabular data).

The same task-aware Hyperband that tunes fine-tuning runs here on a random forest: the budget is
the number of trees, the search space is a ConfigSpace space of the forest's own hyperparameters
(integers, a conditional depth, categoricals; no learning rate), and the warm start is the
average-rank portfolio of a small meta-dataset built first over scikit-learn's bundled data sets
and generated ones (every task but the one being tuned). The result is compared with the forest's
defaults and with random search at the same number of jobs' worth of trees.

Run:

    python examples/tune_random_forest.py                      # ~1 minute on 2 CPU cores
    python examples/tune_random_forest.py --task wine --n-configs 32 --max-trees 243
    python examples/tune_random_forest.py --n-configs 6 --max-trees 27 --tasks 4   # a quick check (seconds)

It prints the meta-dataset it built, then validation and test accuracy of the defaults, random
search and warm-started Hyperband, and writes ``--out`` (default: a temp dir): the meta-dataset
(``meta/``), both runs (hpbandster logs, ``result.json``, ``trajectory.png``) and ``summary.json``.
Validation is 3-fold cross-validation on the training part; test accuracy is on a held-out 30%.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer
from sklearn import datasets
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score, train_test_split

from hyperstar.hpo import optimize
from hyperstar.meta.dataset import FORMAT_VERSION, RESULTS, append_record, load_meta_dataset, write_manifest
from hyperstar.ranking import AverageRank
from hyperstar.space import sample_configurations


def forest_space(seed: int = 0) -> ConfigurationSpace:
    """The forest's hyperparameters (the number of trees is the Hyperband budget, not one of them)."""
    cs = ConfigurationSpace(seed=seed)
    depth_mode = Categorical("depth_mode", ["unlimited", "limited"], default="unlimited")
    max_depth = Integer("max_depth", (2, 32), log=True, default=8)
    cs.add([Float("max_features", (0.05, 1.0), default=0.3), Integer("min_samples_leaf", (1, 32), log=True, default=1),
            Categorical("criterion", ["gini", "entropy"], default="gini"), Categorical("bootstrap", ["yes", "no"]),
            Categorical("class_weight", ["none", "balanced"], default="none"), depth_mode, max_depth,
            EqualsCondition(max_depth, depth_mode, "limited")])
    return cs


DEFAULTS = {"max_features": "sqrt", "min_samples_leaf": 1, "criterion": "gini", "bootstrap": True,
            "class_weight": None, "max_depth": None}  # scikit-learn's own


def forest(config: dict, n_trees: int, seed: int = 0) -> RandomForestClassifier:
    if config is DEFAULTS:
        return RandomForestClassifier(n_estimators=n_trees, random_state=seed, n_jobs=1, **DEFAULTS)
    return RandomForestClassifier(
        n_estimators=n_trees, max_features=config["max_features"], min_samples_leaf=config["min_samples_leaf"],
        criterion=config["criterion"], bootstrap=config["bootstrap"] == "yes",
        class_weight=None if config["class_weight"] == "none" else "balanced",
        max_depth=config.get("max_depth") if config["depth_mode"] == "limited" else None, random_state=seed, n_jobs=1)


def tabular_tasks() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's bundled classification data sets and a few generated ones (no download)."""
    tasks = {name: getattr(datasets, f"load_{name}")(return_X_y=True) for name in ("iris", "wine", "breast_cancer",
                                                                                    "digits")}
    for i, (n, informative, classes, flip) in enumerate([(400, 4, 2, 0.05), (500, 8, 3, 0.1), (300, 3, 2, 0.2),
                                                         (600, 10, 4, 0.05), (400, 6, 3, 0.15), (500, 2, 2, 0.1)]):
        X, y = datasets.make_classification(n_samples=n, n_features=informative + 6, n_informative=informative,
                                            n_redundant=2, n_classes=classes, flip_y=flip, random_state=i)
        tasks[f"generated_{i}"] = (X, y)
    return tasks


def split(X, y, seed=0):
    return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)


def cv_accuracy(config, n_trees, X, y) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. class_weight warnings on tiny folds
        return float(cross_val_score(forest(config, n_trees), X, y, cv=3).mean())


def build_meta(out: Path, tasks: dict, space, n_configs: int, n_trees: int):
    """Every task x every configuration of a Sobol design (plus the defaults of the space), at the full budget."""
    configs = [dict(space.get_default_configuration())] + sample_configurations(space, n=n_configs, seed=0)
    from hyperstar.hpo.objective import space_to_json

    write_manifest(out, {"format_version": FORMAT_VERSION, "name": "random-forest", "max_budget": 1,
                         "backbone": None, "space": json.loads(space_to_json(space)),
                         "tasks": [{"name": n, "family": n.split("_")[0], "recipe": None,
                                    "descriptors": {"n_samples": float(len(y)), "n_features": float(X.shape[1]),
                                                    "n_classes": float(len(set(y)))}} for n, (X, y) in tasks.items()],
                         "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    for name, (X, y) in tasks.items():
        X_train, _, y_train, _ = split(X, y)
        for i, c in enumerate(configs):
            append_record(out / RESULTS, {"task": name, "config_id": f"c{i:04d}", "seed": 0,
                                          "val_acc": [cv_accuracy(c, n_trees, X_train, y_train)]})
    return load_meta_dataset(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="breast_cancer", help="the task to tune (its results are not in the meta-data)")
    parser.add_argument("--tasks", type=int, default=10, help="how many tasks to build the meta-dataset from (default 10)")
    parser.add_argument("--n-configs", type=int, default=16, help="Sobol configurations in the meta-dataset (default 16)")
    parser.add_argument("--max-trees", type=int, default=81, help="largest budget, in trees (default 81; smallest: /27)")
    parser.add_argument("--out", default=None, help="output folder (default: a temp dir)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="hyperstar-forest-"))
    space = forest_space()
    every = tabular_tasks()
    if args.task not in every:
        parser.error(f"--task must be one of {', '.join(every)}")
    X, y = every.pop(args.task)
    others = dict(list(every.items())[: max(1, args.tasks - 1)])
    meta = build_meta(out / "meta", others, space, args.n_configs, args.max_trees)
    print(f"meta-dataset: {meta.n_tasks} tasks x {meta.n_configs} configurations at {args.max_trees} trees "
          f"({', '.join(meta.task_names)}); tuning {args.task!r}, which is not among them")
    portfolio = AverageRank().fit(meta).rank(None, k=meta.n_configs)

    X_train, X_test, y_train, y_test = split(X, y)

    def objective(config, budget, *, checkpoint_dir, previous_checkpoint):
        # A forest is cheap to retrain, so promotions start again (previous_checkpoint is not used).
        return cv_accuracy(config, int(round(budget)), X_train, y_train)

    def test_accuracy(config) -> float:
        return float(forest(config, args.max_trees).fit(X_train, y_train).score(X_test, y_test))

    low = max(1, args.max_trees // 27)
    runs = {}
    for name, kwargs in (("random search", dict(optimizer="random")),
                         ("hyperband, portfolio warm start", dict(optimizer="hb", ranking=portfolio))):
        r = optimize(objective, space, min_budget=low, max_budget=args.max_trees, eta=3, seed=0,
                     run_dir=out / name.split(",")[0].replace(" ", "_"), **kwargs)
        runs[name] = {"val_acc": r.val_acc, "test_acc": test_accuracy(r.incumbent), "jobs": r.n_jobs,
                      "trees_trained": r.total_budget, "incumbent": r.incumbent}
    default = {"val_acc": cv_accuracy(DEFAULTS, args.max_trees, X_train, y_train), "test_acc": test_accuracy(DEFAULTS),
               "jobs": 1, "trees_trained": float(args.max_trees), "incumbent": "scikit-learn defaults"}
    rows = {"defaults": default, **runs}
    print(f"{'method':<34} {'val_acc':>7} {'test_acc':>8} {'jobs':>5} {'trees':>7}")
    for name, row in rows.items():
        print(f"{name:<34} {row['val_acc']:>7.3f} {row['test_acc']:>8.3f} {row['jobs']:>5} {row['trees_trained']:>7.0f}")
    (out / "summary.json").write_text(json.dumps({"task": args.task, "max_trees": args.max_trees, "methods": rows},
                                                 indent=1, default=str) + "\n")
    print(f"runs, meta-dataset and summary.json in {out}")


if __name__ == "__main__":
    main()

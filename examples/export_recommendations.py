"""Hand hyperstar's recommendations to the tuner you already use: Optuna, Ray Tune, SMAC3 or NePS.

The shipped recommender ranks configurations for a small generated image task (your data:
``Task.from_folder("path/to/images")``); the top ones then become, in turn, the first trials of an
Optuna study, Ray Tune's ``points_to_evaluate``, SMAC3's initial design and a NePS (PriorBand) prior
centred on the best one. Each part runs the real library when it is installed and says how to get it
when it is not (``pip install optuna smac neural-pipeline-search 'ray[tune]'``). The objective here is
a stand-in that scores a configuration in microseconds; put your training run in its place.

Run:

    python examples/export_recommendations.py          # ~15 s on a CPU
    python examples/export_recommendations.py -k 3 --trials 6

It prints, for each tuner, what it was given and (where installed) the first trials it ran.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import tempfile
import warnings

from hyperstar import Recommender
from hyperstar.space import (
    active_values,
    default_space,
    enqueue_in_optuna,
    neps_prior,
    optuna_suggest,
    ray_points_to_evaluate,
    ray_search_space,
    smac_initial_design,
)
from hyperstar.suite import make_task, tiny_suite


def stand_in_objective(config: dict) -> float:
    """A made-up accuracy in [0, 1] (best near lr 0.01, little label smoothing): replace with your training."""
    return math.exp(-abs(math.log10(config["lr"]) + 2)) * (1 - config["label_smoothing"])


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def short(config: dict) -> str:
    return (f"{config['optimizer']} lr={config['lr']:.3g} batch={config['batch_size']} "
            f"{config['train_mode']} {config['lr_schedule']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=5, help="how many recommendations to hand over (default 5)")
    parser.add_argument("--trials", type=int, default=8, help="Optuna trials to run (default 8)")
    args = parser.parse_args()

    space = default_space()
    task = make_task(tiny_suite()[0])
    recs = Recommender.default().recommend(task, k=args.k)
    print(f"{task.name}: top {len(recs)} recommendations")
    for r in recs:
        print(f"  {r.rank}. {short(r.config)}")

    print("\n-- Optuna: the recommendations are the study's first trials, best first")
    if installed("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
        enqueue_in_optuna(study, recs, space=space)
        study.optimize(lambda trial: stand_in_objective(optuna_suggest(trial, space)), n_trials=args.trials)
        for t in study.trials:
            source = f"recommendation {t.user_attrs['hyperstar_rank']}" if "hyperstar_rank" in t.user_attrs else "TPE"
            print(f"  trial {t.number}: {t.value:.3f}  {source:<17} {short(t.params)}")
        print(f"  best: trial {study.best_trial.number}, {json.dumps(active_values(study.best_params, space))}")
    else:
        print("  Optuna is not installed (pip install optuna): skipped")

    print("\n-- Ray Tune: points_to_evaluate for OptunaSearch / HyperOptSearch")
    points = ray_points_to_evaluate(recs)
    print(f"  {len(points)} points, e.g. {json.dumps(points[0])}")
    print("  tune.Tuner(train, param_space=ray_search_space(space), tune_config=tune.TuneConfig(")
    print("      search_alg=OptunaSearch(points_to_evaluate=points, metric='acc', mode='max')))")
    if installed("ray"):
        print(f"  ray_search_space: {len(ray_search_space(space))} parameters")
    else:
        print("  Ray is not installed (pip install 'ray[tune]'): only the points are built")

    print("\n-- SMAC3: Configuration objects for the initial design")
    configs = smac_initial_design(space, recs)
    print(f"  {len(configs)} configurations of the space, origins: {', '.join(c.origin for c in configs[:2])}, ...")
    if installed("smac"):
        from smac import HyperparameterOptimizationFacade as HPO, Scenario

        with tempfile.TemporaryDirectory() as out, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # SMAC3's own use of ConfigSpace's old API
            scenario = Scenario(space, deterministic=True, n_trials=len(configs) + 2, output_directory=out, seed=0)
            design = HPO.get_initial_design(scenario, n_configs=0, additional_configs=configs)
            smac = HPO(scenario, lambda config, seed=0: 1 - stand_in_objective(dict(config)), initial_design=design,
                       overwrite=True, logging_level=logging.ERROR)
            first = [smac.ask().config for _ in range(len(configs))]
        print(f"  SMAC asks first: {', '.join(c.origin.split()[-1] for c in first)} (the recommendations' ranks)")
    else:
        print("  SMAC3 is not installed (pip install smac): only the configurations are built")

    print("\n-- NePS: a PriorBand prior centred on the top recommendation")
    prior = neps_prior(space, recs, confidence="medium")
    for name in ("lr", "optimizer", "batch_size", "momentum"):
        p = prior[name]
        print(f"  {name:<10} prior={p['prior']!r:<22} confidence={p['prior_confidence']:<6} active={p['active']}")
    neps_spec = importlib.util.find_spec("neps")
    if neps_spec is not None:
        import neps

        if hasattr(neps, "PipelineSpace") and hasattr(neps, "IntegerFidelity"):
            pipeline = neps_prior(space, recs, as_neps=True, extra={"epochs": neps.IntegerFidelity(1, 27)})
            print(f"  neps.PipelineSpace with {len(pipeline.get_attrs())} parameters; run it with")
            print("  neps.run(train, pipeline, optimizer=('priorband', {'sample_prior_first': True}), ...)")
        else:
            print("  the 'neps' installed has no PipelineSpace: neps_prior(..., as_neps=True) builds its older classes")
    else:
        print("  NePS is not installed (pip install neural-pipeline-search): the prior is the plain dict above")


if __name__ == "__main__":
    main()

"""SMAC3 2.x multi-fidelity facade (random-forest model, Hyperband intensifier, eta 3, budgets 1..max
epochs) through ask-and-tell. Warm start: ``initial`` configurations are SMAC's ``additional_configs`` of its
default initial design (hyperstar's export :func:`hyperstar.space.export.smac_initial_design`)."""

from __future__ import annotations

import logging
import tempfile


def run(oracle, seed: int, initial: list[dict] | None = None) -> dict:
    from smac import MultiFidelityFacade, Scenario
    from smac.intensifier.hyperband import Hyperband
    from smac.runhistory.dataclasses import TrialValue

    from hyperstar.space.export import smac_initial_design

    logging.getLogger("smac").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="smac-") as tmp:
        scenario = Scenario(oracle.space, deterministic=True, n_trials=100_000, min_budget=1,
                            max_budget=oracle.max_budget, seed=int(seed), output_directory=tmp)
        extra = smac_initial_design(oracle.space, initial, k=len(initial)) if initial else None
        design = MultiFidelityFacade.get_initial_design(scenario, additional_configs=extra)
        model = MultiFidelityFacade.get_model(scenario)  # the facade's default random forest, ...
        if "n_jobs" not in getattr(model, "_rf_opts", {}):  # a private field of SMAC 2.4's RandomForest
            raise RuntimeError("this SMAC3 version's RandomForest has no _rf_opts['n_jobs']: update smac_peer.py")
        model._rf_opts["n_jobs"] = 1  # ... on one thread: the same trees (seeded per tree), without joblib's
        # thread pool, which oversubscribed the cores beside the benchmark's other processes
        smac = MultiFidelityFacade(scenario, lambda config, seed=0, budget=1: 0.0, initial_design=design, model=model,
                                   intensifier=Hyperband(scenario, eta=3, seed=int(seed)), overwrite=True,
                                   logging_level=40)
        while not oracle.done:
            info = smac.ask()
            acc = oracle.evaluate(dict(info.config), info.budget)
            smac.tell(info, TrialValue(cost=1.0 - acc), save=False)  # no runhistory JSON rewritten per trial
    return {"n_initial": len(initial or [])}

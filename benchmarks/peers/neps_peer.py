"""NePS 0.17 (``neural-pipeline-search``): PriorBand, and Hyperband with the prior sampler, through its
ask-and-tell interface. The prior is hyperstar's NePS export (:func:`hyperstar.space.export.neps_prior`,
``confidence="medium"``, NePS's and the export's default) of one configuration: the portfolio's top or
hyperstar's top recommendation. Everything else is NePS's defaults (eta 3, the fidelity 1..max epochs)."""

from __future__ import annotations

import random

import numpy as np


def run(oracle, seed: int, prior_config: dict, algorithm: str = "priorband") -> dict:
    import neps
    import torch

    from hyperstar.space.export import neps_prior

    random.seed(seed)  # NePS samples from the global generators
    np.random.seed(seed)
    torch.manual_seed(seed)
    space = neps_prior(oracle.space, prior_config, confidence="medium", as_neps=True,
                       extra={"epochs": neps.Fidelity(neps.Integer(1, oracle.max_budget))})
    if algorithm == "priorband":
        opt = neps.algorithms.priorband(space, eta=3)
    elif algorithm == "hyperband_prior":
        opt = neps.algorithms.hyperband(space, eta=3, sampler="prior")
    else:
        raise ValueError(f"unknown NePS algorithm {algorithm!r}")
    ask = neps.AskAndTell(optimizer=opt)
    while not oracle.done:
        trial = ask.ask()
        config = dict(trial.config)
        epochs = config.pop("epochs")
        acc = oracle.evaluate(config, epochs)
        ask.tell(trial, {"objective_to_minimize": 1.0 - acc, "cost": float(epochs)})
    return {}

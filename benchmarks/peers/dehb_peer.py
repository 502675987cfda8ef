"""DEHB 0.1.2 (Hyperband + differential evolution) through its ask-and-tell interface, on hyperstar's
ConfigSpace space with fidelities 1..max epochs and eta 3 (DEHB's defaults otherwise, one worker).

Warm start: DEHB has no public way to seed its population. ``initial`` configurations are written into the
first rows of the lowest fidelity's subpopulation before the first ``ask`` (its internals: ``dehb.de[f]
.population``, re-announced to its config repository), so they are the first ones DEHB evaluates."""

from __future__ import annotations

import logging
import tempfile

from ConfigSpace import Configuration


def run(oracle, seed: int, initial: list[dict] | None = None) -> dict:
    from dehb import DEHB
    from loguru import logger

    logger.remove()  # DEHB logs every step through loguru
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="dehb-") as tmp:
        dehb = DEHB(cs=oracle.space, min_fidelity=1, max_fidelity=oracle.max_budget, eta=3, n_workers=1,
                    seed=int(seed), output_path=tmp, save_freq="end")
        seeded = 0
        if initial:
            f0 = dehb.fidelities[0]
            pop = dehb.de[f0].population
            for j, config in enumerate(initial[: len(pop)]):
                pop[j] = dehb.configspace_to_vector(Configuration(oracle.space, values=config))
                seeded += 1
            dehb.de[f0].population_ids = dehb.config_repository.announce_population(pop, f0)
            dehb.config_repository.initial_configs = dehb.config_repository.configs.copy()
        while not oracle.done:
            job = dehb.ask()
            config = job["config"]  # a ConfigSpace Configuration (DEHB works on the vector inside)
            acc = oracle.evaluate(dict(config), job["fidelity"])
            dehb.tell(job, {"fitness": 1.0 - acc, "cost": float(job["fidelity"])})
    return {"n_seeded": seeded}

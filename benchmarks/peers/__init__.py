"""Adapters that let peer tuners (NePS PriorBand / Hyperband, DEHB, SMAC3, grid and mapped random search)
tune a meta-dataset task on its stored learning curves, under the same cost accounting as
``benchmarks/hpo_tabular.py``.

Every peer proposes configurations in the real hyperparameter space; :class:`StoredCurves` maps each
proposal to the nearest stored configuration in hyperstar's configuration encoding and answers with that
configuration's stored accuracy after the asked number of epochs. Each adapter is one small module with one
``run(oracle, seed, knowledge)`` function.
"""

from peers.stored import StoredCurves  # noqa: F401

"""Task-aware configuration generators plugged into hpbandster's ``get_config`` / ``new_result`` seam.

* :class:`RankedConfigGenerator` - task-aware Hyperband (HyperSTAR): every new configuration a
  bracket asks for is the next top-ranked one not yet run at the bracket's first budget or more
  (``revisit``, the default: a top pick that successive halving stopped after one epoch comes back
  in a later bracket that starts higher; ``revisit=False``: each configuration is handed out once);
  ``random_fraction`` mixes in random ones; once the ranking is used up, random ones follow.
* :class:`TaskAwareBOHB` - hpbandster's BOHB generator whose *random* picks (all picks before the
  density model exists, then ``random_fraction`` of them) are the next ranked configurations; its
  KDE learns from every result, warm-start ones included. Optionally a scorer (the recommender)
  chooses among several model proposals.

Both can adapt the rest of the ranking to the results seen so far (:mod:`hyperstar.hpo.adaptive`),
can be restricted to a finite set of ``candidates`` (the configurations of a meta-dataset, for
tabular benchmarks), and own their random generators (``seed``). Every configuration they hand out
is a plain dict of Python scalars (see :mod:`hyperstar.hpo.seam`).

Example::

    >>> from hyperstar.hpo.generators import RankedConfigGenerator
    >>> cg = RankedConfigGenerator(ranking=[{"lr": 0.01}, {"lr": 0.1}], random_fraction=0.0)
    >>> cg.get_config(1.0)[1]["rank"]
    1
"""

from __future__ import annotations

import contextlib
import threading
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    ConfigurationSpace,
    EqualsCondition,
    InCondition,
    OrdinalHyperparameter,
)
from hpbandster.core.base_config_generator import base_config_generator
from hpbandster.optimizers.config_generators.bohb import BOHB as _HpBandSterBOHB

from hyperstar._internal.convert import plain
from hyperstar._internal.validation import check_float, check_int
from hyperstar.exceptions import InvalidInputError
from hyperstar.space import (
    config_key,
    default_space,
    sample_configurations,
    validate_configuration,
)
from hyperstar.ranking.adaptive import AdaptiveRanking
from hyperstar.hpo.seam import plain_budget, plain_config

__all__ = ["RankedConfigGenerator", "TaskAwareBOHB", "bohb_space", "as_ranking"]

logger = logging.getLogger(__name__)


def as_ranking(ranking: Sequence[Any] | None, space: ConfigurationSpace | None = None) -> list[dict[str, Any]]:
    """Validate a ranking (configs best first; ``Recommendation`` objects are accepted) and drop duplicates."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(ranking or []):
        config = getattr(item, "config", item)
        if not isinstance(config, Mapping):
            raise InvalidInputError(
                f"Ranking entry {i} must be a configuration dict or a Recommendation. Got {type(item).__name__}."
            )
        config = validate_configuration(config, space)
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            out.append(config)
    return out


class _RankingQueue:
    """The remaining ranked configurations, the used ones, and random sampling (shared by both generators)."""

    def __init__(self, ranking, space, candidates, seed, adaptive, reserve_top, reserve_budget, revisit=False):
        self.space = space
        self.rng = np.random.default_rng(seed)
        ranked = as_ranking(ranking, space)
        self.rank_of = {config_key(c): i + 1 for i, c in enumerate(ranked)}
        self.queue: list[dict[str, Any]] = ranked
        self.order: list[dict[str, Any]] = list(ranked)  # the whole ranking, for revisit
        self.revisit = bool(revisit)
        self.reached: dict[str, float] = {}  # the largest budget each configuration was handed out or ran at
        self.candidates = as_ranking(candidates, space) if candidates is not None else None
        if self.candidates is not None and not self.candidates:
            raise InvalidInputError("The 'candidates' of a config generator must not be empty.")
        self.used: set[str] = set()
        self.adaptive: AdaptiveRanking | None = adaptive
        self.reserved = {config_key(c) for c in ranked[: max(0, int(reserve_top))]}
        self.reserve_budget = reserve_budget

    def mark_used(self, config: Mapping[str, Any], budget: float | None = None) -> None:
        key = config_key(config)
        self.used.add(key)
        self.queue = [c for c in self.queue if config_key(c) != key]
        if budget is not None:
            self.note(key, budget)

    def note(self, key: str, budget: float) -> None:
        self.reached[key] = max(self.reached.get(key, 0.0), float(budget))

    def reserved_ready(self, budget: float) -> bool:
        """Whether reserved top recommendations wait and ``budget`` is high enough to take them."""
        if not self.reserved or self.reserve_budget is None or budget < self.reserve_budget:
            return False
        return any(config_key(c) in self.reserved for c in self.queue)

    def next_ranked(self, budget: float) -> tuple[dict[str, Any], int] | None:
        """The best-ranked configuration a bracket starting at ``budget`` may take (None: ranking used up).

        Without ``revisit`` that is the best one never handed out. With ``revisit`` it is the best one
        that has not yet been run at ``budget`` or more: a top configuration that successive halving
        stopped after a short run gets a second chance in a later bracket that starts higher (a
        promotion continues from its checkpoint, so only the extra epochs are paid).
        """
        low = self.reserved and (self.reserve_budget is None or budget < self.reserve_budget)
        pool = self.order if self.revisit else self.queue
        for config in pool:
            key = config_key(config)
            if low and key in self.reserved:
                continue  # top recommendations wait for a bracket that starts at a high budget
            if self.revisit and self.reached.get(key, 0.0) >= budget - 1e-9:
                continue
            self.mark_used(config, budget)
            return config, self.rank_of[key]
        return None

    def random_config(self) -> tuple[dict[str, Any], bool]:
        """A random unused configuration; the bool says it was already used (candidates exhausted)."""
        if self.candidates is not None:
            fresh = [c for c in self.candidates if config_key(c) not in self.used]
            pool, dup = (fresh, False) if fresh else (self.candidates, True)
            config = pool[int(self.rng.integers(len(pool)))]
            self.mark_used(config)
            return config, dup
        for _ in range(100):
            seed = int(self.rng.integers(2**31 - 1))
            config = sample_configurations(self.space, n=1, seed=seed, method="random")[0]
            if config_key(config) not in self.used:
                self.mark_used(config)
                return config, False
        return config, True

    def snap(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The nearest unused candidate to ``config`` in the encoded space (itself without candidates)."""
        config = validate_configuration(config, self.space)
        if self.candidates is None:
            return config
        from hyperstar.space import encode

        fresh = [c for c in self.candidates if config_key(c) not in self.used] or self.candidates
        x = encode(fresh, self.space)
        d = np.linalg.norm(x - encode(config, self.space), axis=1)
        return fresh[int(np.argmin(d))]

    def observe(self, job) -> None:
        with contextlib.suppress(Exception):  # hpbandster's result callback: must never raise
            self.note(config_key(job.kwargs["config"]), float(job.kwargs["budget"]))
        if self.adaptive is None or job.result is None:
            return
        loss = job.result.get("loss")
        if loss is None or not np.isfinite(loss):
            return
        try:
            if self.adaptive.observe(job.kwargs["config"], float(job.kwargs["budget"]), 1.0 - float(loss)):
                self.queue = [dict(c) for c in self.adaptive.reorder(self.queue)]
                if self.revisit:
                    self.order = [dict(c) for c in self.adaptive.reorder(self.order)]
        except Exception as exc:  # runs inside hpbandster's result callback: must never raise
            logger.warning("Could not adapt the ranking to job %s: %s: %s", job.id, type(exc).__name__, exc)


class _RankingState:
    """What both task-aware generators share: a ranking queue in ``self.state``."""

    def mark_used(self, config: Mapping[str, Any], budget: float | None = None) -> None:
        """Tell the generator that ``config`` was already handed out (at ``budget``; resume replays)."""
        self.state.mark_used(config, budget)

    @property
    def remaining(self) -> list[dict[str, Any]]:
        """The ranked configurations not handed out yet, in their current order."""
        return list(self.state.queue)


class RankedConfigGenerator(_RankingState, base_config_generator):
    """Task-aware Hyperband's generator: the next top-ranked unused configuration for each new slot.

    ``ranking``: configurations best first (dicts or ``Recommendation`` objects).
    ``random_fraction``: probability that a slot gets a random configuration instead (0: pure
    HyperSTAR). ``candidates``: restrict random picks to these configurations (e.g. a
    meta-dataset's). ``adaptive``: an :class:`AdaptiveRanking` that re-orders the rest of the
    ranking after every result. ``reserve_top`` / ``reserve_budget``: keep the top-k ranked
    configurations for brackets whose first budget is at least ``reserve_budget`` (so that
    successive halving cannot drop them on one noisy early epoch). ``revisit`` (default): a slot of
    a bracket that starts at budget ``b`` takes the best-ranked configuration not yet run at ``b``
    or more, so a top pick stopped early is tried again higher up (continuing from its checkpoint);
    ``revisit=False`` hands each ranked configuration out once. ``seed``: own randomness.
    """

    def __init__(
        self,
        ranking: Sequence[Any] = (),
        *,
        space: ConfigurationSpace | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        random_fraction: float = 0.0,
        adaptive: AdaptiveRanking | None = None,
        reserve_top: int = 0,
        reserve_budget: float | None = None,
        revisit: bool = True,
        seed: int = 0,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(logger=logger or logging.getLogger(__name__))
        _check_options(random_fraction, reserve_top, reserve_budget, "RankedConfigGenerator")
        self.random_fraction = float(random_fraction)
        self.space = space or default_space()
        self.state = _RankingQueue(ranking, self.space, candidates, seed, adaptive, reserve_top, reserve_budget, revisit)

    def get_config(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        budget = plain_budget(budget)
        ranked = None
        if self.random_fraction <= 0 or self.state.rng.random() >= self.random_fraction:
            ranked = self.state.next_ranked(budget)
        if ranked is not None:
            return _ranked_pick(*ranked)
        return _random_pick(*self.state.random_config())

    def new_result(self, job, update_model: bool = True) -> None:
        super().new_result(job, update_model=update_model)
        self.state.observe(job)


def bohb_space(space: ConfigurationSpace | None = None, seed: int | None = None) -> ConfigurationSpace:
    """``space`` as hpbandster's BOHB can model it: ordinal hyperparameters become categorical.

    (BOHB 0.7.4 refuses ordinals.) Conditions are carried over; forbidden clauses are not supported.
    """
    import copy

    space = space or default_space()
    if list(space.forbidden_clauses):
        raise InvalidInputError("BOHB's search space cannot have forbidden clauses.")
    cs = ConfigurationSpace(name=f"{space.name}-bohb", seed=seed)
    hps = {}
    for hp in space.values():
        if isinstance(hp, OrdinalHyperparameter):
            new = CategoricalHyperparameter(hp.name, [plain(v) for v in hp.sequence],
                                            default_value=plain(hp.default_value))
        else:
            new = copy.deepcopy(hp)
        hps[hp.name] = new
    cs.add(list(hps.values()))
    conditions = []
    for c in space.conditions:
        child, parent = hps[c.child.name], hps[c.parent.name]
        if isinstance(c, EqualsCondition):
            conditions.append(EqualsCondition(child, parent, plain(c.value)))
        elif isinstance(c, InCondition):
            conditions.append(InCondition(child, parent, [plain(v) for v in c.values]))
        else:
            raise InvalidInputError(f"BOHB's search space supports Equals/In conditions only. Got {type(c).__name__}.")
    cs.add(conditions)
    return cs


class TaskAwareBOHB(_RankingState, _HpBandSterBOHB):
    """hpbandster's BOHB generator, warm-started with a ranking.

    Whenever BOHB would draw a configuration at random (always, until its density model exists;
    then with probability ``random_fraction``) it takes the next ranked configuration instead; the
    KDE is fitted on all results, warm-start ones included. ``scorer``: optional callable
    ``configs -> scores`` (higher is better, e.g. a recommender's predicted score); with
    ``n_candidates > 1`` the model proposes that many configurations and the scorer picks one.
    ``candidates``, ``adaptive``, ``seed``, ``reserve_top`` / ``reserve_budget``, ``revisit``: as in
    :class:`RankedConfigGenerator` (reserved configurations are served at the first high-budget
    bracket even once the model exists). Other keyword
    arguments are BOHB's own (``min_points_in_model``, ``top_n_percent``, ``num_samples``,
    ``bandwidth_factor``, ``min_bandwidth``).
    """

    def __init__(
        self,
        ranking: Sequence[Any] = (),
        *,
        space: ConfigurationSpace | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        random_fraction: float = 1 / 3,
        adaptive: AdaptiveRanking | None = None,
        scorer: Callable[[list[dict[str, Any]]], Sequence[float]] | None = None,
        n_candidates: int = 1,
        seed: int = 0,
        reserve_top: int = 0,
        reserve_budget: float | None = None,
        revisit: bool = True,
        min_points_in_model: int | None = None,
        top_n_percent: int = 15,
        num_samples: int = 64,
        bandwidth_factor: float = 3,
        min_bandwidth: float = 1e-3,
        logger: logging.Logger | None = None,
    ) -> None:
        _check_options(random_fraction, reserve_top, reserve_budget, "TaskAwareBOHB")
        n_candidates = check_int(n_candidates, "n_candidates", "TaskAwareBOHB", 1)
        self.space = space or default_space()
        with _quiet_configspace():
            super().__init__(
                configspace=bohb_space(self.space, seed=seed),
                min_points_in_model=min_points_in_model,
                top_n_percent=top_n_percent,
                num_samples=num_samples,
                random_fraction=random_fraction,
                bandwidth_factor=bandwidth_factor,
                min_bandwidth=min_bandwidth,
                logger=logger or logging.getLogger(__name__),
            )
        self.state = _RankingQueue(ranking, self.space, candidates, seed, adaptive, reserve_top, reserve_budget, revisit)
        self.scorer = scorer
        self.n_candidates = int(n_candidates)
        # hpbandster's BOHB draws from numpy's global generator; give it its own, swapped in per call.
        self._np_state = np.random.RandomState(seed).get_state()

    @contextlib.contextmanager
    def _own_rng(self) -> Iterator[None]:
        # One BOHB at a time swaps its state into numpy's global generator (two runs in two threads of a
        # process would otherwise draw from each other's streams).
        with _GLOBAL_RNG_LOCK:
            outer = np.random.get_state()
            np.random.set_state(self._np_state)
            try:
                with _quiet_configspace():
                    yield
            finally:
                self._np_state = np.random.get_state()
                np.random.set_state(outer)

    @property
    def has_model(self) -> bool:
        """Whether the density model exists for some budget."""
        return len(self.kde_models) > 0

    def _bohb_pick(self, budget: float, random: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        saved = self.random_fraction
        self.random_fraction = 1.0 if random else 0.0
        try:
            config, info = super().get_config(budget)
        finally:
            self.random_fraction = saved
        return validate_configuration(plain_config(config), self.space), dict(info)

    def get_config(self, budget: float) -> tuple[dict[str, Any], dict[str, Any]]:
        budget = plain_budget(budget)
        with self._own_rng():
            # Reserved top recommendations go to the first bracket that starts high enough, model or not.
            random_pick = (self.state.reserved_ready(budget) or not self.has_model
                           or np.random.rand() < self.random_fraction)
            if random_pick:
                ranked = self.state.next_ranked(budget)
                if ranked is not None:
                    return _ranked_pick(*ranked)
                if self.state.candidates is not None:
                    return _random_pick(*self.state.random_config())
                for _ in range(100):  # a fresh one: on resume the prior's generator repeats earlier draws
                    config, info = self._bohb_pick(budget, random=True)
                    if config_key(config) not in self.state.used:
                        break
                self.state.mark_used(config)
                return _random_pick(config)
            proposals = []
            for _ in range(10 * self.n_candidates):
                config, info = self._bohb_pick(budget, random=False)
                if config_key(config) not in self.state.used or self.state.candidates is not None:
                    proposals.append((config, info))
                if len(proposals) == self.n_candidates:
                    break
            proposals = proposals or [(config, info)]
        configs = [self.state.snap(c) for c, _ in proposals]
        best = 0
        if self.scorer is not None and len(configs) > 1:
            best = int(np.argmax(np.asarray(self.scorer(configs), dtype=float)))
        config, info = configs[best], proposals[best][1]
        self.state.mark_used(config)
        return plain_config(config), {"model_based_pick": bool(info.get("model_based_pick", True)), "source": "model"}

    def new_result(self, job, update_model: bool = True) -> None:
        if job.result is None:  # a failed or crashed job says nothing about its configuration: not learnt from
            self.state.observe(job)
            return
        with self._own_rng():
            try:
                super().new_result(job, update_model=update_model)
            except Exception as exc:  # a model that cannot be fitted must not stop the run
                self.logger.warning("BOHB could not learn from job %s (%s: %s).", job.id, type(exc).__name__, exc)
        self.state.observe(job)


#: held while a :class:`TaskAwareBOHB` has its own state in numpy's global generator
_GLOBAL_RNG_LOCK = threading.RLock()


def _ranked_pick(config: Mapping[str, Any], rank: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return plain_config(config), {"model_based_pick": False, "source": "ranking", "rank": rank}


def _random_pick(config: Mapping[str, Any], duplicate: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    info: dict[str, Any] = {"model_based_pick": False, "source": "random"}
    if duplicate:
        info["duplicate"] = True  # the candidates are used up: one comes again
    return plain_config(config), info


def _check_options(random_fraction: Any, reserve_top: Any, reserve_budget: Any, where: str) -> None:
    """The checks both generators share."""
    check_float(random_fraction, "random_fraction", where, 0.0, 1.0)
    check_int(reserve_top, "reserve_top", where, 0)
    if reserve_top and reserve_budget is None:
        raise InvalidInputError("reserve_top needs reserve_budget: the smallest first budget of a bracket that may take them.")


@contextlib.contextmanager
def _quiet_configspace() -> Iterator[None]:
    # hpbandster 0.7.4 calls ConfigSpace APIs that 1.x deprecates (get_hyperparameters, get_dictionary);
    # statsmodels' KDE warns about its own internals. None of it is actionable for a user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield

"""Hand hyperstar's recommendations to the tuners people already use: Optuna, Ray Tune, SMAC3, NePS.

Each function takes recommendations (configuration dicts best first, or objects with a ``.config``
dict such as :class:`~hyperstar.ranking.Recommendation`) and a ConfigSpace space (``None``: hyperstar's
:func:`~hyperstar.space.default_space`; or your own: float, integer, log scales, ordinal, categorical,
constant, conditions), checks every recommendation against the space, and returns what the tuner takes.

=====================================  =====================================================================
:func:`optuna_distributions`           ``{name: optuna.distributions.*}`` for the space (``optuna``)
:func:`optuna_suggest`                 suggest the *active* hyperparameters of a trial, define-by-run (``optuna``)
:func:`enqueue_in_optuna`              ``study.enqueue_trial`` for each recommendation, best first (``optuna``)
:func:`ray_points_to_evaluate`         Ray Tune's ``points_to_evaluate`` (a list of dicts)
:func:`ray_search_space`               ``{name: ray.tune.<sampler>}`` for the space (``ray``)
:func:`smac_initial_design`            ``Configuration`` objects for SMAC3's ``additional_configs``
:func:`neps_prior`                     a NePS search space centred on the top recommendation (PriorBand, piBO)
:func:`active_values`                  a tuner's full parameter dict -> the active hyperparameters only
=====================================  =====================================================================

**Conditions.** Optuna, Ray Tune's search spaces and NePS have no conditional hyperparameters. Every
export includes *every* hyperparameter of the space; what a recommendation leaves inactive (e.g.
``momentum`` for AdamW) is left *out* of what is enqueued (Optuna, Ray points, SMAC). Sample with
:func:`optuna_suggest` in an Optuna objective (it suggests only what the values already suggested make
active, so conditions hold), and pass what Ray Tune or NePS hand your objective (every parameter, the
inactive ones with meaningless values) through :func:`active_values`. SMAC3 and ConfigSpace keep
conditions. Forbidden clauses are not expressible in Optuna, Ray or NePS: their samples are not checked
against them. A ConfigSpace float with a normal or beta prior exports as uniform over its bounds,
categorical weights are dropped, and an ordinal exports as a categorical (its order is lost).

    >>> from hyperstar.space import default_space, sample_configurations
    >>> from hyperstar.space.export import ray_points_to_evaluate, smac_initial_design, neps_prior
    >>> space = default_space()
    >>> recs = sample_configurations(space, n=4, seed=0)          # stand-ins for Recommender.recommend(...)
    >>> points = ray_points_to_evaluate(recs, k=2)               # tune.search.optuna.OptunaSearch(points_to_evaluate=points)
    >>> points == recs[:2]
    True
    >>> [dict(c) == r for c, r in zip(smac_initial_design(space, recs, k=2), recs)]   # SMAC3's additional_configs
    [True, True]
    >>> prior = neps_prior(space, recs[0], confidence="high")
    >>> prior["lr"]["prior"] == recs[0]["lr"], prior["lr"]["prior_confidence"], prior["lr"]["log"]
    (True, 'high', True)

With Optuna (``pip install optuna``)::

    study = optuna.create_study(direction="maximize")
    enqueue_in_optuna(study, Recommender.default().recommend(task, k=5))      # the first 5 trials
    study.optimize(lambda trial: train(optuna_suggest(trial)), n_trials=30)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    Constant,
    OrdinalHyperparameter,
)
from ConfigSpace.hyperparameters import FloatHyperparameter, IntegerHyperparameter

from hyperstar._internal.convert import plain
from hyperstar._internal.validation import check_choice, check_int
from hyperstar.exceptions import ConfigurationError, InvalidInputError
from hyperstar.space.default import default_space, validate_configuration

__all__ = [
    "CONFIDENCES",
    "active_values",
    "describe_space",
    "enqueue_in_optuna",
    "neps_prior",
    "optuna_distributions",
    "optuna_suggest",
    "ray_points_to_evaluate",
    "ray_search_space",
    "smac_initial_design",
]

#: NePS's prior confidence levels (how tightly PriorBand / piBO sample around the prior)
CONFIDENCES = ("low", "medium", "high")


# ---------------------------------------------------------------------------------------------- inputs

def _space(space: Any, where: str) -> ConfigurationSpace:
    if space is None:
        return default_space()
    if not isinstance(space, ConfigurationSpace):
        raise InvalidInputError(
            f"The 'space' argument of {where} must be a ConfigSpace ConfigurationSpace (or None for hyperstar's "
            f"default space). Got {type(space).__name__}."
        )
    return space


def _config_of(item: Any, i: int, where: str) -> Mapping[str, Any]:
    config = getattr(item, "config", item)
    if not isinstance(config, Mapping):
        raise InvalidInputError(
            f"Recommendation {i + 1} given to {where} must be a configuration dict or an object with a .config "
            f"dict (a Recommendation). Got {type(item).__name__}."
        )
    return config


def _check(config: Mapping[str, Any], space: ConfigurationSpace, i: int, where: str) -> dict[str, Any]:
    """The active values of ``config``, checked against the space (conditions and forbidden clauses too)."""
    try:
        values = validate_configuration(config, space)
        if space.forbidden_clauses:
            Configuration(space, values=values).check_valid_configuration()
    except ConfigurationError as exc:
        raise ConfigurationError(f"Recommendation {i + 1} given to {where} is not valid in the space: {exc}") from None
    except Exception as exc:  # ConfigSpace's own (forbidden value, inactive value set, ...)
        raise ConfigurationError(
            f"Recommendation {i + 1} given to {where} is not valid in the space: {exc}".rstrip()
        ) from None
    return values


def _recommendations(recommendations: Any, k: Any, space: ConfigurationSpace, where: str) -> list[dict[str, Any]]:
    """The first ``k`` recommendations (all when ``k`` is None) as checked plain dicts, best first."""
    if isinstance(recommendations, Mapping) or hasattr(recommendations, "config"):
        raise InvalidInputError(
            f"The 'recommendations' argument of {where} must be a list of configurations, best first. "
            f"Got one {type(recommendations).__name__}; wrap it in a list."
        )
    if isinstance(recommendations, (str, bytes)) or not isinstance(recommendations, Iterable):
        raise InvalidInputError(
            f"The 'recommendations' argument of {where} must be a list of configuration dicts or Recommendation "
            f"objects, best first. Got {type(recommendations).__name__}."
        )
    items = list(recommendations)
    if not items:
        raise InvalidInputError(
            f"The 'recommendations' argument of {where} is empty; pass at least one configuration "
            "(e.g. Recommender.recommend(task, k=5))."
        )
    if k is not None:
        items = items[: check_int(k, "k", where, 1)]  # fewer than k recommendations: all of them
    return [_check(_config_of(item, i, where), space, i, where) for i, item in enumerate(items)]


# ------------------------------------------------------------------------------------------ the space

def describe_space(space: ConfigurationSpace | None = None) -> dict[str, dict[str, Any]]:
    """Each hyperparameter of ``space`` as a plain dict, in the space's order (parents before children):
    ``type`` (``"float"``, ``"integer"``, ``"categorical"``, ``"ordinal"``, ``"constant"``), ``lower`` /
    ``upper`` / ``log`` (numbers), ``choices`` (categorical, ordinal: in order), ``value`` (constant),
    ``default`` and ``conditional`` (whether a condition can make it inactive). The common ground of
    every export.

        >>> describe_space()["lr"]
        {'type': 'float', 'lower': 1e-05, 'upper': 10.0, 'log': True, 'default': 0.01, 'conditional': False}
    """
    space = _space(space, "describe_space")
    out: dict[str, dict[str, Any]] = {}
    for name, hp in space.items():
        if isinstance(hp, Constant):
            d: dict[str, Any] = {"type": "constant", "value": plain(hp.value)}
        elif isinstance(hp, IntegerHyperparameter):
            d = {"type": "integer", "lower": int(hp.lower), "upper": int(hp.upper), "log": bool(hp.log)}
        elif isinstance(hp, FloatHyperparameter):
            d = {"type": "float", "lower": float(hp.lower), "upper": float(hp.upper), "log": bool(hp.log)}
        elif isinstance(hp, CategoricalHyperparameter):
            d = {"type": "categorical", "choices": [plain(c) for c in hp.choices]}
        elif isinstance(hp, OrdinalHyperparameter):
            d = {"type": "ordinal", "choices": [plain(c) for c in hp.sequence]}
        else:
            raise InvalidInputError(
                f"Hyperparameter '{name}' is a {type(hp).__name__}, which hyperstar cannot export. Use a float, "
                "integer, categorical, ordinal or constant hyperparameter."
            )
        d["default"] = plain(hp.default_value)
        d["conditional"] = bool(space.parent_conditions_of[name])
        out[name] = d
    return out


def _active(space: ConfigurationSpace, name: str, values: Mapping[str, Any]) -> bool:
    """Whether ``name`` is active given the (active) values decided so far; parents come first in the space."""
    for cond in space.parent_conditions_of[name]:
        try:
            if not cond.satisfied_by_value(dict(values)):
                return False
        except KeyError:  # a parent is itself inactive
            return False
    return True


def active_values(params: Mapping[str, Any], space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """The active hyperparameters of ``params``: what Ray Tune, NePS or ``study.best_params`` hand you (every
    parameter, conditions ignored) as the configuration the space means, checked and in the space's order.

        >>> active_values({"optimizer": "adamw", "momentum": 0.5, "lr": 0.001})["optimizer"]
        'adamw'
        >>> "momentum" in active_values({"optimizer": "adamw", "momentum": 0.5, "lr": 0.001})
        False

    Missing hyperparameters take the space's defaults, as in :func:`~hyperstar.space.validate_configuration`.
    """
    space = _space(space, "active_values")
    if not isinstance(params, Mapping):
        raise InvalidInputError(
            f"The 'params' argument of active_values must be a dict of hyperparameter values. Got {type(params).__name__}."
        )
    unknown = sorted(set(params) - set(space.keys()))
    if unknown:
        raise ConfigurationError(
            f"Unknown hyperparameter(s) {', '.join(map(repr, unknown))} given to active_values. "
            f"Known: {', '.join(sorted(space.keys()))}."
        )
    filled = {name: plain(params.get(name, space[name].default_value)) for name in space.keys()}
    chosen: dict[str, Any] = {}
    for name in space.keys():
        if _active(space, name, chosen):
            chosen[name] = filled[name]
    return _check({k: v for k, v in chosen.items() if k in params}, space, 0, "active_values")


# -------------------------------------------------------------------------------------------- Optuna

def _optuna(where: str):
    try:
        import optuna
    except ImportError:
        raise InvalidInputError(f"{where} needs Optuna: pip install optuna.") from None
    return optuna


def optuna_distributions(space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Optuna distributions for every hyperparameter of ``space``: ``FloatDistribution`` (``log`` kept),
    ``IntDistribution``, ``CategoricalDistribution`` (categoricals; ordinals, order lost; a constant as its
    one choice). For ``study.ask(fixed_distributions=...)``, Ray Tune's ``OptunaSearch(space=...)`` or
    ``optuna.trial.create_trial``. Optuna has no conditions: the conditional hyperparameters are included
    unconditionally (see the module's note; :func:`optuna_suggest` keeps conditions)."""
    where = "optuna_distributions"
    dist = _optuna(where).distributions
    out: dict[str, Any] = {}
    for name, d in describe_space(_space(space, where)).items():
        if d["type"] == "float":
            out[name] = dist.FloatDistribution(d["lower"], d["upper"], log=d["log"])
        elif d["type"] == "integer":
            out[name] = dist.IntDistribution(d["lower"], d["upper"], log=d["log"])
        elif d["type"] == "constant":
            out[name] = dist.CategoricalDistribution([d["value"]])
        else:
            out[name] = dist.CategoricalDistribution(d["choices"])
    return out


def optuna_suggest(trial: Any, space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Suggest a configuration of ``space`` in an Optuna objective (define-by-run): each hyperparameter in the
    space's order, and only those the values suggested so far make active, so conditions hold and
    ``trial.params`` is a configuration of the space. Enqueued trials (:func:`enqueue_in_optuna`) get
    exactly their values back. Returns the configuration (plain Python values)."""
    where = "optuna_suggest"
    for method in ("suggest_float", "suggest_int", "suggest_categorical"):
        if not callable(getattr(trial, method, None)):
            raise InvalidInputError(
                f"The 'trial' argument of {where} must be an Optuna trial (with {method}). Got {type(trial).__name__}."
            )
    space = _space(space, where)
    config: dict[str, Any] = {}
    for name, d in describe_space(space).items():
        if not _active(space, name, config):
            continue
        if d["type"] == "float":
            value = trial.suggest_float(name, d["lower"], d["upper"], log=d["log"])
        elif d["type"] == "integer":
            value = trial.suggest_int(name, d["lower"], d["upper"], log=d["log"])
        elif d["type"] == "constant":
            value = trial.suggest_categorical(name, [d["value"]])
        else:
            value = trial.suggest_categorical(name, d["choices"])
        config[name] = plain(value)
    return config


def enqueue_in_optuna(study: Any, recommendations: Any, k: int | None = None,
                      space: ConfigurationSpace | None = None) -> list[dict[str, Any]]:
    """Enqueue the first ``k`` recommendations (all when ``None``) in an Optuna study, best first: the study's
    next trials evaluate them in that order. Each is ``study.enqueue_trial(params, user_attrs=
    {"hyperstar_rank": rank}, skip_if_exists=True)`` with only its active hyperparameters, so one already in the
    study is not run twice. Sample with :func:`optuna_suggest` (or ``trial.suggest_*`` calls of the same
    names and ranges) in the objective. Returns the enqueued parameter dicts."""
    where = "enqueue_in_optuna"
    if not callable(getattr(study, "enqueue_trial", None)):
        raise InvalidInputError(
            f"The 'study' argument of {where} must be an Optuna study (optuna.create_study()). Got {type(study).__name__}."
        )
    configs = _recommendations(recommendations, k, _space(space, where), where)
    for rank, params in enumerate(configs, start=1):
        study.enqueue_trial(dict(params), user_attrs={"hyperstar_rank": rank}, skip_if_exists=True)
    return configs


# ------------------------------------------------------------------------------------------ Ray Tune

def ray_points_to_evaluate(recommendations: Any, k: int | None = None, *, space: ConfigurationSpace | None = None,
                           fill_inactive: bool = False) -> list[dict[str, Any]]:
    """Ray Tune's ``points_to_evaluate`` (searchers such as ``OptunaSearch``, ``HyperOptSearch``,
    ``BasicVariantGenerator``): the first ``k`` recommendations as dicts of parameter values, best first.

    Only active hyperparameters are given (a searcher samples the missing ones); for a searcher that wants
    every key in each point, ``fill_inactive=True`` sets the inactive ones to the space's defaults (the
    trainable then drops them: :func:`active_values`)."""
    where = "ray_points_to_evaluate"
    if not isinstance(fill_inactive, bool):
        raise InvalidInputError(f"The 'fill_inactive' argument of {where} must be True or False. Got {fill_inactive!r}.")
    space = _space(space, where)
    points = _recommendations(recommendations, k, space, where)
    if fill_inactive:
        defaults = {name: plain(hp.default_value) for name, hp in space.items()}
        points = [{name: p.get(name, defaults[name]) for name in space.keys()} for p in points]
    return points


def ray_search_space(space: ConfigurationSpace | None = None) -> dict[str, Any]:
    """Ray Tune's ``param_space`` for ``space``: ``tune.uniform`` / ``tune.loguniform`` for floats,
    ``tune.randint`` / ``tune.lograndint`` for integers (Ray's upper bound is exclusive, so ``upper + 1``),
    ``tune.choice`` for categoricals and ordinals, the value itself for a constant. Needs ``ray[tune]``.
    Every hyperparameter is included unconditionally: pass the trainable's ``config`` through
    :func:`active_values`."""
    where = "ray_search_space"
    described = describe_space(_space(space, where))
    try:
        from ray import tune
    except ImportError:
        raise InvalidInputError(f"{where} needs Ray Tune: pip install 'ray[tune]'.") from None
    out: dict[str, Any] = {}
    for name, d in described.items():
        if d["type"] == "float":
            out[name] = (tune.loguniform if d["log"] else tune.uniform)(d["lower"], d["upper"])
        elif d["type"] == "integer":
            out[name] = (tune.lograndint if d["log"] else tune.randint)(d["lower"], d["upper"] + 1)
        elif d["type"] == "constant":
            out[name] = d["value"]
        else:
            out[name] = tune.choice(d["choices"])
    return out


# -------------------------------------------------------------------------------------------- SMAC3

def smac_initial_design(space: ConfigurationSpace | None, recommendations: Any,
                        k: int | None = None) -> list[Configuration]:
    """The first ``k`` recommendations as ConfigSpace ``Configuration`` objects of ``space``, best first, for
    SMAC3's initial design::

        configs = smac_initial_design(space, recommender.recommend(task, k=5))
        design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=0, additional_configs=configs)
        smac = HyperparameterOptimizationFacade(scenario, train, initial_design=design)

    SMAC3 runs its own design's configurations before the additional ones: ``n_configs=0`` makes the
    recommendations the whole initial design, run first and best first. Pass the *same* space object to
    SMAC's ``Scenario`` (a ``Configuration`` belongs to its space). Each is checked against the space
    (conditions and forbidden clauses) and has ``origin`` ``"hyperstar recommendation <rank>"``;
    ConfigSpace stores floats rounded to 13 decimal places."""
    where = "smac_initial_design"
    space = _space(space, where)
    out = []
    for i, values in enumerate(_recommendations(recommendations, k, space, where)):
        try:
            config = Configuration(space, values=values)
            config.check_valid_configuration()
        except Exception as exc:
            raise ConfigurationError(f"Recommendation {i + 1} given to {where} is not valid in the space: {exc}") from None
        config.origin = f"hyperstar recommendation {i + 1}"
        out.append(config)
    return out


# --------------------------------------------------------------------------------------------- NePS

def neps_prior(space: ConfigurationSpace | None, recommendation: Any, confidence: str = "medium", *,
               as_neps: bool = False, extra: Mapping[str, Any] | None = None) -> Any:
    """A NePS search space whose prior is the top recommendation, for PriorBand or piBO.

    ``recommendation``: a configuration dict or a Recommendation, or a list of them (the first, the best,
    is taken). Returns ``{name: {"type", "lower", "upper", "log" | "choices" | "value", "prior",
    "prior_confidence", "active"}}`` (plain, JSON-safe: ``type`` is ``"float"``, ``"integer"``,
    ``"categorical"`` or ``"constant"``; ordinals become categoricals). Every hyperparameter is there (NePS
    has no conditions): those the recommendation leaves inactive (``"active": False``) get the space's
    default as a ``"low"``-confidence prior, the others the recommended value at ``confidence``
    (``"low"``, ``"medium"``, ``"high"``). Pass what NePS hands your objective through :func:`active_values`.

    ``as_neps=True`` builds the real NePS objects instead (``pip install neural-pipeline-search``; the
    ``neps`` name on PyPI is a placeholder): a ``neps.PipelineSpace`` where NePS has one (checked with
    NePS 0.17: ``neps.Float`` / ``neps.Integer`` / ``neps.Categorical`` with ``prior=`` and
    ``prior_confidence=``), or on older NePS the dict that ``neps.run(pipeline_space=...)`` took, of
    ``neps.Float`` ... ``neps.Constant`` (``prior=``) or of ``neps.FloatParameter`` ... (``default=``,
    ``default_confidence=``). ``extra``: more NePS parameters to put in it, e.g. PriorBand's fidelity
    ``{"epochs": neps.IntegerFidelity(1, 50)}`` (older NePS: ``neps.IntegerParameter(1, 50,
    is_fidelity=True)``). ``neps.run(..., optimizer=("priorband", {"sample_prior_first": True}))``
    evaluates the recommendation itself first.
    """
    where = "neps_prior"
    confidence = check_choice(confidence, "confidence", where, CONFIDENCES)
    if not isinstance(as_neps, bool):
        raise InvalidInputError(f"The 'as_neps' argument of {where} must be True or False. Got {as_neps!r}.")
    if extra is not None and (not as_neps or not isinstance(extra, Mapping)):
        raise InvalidInputError(
            f"The 'extra' argument of {where} must be a dict of NePS parameters, given with as_neps=True. "
            f"Got {type(extra).__name__}{'' if as_neps else ' without as_neps=True'}."
        )
    space = _space(space, where)
    items = recommendation if isinstance(recommendation, (list, tuple)) else [recommendation]
    if isinstance(recommendation, (list, tuple)) and not items:
        raise InvalidInputError(f"The 'recommendation' argument of {where} is an empty list; pass a configuration.")
    top = _check(_config_of(items[0], 0, where), space, 0, where)
    prior: dict[str, dict[str, Any]] = {}
    for name, d in describe_space(space).items():
        active = name in top
        p = {"type": "categorical" if d["type"] == "ordinal" else d["type"]}
        p.update({key: d[key] for key in ("lower", "upper", "log", "choices", "value") if key in d})
        if d["type"] != "constant":
            p["prior"] = top[name] if active else d["default"]
            p["prior_confidence"] = confidence if active else "low"
        p["active"] = active
        prior[name] = p
    if not as_neps:
        return prior
    clash = sorted(set(extra or {}) & set(prior))
    if clash:
        raise InvalidInputError(
            f"The 'extra' argument of {where} names hyperparameter(s) of the space: {', '.join(map(repr, clash))}. "
            "Give extra parameters new names."
        )
    return _to_neps(prior, dict(extra or {}))


def _to_neps(prior: Mapping[str, Mapping[str, Any]], extra: dict[str, Any]) -> Any:
    """The plain prior of :func:`neps_prior` as NePS's own classes, for the NePS installed."""
    try:
        import neps
    except ImportError:
        raise InvalidInputError("neps_prior(as_neps=True) needs NePS: pip install neural-pipeline-search.") from None
    float_cls = getattr(neps, "Float", None) or getattr(neps, "FloatParameter", None)
    if float_cls is None:
        raise InvalidInputError(
            f"The 'neps' package installed ({getattr(neps, '__file__', '?')}) is not NePS (PyPI's 'neps' is a "
            "placeholder): pip uninstall neps && pip install neural-pipeline-search."
        )
    params = inspect.signature(float_cls).parameters
    legacy = "default" in params and "prior" not in params  # NePS <= 0.12: default= / default_confidence=
    pipeline = getattr(neps, "PipelineSpace", None)  # newer NePS: a PipelineSpace; categorical prior: an index
    prior_key, conf_key = ("default", "default_confidence") if legacy else ("prior", "prior_confidence")
    if legacy:
        classes = {t: getattr(neps, f"{t.capitalize()}Parameter") for t in ("float", "integer", "categorical", "constant")}
    else:
        classes = {"float": neps.Float, "integer": neps.Integer, "categorical": neps.Categorical,
                   "constant": getattr(neps, "Constant", None)}
    out: dict[str, Any] = {}
    for name, p in prior.items():
        kind = p["type"]
        if kind == "constant":
            out[name] = p["value"] if pipeline is not None or classes["constant"] is None else classes["constant"](p["value"])
            continue
        kw = {prior_key: p["prior"], conf_key: p["prior_confidence"]}
        if kind == "categorical":
            choices = list(p["choices"])
            if pipeline is not None:
                kw[prior_key] = choices.index(p["prior"])
                out[name] = classes[kind](choices=tuple(choices), **kw)
            else:
                out[name] = classes[kind](choices=choices, **kw)
        else:
            kw[prior_key] = float(p["prior"]) if kind == "float" else int(p["prior"])
            low, high = ("min_value", "max_value") if "min_value" in params else ("lower", "upper")
            out[name] = classes[kind](**{low: p["lower"], high: p["upper"]}, log=p["log"], **kw)
    out.update(extra)
    if pipeline is None:
        return out
    space_cls = type("HyperstarPriorSpace", (pipeline,), dict(out))
    return space_cls()

"""Exports of recommendations to Optuna, Ray Tune, SMAC3 and NePS (issue 18): each round-trips into the
real library where it is installed (Optuna, SMAC3, NePS as ``neural-pipeline-search``; each skipped with
its reason otherwise) and is checked against the library's documented structure where it is not (Ray)."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import types

import pytest
from ConfigSpace import (
    Categorical,
    Configuration,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    Float,
    InCondition,
    Integer,
    OrdinalHyperparameter,
)

from hyperstar.exceptions import ConfigurationError, InvalidInputError
from hyperstar.ranking import Recommendation
from hyperstar.space import default_space, sample_configurations, validate_configuration
from hyperstar.space.export import (
    active_values,
    describe_space,
    enqueue_in_optuna,
    neps_prior,
    optuna_distributions,
    optuna_suggest,
    ray_points_to_evaluate,
    ray_search_space,
    smac_initial_design,
)


@pytest.fixture
def user_space():
    """A user's space: integers (one log), a conditional integer, an ordinal, a constant, an In condition; no lr."""
    cs = ConfigurationSpace(seed=0)
    depth_mode = Categorical("depth_mode", ["unlimited", "limited"], default="unlimited")
    max_depth = Integer("max_depth", (2, 32), log=True, default=8)
    kernel = Categorical("kernel", ["rbf", "poly", "linear"], default="rbf")
    degree = Integer("degree", (2, 5), default=3)
    cs.add([Integer("n_trees", (10, 300), default=50), Float("max_features", (0.05, 1.0), default=0.3),
            OrdinalHyperparameter("width", [8, 16, 32], default_value=16), Constant("bootstrap", "yes"),
            depth_mode, max_depth, kernel, degree,
            EqualsCondition(max_depth, depth_mode, "limited"), InCondition(degree, kernel, ["poly"])])
    return cs


@pytest.fixture
def recs():
    """Stand-ins for a recommender's output: valid configurations of the default space, best first."""
    return sample_configurations(default_space(), n=6, seed=3)


def _user_recs(space):
    configs = [{"depth_mode": "limited", "max_depth": 20, "kernel": "poly", "degree": 4, "n_trees": 120},
               {"depth_mode": "unlimited", "kernel": "rbf", "width": 32, "max_features": 0.9},
               {"depth_mode": "limited", "max_depth": 3, "kernel": "linear", "n_trees": 10, "width": 8}]
    return [validate_configuration(c, space) for c in configs]


@pytest.fixture
def optuna():
    optuna = pytest.importorskip("optuna", reason="Optuna is not installed (pip install optuna)")
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield optuna
    optuna.logging.set_verbosity(level)


# ------------------------------------------------------------------------------------------ Optuna

def _run_study(optuna, space, recommendations, n_trials, k=None):
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    enqueued = enqueue_in_optuna(study, recommendations, k=k, space=space)
    suggested = []

    def objective(trial):
        suggested.append(optuna_suggest(trial, space))
        return 0.5

    study.optimize(objective, n_trials=n_trials)
    return study, enqueued, suggested


def test_optuna_runs_the_top_recommendations_first_and_in_order(optuna, recs):
    objects = [Recommendation(rank=i + 1, config=c, score=-i, std=0.1) for i, c in enumerate(recs)]
    study, enqueued, suggested = _run_study(optuna, None, objects, n_trials=4, k=3)
    assert enqueued == recs[:3]
    params = [t.params for t in study.trials]
    assert params[:3] == recs[:3] and suggested[:3] == recs[:3]
    assert [list(p) for p in params[:3]] == [list(r) for r in recs[:3]]  # the space's order
    assert [t.user_attrs.get("hyperstar_rank") for t in study.trials] == [1, 2, 3, None]
    assert validate_configuration(params[3]) == params[3]  # the sampled one is a valid, active-only configuration
    assert study.trials[0].distributions == {k: optuna_distributions()[k] for k in recs[0]}


def test_optuna_does_not_run_a_recommendation_twice(optuna, recs):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    enqueue_in_optuna(study, recs, k=2)
    enqueue_in_optuna(study, recs, k=3)  # the first two are already waiting: only the third is added
    study.optimize(lambda trial: len(optuna_suggest(trial)), n_trials=4)
    params = [t.params for t in study.trials]
    assert params[:3] == recs[:3] and params[3] not in recs


def test_optuna_distributions_match_the_default_space(optuna):
    d = optuna.distributions
    dists = optuna_distributions()
    space = default_space()
    assert list(dists) == list(space.keys())
    assert dists["lr"] == d.FloatDistribution(1e-5, 10.0, log=True)
    assert dists["weight_decay"] == d.FloatDistribution(1e-6, 1e-2, log=True)
    assert dists["momentum"] == d.FloatDistribution(0.0, 0.99)  # conditional, included unconditionally
    assert dists["batch_size"] == d.CategoricalDistribution([16, 32, 64, 128])  # ordinal, in order
    assert dists["train_mode"] == d.CategoricalDistribution(["full", "last_block", "linear_probe", "bitfit"])
    for name, hp in space.items():
        if hasattr(hp, "log"):
            assert (dists[name].low, dists[name].high, dists[name].log) == (hp.lower, hp.upper, hp.log)


def test_optuna_with_a_user_space_keeps_integers_and_conditions(optuna, user_space):
    d = optuna.distributions
    dists = optuna_distributions(user_space)
    assert dists["max_depth"] == d.IntDistribution(2, 32, log=True)
    assert dists["n_trees"] == d.IntDistribution(10, 300) and dists["degree"] == d.IntDistribution(2, 5)
    assert dists["bootstrap"] == d.CategoricalDistribution(["yes"]) and dists["width"].choices == (8, 16, 32)
    configs = _user_recs(user_space)
    study, _, suggested = _run_study(optuna, user_space, configs, n_trials=12)
    assert [t.params for t in study.trials[:3]] == configs
    assert "max_depth" not in study.trials[1].params and "degree" not in study.trials[2].params
    for trial, config in zip(study.trials, suggested):  # sampled ones respect the conditions
        assert trial.params == config == validate_configuration(config, user_space)
        assert ("max_depth" in config) == (config["depth_mode"] == "limited")
        assert ("degree" in config) == (config["kernel"] == "poly")
        assert type(config["n_trees"]) is int and type(config["width"]) is int
    # what a user keeps from the study is a configuration of the space
    best = study.best_trial.params
    assert active_values(best, user_space) == best


def test_optuna_arguments_are_checked(optuna, recs):
    study = optuna.create_study()
    with pytest.raises(InvalidInputError, match=r"'study' argument of enqueue_in_optuna must be an Optuna study.*Got list"):
        enqueue_in_optuna([], recs)
    with pytest.raises(InvalidInputError, match=r"'trial' argument of optuna_suggest must be an Optuna trial"):
        optuna_suggest(object())
    with pytest.raises(ConfigurationError, match=r"Recommendation 2 given to enqueue_in_optuna is not valid in the space: "
                                                 r"Hyperparameter 'lr' must be in \[1e-05, 10\]"):
        enqueue_in_optuna(study, [recs[0], {**recs[1], "lr": 100.0}])
    assert study.trials == []  # nothing enqueued when one of them is bad


# ---------------------------------------------------------------------------------------- Ray Tune

def test_ray_points_to_evaluate_are_plain_dicts_of_active_values(recs, user_space):
    objects = [Recommendation(rank=i + 1, config=c, score=0.0, std=0.0) for i, c in enumerate(recs)]
    points = ray_points_to_evaluate(objects, k=4)
    assert points == recs[:4] and all(type(p) is dict for p in points)
    assert json.loads(json.dumps(points)) == points  # plain Python values only (Ray pickles / logs them)
    assert ray_points_to_evaluate(recs, k=100) == recs  # k beyond the list: all of them
    configs = _user_recs(user_space)
    assert ray_points_to_evaluate(configs, space=user_space) == configs
    full = ray_points_to_evaluate(configs, space=user_space, fill_inactive=True)
    assert all(list(p) == list(user_space.keys()) for p in full)  # every key, in the space's order
    assert full[1]["max_depth"] == 8 and full[2]["degree"] == 3  # inactive ones at their defaults
    assert [active_values(p, user_space) for p in full] == configs


def test_ray_search_space_uses_tune_samplers_with_ray_bounds(monkeypatch, user_space):
    calls = []

    def sampler(kind):
        return lambda *args: calls.append((kind, args)) or (kind, args)

    tune = types.SimpleNamespace(**{k: sampler(k) for k in ("uniform", "loguniform", "randint", "lograndint", "choice")})
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(tune=tune))  # Ray itself is too big to install here
    out = ray_search_space(user_space)
    assert out["max_features"] == ("uniform", (0.05, 1.0))
    assert out["n_trees"] == ("randint", (10, 301))  # Ray's upper bound is exclusive
    assert out["max_depth"] == ("lograndint", (2, 33))
    assert out["width"] == ("choice", ([8, 16, 32],)) and out["kernel"] == ("choice", (["rbf", "poly", "linear"],))
    assert out["bootstrap"] == "yes" and list(out) == list(user_space.keys())
    assert ray_search_space()["lr"] == ("loguniform", (1e-5, 10.0))
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InvalidInputError, match=re.escape("ray_search_space needs Ray Tune: pip install 'ray[tune]'.")):
        ray_search_space(user_space)


# ------------------------------------------------------------------------------------------- SMAC3

def test_smac_initial_design_is_valid_configurations_of_the_space(recs, user_space):
    configs = smac_initial_design(None, recs, k=3)
    space = configs[0].config_space
    assert all(isinstance(c, Configuration) for c in configs)
    for config, rec in zip(configs, recs):
        config.check_valid_configuration()
        assert dict(config) == rec and config.origin.startswith("hyperstar recommendation")
    user = _user_recs(user_space)
    configs = smac_initial_design(user_space, user)
    for config, rec in zip(configs, user):
        assert config.config_space is user_space
        config.check_valid_configuration()
        assert dict(config) == rec
    assert space == default_space()
    odd = {**recs[0], "lr": 0.123456789012345678}  # ConfigSpace keeps 13 decimal places
    assert dict(smac_initial_design(None, [odd])[0])["lr"] == pytest.approx(odd["lr"], rel=1e-12)


@pytest.mark.filterwarnings(r"ignore:Please use `dict\(config\)`:DeprecationWarning")  # SMAC3's own code
def test_smac_runs_the_recommendations_as_its_initial_design(tmp_path, user_space):
    smac = pytest.importorskip("smac", reason="SMAC3 is not installed (pip install smac)")
    facade = smac.HyperparameterOptimizationFacade
    configs = smac_initial_design(user_space, _user_recs(user_space))
    scenario = smac.Scenario(user_space, deterministic=True, n_trials=5, output_directory=tmp_path / "smac", seed=0)
    design = facade.get_initial_design(scenario, n_configs=0, additional_configs=configs)
    opt = facade(scenario, lambda config, seed=0: 0.0, initial_design=design, overwrite=True, logging_level=40)
    asked = [opt.ask().config for _ in range(3)]
    assert [dict(c) for c in asked] == _user_recs(user_space)
    assert [c.origin for c in asked] == [f"hyperstar recommendation {i}" for i in (1, 2, 3)]


# --------------------------------------------------------------------------------------------- NePS

def test_neps_prior_is_centred_on_the_top_recommendation(recs):
    top = next(c for c in recs if c["optimizer"] == "adamw")  # momentum inactive in it
    prior = neps_prior(None, [Recommendation(rank=1, config=top, score=1.0, std=0.0)], confidence="high")
    assert list(prior) == list(default_space().keys()) and json.loads(json.dumps(prior)) == prior
    assert prior["lr"] == {"type": "float", "lower": 1e-5, "upper": 10.0, "log": True, "prior": top["lr"],
                           "prior_confidence": "high", "active": True}
    assert prior["batch_size"] == {"type": "categorical", "choices": [16, 32, 64, 128], "prior": top["batch_size"],
                                   "prior_confidence": "high", "active": True}  # an ordinal
    assert prior["momentum"] == {"type": "float", "lower": 0.0, "upper": 0.99, "log": False, "prior": 0.9,
                                 "prior_confidence": "low", "active": False}  # inactive: the default, low confidence
    assert {n: p["prior"] for n, p in prior.items() if p["active"]} == top
    assert neps_prior(None, top)["lr"]["prior_confidence"] == "medium"


def test_neps_prior_on_a_user_space(user_space):
    top = _user_recs(user_space)[0]
    prior = neps_prior(user_space, top, confidence="low")
    assert prior["max_depth"] == {"type": "integer", "lower": 2, "upper": 32, "log": True, "prior": 20,
                                  "prior_confidence": "low", "active": True}
    assert prior["bootstrap"] == {"type": "constant", "value": "yes", "active": True}
    assert prior["width"]["type"] == "categorical" and prior["width"]["prior"] == 16


def test_neps_prior_arguments_are_checked(recs):
    with pytest.raises(InvalidInputError, match=r"'confidence' argument of neps_prior must be one of 'low', 'medium', "
                                                r"'high'. Got 'certain'"):
        neps_prior(None, recs[0], confidence="certain")
    with pytest.raises(InvalidInputError, match=r"'extra' argument of neps_prior .* without as_neps=True"):
        neps_prior(None, recs[0], extra={"epochs": 1})
    with pytest.raises(ConfigurationError, match=r"Recommendation 1 given to neps_prior is not valid.*'batch_size'"):
        neps_prior(None, {**recs[0], "batch_size": 48})
    with pytest.raises(InvalidInputError, match=r"empty list"):
        neps_prior(None, [])


def _real_neps():
    neps = pytest.importorskip("neps", reason="NePS is not installed (pip install neural-pipeline-search)")
    if not hasattr(neps, "PipelineSpace") or not hasattr(neps, "IntegerFidelity"):
        pytest.skip(f"the 'neps' installed has no PipelineSpace (an older NePS, or PyPI's placeholder): {neps.__file__}")
    return neps


@pytest.mark.parametrize("which", ["default", "user"])
def test_real_neps_priorband_evaluates_the_top_recommendation_first(tmp_path, recs, user_space, which):
    neps = _real_neps()
    space, top = (default_space(), recs[0]) if which == "default" else (user_space, _user_recs(user_space)[1])
    pipeline = neps_prior(space, top, confidence="high", as_neps=True, extra={"epochs": neps.IntegerFidelity(1, 9)})
    assert isinstance(pipeline, neps.PipelineSpace)
    attrs = pipeline.get_attrs()
    name = "lr" if which == "default" else "max_features"
    assert attrs[name].prior == top[name] and attrs[name].prior_confidence.value == "high"
    cat = "batch_size" if which == "default" else "width"
    assert attrs[cat].choices[attrs[cat].prior] == top[cat]
    seen = []

    def evaluate(**config):
        seen.append(config)
        return 1.0 - config["epochs"] / 10

    neps.run(evaluate_pipeline=evaluate, pipeline_space=pipeline, root_directory=tmp_path / "neps",
             optimizer=("priorband", {"sample_prior_first": True}), total_evaluations_to_spend=2)
    assert len(seen) == 2 and all(set(c) == set(space.keys()) | {"epochs"} for c in seen)  # NePS has no conditions
    first = {k: v for k, v in seen[0].items() if k != "epochs"}
    assert active_values(first, space) == top  # the prior itself, made a configuration again
    assert all(active_values({k: v for k, v in c.items() if k != "epochs"}, space) for c in seen)


@pytest.mark.parametrize("generation", ["0.12", "0.13"])
def test_neps_prior_builds_the_classes_of_older_neps(monkeypatch, user_space, generation):
    """Older NePS took a dict of parameter objects: ``FloatParameter(default=, default_confidence=)`` (<= 0.12),
    ``Float(prior=, prior_confidence=)`` with a categorical prior given as its value (0.13). Stand-ins with
    their documented signatures."""
    if generation == "0.12":
        names, prior_kw = {"float": "FloatParameter", "integer": "IntegerParameter",
                           "categorical": "CategoricalParameter", "constant": "ConstantParameter"}, "default"
    else:
        names, prior_kw = {"float": "Float", "integer": "Integer", "categorical": "Categorical",
                           "constant": "Constant"}, "prior"
    fields = [("lower", float), ("upper", float), ("log", bool, False), (prior_kw, object, None),
              (f"{prior_kw}_confidence", str, "low"), ("is_fidelity", bool, False)]
    classes = {
        "float": dataclasses.make_dataclass(names["float"], fields),
        "integer": dataclasses.make_dataclass(names["integer"], fields),
        "categorical": dataclasses.make_dataclass(names["categorical"], [("choices", list), (prior_kw, object, None),
                                                                       (f"{prior_kw}_confidence", str, "low")]),
        "constant": dataclasses.make_dataclass(names["constant"], [("value", object)]),
    }
    module = types.ModuleType("neps")
    for kind, cls in classes.items():
        setattr(module, names[kind], cls)
    monkeypatch.setitem(sys.modules, "neps", module)
    top = _user_recs(user_space)[0]
    out = neps_prior(user_space, top, confidence="medium", as_neps=True, extra={"epochs": "fidelity"})
    assert out["max_depth"] == classes["integer"](2, 32, True, 20, "medium")
    assert out["max_features"] == classes["float"](0.05, 1.0, False, 0.3, "medium")
    assert out["kernel"] == classes["categorical"](["rbf", "poly", "linear"], "poly", "medium")
    assert out["bootstrap"] == classes["constant"]("yes") and out["epochs"] == "fidelity"


def test_neps_placeholder_is_refused_with_the_right_package(monkeypatch, recs):
    monkeypatch.setitem(sys.modules, "neps", types.ModuleType("neps"))
    with pytest.raises(InvalidInputError, match=r"is not NePS .*pip install neural-pipeline-search"):
        neps_prior(None, recs[0], as_neps=True)


# ------------------------------------------------------------------------------------ shared checks

def test_every_export_checks_its_recommendations(recs):
    bad_type = r"must be a list of configurations, best first. Got one dict; wrap it in a list"
    for call in (lambda r: ray_points_to_evaluate(r), lambda r: smac_initial_design(None, r)):
        with pytest.raises(InvalidInputError, match=bad_type):
            call(recs[0])
        with pytest.raises(InvalidInputError, match=r"'recommendations' argument of \w+ is empty"):
            call([])
        with pytest.raises(InvalidInputError, match=r"Recommendation 2 given to \w+ must be a configuration dict"):
            call([recs[0], "sgd"])
        with pytest.raises(ConfigurationError, match=r"Recommendation 1 given to \w+ is not valid in the space: "
                                                     r"Unknown hyperparameter\(s\) 'epochs'"):
            call([{**recs[0], "epochs": 3}])
    with pytest.raises(InvalidInputError, match=r"'k' argument of ray_points_to_evaluate must be an int >= 1. Got 0"):
        ray_points_to_evaluate(recs, k=0)
    with pytest.raises(InvalidInputError, match=r"'space' argument of smac_initial_design must be a ConfigSpace "
                                                 r"ConfigurationSpace .* Got dict"):
        smac_initial_design({"lr": (0.1, 1)}, recs)
    with pytest.raises(InvalidInputError, match=r"'recommendations' argument of ray_points_to_evaluate must be a list"):
        ray_points_to_evaluate(7)


def test_describe_space_and_active_values(user_space):
    d = describe_space(user_space)
    assert d["max_depth"] == {"type": "integer", "lower": 2, "upper": 32, "log": True, "default": 8, "conditional": True}
    assert d["width"] == {"type": "ordinal", "choices": [8, 16, 32], "default": 16, "conditional": False}
    full = {"depth_mode": "unlimited", "max_depth": 30, "kernel": "poly", "degree": 2, "n_trees": 99, "width": 8,
            "max_features": 0.5, "bootstrap": "yes"}
    assert active_values(full, user_space) == {"bootstrap": "yes", "depth_mode": "unlimited", "kernel": "poly",
                                               "max_features": 0.5, "n_trees": 99, "width": 8, "degree": 2}
    with pytest.raises(ConfigurationError, match=r"Unknown hyperparameter\(s\) 'epochs' given to active_values"):
        active_values({**full, "epochs": 3}, user_space)


def test_the_export_example_runs_and_hands_the_recommendations_to_each_tuner(tmp_path):
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "export_recommendations.py"
    proc = subprocess.run([sys.executable, str(script), "-k", "3", "--trials", "4"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    out = proc.stdout
    for header in ("-- Optuna", "-- Ray Tune", "-- SMAC3", "-- NePS"):
        assert header in out
    assert "3 points, e.g. {" in out and "3 configurations of the space" in out
    if "Optuna is not installed" not in out:
        assert [int(n) for n in re.findall(r"recommendation (\d)  ", out)] == [1, 2, 3]
    if "SMAC3 is not installed" not in out:
        assert "SMAC asks first: 1, 2, 3" in out

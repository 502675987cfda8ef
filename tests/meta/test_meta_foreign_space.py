"""A meta-dataset over a foreign search space: public-style meta-data (tasks known only by descriptors, ResNets
fine-tuned over a 16-dimensional nested space) imported, ranked and searched without editing hyperstar."""

import csv
import json
import warnings

import numpy as np
import pytest
from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    EqualsCondition,
    Float,
    Integer,
)

from hyperstar.cli.main import main
from hyperstar.exceptions import ConfigurationWarning, InvalidInputError, MetaDataError
from hyperstar.meta import analyze_meta_dataset, import_table, load_meta_dataset
from hyperstar.meta.dataset import MANIFEST
from hyperstar.meta.validate import manifest_space_version
from hyperstar.space import default_space, feature_names, same_space, space_from_json, space_to_json, validate_configuration

MODELS = ("resnet18", "resnet34", "resnet50")


def public_space() -> ConfigurationSpace:
    """16 hyperparameters, nested: optimizer and scheduler with conditional sub-parameters, the model among them."""
    cs = ConfigurationSpace(name="public-resnets", seed=0)
    opt = Categorical("optimizer", ["sgd", "adam", "rmsprop"], default="sgd")
    sched = Categorical("scheduler", ["step", "cosine", "plateau"], default="cosine")
    hps = {
        "momentum": Float("momentum", (0.0, 0.99), default=0.9),
        "nesterov": Categorical("nesterov", ["yes", "no"], default="no"),
        "beta1": Float("beta1", (0.8, 0.999), default=0.9),
        "beta2": Float("beta2", (0.9, 0.9999), default=0.999),
        "alpha": Float("alpha", (0.9, 0.999), default=0.99),
        "step_size": Integer("step_size", (5, 50), default=30),
        "gamma": Float("gamma", (0.1, 0.9), default=0.1),
        "eta_min": Float("eta_min", (1e-7, 1e-3), log=True, default=1e-6),
        "patience": Integer("patience", (2, 10), default=5),
        "factor": Float("factor", (0.1, 0.5), default=0.1),
    }
    cs.add([opt, sched, Float("lr", (1e-5, 1.0), log=True, default=0.01),
            Float("weight_decay", (1e-6, 1e-2), log=True, default=1e-4),
            Integer("batchsize", (16, 256), log=True, default=64),
            Categorical("model", list(MODELS), default="resnet18"), *hps.values()])
    parent = {"momentum": (opt, "sgd"), "nesterov": (opt, "sgd"), "beta1": (opt, "adam"), "beta2": (opt, "adam"),
              "alpha": (opt, "rmsprop"), "step_size": (sched, "step"), "gamma": (sched, "step"),
              "eta_min": (sched, "cosine"), "patience": (sched, "plateau"), "factor": (sched, "plateau")}
    cs.add([EqualsCondition(hps[name], hp, value) for name, (hp, value) in parent.items()])
    assert len(list(cs.keys())) == 16
    return cs


BASES = [
    {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": "yes", "weight_decay": 5e-4, "batchsize": 64,
     "scheduler": "step", "step_size": 30, "gamma": 0.1},
    {"optimizer": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "weight_decay": 1e-5, "batchsize": 32,
     "scheduler": "cosine", "eta_min": 1e-6},
    {"optimizer": "rmsprop", "lr": 1e-4, "alpha": 0.95, "weight_decay": 1e-4, "batchsize": 128,
     "scheduler": "plateau", "patience": 3, "factor": 0.2},
    {"optimizer": "sgd", "lr": 0.005, "momentum": 0.5, "nesterov": "no", "weight_decay": 1e-3, "batchsize": 16,
     "scheduler": "cosine", "eta_min": 1e-5},
]
TASKS = [(f"public-{i}", {"n_images": 500.0 * (i + 1), "n_classes": 5.0 + 7 * i, "mean_resolution": 64.0 + 40 * i})
         for i in range(6)]
SEEDS = (1, 2)  # no seed 0: every seed must count


def public_rows():
    """6 tasks x 12 configurations (4 bases x 3 models: configurations that differ only in the model) x 2
    seeds, curves of 5 epochs."""
    rng = np.random.default_rng(0)
    rows = []
    for t, (task, desc) in enumerate(TASKS):
        for b, base in enumerate(BASES):
            for m, model in enumerate(MODELS):
                top = 0.3 + 0.1 * b + 0.05 * m + 0.02 * t
                for seed in SEEDS:
                    curve = [round(float(min(0.99, top * (1 - 0.5 ** (e + 1)) + rng.uniform(0, 0.02))), 4) for e in range(5)]
                    rows.append({"task": task, "config": {**base, "model": model}, "val_acc": curve,
                                 "test_acc": curve[-1], "seed": seed, "family": "public", "descriptors": desc})
    return rows


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "space.json"
    public_space().to_json(path)
    return path


@pytest.fixture
def imported(tmp_path, space_file):
    return import_table(_write(tmp_path / "public.jsonl", public_rows()), tmp_path / "meta", space=space_file)


def test_the_table_is_refused_over_hyperstars_space_and_names_the_foreign_hyperparameters(tmp_path):
    with pytest.raises(MetaDataError, match="Unknown hyperparameter.*'batchsize'"):
        import_table(_write(tmp_path / "public.jsonl", public_rows()), tmp_path / "meta")


def test_configurations_that_differ_only_in_the_model_all_survive(imported, tmp_path):
    meta = load_meta_dataset(tmp_path / "meta")
    assert (meta.n_tasks, meta.n_configs, meta.max_budget) == (6, 12, 5) and meta.complete
    assert sorted({c["model"] for c in meta.configs}) == sorted(MODELS)
    without_model = {json.dumps({k: v for k, v in c.items() if k != "model"}, sort_keys=True) for c in meta.configs}
    assert len(without_model) == 4  # 4 bases x 3 models: 12 distinct configurations
    assert meta.own_space and same_space(meta.space, public_space())
    assert same_space(space_from_json(json.dumps(json.loads((tmp_path / "meta" / MANIFEST).read_text())["space"])),
                      public_space())
    assert meta.descriptor_names == ["n_images", "n_classes", "mean_resolution"] and not meta.has_images
    # each configuration is the space's: inactive sub-parameters absent, active ones kept
    assert all(validate_configuration(c, meta.space) == c for c in meta.configs)
    assert meta.subset([1, 2]).space is meta.space


def test_every_seed_is_kept_and_final_acc_is_their_mean(imported):
    meta = imported
    assert (meta.n_seeds == 2).all() and sorted(set(meta.seeds.ravel())) == list(SEEDS)
    by_cell = {}
    for r in public_rows():
        t = meta.task_index(r["task"])
        c = meta.configs.index(validate_configuration(r["config"], meta.space))
        by_cell.setdefault((t, c), []).append(r)
    assert len(by_cell) == 72
    for (t, c), rows in by_cell.items():
        assert meta.final_acc[t, c] == pytest.approx(np.mean([r["val_acc"][-1] for r in rows]))
        assert meta.test_acc[t, c] == pytest.approx(np.mean([r["test_acc"] for r in rows]))
        assert sorted(meta.seed_curves[:, t, c, -1]) == pytest.approx(sorted(r["val_acc"][-1] for r in rows))
    assert len(meta.records) == len(public_rows())


def test_config_vectors_ranking_and_tabular_hpo_work_on_it(imported):
    from hyperstar.hpo import run_tabular
    from hyperstar.ranking.baselines import AverageRank

    meta = imported
    x = meta.config_vectors()
    assert x.shape == (12, len(feature_names(meta.space))) and np.isfinite(x).all()
    assert len(np.unique(x, axis=0)) == 12  # the model is encoded: no two configurations look alike
    order = AverageRank().fit(meta).order()
    assert sorted(order) == list(range(12))
    assert meta.configs[order[0]]["model"] == "resnet50" and meta.configs[order[0]]["optimizer"] == "sgd"
    for optimizer in ("hb", "bohb"):
        r = run_tabular(meta, 0, optimizer, seed=0)
        assert r.n_crashed == 0 and r.incumbent in meta.configs
        assert r.val_acc <= r.extra["oracle_val_acc"] + 1e-12


def test_info_says_why_there_is_no_best_minus_default(imported, tmp_path, capsys):
    a = analyze_meta_dataset(imported)
    assert "mean_best_minus_default" not in a and "own search space" in a["no_default"]
    assert all("best_minus_default" not in p for p in a["per_task"])
    assert main(["metadata", "info", str(tmp_path / "meta")]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "best_minus_default" in line]
    assert lines == ["  mean_best_minus_default          n/a: the meta-dataset is over its own search space, which has no "
                     "common-practice default configuration"]
    assert "own (16 hyperparameters)" in out


def test_info_without_hyperstars_default_configuration(tmp_path, capsys):
    rows = [{"task": t, "config": {"lr": lr}, "val_acc": [a, a + 0.1]}
            for t in ("a", "b") for lr, a in ((0.2, 0.5), (0.1, 0.3))]
    meta = import_table(_write(tmp_path / "t.jsonl", rows), tmp_path / "meta")
    assert not meta.own_space and meta.default_index is None
    assert main(["metadata", "info", str(tmp_path / "meta")]) == 0
    assert "mean_best_minus_default          n/a: no default configuration in this meta-dataset" in capsys.readouterr().out


def test_the_shipped_meta_dataset_keeps_hyperstars_space_and_its_default():
    meta = load_meta_dataset()
    assert "space" not in meta.manifest and not meta.own_space and meta.default_index == 0
    # hyperstar's space of the version the manifest names (version 1 for format-1 meta-data, which predates the
    # fine-tuning techniques)
    version = manifest_space_version(meta.manifest)
    assert meta.config_vectors().shape == (meta.n_configs, len(feature_names(default_space(version=version))))
    assert "mean_best_minus_default" in analyze_meta_dataset(meta)


def test_the_cli_imports_with_space_and_the_csv_columns_follow_the_space(tmp_path, space_file, capsys):
    src = tmp_path / "public.csv"
    names = list(public_space().keys())
    with open(src, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "seed", *names, *(f"acc_{e}" for e in range(1, 6)), "desc_n_images"])
        for r in public_rows():
            w.writerow([r["task"], r["seed"], *(r["config"].get(n, "") for n in names), *r["val_acc"],
                        r["descriptors"]["n_images"]])
    assert main(["metadata", "import", str(src), "--out", str(tmp_path / "meta"), "--space", str(space_file)]) == 0
    assert "6 tasks x 12 configurations (72/72 cells)" in capsys.readouterr().out
    assert load_meta_dataset(tmp_path / "meta").own_space
    assert main(["metadata", "import", str(src), "--out", str(tmp_path / "plain")]) == 1
    assert "'batchsize'" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Hyperparameter 'momentum' applies only")
def test_configurations_the_space_makes_the_same_are_refused_for_one_cell_with_other_results(tmp_path, space_file):
    base = {"task": "a", "seed": 0, "val_acc": [0.5, 0.6]}
    adam = {"optimizer": "adam", "lr": 0.001, "model": "resnet18"}
    rows = [{**base, "config": {**adam, "momentum": 0.5}}, {**base, "task": "b", "config": adam},
            {**base, "config": {**adam, "momentum": 0.9}, "val_acc": [0.1, 0.2]}]  # momentum is inactive for adam
    with pytest.warns(ConfigurationWarning), pytest.raises(MetaDataError) as err:
        import_table(_write(tmp_path / "t.jsonl", rows), tmp_path / "meta", space=space_file)
    msg = str(err.value)
    assert msg.count("\n") == 0 and "row 3:" in msg and "row 3 vs row 1" in msg and "'momentum' (0.9 vs 0.5)" in msg
    assert not (tmp_path / "meta").exists()
    # the same results: one configuration, kept once; across tasks: merged, with a warning
    rows[2]["val_acc"] = [0.5, 0.6]
    with pytest.warns(ConfigurationWarning, match=r"2 configuration\(s\) of the table, given differently, are the same"):
        meta = import_table(_write(tmp_path / "t.jsonl", rows), tmp_path / "meta", space=space_file)
    assert meta.n_configs == 1 and meta.info()["cells_filled"] == 2 and len(meta.records) == 2


def test_an_append_keeps_the_space_of_the_meta_dataset(imported, tmp_path, space_file):
    extra = [{**r, "task": "public-new"} for r in public_rows() if r["task"] == "public-0"]
    src = _write(tmp_path / "extra.jsonl", extra)
    meta = import_table(src, tmp_path / "meta", append=True)  # no space given: that of 'meta'
    assert meta.n_tasks == 7 and meta.n_configs == 12 and meta.own_space
    with pytest.raises(InvalidInputError, match="another search space"):
        import_table(src, tmp_path / "meta", append=True, space=ConfigurationSpace({"lr": (0.001, 0.1)}))
    hyperstar_rows = [{"task": "x", "config": {"lr": 0.1, "train_mode": "full"}, "val_acc": [0.5] * 5}]
    with pytest.raises(MetaDataError, match="Unknown hyperparameter.*.train_mode"):
        import_table(_write(tmp_path / "h.jsonl", hyperstar_rows), tmp_path / "meta", append=True)


def test_a_space_argument_that_is_not_a_space_is_one_line(tmp_path):
    src = _write(tmp_path / "t.jsonl", public_rows()[:2])
    with pytest.raises(InvalidInputError, match="names no file"):
        import_table(src, tmp_path / "meta", space=tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"hyperparameters": 3}')
    with pytest.raises(InvalidInputError, match="Not a ConfigSpace JSON search space"):
        import_table(src, tmp_path / "meta", space=tmp_path / "bad.json")
    with pytest.raises(InvalidInputError, match="must be a ConfigurationSpace"):
        import_table(src, tmp_path / "meta", space=3)


def test_a_manifest_whose_configurations_are_not_of_its_space_is_refused(imported, tmp_path):
    path = tmp_path / "meta" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["configs"][3]["config"]["model"] = "vit"
    path.write_text(json.dumps(manifest))
    with pytest.raises(MetaDataError, match=r"'configs\[3\]\.config' is not a configuration of the search space of "
                                            r"'space' \(Hyperparameter 'model' must be one of"):
        load_meta_dataset(tmp_path / "meta")
    manifest["configs"][3]["config"]["model"] = "resnet34"
    manifest["configs"][1]["config"]["model"] = "resnet18"  # now the same as configs[0]
    path.write_text(json.dumps(manifest))
    with pytest.raises(MetaDataError, match=r"'configs\[1\]\.config' is the same configuration as 'configs\[0\]'"):
        load_meta_dataset(tmp_path / "meta")
    manifest["space"] = "not a space"
    path.write_text(json.dumps(manifest))
    with pytest.raises(MetaDataError, match="'space' must be a ConfigSpace search space"):
        load_meta_dataset(tmp_path / "meta")


def test_space_json_round_trips_through_the_manifest_form():
    space = public_space()
    assert same_space(space_from_json(space_to_json(space)), space)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not same_space(space, ConfigurationSpace({"lr": (0.001, 0.1)}))


def test_a_descriptors_recommender_fits_ranks_saves_and_loads_over_the_foreign_space(imported, tmp_path):
    from hyperstar.ranking import Recommender
    from hyperstar.space import validate_configuration

    rec = Recommender(encoder="descriptors", steps=20, n_fresh_candidates=5).fit(imported)
    described = dict(zip(imported.descriptor_names, imported.descriptors[0]))
    top = rec.rank(described, k=4)
    assert len(top) == 4 and all(validate_configuration(c, imported.space) == c for c in top)
    again = Recommender.load(rec.save(tmp_path / "model"))
    assert again.rank(described, k=4) == top

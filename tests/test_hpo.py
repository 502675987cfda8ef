"""Tests of hyperstar.hpo: task-aware Hyperband / BOHB on a real hpbandster loop (nameserver on 127.0.0.1).

Unit tests of the config generators, the plain-type seam, the secret and the workers run in this
process; the `hyperstar tune` / `hyperstar worker` tests run the CLI in real subprocesses, with tiny
image folders, the tiny CNN and budgets 1..3 so that each takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import serpent
from conftest import write_image_folder

from hyperstar.exceptions import HyperstarError, InvalidInputError
from hyperstar.hpo import (
    AdaptiveRanking,
    FineTuneWorker,
    NameServer,
    RankedConfigGenerator,
    TabularWorker,
    TaskAwareBOHB,
    bohb_space,
    plain_budget,
    plain_config,
    plain_info,
    pyro_secret,
    run_tabular,
    tune,
)
from hyperstar.meta.dataset import (
    FORMAT_VERSION,
    RESULTS,
    append_record,
    load_meta_dataset,
    write_manifest,
)
from hyperstar.space import config_key, sample_configurations, validate_configuration

TINY = ["--backbone", "smallcnn_tiny", "--weights", "none", "--resolution", "16",
        "--min-budget", "1", "--max-budget", "3", "--eta", "3"]


# --------------------------------------------------------------------------- fixtures and helpers


def make_synthetic_meta(out: Path, n_tasks: int = 6, n_configs: int = 20, max_budget: int = 3, seed: int = 0):
    """Two task families with opposite tastes: 'a' tasks like high learning rates, 'b' tasks low ones."""
    configs = sample_configurations(n=n_configs, seed=seed)
    tasks = [{"name": f"task{t}", "family": "a" if t % 2 == 0 else "b", "recipe": None, "descriptors": {"x": float(t)}}
             for t in range(n_tasks)]
    write_manifest(out, {"format_version": FORMAT_VERSION, "name": "synthetic", "max_budget": max_budget,
                         "backbone": "smallcnn", "tasks": tasks,
                         "configs": [{"id": f"c{i:04d}", "config": c} for i, c in enumerate(configs)]})
    rng = np.random.default_rng(seed)
    for t, task in enumerate(tasks):
        sign = 1.0 if task["family"] == "a" else -1.0
        for i, c in enumerate(configs):
            peak = 0.5 + 0.08 * sign * np.log10(c["lr"]) / 2 + 0.01 * rng.normal()
            curve = [peak * (0.6 + 0.4 * (e + 1) / max_budget) for e in range(max_budget)]
            append_record(out / RESULTS, {"task": task["name"], "config_id": f"c{i:04d}", "seed": 0,
                                          "val_acc": curve, "test_acc": peak - 0.01})
    return load_meta_dataset(out)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Fine-tuning in this process with one thread: two threads on a busy 2-core machine are ~100x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def meta(tmp_path_factory):
    return make_synthetic_meta(tmp_path_factory.mktemp("meta") / "m")


@pytest.fixture(scope="module")
def meta9(tmp_path_factory):
    return make_synthetic_meta(tmp_path_factory.mktemp("meta9") / "m", max_budget=9)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("images") / "imgs", n_classes=3, per_class=12, size=16)


def hyperstar(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hyperstar.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"timed out; stderr:\n{err[-3000:]}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def events(run_dir: Path, kind: str) -> list[dict]:
    out = []
    for line in lines(run_dir / "worker_log.jsonl"):
        try:
            e = json.loads(line)
        except json.JSONDecodeError:  # a line being written right now
            continue
        if e["event"] == kind:
            out.append(e)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_until(condition, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


class FakeJob:
    """What hpbandster hands to ``new_result``."""

    def __init__(self, config, budget, loss, i=0):
        self.id = (0, 0, i)
        self.kwargs = {"config": config, "budget": budget}
        self.result = None if loss is None else {"loss": loss, "info": {}}
        self.exception = None


# --------------------------------------------------------------------------- the plain-type seam


def test_plain_types_cross_the_seam():
    config = {"optimizer": np.str_("sgd"), "lr": np.float64(0.1), "batch_size": np.int64(32), "flag": np.bool_(True)}
    out = plain_config(config)
    assert {k: type(v) for k, v in out.items()} == {"optimizer": str, "lr": float, "batch_size": int, "flag": bool}
    assert serpent.loads(serpent.dumps(out)) == out
    with pytest.raises(ValueError):  # the trap: serpent cannot carry numpy values
        serpent.loads(serpent.dumps({"budget": np.float64(1.0)}))
    budget = plain_budget(np.float64(9) * np.power(3.0, -2.0))
    assert type(budget) is float and budget == 1.0
    with pytest.raises(TypeError, match="only str, int, float"):
        plain_config({"lr": [0.1]})
    assert plain_info({"a": np.float32(np.nan), "b": (np.int8(1), np.arange(2))}) == {"a": None, "b": [1, [0, 1]]}


def test_values_crossing_pyro_are_plain_python(meta, monkeypatch):
    seen = []
    evaluate = TabularWorker.evaluate

    def spy(self, config_id, config, budget, working_directory):
        seen.append((config_id, config, budget))
        return evaluate(self, config_id, config, budget, working_directory)

    monkeypatch.setattr(TabularWorker, "evaluate", spy)
    run_tabular(meta, 0, "bohb", warm_start=True, seed=0)
    assert len(seen) >= 6
    for config_id, config, budget in seen:
        assert all(type(i) is int for i in config_id)
        assert all(type(v) in (int, float, str) for v in config.values()), config
        assert type(budget) is float


# --------------------------------------------------------------------------- config generators


def test_ranked_generator_serves_the_ranking_in_order_then_random():
    ranking = sample_configurations(n=5, seed=1)
    cg = RankedConfigGenerator(ranking, seed=0)
    got = [cg.get_config(1.0) for _ in range(8)]
    assert [c for c, _ in got[:5]] == ranking
    assert [i["rank"] for _, i in got[:5]] == [1, 2, 3, 4, 5]
    assert all(i["source"] == "random" for _, i in got[5:])
    keys = [config_key(c) for c, _ in got]
    assert len(set(keys)) == 8  # never the same configuration twice
    assert all(validate_configuration(c) == c for c, _ in got)
    cg.mark_used(ranking[0])  # a resumed run tells the generator what was already evaluated
    assert config_key(ranking[0]) not in {config_key(c) for c in cg.remaining}


def test_random_fraction_mixes_in_random_configurations_reproducibly():
    ranking = sample_configurations(n=300, seed=2)

    def draws(fraction, seed=0, n=200):
        cg = RankedConfigGenerator(ranking, random_fraction=fraction, seed=seed)
        return [cg.get_config(1.0) for _ in range(n)]

    half = draws(0.5)
    ranked = [i["rank"] for _, i in half if i["source"] == "ranking"]
    assert 0.35 < 1 - len(ranked) / len(half) < 0.65
    assert ranked == list(range(1, len(ranked) + 1))  # ranked ones still come in ranking order
    assert [c for c, _ in half] == [c for c, _ in draws(0.5)]  # same seed, same draws
    assert [c for c, _ in half] != [c for c, _ in draws(0.5, seed=1)]
    assert all(i["source"] == "random" for _, i in draws(1.0, n=20))
    with pytest.raises(InvalidInputError, match="random_fraction"):
        RankedConfigGenerator(ranking, random_fraction=1.5)


def test_reserved_top_recommendations_wait_for_a_high_budget_bracket():
    ranking = sample_configurations(n=6, seed=3)
    cg = RankedConfigGenerator(ranking, reserve_top=2, reserve_budget=9.0)
    low = [cg.get_config(1.0)[1]["rank"] for _ in range(3)]
    high = [cg.get_config(9.0)[1]["rank"] for _ in range(2)]
    assert low == [3, 4, 5] and high == [1, 2]


def _finished_job(config, budget, loss=0.5):
    from hpbandster.core.dispatcher import Job

    job = Job((0, 0, 0), config=config, budget=budget, working_directory=".")
    job.result, job.exception = {"loss": loss, "info": {}}, None
    return job


def test_revisit_gives_a_top_pick_stopped_early_a_second_chance_higher_up():
    ranking = sample_configurations(n=6, seed=4)
    cg = RankedConfigGenerator(ranking, seed=0)
    assert [cg.get_config(1.0)[1]["rank"] for _ in range(4)] == [1, 2, 3, 4]
    cg.new_result(_finished_job(ranking[0], 3.0))  # rank 1 was promoted to 3 in its bracket; ranks 2-4 stopped at 1
    assert [cg.get_config(3.0)[1]["rank"] for _ in range(2)] == [2, 3]  # a bracket starting at 3: not rank 1 again
    assert [cg.get_config(9.0)[1]["rank"] for _ in range(3)] == [1, 2, 3]
    assert [cg.get_config(9.0)[1]["rank"] for _ in range(3)] == [4, 5, 6]
    assert cg.get_config(9.0)[1]["source"] == "random"  # everything ranked has run at the maximum budget
    assert cg.get_config(1.0)[1]["source"] == "random"  # and at 1 (ranks 5, 6 at 9 count as run at 1)

    once = RankedConfigGenerator(ranking, revisit=False, seed=0)
    got = [once.get_config(b)[1] for b in (1.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0)]
    assert [i.get("rank") for i in got[:6]] == [1, 2, 3, 4, 5, 6] and got[6]["source"] == "random"


def test_revisit_knows_what_a_resumed_run_already_ran():
    ranking = sample_configurations(n=3, seed=5)
    cg = RankedConfigGenerator(ranking, seed=0)
    cg.mark_used(ranking[0], 9.0)  # replayed from the log: handed out at the maximum budget
    cg.mark_used(ranking[1], 1.0)
    assert [cg.get_config(3.0)[1]["rank"] for _ in range(2)] == [2, 3]


def test_run_tabular_revisits_a_top_pick_and_charges_only_the_extra_epochs(meta9, tmp_path):
    from hyperstar.hpo.runner import read_log

    t = 0
    top9 = [int(i) for i in np.argsort(-meta9.final_acc[t])[:9]]
    slow = min(top9, key=lambda c: meta9.curves[t, c, 0])  # worst after one epoch: stopped in the first bracket
    ranking = [slow] + [c for c in top9 if c != slow]
    key = config_key(meta9.configs[slow])
    jobs = {}
    for revisit in (True, False):
        r = run_tabular(meta9, t, "hb", ranking=ranking, n_iterations=2, run_dir=tmp_path / str(revisit),
                        generator_options={"revisit": revisit})
        configs, _ = read_log(tmp_path / str(revisit))
        prev = [0.0] + [p["cumulative_epochs"] for p in r.trajectory[:-1]]
        jobs[revisit] = [(p["budget"], p["cumulative_epochs"] - before) for p, before in zip(r.trajectory, prev)
                         if config_key(configs[tuple(p["config_id"])][0]) == key]
    assert jobs[True] == [(1.0, 1.0), (3.0, 2.0)]  # back in the bracket that starts at 3, continued: 2 more epochs
    assert jobs[False] == [(1.0, 1.0)]


def test_bohb_space_has_no_ordinals_and_keeps_conditions():
    space = bohb_space(seed=0)
    assert not any(hasattr(hp, "sequence") for hp in space.values())
    assert len(space.conditions) == 4
    assert list(space["batch_size"].choices) == [16, 32, 64, 128]


def test_task_aware_bohb_serves_ranking_first_and_its_model_learns_from_it():
    ranking = sample_configurations(n=40, seed=4)
    cg = TaskAwareBOHB(ranking, random_fraction=0.0, seed=0)
    served = 0
    for i in range(40):
        had_model = cg.has_model
        config, info = cg.get_config(1.0)
        if not had_model:  # before the model exists every pick is the next ranked configuration
            assert config == ranking[served] and info["rank"] == served + 1
            served += 1
        else:
            assert info["source"] == "model"
        loss = 0.1 if config["optimizer"] == "adamw" else 0.9  # AdamW is what works on this task
        cg.new_result(FakeJob(config, 1.0, loss, i))
    assert served >= 30 and cg.has_model  # the KDE was fitted on warm-start results alone
    picks = [cg.get_config(1.0) for _ in range(30)]
    assert all(i["source"] == "model" for _, i in picks)
    adamw = np.mean([c["optimizer"] == "adamw" for c, _ in picks])
    assert adamw > 0.75, adamw  # the prior is 50/50
    assert all(type(v) in (int, float, str) for c, _ in picks for v in c.values())


def test_task_aware_bohb_restricted_to_candidates_snaps_model_picks(meta):
    cg = TaskAwareBOHB([], candidates=meta.configs, random_fraction=0.0, seed=0)
    keys = {config_key(c) for c in meta.configs}
    for i in range(20):
        config, _ = cg.get_config(1.0)
        assert config_key(config) in keys
        cg.new_result(FakeJob(config, 1.0, 1.0 - meta.curves[0, meta.configs.index(config), 0], i))


# --------------------------------------------------------------------------- adaptive ranking


def test_adaptive_ranking_trusts_the_tasks_that_agree_with_observations(meta):
    ada = AdaptiveRanking(meta.subset([1, 2, 3, 4, 5]))  # task0 (family 'a') is the new task
    final = meta.final_acc[0]
    for c in np.argsort(-final)[:6]:
        ada.observe(meta.configs[c], 3.0, float(final[c]))
    w = ada.task_weights()
    families = [meta.families[t] for t in (1, 2, 3, 4, 5)]
    assert sum(wi for wi, f in zip(w, families) if f == "a") > 0.9
    reordered = ada.reorder(list(meta.configs))
    best_true = meta.configs[int(np.argmax(final))]
    assert config_key(reordered[0]) == config_key(best_true)
    assert ada.observe({"lr": 0.5}, 3.0, 0.5) is False  # not a meta-dataset configuration


# --------------------------------------------------------------------------- workers


def test_tabular_worker_answers_from_stored_curves_and_rejects_other_configs(meta):
    w = TabularWorker(meta, 2, "unit", nameserver="127.0.0.1", nameserver_port=1)
    c = meta.configs[5]
    t0 = time.perf_counter()
    res = w.compute((0, 0, 0), c, 2.0, ".")
    assert time.perf_counter() - t0 < 0.05
    assert res["loss"] == pytest.approx(1 - meta.curves[2, 5, 1])
    assert res["info"]["curve"] == pytest.approx(list(meta.curves[2, 5, :2]))
    assert res["info"]["test_acc"] is None  # only known at the maximum budget
    assert w.compute((0, 0, 0), c, 3.0, ".")["info"]["test_acc"] == pytest.approx(meta.test_acc[2, 5])
    with pytest.raises(InvalidInputError, match="only evaluates configurations of its meta-dataset"):
        w.compute((0, 0, 1), sample_configurations(n=1, seed=99)[0], 1.0, ".")


def test_finetune_worker_continues_promotions_and_reports_failures(tiny_task, tmp_path):
    from hyperstar.finetune import fine_tune

    w = FineTuneWorker(tiny_task, "unit", max_budget=3, backbone="smallcnn_tiny", weights=None,
                       nameserver="127.0.0.1", nameserver_port=1)
    config = validate_configuration({"lr": 0.05, "batch_size": 16})
    first = w.compute((0, 0, 0), config, 1.0, str(tmp_path))
    second = w.compute((0, 0, 0), config, 3.0, str(tmp_path))
    assert first["info"]["resumed_from_epoch"] is None and second["info"]["resumed_from_epoch"] == 1
    scratch = fine_tune(tiny_task, config, budget=3, max_budget=3, backbone="smallcnn_tiny", weights=None)
    assert second["info"]["curve"] == [e.val_acc for e in scratch.curve]  # exact on CPU
    assert second["loss"] == pytest.approx(1 - scratch.val_acc)
    assert len(list((tmp_path / "checkpoints").rglob("*.pt"))) == 1  # one per configuration

    diverged = w.compute((0, 0, 1), {"lr": 10.0, "optimizer": "sgd", "momentum": 0.99}, 1.0, str(tmp_path))
    assert diverged["info"]["diverged"] is True
    assert diverged["loss"] == pytest.approx(1 - diverged["info"]["val_acc"])  # the majority-class accuracy

    failed = w.compute((0, 0, 2), {"lr": 1e6}, 1.0, str(tmp_path))
    assert failed["loss"] == 1.0 and "lr" in failed["info"]["error"]
    for res in (first, second, diverged, failed):
        json.dumps(res, allow_nan=False)
        assert type(res["loss"]) is float
    ends = events(tmp_path, "end")
    assert [e["config_id"] for e in ends] == [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 2]]


# --------------------------------------------------------------------------- the shared secret


def test_a_wrong_secret_cannot_reach_the_nameserver():
    import Pyro4

    from hyperstar.hpo.seam import locate_nameserver

    with pyro_secret("right"), NameServer(host="127.0.0.1", port=0) as ns:
        assert ns.host == "127.0.0.1" and ns.port > 0
        with locate_nameserver(ns.host, ns.port) as proxy:
            assert "Pyro.NameServer" in proxy.list()
            state = proxy.__getstate_for_dict__()
            assert state[5] is None  # the secret never goes on the wire inside a proxy
        for other in ("wrong", None):
            with pyro_secret(other), pytest.raises(HyperstarError, match="secret does not match"):
                locate_nameserver(ns.host, ns.port)
        assert Pyro4.config.SERIALIZER == "serpent" and "pickle" not in Pyro4.config.SERIALIZERS_ACCEPTED


# --------------------------------------------------------------------------- run_tabular


def test_run_tabular_warm_start_evaluates_the_ranking_first(meta, tmp_path):
    from hpbandster.core.result import logged_results_to_HBS_result

    oracle = [int(i) for i in np.argsort(-meta.final_acc[0])]
    r = run_tabular(meta, 0, "hb", ranking=oracle, seed=0, run_dir=tmp_path / "run")
    first = json.loads(lines(tmp_path / "run" / "configs.json")[0])
    assert first[1] == meta.configs[oracle[0]] and first[2]["rank"] == 1
    assert r.val_acc == pytest.approx(r.extra["oracle_val_acc"])
    assert r.incumbent == meta.configs[oracle[0]]
    assert r.test_acc == pytest.approx(meta.test_acc[0, oracle[0]])
    hbs = logged_results_to_HBS_result(tmp_path / "run")  # hpbandster reads our log
    assert list(hbs.get_incumbent_id()) == r.incumbent_id
    budgets = [p["cumulative_budget"] for p in r.trajectory]
    assert budgets == sorted(budgets) and budgets[-1] == r.total_budget == 12.0
    best = [p["best_val_acc"] for p in r.trajectory if p["best_val_acc"] is not None]
    assert best == sorted(best)
    assert r.budget_to_reach(r.extra["oracle_val_acc"]) is not None


def test_run_tabular_can_hold_the_top_recommendation_for_a_full_budget_bracket(meta9):
    oracle = [int(i) for i in np.argsort(-meta9.final_acc[0])]
    r = run_tabular(meta9, 0, "hb", ranking=oracle, generator_options={"reserve_top": 1})
    assert r.incumbent == meta9.configs[oracle[0]]
    assert [p["budget"] for p in r.trajectory if p["config_id"] == r.incumbent_id] == [9.0]  # never raced at 1 or 3
    assert r.trajectory[0]["config_id"] != r.incumbent_id
    with pytest.raises(InvalidInputError, match="Unknown generator option"):
        run_tabular(meta9, 0, "hb", generator_options={"no_such_option": 1})


def test_conservative_bracket_order_trains_the_top_picks_fully_first(meta9, tmp_path):
    from collections import Counter

    oracle = [int(i) for i in np.argsort(-meta9.final_acc[0])]
    r = run_tabular(meta9, 0, "hb", ranking=oracle, n_iterations=1, bracket_order="conservative_first",
                    run_dir=tmp_path / "c")
    assert [p["budget"] for p in r.trajectory] == [9.0, 9.0, 9.0]  # hpbandster's least aggressive bracket
    assert [json.loads(x)[2]["rank"] for x in lines(tmp_path / "c" / "configs.json")] == [1, 2, 3]
    assert r.incumbent == meta9.configs[oracle[0]] and r.budget_to_reach(r.extra["oracle_val_acc"]) == 9.0
    # A full round runs the same brackets in either order, only reversed.
    runs = {o: run_tabular(meta9, 0, "hb", warm_start=False, seed=1, bracket_order=o)
            for o in ("aggressive_first", "conservative_first")}
    budgets = {o: [p["budget"] for p in x.trajectory] for o, x in runs.items()}
    assert Counter(budgets["aggressive_first"]) == Counter(budgets["conservative_first"])
    assert budgets["aggressive_first"][0] == 1.0 and budgets["conservative_first"][0] == 9.0
    # The default is hpbandster's order, warm-started or not.
    warm = run_tabular(meta9, 0, "hb", ranking=oracle, n_iterations=1)
    assert warm.extra["bracket_order"] == "aggressive_first" and warm.trajectory[0]["budget"] == 1.0
    with pytest.raises(InvalidInputError, match="bracket_order"):
        run_tabular(meta9, 0, "hb", bracket_order="backwards")


def test_run_tabular_optimizers_are_reproducible(meta9):
    for optimizer, adaptive in (("hb", False), ("bohb", False), ("random", False), ("hb", True)):
        a = run_tabular(meta9, 1, optimizer, seed=3, adaptive=adaptive)
        b = run_tabular(meta9, 1, optimizer, seed=3, adaptive=adaptive)
        assert a.n_jobs >= 9 and a.n_crashed == 0
        assert [(p["config_id"], p["val_acc"]) for p in a.trajectory] == [(p["config_id"], p["val_acc"]) for p in b.trajectory]
    cold = run_tabular(meta9, 1, "hb", warm_start=False, seed=3)
    assert cold.n_jobs == a.n_jobs


# --------------------------------------------------------------------------- tune in this process


def test_tune_with_thread_workers_logs_plots_and_follows_the_ranking(tiny_task, tmp_path, meta):
    ranking = [meta.configs[i] for i in (3, 1, 4)]
    r = tune(tiny_task, "hb", ranking=ranking, min_budget=1, max_budget=3, eta=3, n_iterations=1,
             n_workers=1, worker_mode="thread", run_dir=tmp_path / "run", backbone="smallcnn_tiny", weights=None,
             ping_interval=1)
    run = tmp_path / "run"
    logged = [json.loads(x)[1] for x in lines(run / "configs.json")]
    assert logged == ranking
    assert r.n_jobs == 4 and r.n_new_jobs == 4 and r.budget == 3.0
    assert r.incumbent in ranking and 0.0 <= r.val_acc <= 1.0 and 0.0 <= r.test_acc <= 1.0
    for name in ("trajectory.png", "result.json", "run.json", "ranking.json", "results.json"):
        assert (run / name).is_file(), name
    assert not (run / "nameserver.json").exists()  # removed when the run ends
    assert json.loads((run / "result.json").read_text())["incumbent"] == r.incumbent
    with pytest.raises(InvalidInputError, match="already holds a run"):
        tune(tiny_task, "hb", ranking=ranking, run_dir=run, worker_mode="thread")


def test_tune_refuses_bad_settings_in_one_line(tiny_task, tmp_path):
    with pytest.raises(InvalidInputError, match="optimizer"):
        tune(tiny_task, "tpe", warm_start=False, run_dir=tmp_path / "a")
    with pytest.raises(InvalidInputError, match="warm start needs a ranking"):
        tune(tiny_task, "hb", run_dir=tmp_path / "b", worker_mode="thread")
    with pytest.raises(InvalidInputError, match="Nothing to resume"):
        tune(tiny_task, "hb", warm_start=False, run_dir=tmp_path / "c", resume=True)
    with pytest.raises(InvalidInputError, match="min_budget <= max_budget"):
        tune(tiny_task, "hb", warm_start=False, min_budget=5, max_budget=3, run_dir=tmp_path / "d")


# --------------------------------------------------------------------------- the CLI, real processes


def test_cli_tune_bohb_with_two_worker_processes_prints_the_incumbent(folder, meta, tmp_path):
    run = tmp_path / "run"
    proc = hyperstar("tune", str(folder), "--optimizer", "bohb", "--warm-start", "--meta", str(meta.path),
                     "--workers", "2", "--n-iterations", "2", "--run-dir", str(run), "--json", *TINY)
    out, err = finish(proc)
    assert proc.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert validate_configuration(result["incumbent"]) == result["incumbent"]
    assert result["budget"] == 3.0 and 0.0 <= result["val_acc"] <= 1.0 and result["n_jobs"] == 6
    assert "job (0, 0, 0) at budget 1" in err and "Traceback" not in err  # progress on the terminal
    first = json.loads(lines(run / "configs.json")[0])
    assert first[2]["source"] == "ranking" and first[2]["rank"] == 1  # warm-started
    assert len({e["pid"] for e in events(run, "end")}) == 2  # both workers worked
    assert (run / "trajectory.png").is_file() and not (run / "nameserver.json").exists()


def test_a_worker_killed_mid_job_does_not_stop_the_run(folder, tmp_path):
    run = tmp_path / "run"
    proc = hyperstar("tune", str(folder), "--optimizer", "hb", "--no-warm-start", "--workers", "2",
                     "--n-iterations", "2", "--run-dir", str(run), "--json", *TINY)

    def freeze_a_running_job():
        ended = {(tuple(e["config_id"]), e["budget"]) for e in events(run, "end")}
        for e in events(run, "start"):
            job = (tuple(e["config_id"]), e["budget"])
            if job in ended or not alive(e["pid"]):
                continue
            os.kill(e["pid"], signal.SIGSTOP)  # freeze it, then make sure it is still inside the job
            if job not in {(tuple(x["config_id"]), x["budget"]) for x in events(run, "end")}:
                os.kill(e["pid"], signal.SIGKILL)
                return job, e["pid"]
            os.kill(e["pid"], signal.SIGCONT)
        return None

    (job, pid) = wait_until(freeze_a_running_job, 120, "a running job")
    out, err = finish(proc)
    assert proc.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert result["incumbent"] is not None and result["n_crashed"] >= 1
    logged = [json.loads(x) for x in lines(run / "results.json")]
    crashed = [r for r in logged if (tuple(r[0]), r[1]) == job]
    assert crashed and crashed[0][3] is None and "Worker died" in crashed[0][4]
    assert any(e["pid"] != pid for e in events(run, "end"))  # the others carried on


def test_master_killed_mid_run_resumes_without_losing_or_recomputing_jobs(folder, tmp_path):
    run = tmp_path / "run"
    args = ["tune", str(folder), "--optimizer", "bohb", "--no-warm-start", "--workers", "2", "--n-iterations", "4",
            "--run-dir", str(run), "--json", "--seed", "1", *TINY]
    proc = hyperstar(*args)
    wait_until(lambda: len(lines(run / "results.json")) >= 3, 120, "three finished jobs")
    pids = json.loads((run / "nameserver.json").read_text())["worker_pids"]
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    wait_until(lambda: not any(alive(p) for p in pids), 20, "the orphaned workers to exit", interval=0.1)
    before = lines(run / "results.json")
    fine_tunes_before = len(events(run, "end"))
    assert 3 <= len(before) < 12

    proc = hyperstar(*args, "--resume")
    out, err = finish(proc)
    assert proc.returncode == 0, err[-3000:]
    after = lines(run / "results.json")
    assert after[: len(before)] == before  # every earlier job still in the log, unchanged
    jobs = [(tuple(json.loads(x)[0]), json.loads(x)[1]) for x in after]
    assert len(jobs) == len(set(jobs)) == 12  # none twice; the whole schedule done
    configs = [config_key(json.loads(x)[1]) for x in lines(run / "configs.json")]
    assert len(configs) == len(set(configs))  # the resumed run did not draw earlier configurations again
    new_fine_tunes = len(events(run, "end")) - fine_tunes_before
    assert new_fine_tunes == len(after) - len(before)  # none recomputed
    result = json.loads(out)
    assert result["n_jobs"] == 12 and result["n_new_jobs"] == len(after) - len(before)


def test_a_worker_started_by_hand_joins_a_running_tune(folder, tmp_path):
    run = tmp_path / "run"
    proc = hyperstar("tune", str(folder), "--optimizer", "hb", "--no-warm-start", "--workers", "0",
                     "--n-iterations", "1", "--run-dir", str(run), "--json", *TINY)
    conn = wait_until(lambda: (run / "nameserver.json").is_file() and json.loads((run / "nameserver.json").read_text()),
                      120, "the nameserver file")
    assert conn["host"] == "127.0.0.1" and oct((run / "nameserver.json").stat().st_mode & 0o777) == "0o600"
    intruder = hyperstar("worker", "--run-id", conn["run_id"], "--nameserver", conn["host"],
                         "--nameserver-port", str(conn["port"]), "--secret", "not-the-secret", "--wait", "1")
    worker = hyperstar("worker", "--run-id", conn["run_id"], "--nameserver", conn["host"],
                       "--nameserver-port", str(conn["port"]), "--secret", conn["secret"], "--threads", "1")
    out, err = finish(proc)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out)["n_jobs"] == 4
    _, w_err = finish(worker, timeout=60)
    assert worker.returncode == 0, w_err[-2000:]
    assert {e["pid"] for e in events(run, "end")} == {worker.pid}
    _, i_err = finish(intruder, timeout=60)
    assert intruder.returncode != 0
    assert "secret does not match" in i_err and len(i_err.strip().splitlines()) == 1 and "Traceback" not in i_err


def test_bohb_reserved_top_waits_for_a_high_budget_even_with_a_model():
    ranking = sample_configurations(n=40, seed=4)
    cg = TaskAwareBOHB(ranking, random_fraction=0.0, seed=0, reserve_top=2, reserve_budget=9.0)
    for i in range(35):  # low-budget brackets: the top two never appear
        config, info = cg.get_config(1.0)
        assert info.get("rank") not in (1, 2)
        cg.new_result(FakeJob(config, 1.0, 0.1 if config["optimizer"] == "adamw" else 0.9, i))
    assert cg.has_model
    top = [cg.get_config(9.0)[1] for _ in range(3)]
    assert [t.get("rank") for t in top[:2]] == [1, 2] and top[2]["source"] == "model"
    with pytest.raises(InvalidInputError, match="reserve_budget"):
        TaskAwareBOHB(ranking, reserve_top=1)

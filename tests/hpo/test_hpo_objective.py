"""hyperstar.hpo.optimize: a user's own objective over a user's own space (issue 18).

Real hpbandster loops: thread workers in this process, process workers importing the objective by
'module:function', a kill -9 of the master and an exact resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hpo_support import lines, wait_until
from objectives_for_tests import forest_like_space, score

from hyperstar.exceptions import InvalidInputError
from hyperstar.hpo import optimize
from hyperstar.hpo.result import job_outcome
from hyperstar.space import validate_configuration

HERE = Path(__file__).resolve().parent


def _results(run_dir):
    return [json.loads(x) for x in lines(Path(run_dir) / "results.json")]


def test_thread_workers_tune_a_user_space_and_the_incumbent_never_failed(tmp_path):
    space = forest_like_space()
    r = optimize(score, space, optimizer="bohb", min_budget=1, max_budget=9, n_workers=2, run_dir=tmp_path / "r",
                 seed=0, plot=True)
    logged = _results(tmp_path / "r")
    assert r.n_jobs == len(logged) >= 20
    assert validate_configuration(r.incumbent, space) == r.incumbent
    ok = [x for x in logged if job_outcome(x[3], x[4]) == "ok"]
    failed = [x for x in logged if job_outcome(x[3], x[4]) == "failed"]
    assert failed and all("max_features above 0.9" in x[4] for x in failed)  # logged, flagged
    assert r.incumbent["max_features"] <= 0.9 and r.val_acc == max(x[3]["info"]["val_acc"] for x in ok if x[1] == 9)
    assert (tmp_path / "r" / "trajectory.png").is_file()
    settings = json.loads((tmp_path / "r" / "run.json").read_text())
    assert settings["objective"] == "objectives_for_tests:score" and "n_trees" in settings["space"]


def test_promotions_get_the_previous_checkpoint_folder(tmp_path):
    r = optimize(score, forest_like_space(), optimizer="hb", min_budget=1, max_budget=9, run_dir=tmp_path / "r", seed=1)
    promoted = [x for x in _results(tmp_path / "r") if x[3] is not None and x[1] > 1]
    assert promoted and all(x[3]["info"]["continued_from"] == (x[3]["info"]["resumed_from_budget"] or 0.0) for x in promoted)
    assert any(x[3]["info"]["continued_from"] > 0 for x in promoted)
    # one folder per configuration is kept: the furthest finished budget
    for folder in (tmp_path / "r" / "checkpoints").iterdir():
        assert len([p for p in folder.iterdir() if (p / ".done").exists()]) == 1
    assert r.incumbent is not None


def test_a_warm_start_ranking_is_evaluated_first_in_the_users_space(tmp_path):
    ranking = [{"n_trees": 50, "depth_mode": "fixed", "max_depth": 12, "max_features": 0.4},
               {"n_trees": 20, "depth_mode": "auto", "max_features": 0.3}]
    optimize(score, forest_like_space(), optimizer="hb", ranking=ranking, min_budget=1, max_budget=9,
             run_dir=tmp_path / "r", n_iterations=1)
    first = [json.loads(x)[1] for x in lines(tmp_path / "r" / "configs.json")][:2]
    assert first == [validate_configuration(c, forest_like_space()) for c in ranking]


@pytest.mark.parametrize("objective, message", [
    (lambda config, budget: 0.5, "keyword arguments checkpoint_dir and previous_checkpoint"),
    ("no_such_module_xyz:f", "Cannot import the objective's module 'no_such_module_xyz'"),
    ("objectives_for_tests:nothing", "has no 'nothing'"),
])
def test_a_bad_objective_is_refused_in_one_line(tmp_path, objective, message):
    with pytest.raises(InvalidInputError, match=message):
        optimize(objective, forest_like_space(), run_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_process_workers_need_an_importable_objective(tmp_path):
    with pytest.raises(InvalidInputError, match="Process workers import the objective"):
        optimize(lambda c, b, **kw: 0.5, forest_like_space(), worker_mode="process", run_dir=tmp_path / "r")


SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from objectives_for_tests import forest_like_space
from hyperstar.hpo import optimize
r = optimize("objectives_for_tests:score", forest_like_space(), optimizer="hb", min_budget=1, max_budget=9,
             n_workers=2, worker_mode="process", run_dir={run!r}, resume={resume}, seed=0, plot=False)
print("RESULT", r.n_jobs, r.n_new_jobs, r.n_failed, r.incumbent is not None, flush=True)
"""


def _script(tmp_path, resume):
    path = tmp_path / f"run_{resume}.py"
    path.write_text(textwrap.dedent(SCRIPT.format(here=str(HERE), run=str(tmp_path / "run"), resume=resume)))
    return path


def test_two_process_workers_killed_with_the_master_resume_exactly(tmp_path):
    env = {**os.environ, "HYPERSTAR_TEST_OBJECTIVE_DELAY": "0.3"}
    proc = subprocess.Popen([sys.executable, str(_script(tmp_path, False))], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until(lambda: len(_results(tmp_path / "run")) >= 5 or proc.poll() is not None, 180, "five results")
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        os.killpg(proc.pid, signal.SIGKILL)  # the master and its workers, as a crash would
    finally:
        proc.wait(timeout=60)
    before = {(tuple(x[0]), x[1]) for x in _results(tmp_path / "run")}
    again = subprocess.run([sys.executable, str(_script(tmp_path, True))], capture_output=True, text=True,
                           timeout=300, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    n_jobs, n_new, n_failed, has_incumbent = again.stdout.split("RESULT")[1].split()
    logged = _results(tmp_path / "run")
    keys = [(tuple(x[0]), x[1]) for x in logged]
    assert len(keys) == len(set(keys)) == int(n_jobs) == 20  # nothing lost, nothing done twice
    assert int(n_new) == 20 - len(before) and has_incumbent == "True"
    assert {x[3]["info"]["pid"] for x in logged if x[3] is not None} - {os.getpid()}  # ran in other processes


def test_a_worker_started_by_hand_joins_an_optimize_run_with_its_objective(tmp_path):
    import threading

    run = tmp_path / "run"
    out = {}

    def master():
        out["result"] = optimize("objectives_for_tests:score", forest_like_space(), optimizer="hb", min_budget=1,
                                 max_budget=3, n_iterations=1, n_workers=0, worker_mode="process", run_dir=run,
                                 plot=False)

    t = threading.Thread(target=master)
    t.start()
    try:
        wait_until(lambda: (run / "nameserver.json").is_file(), 60, "the run's nameserver.json")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        worker = subprocess.run([sys.executable, "-m", "hyperstar.cli", "worker", "--run-dir", str(run),
                                 "--objective", "objectives_for_tests:score"], env=env, capture_output=True,
                                text=True, timeout=120)
    finally:
        t.join(timeout=120)
    assert worker.returncode == 0, worker.stderr[-2000:]
    r = out["result"]
    assert r.n_jobs == 4 and r.incumbent is not None
    assert {x[3]["info"]["pid"] for x in _results(run) if x[3] is not None} != {os.getpid()}

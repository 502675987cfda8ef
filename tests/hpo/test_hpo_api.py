"""Tests of hyperstar.hpo: tune in this process (thread workers)."""

from __future__ import annotations

import json

import pytest
from hpo_support import lines, wait_until

from hyperstar.exceptions import InvalidInputError
from hyperstar.hpo import tune
from hyperstar.space import validate_configuration


def test_tune_with_thread_workers_logs_plots_and_follows_the_ranking(tiny_task, tmp_path, meta):
    ranking = [meta.configs[i] for i in (3, 1, 4)]
    r = tune(tiny_task, "hb", ranking=ranking, min_budget=1, max_budget=3, eta=3, n_iterations=1,
             n_workers=1, worker_mode="thread", run_dir=tmp_path / "run", backbone="smallcnn_tiny", weights=None,
             ping_interval=1)
    run = tmp_path / "run"
    logged = [json.loads(x)[1] for x in lines(run / "configs.json")]
    # the meta-data's version-1 configurations, read in tune's space (version 2) with the techniques off
    assert logged == [validate_configuration(c) for c in ranking]
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


def test_a_second_tune_on_a_busy_run_dir_is_refused_at_once_and_the_first_run_is_intact(tiny_task, tmp_path, meta):
    import threading
    import time

    from hyperstar._internal.locks import FolderBusyError
    from hyperstar.exceptions import HyperstarError

    run = tmp_path / "run"
    ranking = [meta.configs[i] for i in (3, 1, 4)]
    kwargs = dict(ranking=ranking, min_budget=1, max_budget=3, eta=3, n_iterations=1, n_workers=1,
                  worker_mode="thread", run_dir=run, backbone="smallcnn_tiny", weights=None, ping_interval=1, plot=False)
    started, go, out = threading.Event(), threading.Event(), {}

    def hold(line):  # the first run's first progress line: it holds the run directory; keep it there a moment
        started.set()
        go.wait(60)

    def first():
        try:
            out["result"] = tune(tiny_task, "hb", progress=hold, **kwargs)
        except BaseException as exc:  # reported below, in the test's thread
            out["error"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    try:
        wait_until(lambda: started.is_set() or not thread.is_alive(), 60, "the first run to start")
        assert started.is_set(), out.get("error")
        settings = (run / "run.json").read_text()
        for resume in (False, True):
            t0 = time.monotonic()
            with pytest.raises(FolderBusyError, match="run directory .* is in use by another hyperstar process") as exc:
                tune(tiny_task, "hb", resume=resume, **kwargs)
            assert time.monotonic() - t0 < 2  # at once, not after a wait
            assert isinstance(exc.value, HyperstarError) and len(str(exc.value).splitlines()) == 1
    finally:
        go.set()
        thread.join(120)
    assert "error" not in out, out.get("error")
    r = out["result"]
    assert r.n_jobs == 4 and r.n_new_jobs == 4 and r.incumbent in ranking
    assert [json.loads(x)[1] for x in lines(run / "configs.json")] == [validate_configuration(c) for c in ranking]
    assert len(lines(run / "results.json")) == 4 and (run / "run.json").read_text() == settings
    # The lock ends with the run: the finished run resumes (nothing left to compute).
    again = tune(tiny_task, "hb", resume=True, **kwargs)
    assert again.n_jobs == 4 and again.n_new_jobs == 0 and again.incumbent == r.incumbent


def test_a_refused_start_leaves_no_run_directory_behind(tiny_task, tmp_path):
    with pytest.raises(InvalidInputError, match="warm start needs a ranking"):
        tune(tiny_task, "hb", run_dir=tmp_path / "new", worker_mode="thread")
    assert not (tmp_path / "new").exists()


def test_two_runs_in_two_threads_of_one_process_both_finish_with_their_own_secrets(tiny_task, tmp_path):
    import threading

    results, errors = {}, {}

    def run(name, optimizer, secret):
        try:
            results[name] = tune(tiny_task, optimizer, warm_start=False, max_budget=3, n_iterations=1,
                                 worker_mode="thread", backbone="smallcnn_tiny", weights=None, resolution=16,
                                 run_dir=tmp_path / name, secret=secret, ping_interval=1, plot=False, seed=1)
        except BaseException as exc:  # reported below
            errors[name] = exc

    threads = [threading.Thread(target=run, args=("a", "hb", "secret-a")),
               threading.Thread(target=run, args=("b", "bohb", "secret-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a run hung"
    assert not errors, errors
    assert results["a"].n_jobs == results["b"].n_jobs == 4
    assert results["a"].incumbent is not None and results["b"].incumbent is not None
    from hyperstar.hpo.seam import current_secret

    assert current_secret() is None  # nothing left behind in this thread

"""Faults of a tuning run (issue 15): nothing lost, nothing done twice, no false success.

Each test is one failure an adversarial pass found: a setup that fails every job is refused before
any worker starts; failures never become results (the incumbent, BOHB's model); a run with no result
says so and fails; crashed jobs are run again on --resume while failed ones are not; a resume on other
data is refused; two-worker Hyperband runs give the same results.
"""

from __future__ import annotations

import json
import shutil

import pytest
from hpo_support import TINY, FakeJob

from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.hpo import tune
from hyperstar.hpo.result import WORKER_DIED, job_outcome, summarize

TINY_TUNE = dict(optimizer="hb", warm_start=False, max_budget=3, n_iterations=1, worker_mode="thread",
                 backbone="smallcnn_tiny", weights=None, resolution=16, ping_interval=1, plot=False)


def _results(run_dir):
    return [json.loads(line) for line in (run_dir / "results.json").read_text().splitlines()]


# --------------------------------------------------------------------------- refused before any worker


@pytest.mark.parametrize("change, error, message", [
    ({"backbone": "nonesuch"}, InvalidInputError, "nonesuch"),
    ({"device": "banana"}, InvalidInputError, "banana"),
    ({"weights": "missing.pt"}, InvalidInputError, "missing.pt"),
    ({"port": 99999}, InvalidInputError, "'port' argument of tune must be an int in [0, 65535]"),
    ({"seed": 10**20}, InvalidInputError, "'seed' argument of tune must be an int in [0, 4294967295]"),
    ({"max_budget": 10**9}, InvalidInputError, "plan more than 100000 jobs"),
])
def test_a_setup_that_would_fail_every_job_is_refused_before_the_run_starts(folder, tmp_path, change, error, message):
    run = tmp_path / "run"
    with pytest.raises(error) as exc:
        tune(str(folder), **{**TINY_TUNE, "worker_mode": "process", **change}, run_dir=run)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert not run.exists()  # nothing started, nothing to clean up


def test_too_few_images_per_class_is_refused_with_the_finetune_message(tmp_path):
    import importlib.util as _ilu
    from pathlib import Path as _P

    _spec = _ilu.spec_from_file_location("_hyperstar_root_conftest", _P(__file__).resolve().parents[1] / "conftest.py")
    _root = _ilu.module_from_spec(_spec)
    _spec.loader.exec_module(_root)  # tests/conftest.py by path: the bare name `conftest` is ambiguous

    small = _root.write_image_folder(tmp_path / "small", n_classes=3, per_class=2, size=16)
    with pytest.raises(DataError, match="class"):
        tune(str(small), **TINY_TUNE, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_cli_refuses_a_bad_setup_in_one_line_with_a_nonzero_exit(run_cli, folder, tmp_path):
    out = run_cli("tune", str(folder), "--optimizer", "hb", "--no-warm-start", "--run-dir", str(tmp_path / "r"),
                  *TINY[:2], "--weights", "none", "--device", "banana", "--quiet")
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "banana" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- failures are not results


class _Job:
    def __init__(self, i, budget, result, exception=None):
        self.id, self.kwargs, self.timestamps = (0, 0, i), {"config": {"lr": 0.1 * (i + 1)}, "budget": budget}, {}
        self.result, self.exception = result, exception


def test_a_failed_job_never_becomes_the_incumbent(tmp_path):
    from hyperstar.hpo.log import ResultLog

    log = ResultLog(tmp_path)
    log(_Job(0, 1.0, {"loss": 0.4, "info": {"val_acc": 0.6}}))
    log(_Job(1, 3.0, {"loss": 1.0, "info": {"error": "RuntimeError: boom", "val_acc": None}}))  # an old-style failure
    log(_Job(2, 3.0, None, "Traceback (most recent call last):\n  ...\nValueError: bad"))
    r = summarize(tmp_path, 3, optimizer="hb", warm_start=False)
    assert r.incumbent == {"lr": 0.1} and r.val_acc == 0.6 and r.budget == 1.0  # the best that gave a result
    assert (r.n_failed, r.n_crashed) == (2, 0)
    assert [p["outcome"] for p in r.trajectory] == ["ok", "failed", "failed"]
    assert {f["message"] for f in r.failures} == {"RuntimeError: boom", "ValueError: bad"}


def test_bohb_does_not_learn_from_failed_jobs():
    from hyperstar.hpo.generators import TaskAwareBOHB
    from hyperstar.hpo.master import as_crashed
    from hyperstar.space import sample_configurations

    cg = TaskAwareBOHB([], seed=0, min_points_in_model=3)
    configs = sample_configurations(n=6, seed=1)
    for i, c in enumerate(configs[:3]):
        cg.new_result(FakeJob(c, 1.0, 0.5 - 0.1 * i, i))
    failed = FakeJob(configs[3], 1.0, 1.0, 3)
    failed.result["info"] = {"error": "RuntimeError: boom"}
    as_crashed(failed)  # what the master does before the generator sees it
    assert failed.result is None and failed.exception == "RuntimeError: boom"
    cg.new_result(failed)
    assert len(cg.losses[1.0]) == 3  # hpbandster's BOHB would have added it with loss +inf


def test_a_run_where_every_job_fails_has_no_incumbent_and_says_why(tiny_task, tmp_path, monkeypatch):
    import hyperstar.finetune

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(hyperstar.finetune, "fine_tune", broken)
    r = tune(tiny_task, **TINY_TUNE, run_dir=tmp_path / "run")
    assert r.incumbent is None and r.val_acc is None and r.n_failed == r.n_jobs >= 4
    assert r.failures == [{"message": "RuntimeError: CUDA error: an illegal memory access was encountered",
                           "count": r.n_jobs}]
    assert r.no_result_reason.startswith(f"Every one of the {r.n_jobs} job(s) failed")
    assert all(res[3] is None for res in _results(tmp_path / "run"))  # logged, flagged, not as results


def test_the_cli_exits_nonzero_when_no_job_gave_a_result(folder, tmp_path, monkeypatch, capsys):
    import hyperstar.hpo
    from hyperstar.cli.main import main
    from hyperstar.hpo.result import TuneResult

    def every_job_failed(*args, **kwargs):
        return TuneResult(None, None, None, None, None, [], "hb", False, 4, 4, 0, 4.0, 4.0, str(tmp_path),
                          n_failed=4, failures=[{"message": "RuntimeError: boom", "count": 4}])

    monkeypatch.setattr(hyperstar.hpo, "tune", every_job_failed)
    code = main(["tune", str(folder), "--no-warm-start", "--run-dir", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "Every one of the 4 job(s) failed" in err and "RuntimeError: boom (4 of 4)" not in err
    assert "most common failure (4 of 4): RuntimeError: boom" in err


# --------------------------------------------------------------------------- resume


def test_resume_runs_crashed_jobs_again_and_keeps_failed_ones(tiny_task, tmp_path):
    run = tmp_path / "run"
    first = tune(tiny_task, **TINY_TUNE, run_dir=run)
    logged = _results(run)
    assert len(logged) == first.n_jobs == 4
    top = max(range(len(logged)), key=lambda i: logged[i][1])  # the job at the maximum budget
    low = next(i for i in range(len(logged)) if logged[i][1] < 3 and logged[i][0] != logged[top][0])
    logged[top][3], logged[top][4] = None, WORKER_DIED  # as a run killed with its worker would have left it
    logged[low][3], logged[low][4] = None, "ValueError: a failure of the job itself"
    (run / "results.json").write_text("".join(json.dumps(r) + "\n" for r in logged))
    (run / "result.json").unlink()

    again = tune(tiny_task, **TINY_TUNE, run_dir=run, resume=True)
    assert again.n_new_jobs == 1  # the crashed one, not the failed one
    final = _results(run)
    assert len(final) == 5 and final[-1][0] == logged[top][0] and job_outcome(final[-1][3], final[-1][4]) == "ok"
    assert again.incumbent_id == logged[top][0] and again.val_acc == pytest.approx(first.val_acc)
    assert (again.n_failed, again.n_crashed) == (1, 1)


def test_resume_on_other_data_is_refused(folder, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    run = tmp_path / "run"
    tune(str(data), **TINY_TUNE, run_dir=run)
    extra = next((data / "class_0").iterdir())
    shutil.copy(extra, data / "class_0" / "copy.png")
    with pytest.raises(InvalidInputError, match=r"on other data \(36 images -> 37\)"):
        tune(str(data), **TINY_TUNE, run_dir=run, resume=True)
    (data / "class_0" / "copy.png").unlink()
    shutil.copytree(data / "class_0", data / "class_9")
    with pytest.raises(InvalidInputError, match=r"on other data \(3 classes -> 4\)"):
        tune(str(data), **TINY_TUNE, run_dir=run, resume=True)


# --------------------------------------------------------------------------- reproducibility


def test_two_worker_hyperband_runs_with_the_same_seed_give_the_same_results(tiny_task, tmp_path):
    """What the README promises: with a fixed ranking (or none) and no adaptive re-ranking, Hyperband's
    jobs and their results do not depend on the order two workers finish them (the log's order may)."""
    runs = []
    for name in ("a", "b"):
        r = tune(tiny_task, **{**TINY_TUNE, "n_workers": 2}, seed=3, run_dir=tmp_path / name)
        runs.append(({(tuple(x[0]), x[1]): x[3]["loss"] for x in _results(tmp_path / name)}, r))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1].incumbent == runs[1][1].incumbent


def test_cli_resume_takes_the_runs_own_settings_for_flags_left_at_their_defaults(run_cli, folder, tmp_path):
    run = tmp_path / "run"
    first = run_cli("tune", str(folder), "--optimizer", "hb", "--no-warm-start", "--n-iterations", "1",
                    "--run-dir", str(run), "--seed", "5", "--quiet", "--json", *TINY)
    assert first.returncode == 0, first.stderr[-2000:]
    # only what changes is given: one more bracket; optimizer, budgets, backbone, seed... come from run.json
    again = run_cli("tune", str(folder), "--resume", "--run-dir", str(run), "--n-iterations", "2", "--quiet", "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    before, after = json.loads(first.stdout), json.loads(again.stdout)
    assert after["n_jobs"] > before["n_jobs"] and after["n_new_jobs"] == after["n_jobs"] - before["n_jobs"]
    assert after["optimizer"] == "hb"


def test_a_full_disk_crashes_a_job_for_resume_to_retry_and_keeps_a_finished_training(tiny_task, tmp_path,
                                                                                    monkeypatch):
    import errno

    import hyperstar.finetune
    from hyperstar.hpo.result import CRASH_PREFIX

    real = hyperstar.finetune.fine_tune

    def full_disk(task, config, **kwargs):
        if kwargs["budget"] == 3:  # nothing could be written: the job is lost, not failed
            raise OSError(errno.ENOSPC, "No space left on device")
        result = real(task, config, **kwargs)
        if kwargs.get("checkpoint_path") is None:
            return result
        exc = OSError(errno.ENOSPC, "No space left on device")  # the training finished; its checkpoint did not
        exc.result = result
        raise exc

    monkeypatch.setattr(hyperstar.finetune, "fine_tune", full_disk)
    r = tune(tiny_task, **TINY_TUNE, run_dir=tmp_path / "run")
    logged = _results(tmp_path / "run")
    low = [x for x in logged if x[1] == 1]
    assert low and all(job_outcome(x[3], x[4]) == "ok" and x[3]["info"]["checkpoint_error"] for x in low)
    high = [x for x in logged if x[1] == 3]
    assert high and all(x[3] is None and x[4].startswith(CRASH_PREFIX + "OSError") for x in high)
    assert r.n_crashed == len(high) and r.incumbent is not None and r.budget == 1.0
    monkeypatch.setattr(hyperstar.finetune, "fine_tune", real)  # space freed: resume retries the lost jobs
    again = tune(tiny_task, **TINY_TUNE, run_dir=tmp_path / "run", resume=True)
    assert again.n_new_jobs == len(high) and again.budget == 3.0


def test_a_negative_reserve_top_is_refused():
    from hyperstar.hpo.generators import RankedConfigGenerator

    with pytest.raises(InvalidInputError, match="'reserve_top' argument of RankedConfigGenerator must be an int >= 0"):
        RankedConfigGenerator([], reserve_top=-1, reserve_budget=3.0)


def test_a_backbone_registered_by_the_user_is_seen_by_worker_processes(folder, tmp_path):
    import backbones_for_tests  # noqa: F401  (registers "users_tinynet" in this process only)

    r = tune(str(folder), **{**TINY_TUNE, "worker_mode": "process", "n_workers": 1, "backbone": "users_tinynet"},
             run_dir=tmp_path / "run")
    assert r.incumbent is not None and r.n_failed == 0, r.failures
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["backbone"] == "users_tinynet"

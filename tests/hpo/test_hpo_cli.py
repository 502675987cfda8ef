"""Tests of hyperstar.hpo: hyperstar tune / hyperstar worker in real processes."""

from __future__ import annotations

import json
import os
import signal

from hpo_support import TINY, alive, events, finish, hyperstar, lines, wait_until

from hyperstar.space import config_key, validate_configuration


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


def test_a_job_lost_with_its_killed_worker_is_queued_again_and_the_run_goes_on(folder, tmp_path):
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
    assert result["incumbent"] is not None and result["n_crashed"] == 0
    logged = [json.loads(x) for x in lines(run / "results.json")]
    again = [r for r in logged if (tuple(r[0]), r[1]) == job]
    assert len(again) == 1 and again[0][3] is not None and again[0][4] is None  # run again, to a result
    starts = [e for e in events(run, "start") if (tuple(e["config_id"]), e["budget"]) == job]
    assert len(starts) == 2 and starts[1]["pid"] != pid
    assert f"job {job[0]} at budget {job[1]:g} was lost with its worker; queued again (1/2)" in err
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

"""``hyperstar demo``: refuses what it must not touch, and writes everything it announces."""

import json
import re
from types import SimpleNamespace

import pytest

from hyperstar.cli.main import main
from hyperstar.demo import DEMO_TASK, pick_task
from hyperstar.suite.packaged import reads_debian_packages


def _shipped_demo_task() -> tuple[str, dict]:
    """The task the demo picks by default from the shipped meta-data and recommender, and its recipe."""
    from hyperstar.meta import load_meta_dataset
    from hyperstar.ranking import Recommender

    meta = load_meta_dataset()
    name, note = pick_task(None, meta, Recommender.default())
    assert note is None, note  # the shipped recommender holds tasks out
    return name, meta.recipes[meta.task_names.index(name)]


def test_the_default_demo_task_is_held_out_and_builds_without_debian_packages():
    """`make demo` must run on a fresh machine: CI installs none of the packages the packaged families read."""
    name, recipe = _shipped_demo_task()
    assert recipe is not None and not reads_debian_packages(recipe), name


def test_the_default_task_prefers_the_demo_task_then_a_held_out_task_built_without_packages():
    def recipe(family):
        return {"family": family, "params": {}, "seed": 0}

    names = ["drawn", "glyph", DEMO_TASK, "photo"]
    meta = SimpleNamespace(task_names=names,
                           recipes=[recipe("wesnoth_units"), recipe("glyphs"), recipe("glyphs"), recipe("photo_patches")])
    assert pick_task(None, meta, SimpleNamespace(holdout_tasks_=["drawn", DEMO_TASK, "photo"])) == (DEMO_TASK, None)
    assert pick_task(None, meta, SimpleNamespace(holdout_tasks_=["drawn", "photo", "glyph"])) == ("photo", None)
    assert pick_task(None, meta, SimpleNamespace(holdout_tasks_=["drawn"])) == ("drawn", None)  # says apt-get install
    name, note = pick_task(None, meta, SimpleNamespace(holdout_tasks_=[]))
    assert name == "glyph" and "seen in training" in note
    name, note = pick_task("drawn", meta, SimpleNamespace(holdout_tasks_=["photo"]))  # asked for: taken, with a note
    assert name == "drawn" and "held-out tasks: photo" in note


def test_demo_refuses_an_output_folder_it_did_not_write_and_unknown_tasks(tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["demo", "--out", str(foreign)]) == 1
    assert "not written by `hyperstar demo`" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert main(["demo", "--out", str(tmp_path / "new"), "--task", "no-such-task"]) == 1
    err = capsys.readouterr().err
    assert "Unknown demo task 'no-such-task'" in err and _shipped_demo_task()[0] in err
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_demo_with_its_smallest_settings_writes_everything_it_announces(tmp_path, run_cli):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--iterations", "1", "--max-budget", "3", "--top", "3"]
    for attempt in range(2):  # the second run replaces the first one's output
        proc = run_cli(*args, cwd=tmp_path, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    text = proc.stdout
    assert "Top 3 configurations" in text and "resembles" in text and "[  4/4]" in text
    assert re.search(r"incumbent .*: val_acc \d\.\d{3}, test_acc \d\.\d{3}", text)
    assert "common-practice default" in text and "demo finished in" in text
    summary = json.loads((out / "demo.json").read_text())
    assert summary["task"] == _shipped_demo_task()[0] and summary["held_out"] is True
    assert summary["result"]["n_jobs"] == 4 and summary["meta_data_context"]["default"]["val_acc"] > 0
    recs = json.loads((out / "recommendations.json").read_text())["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3]
    assert (out / "run" / "trajectory.png").is_file() and (out / "run" / "results.json").is_file()


def test_demo_prints_its_report_stage_by_stage_and_writes_its_files(tmp_path, monkeypatch, capsys):
    """The whole demo but the fine-tuning (hyperstar.hpo.tune answers at once, with no finished job)."""
    import hyperstar.hpo

    class NoJobs:
        incumbent, n_jobs, total_budget, total_epochs = None, 0, 0.0, 0.0

        def to_dict(self, trajectory=True):
            return {"n_jobs": 0, "incumbent": None}

    seen = {}
    monkeypatch.setattr(hyperstar.hpo, "tune", lambda task, optimizer, **kw: seen.update(kw) or NoJobs())
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--top", "2", "--max-budget", "3", "--iterations", "1"]) == 0
    text = capsys.readouterr().out
    order = ["loading the shipped recommender", f"building task {_shipped_demo_task()[0]}",
             "not used to train the shipped recommender", "Top 2 configurations", "It resembles",
             "task-aware BOHB: budgets 1-3 epochs, eta 3, 1 Hyperband iteration(s), 2 local worker",
             "no job finished; see the logs in", "common-practice default", "(this run's largest budget is 3 epochs",
             "demo.json: this summary", "demo finished in"]
    positions = [text.find(line) for line in order]
    assert -1 not in positions and positions == sorted(positions), text
    assert seen["run_dir"] == out / "run" and seen["n_iterations"] == 1 and seen["resolution"] == 32
    summary = json.loads((out / "demo.json").read_text())
    assert summary["settings"] == {"optimizer": "bohb", "min_budget": 1.0, "max_budget": 3, "eta": 3,
                                   "n_iterations": 1, "n_workers": 2, "seed": 0}
    assert summary["held_out"] is True and summary["result"] == {"n_jobs": 0, "incumbent": None}
    assert set(summary["meta_data_context"]) == {"default", "best_stored"}
    recs = json.loads((out / "recommendations.json").read_text())
    assert [r["rank"] for r in recs["recommendations"]] == [1, 2] and len(recs["similar_tasks"]) == 3
    assert (out / ".hyperstar-demo").is_file()


def test_a_configuration_row_lines_up_with_the_header_for_every_schedule():
    from hyperstar.cli.demo import CONFIG_HEADER, format_config_row
    from hyperstar.space import default_configuration, default_space

    base = default_configuration()
    rows = [format_config_row({**base, "lr_schedule": schedule, "warmup": warmup})
            for schedule in default_space()["lr_schedule"].choices for warmup in ("none", "linear")
            if not (schedule == "slanted_triangular" and warmup == "linear")]  # that schedule takes no warmup
    assert len(rows) == 7 and all(len(row) == len(CONFIG_HEADER) for row in rows), (rows, CONFIG_HEADER)

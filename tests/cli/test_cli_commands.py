"""The commands of ``hyperstar``: finetune, space, metadata build's default, recommend's and tune's defaults."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import hyperstar
from hyperstar.cli.main import build_parser, main


@pytest.fixture
def folder_with_corrupt_png(image_folder):
    (image_folder / "class_0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return image_folder


def test_finetune_json_on_an_image_folder(folder_with_corrupt_png, run_cli):
    proc = run_cli("finetune", str(folder_with_corrupt_png), "--epochs", "2", "--json", "--backbone", "smallcnn_tiny")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [e["epoch"] for e in result["curve"]] == [1, 2]
    assert all(0.0 <= e["val_acc"] <= 1.0 for e in result["curve"])
    assert 0.0 <= result["test_acc"] <= 1.0 and result["diverged"] is False
    assert "1 unreadable" in proc.stderr and "broken.png" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_empty_folder_is_one_line_error_without_traceback(tmp_path, run_cli):
    (tmp_path / "empty").mkdir()
    proc = run_cli("finetune", str(tmp_path / "empty"), "--json")
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "empty" in lines[0] and "Traceback" not in proc.stderr


def test_diverging_learning_rate_is_flagged_with_exit_zero(image_folder, capsys):
    code = main(["finetune", str(image_folder), "--epochs", "2", "--json", "--config", '{"lr": 10}',
                 "--backbone", "smallcnn_tiny"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["diverged"] is True


def test_same_seed_same_curve_and_resume_equals_scratch(image_folder, tmp_path, capsys):
    common = [str(image_folder), "--json", "--backbone", "smallcnn_tiny", "--max-budget", "4", "--seed", "3"]

    def curve(*extra):
        assert main(["finetune", *common, *extra]) == 0
        return [(e["train_loss"], e["val_acc"]) for e in json.loads(capsys.readouterr().out)["curve"]]

    ckpt = str(tmp_path / "c.pt")
    assert curve("--epochs", "2") == curve("--epochs", "2")
    curve("--epochs", "2", "--checkpoint", ckpt)
    assert curve("--epochs", "4", "--resume", ckpt) == curve("--epochs", "4")


def test_bad_config_is_a_clear_error(image_folder, capsys):
    assert main(["finetune", str(image_folder), "--config", '{"lr": "fast"}']) == 1
    err = capsys.readouterr().err
    assert "'lr' must be a number" in err and "Traceback" not in err



@pytest.mark.parametrize("kind", ["empty_text", "binary_file", "inactive_value"])
def test_finetune_config_that_was_silently_accepted_now_says_so(image_folder, tmp_path, capsys, kind):
    config = {"empty_text": "", "binary_file": str(tmp_path / "config.json"),
              "inactive_value": '{"optimizer": "adamw", "momentum": 0.5, "batch_size": 16}'}[kind]
    (tmp_path / "config.json").write_bytes(bytes(range(128, 256)))
    code = main(["finetune", str(image_folder), "--epochs", "1", "--backbone", "smallcnn_tiny", "--weights", "none",
                 "--resolution", "16", "--config", config, "--json"])
    out, err = capsys.readouterr()
    if kind == "inactive_value":  # dropped, with a warning: a valid run
        assert code == 0 and "momentum" not in json.loads(out)["config"]
        assert "hyperstar: warning: Hyperparameter 'momentum' applies only when optimizer == 'sgd'" in err
        return
    assert code == 1 and out == ""
    expected = {"empty_text": "The configuration is empty. Pass JSON text",
                "binary_file": f"The configuration file '{tmp_path / 'config.json'}' is not a JSON text file"}[kind]
    assert err.startswith(f"hyperstar: error: {expected}") and err.count("\n") == 1

def test_space_json(capsys):
    assert main(["space", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {h["name"] for h in out["hyperparameters"]}
    assert {"lr", "optimizer", "train_mode", "l2sp_strength"} <= names
    assert out["default"]["lr"] == 0.01


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_metadata_build_never_defaults_to_writing_inside_the_package(capsys, tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as done:
        main(["metadata", "build", "--help"])
    assert done.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default ./hyperstar-meta, in the current directory" in help_text
    monkeypatch.chdir(tmp_path)
    out = Path(build_parser().parse_args(["metadata", "build"]).out).resolve()
    package = Path(hyperstar.__file__).resolve().parent
    assert out == tmp_path.resolve() / "hyperstar-meta" and package not in out.parents


# --------------------------------------------------------------------------- defaults from the model / meta-data


@pytest.fixture(scope="module")
def model_at_16(tmp_path_factory):
    """The shipped recommender, saved again with its images at 16 x 16."""
    from hyperstar.ranking import Recommender

    rec = Recommender.default()
    rec.resolution = 16
    return rec.save(tmp_path_factory.mktemp("model") / "model16")


@pytest.fixture
def task_resolutions(monkeypatch):
    """The resolutions image folders are loaded at, while the test runs."""
    from hyperstar.data import Task

    seen, load = [], Task.from_folder

    def spy(path, **kwargs):
        seen.append(kwargs["resolution"])
        return load(path, **kwargs)

    monkeypatch.setattr(Task, "from_folder", spy)
    return seen


def test_recommend_takes_the_image_resolution_from_the_model(model_at_16, image_folder, task_resolutions, capsys):
    assert main(["recommend", str(image_folder), "-k", "3", "--model", str(model_at_16), "--json"]) == 0
    assert [r["rank"] for r in json.loads(capsys.readouterr().out)["recommendations"]] == [1, 2, 3]
    assert main(["recommend", str(image_folder), "-k", "3", "--model", str(model_at_16), "--resolution", "24"]) == 0
    assert "resembles" in capsys.readouterr().out
    assert task_resolutions == [16, 24]  # the model's, then the flag's


@pytest.fixture
def tune_calls(monkeypatch):
    """The keyword arguments `hyperstar tune` hands to hyperstar.hpo.tune (which then does nothing)."""
    import hyperstar.hpo

    calls = []

    def fake_tune(task, optimizer, **kwargs):
        calls.append(kwargs)
        return SimpleNamespace(incumbent=None, n_jobs=0, run_dir="nowhere", no_result_reason="No job finished.")

    monkeypatch.setattr(hyperstar.hpo, "tune", fake_tune)
    return calls


def test_tune_takes_resolution_and_backbone_from_the_model_or_the_meta_data(model_at_16, image_folder, tmp_path,
                                                                             tune_calls, capsys):
    from hyperstar.meta.dataset import FORMAT_VERSION, write_manifest
    from hyperstar.space import default_configuration

    meta = tmp_path / "meta"
    write_manifest(meta, {"format_version": FORMAT_VERSION, "name": "m", "max_budget": 2, "backbone": "smallcnn_tiny",
                          "resolution": 24, "tasks": [{"name": "t", "family": "f", "recipe": None, "descriptors": {}}],
                          "configs": [{"id": "c0000", "config": default_configuration()}]})
    runs = [["--model", str(model_at_16)], ["--meta", str(meta)], ["--no-warm-start"],
            ["--model", str(model_at_16), "--resolution", "20", "--backbone", "smallcnn_tiny"]]
    for extra in runs:
        assert main(["tune", str(image_folder), *extra]) == 1  # no result: not a success
        assert "No job finished." in capsys.readouterr().err
    assert [(c["resolution"], c["backbone"]) for c in tune_calls] == [
        (16, "smallcnn"), (24, "smallcnn_tiny"), (32, "smallcnn"), (20, "smallcnn_tiny")]
    assert tune_calls[1]["meta"].path == meta.resolve()


def test_recommend_ranks_a_task_known_only_by_its_descriptors(tmp_path, capsys):
    model = tmp_path / "model"
    assert main(["fit", "--encoder", "descriptors", "--steps", "20", "--out", str(model)]) == 0
    capsys.readouterr()
    described = {"n_images": 900, "n_classes": 6}
    assert main(["recommend", "--model", str(model), "--descriptors", json.dumps(described), "-k", "3", "--json"]) == 0
    inline = json.loads(capsys.readouterr().out)["recommendations"]
    (tmp_path / "d.json").write_text(json.dumps(described))
    assert main(["recommend", "--model", str(model), "--descriptors", str(tmp_path / "d.json"), "-k", "3",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommendations"] == inline and len(inline) == 3
    assert main(["recommend", "--model", str(model), "--descriptors", json.dumps(described), "-k", "1"]) == 0
    text = capsys.readouterr().out
    assert all(f"{k}=" in text for k in inline[0]["config"])  # the whole configuration, not five values of it
    for bad, message in [([], "Give an image folder or --descriptors"),
                         (["--descriptors", "{not json"], "--descriptors is not valid JSON"),
                         (["--descriptors", "[1, 2]"], "neither a JSON object nor a file")]:
        assert main(["recommend", "--model", str(model), *bad]) != 0
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", [["finetune", "x"], ["recommend", "x"], ["fit", "--out", "x"], ["tune", "x"]])
def test_a_seed_out_of_range_is_refused_by_every_command(command, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command, "--seed", str(10**20)])
    assert exc.value.code == 2
    assert "--seed: must be an int in [0, 4294967295]; got 100000000000000000000" in capsys.readouterr().err


def test_fine_tune_refuses_a_seed_numpy_cannot_take(tiny_task):
    from hyperstar.exceptions import InvalidInputError
    from hyperstar.finetune import fine_tune

    with pytest.raises(InvalidInputError, match=r"'seed' argument of fine_tune must be an int in \[0, 4294967295\]"):
        fine_tune(tiny_task, {}, budget=1, seed=10**20, backbone="smallcnn_tiny", weights=None)

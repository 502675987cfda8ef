import json
import subprocess
import sys

import pytest

from hyperstar.cli.main import main


def run_cli(*args):
    """The CLI in a real subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "hyperstar.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def folder_with_corrupt_png(image_folder):
    (image_folder / "class_0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return image_folder


def test_finetune_json_on_an_image_folder(folder_with_corrupt_png):
    proc = run_cli("finetune", str(folder_with_corrupt_png), "--epochs", "2", "--json", "--backbone", "smallcnn_tiny")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [e["epoch"] for e in result["curve"]] == [1, 2]
    assert all(0.0 <= e["val_acc"] <= 1.0 for e in result["curve"])
    assert 0.0 <= result["test_acc"] <= 1.0 and result["diverged"] is False
    assert "1 unreadable" in proc.stderr and "broken.png" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_empty_folder_is_one_line_error_without_traceback(tmp_path):
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


def test_space_json(capsys):
    assert main(["space", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {h["name"] for h in out["hyperparameters"]}
    assert {"lr", "optimizer", "train_mode", "l2sp_strength"} <= names
    assert out["default"]["lr"] == 0.01


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err

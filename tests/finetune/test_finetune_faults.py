"""Faults around fine-tuning: a checkpoint write on a full disk keeps the finished result; damaged
checkpoints give one line; resuming onto other data is refused; the thread count is part of "same seed,
same curve"."""

import errno
import io
import json
import pickle

import numpy as np
import pytest
from damaged_files import Evil
import torch
from tiny_runs import FAST, TINY, curve_values

from hyperstar.data import Task
from hyperstar.exceptions import DiskFullError, IncompatibleVersionError, InvalidInputError, ModelFileError
from hyperstar.finetune import fine_tune
from hyperstar.finetune.checkpoint import CHECKPOINT_FORMAT, load_checkpoint


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _no_space(obj, fh):
    fh.write(b"x" * 100)
    raise OSError(errno.ENOSPC, "No space left on device")


# --------------------------------------------------------------------------- disk full


def test_a_checkpoint_write_on_a_full_disk_keeps_the_finished_result_and_the_old_checkpoint(tiny_task, tmp_path,
                                                                                               monkeypatch):
    ckpt = tmp_path / "ckpt.pt"
    fine_tune(tiny_task, FAST, budget=1, max_budget=3, seed=0, checkpoint_path=ckpt, **TINY)
    old = ckpt.read_bytes()
    expected = fine_tune(tiny_task, FAST, budget=2, max_budget=3, seed=0, **TINY)
    monkeypatch.setattr(torch, "save", _no_space)
    with pytest.raises(DiskFullError) as info:
        fine_tune(tiny_task, FAST, budget=2, max_budget=3, seed=0, checkpoint_path=ckpt, **TINY)
    err = info.value
    assert err.path == str(ckpt) and err.needed > 0 and err.free > 0 and "\n" not in str(err)
    result = err.result  # the training is done: curve and accuracies measured, only the checkpoint is missing
    assert result is not None and result.checkpoint is None
    assert curve_values(result) == curve_values(expected) and result.test_acc == expected.test_acc
    assert ckpt.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]
    monkeypatch.undo()
    # the old checkpoint still resumes
    resumed = fine_tune(tiny_task, FAST, budget=2, max_budget=3, seed=0, resume_from=ckpt, **TINY)
    assert curve_values(resumed) == curve_values(expected)


def test_a_checkpoint_path_that_cannot_be_written_is_refused_before_training(tiny_task, tmp_path):
    with pytest.raises(InvalidInputError, match="is a folder; pass a file path"):
        fine_tune(tiny_task, FAST, budget=1, checkpoint_path=tmp_path, **TINY)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="Cannot create the checkpoint folder"):
        fine_tune(tiny_task, FAST, budget=1, checkpoint_path=tmp_path / "file" / "sub" / "c.pt", **TINY)


def test_cli_finetune_on_a_full_disk_prints_the_result_then_the_disk_full_line(image_folder, tmp_path, monkeypatch,
                                                                              capsys):
    from hyperstar.cli.main import main

    monkeypatch.setattr(torch, "save", _no_space)
    ckpt = tmp_path / "run" / "c.pt"
    code = main(["finetune", str(image_folder), "--epochs", "1", "--backbone", "smallcnn_tiny", "--weights", "none",
                 "--resolution", "16", "--config", '{"batch_size": 16}', "--checkpoint", str(ckpt), "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    result = json.loads(out)  # the finished result, as one JSON document
    assert len(result["curve"]) == 1 and 0 <= result["val_acc"] <= 1 and result["checkpoint"] is None
    lines = [line for line in err.splitlines() if line.startswith("hyperstar: error:")]
    assert len(lines) == 1 and f"Not enough disk space to write '{ckpt}'" in lines[0] and "--resume" in lines[0]
    assert not ckpt.exists() and list(ckpt.parent.iterdir()) == []


SMALL_DISK_CLI = r"""
import os, sys
from hyperstar.cli.main import main
disk, folder = sys.argv[1], sys.argv[2]
with open(os.path.join(disk, "filler"), "wb") as fh:  # leave a few KB: far less than a checkpoint
    try:
        fh.write(b"z" * (2 << 20))
    except OSError:
        pass
os.truncate(os.path.join(disk, "filler"), os.path.getsize(os.path.join(disk, "filler")) - 8192)
code = main(["finetune", folder, "--epochs", "1", "--backbone", "smallcnn_tiny", "--weights", "none",
             "--resolution", "16", "--config", '{"batch_size": 16}', "--checkpoint", os.path.join(disk, "c.pt")])
print("EXIT", code, sorted(os.listdir(disk)))
"""


def test_cli_finetune_checkpoint_on_a_real_full_tmpfs(image_folder, tmp_path):
    from small_disk import run_on_small_disk

    proc = run_on_small_disk(tmp_path, SMALL_DISK_CLI, image_folder)
    assert "EXIT 1 ['filler']" in proc.stdout, (proc.stdout, proc.stderr)  # no c.pt, no .c.pt.tmpPID
    assert "test_acc=" in proc.stdout  # the finished curve was printed
    errors = [line for line in proc.stderr.splitlines() if line.startswith("hyperstar: error:")]
    assert len(errors) == 1 and "Not enough disk space to write" in errors[0] and "free" in errors[0], proc.stderr


# --------------------------------------------------------------------------- damaged checkpoints




def _good_checkpoint(tiny_task, tmp_path):
    path = tmp_path / "good.pt"
    fine_tune(tiny_task, FAST, budget=1, max_budget=2, seed=0, checkpoint_path=path, **TINY)
    return path


def _damaged_files(good: bytes):
    buf = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, "model": Evil()}, buf)
    not_ours = io.BytesIO()
    torch.save({"desc_mean": torch.zeros(3)}, not_ours)
    a_list = io.BytesIO()
    torch.save([torch.zeros(2)], a_list)
    return {
        "empty": (b"", r"is not a hyperstar checkpoint file \(it is empty\)"),
        "truncated": (good[: len(good) // 2], "is truncated or damaged"),
        "cut_at_the_end": (good[:-10], "is truncated or damaged"),
        "random_bytes": (np.random.default_rng(0).bytes(4000), r"is not a hyperstar checkpoint file \(it is not a PyTorch file\)"),
        "plain_pickle": (pickle.dumps({"format": 1}), r"is not a hyperstar checkpoint file \(it is not a PyTorch file\)"),
        "malicious_pickle": (pickle.dumps(Evil()), "is not a hyperstar checkpoint file"),
        "malicious_torch_file": (buf.getvalue(), r"holds Python objects, e.g. (posix|nt).system, besides tensors"),
        "other_torch_file": (not_ours.getvalue(), r"is not a hyperstar checkpoint file \(no 'format' entry"),
        "a_list": (a_list.getvalue(), r"is not a hyperstar checkpoint file \(it holds a list"),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "cut_at_the_end", "random_bytes", "plain_pickle",
                                  "malicious_pickle", "malicious_torch_file", "other_torch_file", "a_list"])
def test_a_damaged_checkpoint_gives_one_line_and_runs_nothing(tiny_task, tmp_path, kind, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content, fragment = _damaged_files(_good_checkpoint(tiny_task, tmp_path).read_bytes())[kind]
    path = tmp_path / f"{kind}.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=fragment) as info:
        fine_tune(tiny_task, FAST, budget=2, max_budget=2, seed=0, resume_from=path, **TINY)
    text = str(info.value)
    assert text.startswith(f"Checkpoint '{path}' ") and "\n" not in text and "weights_only" not in text
    assert "train from scratch" in text
    assert not (tmp_path / "PWNED").exists()


def test_a_checkpoint_of_another_format_names_both_versions(tiny_task, tmp_path):
    stored = torch.load(_good_checkpoint(tiny_task, tmp_path), weights_only=True)
    stored.update(format=CHECKPOINT_FORMAT + 1, hyperstar_version="0.9.0")
    torch.save(stored, tmp_path / "future.pt")
    with pytest.raises(IncompatibleVersionError, match=r"was saved by hyperstar 0.9.0 in checkpoint format 2; "
                                                       r"this is hyperstar \S+, which reads format 1"):
        load_checkpoint(tmp_path / "future.pt")


def test_resuming_onto_another_class_count_or_other_images_is_refused(tiny_task, tmp_path):
    import importlib.util as _ilu
    from pathlib import Path as _P

    _spec = _ilu.spec_from_file_location("_hyperstar_root_conftest", _P(__file__).resolve().parents[1] / "conftest.py")
    _root = _ilu.module_from_spec(_spec)
    _spec.loader.exec_module(_root)  # tests/conftest.py by path: the bare name `conftest` is ambiguous
    make_arrays = _root.make_arrays

    ckpt = _good_checkpoint(tiny_task, tmp_path)
    images, labels = make_arrays(n_classes=4, per_class=9)
    four = Task.from_arrays(images, labels, resolution=16)
    with pytest.raises(InvalidInputError, match=r"a task of 3 classes \(this one has 4\); resume it with the same"):
        fine_tune(four, FAST, budget=2, max_budget=2, seed=0, resume_from=ckpt, **TINY)
    images, labels = make_arrays(seed=5)  # same class count and sizes, other images
    other = Task.from_arrays(images, labels, resolution=16)
    with pytest.raises(InvalidInputError, match="other images, labels or split"):
        fine_tune(other, FAST, budget=2, max_budget=2, seed=0, resume_from=ckpt, **TINY)


# --------------------------------------------------------------------------- threads


def test_same_seed_same_thread_count_same_curve_and_the_count_is_recorded(tiny_task, keep_threads):
    config = {**FAST, "augment": 0.5}
    one_a = fine_tune(tiny_task, config, budget=3, seed=4, threads=1, **TINY)
    one_b = fine_tune(tiny_task, config, budget=3, seed=4, threads=1, **TINY)
    assert one_a.threads == one_b.threads == 1 == torch.get_num_threads()
    assert curve_values(one_a) == curve_values(one_b) and one_a.test_acc == one_b.test_acc
    two_a = fine_tune(tiny_task, config, budget=3, seed=4, threads=2, **TINY)
    two_b = fine_tune(tiny_task, config, budget=3, seed=4, threads=2, **TINY)
    assert two_a.threads == 2 and curve_values(two_a) == curve_values(two_b)
    assert two_a.to_dict()["threads"] == 2
    torch.set_num_threads(1)
    assert fine_tune(tiny_task, config, budget=1, seed=4, **TINY).threads == 1  # None keeps the process's count
    with pytest.raises(InvalidInputError, match="'threads' argument of fine_tune must be an int in \\[1, 4096\\]"):
        fine_tune(tiny_task, config, budget=1, threads=0, **TINY)

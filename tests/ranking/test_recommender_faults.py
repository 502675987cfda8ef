"""Faults around the recommender: damaged model folders give one line; a save on a full disk keeps the old model;
steps <= 0 and budgets past the meta-data are not silently accepted."""

import errno
import json
import os
import pickle
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from damaged_files import Evil, torch_bytes
import torch
from test_recommender import FAST, synthetic_meta  # noqa: F401 (a fixture)

from hyperstar.exceptions import DiskFullError, IncompatibleVersionError, InvalidInputError, ModelFileError
from hyperstar.ranking.recommender import Recommender


@pytest.fixture(scope="module")
def saved(synthetic_meta, tmp_path_factory):  # noqa: F811
    folder = tmp_path_factory.mktemp("saved") / "model"
    Recommender(**FAST).fit(synthetic_meta).save(folder)
    return folder


@pytest.fixture
def model(saved, tmp_path):
    """A fresh copy of the saved recommender, to damage."""
    return Path(shutil.copytree(saved, tmp_path / "model"))





def _weights_cases(good: bytes, tensors: dict) -> dict:
    no_desc = {k: v for k, v in tensors.items() if k != "desc_mean"}
    return {
        "empty": (b"", r"is not a hyperstar model file \(it is empty\)"),
        "truncated": (good[: len(good) // 2], r"is truncated or damaged \(its archive is incomplete or corrupt\)"),
        "random_bytes": (np.random.default_rng(0).bytes(3000), r"is not a hyperstar model file \(it is not a PyTorch file\)"),
        "plain_pickle": (pickle.dumps(tensors), r"is not a hyperstar model file \(it is not a PyTorch file\)"),
        "malicious_pickle": (pickle.dumps(Evil()), r"is not a hyperstar model file"),
        "malicious_torch_file": (torch_bytes({"desc_mean": Evil()}), r"holds Python objects, e.g. (posix|nt).system"),
        "missing_desc_mean": (torch_bytes(no_desc), r"is not a hyperstar model file \(missing 'desc_mean'\)"),
        "not_tensors": (torch_bytes({"a": 1}), r"is not a hyperstar model file \(it does not hold named tensors\)"),
        "flipped_tensor_bytes": (None, r"is truncated or damaged \(its SHA-256 is not the one model.json records\)"),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "random_bytes", "plain_pickle", "malicious_pickle",
                                  "malicious_torch_file", "missing_desc_mean", "not_tensors", "flipped_tensor_bytes"])
def test_a_damaged_weights_file_gives_one_line_and_runs_nothing(model, kind, monkeypatch):
    monkeypatch.chdir(model)
    weights = model / "weights.pt"
    good = weights.read_bytes()
    content, fragment = _weights_cases(good, torch.load(weights, weights_only=True))[kind]
    if content is None:  # a few bytes flipped inside a tensor: torch alone would load it without a word
        data = bytearray(good)
        i = len(data) // 2
        data[i: i + 8] = bytes(255 - b for b in data[i: i + 8])
        content = bytes(data)
    weights.write_bytes(content)
    with pytest.raises(ModelFileError, match=fragment) as info:
        Recommender.load(model)
    text = str(info.value)
    assert text.startswith(f"'{weights}' ") and "\n" not in text and "weights_only" not in text
    assert f"Refit it with `hyperstar fit --out {model}`" in text
    assert not (model / "PWNED").exists()


@pytest.mark.parametrize("content, fragment", [
    (b"", r"is not a hyperstar model file \(it is empty\)"),
    (b"\xff\xfe\x00binary", r"is not a hyperstar model file \(it is not UTF-8 JSON text\)"),
    (b'{"model_format": 1, "hyperstar_version": "0.1', r"is truncated or damaged \(not valid JSON"),
    (b"[1, 2]", r"is not a hyperstar model file \(it holds a JSON list, not an object\)"),
])
def test_a_damaged_model_json_gives_one_line(model, content, fragment):
    (model / "model.json").write_bytes(content)
    with pytest.raises(ModelFileError, match=fragment) as info:
        Recommender.load(model)
    assert str(info.value).startswith(f"'{model / 'model.json'}' ") and "\n" not in str(info.value)


def test_model_json_without_its_keys_or_with_weights_of_another_model(model, saved, synthetic_meta):  # noqa: F811
    from hyperstar import __version__

    info = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({"model_format": 1, "hyperstar_version": __version__}))
    with pytest.raises(ModelFileError, match=r"model.json' is not a hyperstar model file \(missing 'params', "):
        Recommender.load(model)
    # the weights of a model with another encoder: the tensors do not fit the parameters in model.json
    other = Recommender(**{**FAST, "encoder": "descriptors_tiny"}).fit(synthetic_meta).save(model.parent / "other")
    (model / "model.json").write_text(json.dumps({**info, "weights_sha256": None}))
    shutil.copy(other / "weights.pt", model / "weights.pt")
    with pytest.raises(ModelFileError, match=r"weights.pt' is not a hyperstar model file for the parameters in "
                                             r"model.json \(RuntimeError: Error\(s\) in loading state_dict") as err:
        Recommender.load(model)
    assert "\n" not in str(err.value)


def test_a_model_saved_by_another_version_names_both(model):
    from hyperstar import __version__

    info = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**info, "hyperstar_version": "7.3.0"}))
    with pytest.raises(IncompatibleVersionError, match=f"was saved by hyperstar 7.3.0 .*; this is hyperstar "
                                                       f"{__version__} .*Refit it"):
        Recommender.load(model)


def test_a_save_on_a_full_disk_raises_disk_full_and_keeps_the_old_model(model, synthetic_meta, monkeypatch):  # noqa: F811
    from hyperstar.suite import make_task

    task = make_task(synthetic_meta.recipes[2])
    before = [r.config for r in Recommender.load(model).recommend(task, k=5)]
    new = Recommender(**{**FAST, "seed": 1}).fit(synthetic_meta)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(DiskFullError, match=f"Not enough disk space to write '{model}/weights.pt'") as info:
        new.save(model)
    monkeypatch.undo()
    assert info.value.needed > (model / "weights.pt").stat().st_size // 2
    assert sorted(p.name for p in model.iterdir()) == ["model.json", "weights.pt"]
    assert [r.config for r in Recommender.load(model).recommend(task, k=5)] == before


SMALL_DISK_SAVE = r"""
import json, os, sys
from hyperstar.ranking.recommender import Recommender
disk, first, second = sys.argv[1:4]
Recommender.load(first).save(os.path.join(disk, "model"))
old = open(os.path.join(disk, "model", "weights.pt"), "rb").read()
try:
    Recommender.load(second).save(os.path.join(disk, "model"))
    outcome = "saved"
except OSError as exc:
    outcome = type(exc).__name__ + ": " + str(exc)
same = open(os.path.join(disk, "model", "weights.pt"), "rb").read() == old
Recommender.load(os.path.join(disk, "model"))
print(json.dumps({"outcome": outcome, "old_kept": same, "files": sorted(os.listdir(os.path.join(disk, "model"))),
                  "disk": sorted(os.listdir(disk))}))
"""


def test_fit_out_existing_on_a_real_full_tmpfs_keeps_the_old_recommender(saved, synthetic_meta, tmp_path):  # noqa: F811
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("a small tmpfs needs Linux and unshare(1)")
    second = Recommender(**{**FAST, "seed": 1}).fit(synthetic_meta).save(tmp_path / "second")
    size_kb = int(sum(p.stat().st_size for p in saved.iterdir()) * 1.5 / 1024) + 8  # room for one model, not two
    from small_disk import run_on_small_disk

    proc = run_on_small_disk(tmp_path, SMALL_DISK_SAVE, saved, second, size=f"{size_kb}k")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["outcome"].startswith("DiskFullError: Not enough disk space to write"), out
    assert out["old_kept"] and out["files"] == ["model.json", "weights.pt"] and out["disk"] == ["model"]


# --------------------------------------------------------------------------- silently accepted values


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_steps_that_would_save_an_untrained_model_are_refused(synthetic_meta, steps):  # noqa: F811
    with pytest.raises(InvalidInputError, match=rf"The 'steps' argument of Recommender must be an int >= 1\. "
                                                rf"Got {steps!r}\."):
        Recommender(**{**FAST, "steps": steps}).fit(synthetic_meta)


@pytest.mark.parametrize("name, value", [("lr", 0.0), ("holdout_fraction", 1.0), ("batch_images", 0), ("seed", -1)])
def test_other_bad_parameters_are_refused_at_fit(synthetic_meta, name, value):  # noqa: F811
    with pytest.raises(InvalidInputError, match=f"The '{name}' argument of Recommender must be"):
        Recommender(**{**FAST, name: value}).fit(synthetic_meta)


@pytest.mark.parametrize("steps", ["0", "-5"])
def test_cli_fit_with_steps_below_one_is_refused_before_anything_is_saved(synthetic_meta, tmp_path, capsys, steps):  # noqa: F811
    from hyperstar.cli.main import main

    out = tmp_path / "model"
    assert main(["fit", str(synthetic_meta.path), "--out", str(out), "--steps", steps]) == 1
    err = capsys.readouterr().err
    assert err == f"hyperstar: error: The '--steps' argument of hyperstar fit must be an int >= 1. Got {steps}.\n"
    assert not out.exists()


def test_a_budget_past_the_meta_data_is_ranked_as_the_largest_with_a_warning(saved, synthetic_meta):  # noqa: F811
    from hyperstar.suite import make_task

    rec = Recommender.load(saved)
    task = make_task(synthetic_meta.recipes[0])
    with pytest.warns(UserWarning, match="The budget 1000 is past the 3 epochs of the meta-data this recommender "
                                         "learned from; ranking for 3 epochs instead."):
        far = rec.recommend(task, k=4, budget=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        last = rec.recommend(task, k=4, budget=3)
    assert [r.config for r in far] == [r.config for r in last]
    with pytest.raises(InvalidInputError, match=r"The 'budget' argument of recommend must be an int >= 1\. Got 0\."):
        rec.recommend(task, k=4, budget=0)

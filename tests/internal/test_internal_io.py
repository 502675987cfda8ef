"""The shared write helpers: a failure mid-write never damages what was on disk; locks refuse a second writer."""

import errno
import json
import os

import pytest
from small_disk import run_on_small_disk

from hyperstar._internal import io
from hyperstar._internal.io import (
    append_jsonl,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_group,
    atomic_write_json,
    atomic_write_text,
)
from hyperstar.exceptions import DiskFullError


def test_atomic_write_json_is_strict_json_with_numpy_made_plain(tmp_path):
    import numpy as np

    path = atomic_write_json(tmp_path / "a.json", {"x": np.float64(0.5), "n": np.int64(3), "bad": float("nan"),
                                                    "s": np.str_("sgd"), "arr": np.arange(2)})
    assert json.loads(path.read_text()) == {"x": 0.5, "n": 3, "bad": None, "s": "sgd", "arr": [0, 1]}


def test_a_failed_write_leaves_the_old_file_and_no_temporary_files(tmp_path):
    path = tmp_path / "state.json"
    atomic_write_json(path, {"version": 1})

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        atomic_write_json(path, {"version": 2, "obj": Unserialisable()})
    assert json.loads(path.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_group_write_that_fails_midway_changes_none_of_the_files(tmp_path):
    a, b = tmp_path / "weights.bin", tmp_path / "model.json"
    atomic_write_group({a: lambda fh: fh.write(b"old weights"), b: lambda fh: fh.write(b"old model")})

    def disk_full(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(DiskFullError, match=f"Not enough disk space to write '{b}'") as info:
        atomic_write_group({a: lambda fh: fh.write(b"new weights"), b: disk_full})
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert a.read_bytes() == b"old weights" and b.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "weights.bin"]


def test_atomic_write_text_can_make_a_private_file(tmp_path):
    path = atomic_write_text(tmp_path / "secret.json", "{}\n", mode=0o600)
    assert (os.stat(path).st_mode & 0o777) == 0o600


def test_append_jsonl_writes_whole_strict_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    append_jsonl(path, {"a": 1, "b": float("inf")})
    append_jsonl(path, {"a": 2})
    assert path.read_text().splitlines() == ['{"a":1,"b":null}', '{"a":2}']


# --------------------------------------------------------------------------- a full disk


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_hits_enospc_raises_one_line_disk_full_error_and_keeps_the_old_file(tmp_path):
    path = atomic_write_bytes(tmp_path / "results.bin", b"old")

    def half_then_full(fh):
        fh.write(b"x" * 5000)
        fh.flush()
        _no_space()

    with pytest.raises(DiskFullError) as info:
        io._atomic_write(path, half_then_full, size=12_000)
    err = info.value
    assert err.path == str(path) and err.needed == 12_000 and isinstance(err.free, int) and err.free > 0
    text = str(err)
    assert "\n" not in text and f"'{path}'" in text and "needs about 12.0 KB" in text and " free" in text
    assert "Free some space or write elsewhere" in text and "--resume" in text
    assert isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.ENOSPC
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["results.bin"]


def test_a_quota_error_says_quota_and_an_unknown_size_says_at_least_what_was_written(tmp_path):
    def over_quota(fh):
        fh.write(b"x" * 3000)
        fh.flush()
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    with pytest.raises(DiskFullError, match="Disk quota exceeded writing .*needs more than 3.0 KB") as info:
        atomic_write_group({tmp_path / "a.bin": over_quota})
    assert info.value.errno == errno.EDQUOT and info.value.needed == 3000
    assert list(tmp_path.iterdir()) == []


def test_torch_save_failing_with_its_enforce_error_on_a_full_disk_is_a_disk_full_error(tmp_path, monkeypatch):
    import torch

    def torch_short_write(obj, fh):  # what torch.save raises when its zip writer's write comes up short
        raise RuntimeError("[enforce fail at inline_container.cc:671] . PytorchStreamWriter failed writing file data/0")

    monkeypatch.setattr(torch, "save", torch_short_write)
    monkeypatch.setattr(io, "free_bytes", lambda folder: 1234)
    with pytest.raises(DiskFullError, match="needs about 4.0 MB, 1.2 KB free") as info:
        atomic_torch_save(tmp_path / "ckpt.pt", {"w": torch.zeros(1_000_000)})
    assert info.value.needed > 4_000_000 and info.value.free == 1234
    # with plenty of room the same error is not blamed on the disk
    monkeypatch.setattr(io, "free_bytes", lambda folder: 10**12)
    with pytest.raises(RuntimeError, match="enforce fail") as info:
        atomic_torch_save(tmp_path / "ckpt.pt", {"w": torch.zeros(10)})
    assert not isinstance(info.value, DiskFullError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_no_temporary_file_survives_an_interrupt_or_an_error_in_any_file_of_a_group(tmp_path, error):
    def fails(fh):
        fh.write(b"partial")
        raise error()

    with pytest.raises(error):
        atomic_write_group({tmp_path / "a": lambda fh: fh.write(b"a"), tmp_path / "b": fails})
    with pytest.raises(error):
        atomic_write_group({tmp_path / "c": fails})
    assert list(tmp_path.iterdir()) == []


def test_disk_full_error_pickles_with_its_attributes():
    import pickle

    err = DiskFullError("/data/x.pt", 10, 2, result={"val_acc": 0.5})
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.needed, back.free, back.result, str(back)) == ("/data/x.pt", 10, 2, {"val_acc": 0.5}, str(err))


SMALL_DISK_SCRIPT = r"""
import json, os, sys
import torch
from hyperstar._internal.io import append_jsonl, atomic_torch_save, atomic_write_bytes, atomic_write_json
from hyperstar.exceptions import DiskFullError
disk = sys.argv[1]
out = {}
old = atomic_write_bytes(os.path.join(disk, "model.pt"), b"old model")
for name, write in [
    ("torch", lambda: atomic_torch_save(old, {"w": torch.zeros(600_000)})),
    ("bytes", lambda: atomic_write_bytes(old, b"y" * 3_000_000)),
    ("json", lambda: atomic_write_json(os.path.join(disk, "big.json"), {"a": "y" * 3_000_000})),
]:
    try:
        write()
        out[name] = "written"
    except DiskFullError as exc:
        out[name] = [str(exc), exc.needed, exc.free]
    out[name + "_files"] = sorted(os.listdir(disk))
out["old"] = open(old, "rb").read().decode()
atomic_write_bytes(os.path.join(disk, "filler"), b"z" * (1024 * 1024 - 12 * 1024))
log = os.path.join(disk, "log.jsonl")
try:
    for i in range(100):
        append_jsonl(log, {"i": i, "pad": "q" * 1000})
    out["append"] = "written"
except DiskFullError as exc:
    out["append"] = str(exc)
text = open(log).read()
out["log_whole_lines"] = text.endswith("\n") and all(json.loads(l) for l in text.splitlines())
print(json.dumps(out))
"""


def test_on_a_real_full_1mb_tmpfs_every_write_fails_cleanly(tmp_path):
    proc = run_on_small_disk(tmp_path, SMALL_DISK_SCRIPT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    for name in ("torch", "bytes", "json"):
        message, needed, free = out[name]
        assert message.startswith("Not enough disk space to write") and "\n" not in message, message
        assert needed > 2_000_000 and free <= 1024 * 1024
    assert out["torch_files"] == out["bytes_files"] == out["json_files"] == ["model.pt"]  # no .tmpPID left
    assert out["old"] == "old model"
    assert out["append"].startswith("Not enough disk space to write") and out["log_whole_lines"]

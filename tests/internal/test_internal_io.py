"""The shared write helpers: a failure mid-write never damages what was on disk; locks refuse a second writer."""

import json
import os

import pytest

from hyperstar._internal.io import (
    append_jsonl,
    atomic_write_group,
    atomic_write_json,
    atomic_write_text,
)


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

    with pytest.raises(OSError, match="No space"):
        atomic_write_group({a: lambda fh: fh.write(b"new weights"), b: disk_full})
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

"""Import never damages an existing meta-dataset: all rows checked first, written beside and swapped in;
into an existing one only with --append (stated duplicate rule) or --replace."""

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import hyperstar.meta.importer as importer
from hyperstar._internal.locks import LOCK_FILE, OWNER_FILE, FolderBusyError
from hyperstar.exceptions import InvalidInputError, MetaDataError
from hyperstar.meta.dataset import MANIFEST, RESULTS, load_meta_dataset
from hyperstar.meta.importer import import_table

LOCK_FILES = {LOCK_FILE, OWNER_FILE}


def _rows(tasks=("a", "b"), lrs=(0.01, 0.1), shift=0.0):
    return [{"task": t, "config": {"lr": lr}, "val_acc": [0.3 + shift, 0.5 + shift], "test_acc": 0.4,
             "descriptors": {"n_images": 10.0 * (k + 1)}} for k, t in enumerate(tasks) for lr in lrs]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _snapshot(folder):
    """The folder's files (but its lock files: a lock leaves an empty '.lock', and a kill '.lock.owner')."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name not in LOCK_FILES}


def _siblings(folder):
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


@pytest.fixture
def existing(tmp_path):
    out = tmp_path / "meta"
    import_table(_jsonl(tmp_path / "good.jsonl", _rows()), out)
    return out


def test_all_rows_are_checked_and_reported_one_line_per_kind(tmp_path):
    rows = _rows()
    rows[2]["val_acc"] = [0.2, 1.7]
    rows[3]["val_acc"] = [-0.1, 0.2]
    rows[1]["config"] = {"lr": 99.0}
    rows.append({"task": "", "val_acc": [0.5]})
    rows.append({"task": "c", "val_acc": [0.5], "seed": -2, "val_los": [1.0]})
    with pytest.raises(MetaDataError) as err:
        import_table(_jsonl(tmp_path / "bad.jsonl", rows), tmp_path / "o")
    lines = str(err.value).splitlines()
    assert lines[0] == f"'{tmp_path / 'bad.jsonl'}' has 5 bad rows; fix or remove them:"
    body = "\n".join(lines[1:])
    assert "  rows 3, 4 (2 rows): accuracies must be fractions in [0, 1]; got 1.7 (row 3)" in lines
    assert "row 2: " in body and "'lr'" in body and "row 5: has no 'task'" in body
    assert "row 6: 'seed' must be an int >= 0; got -2" in body and "row 6: has keys import does not read" in body
    assert not (tmp_path / "o").exists()


def test_the_issue_example_one_bad_row_is_one_line(tmp_path):
    rows = _rows()
    rows[2]["val_acc"] = [0.2, 1.7]
    with pytest.raises(MetaDataError) as err:
        import_table(_jsonl(tmp_path / "bad.jsonl", rows), tmp_path / "o")
    assert str(err.value) == (f"'{tmp_path / 'bad.jsonl'}' row 3: accuracies must be fractions in [0, 1]; got 1.7. "
                              "Fix or remove it.")


@pytest.mark.parametrize("header, row, fragment", [
    (["task", "lr", "acc_1", "acc_2", "acc_3"], ["x", "0.1", "0.5", "", "0.7"], "row 1: has an empty acc_<epoch> column"),
    (["task", "lr", "acc_1", "desc_n"], ["x", "0.1", "0.5", "many"], "row 1: descriptor values must be finite numbers; got 'many'"),
    (["task", "config", "acc_1"], ["x", "{lr: 1", "0.5"], "row 1: 'config' is not valid JSON"),
    (["task", "lr", "acc_1"], ["x", "0.1", "0.5", "extra"], "row 1: has more values than the header has columns"),
    (["task", "lr", "acc_1", "seed"], ["x", "0.1", "0.5", "1.5"], "row 1: 'seed' must be an int >= 0; got '1.5'"),
    (["task", "lr", "acc_1", "test_acc"], ["x", "0.1", "0.5", "nan"], "row 1: 'test_acc' must be a fraction"),
    (["task", "learning_rate", "acc_1"], ["x", "0.1", "0.5"], "column(s) import does not read: 'learning_rate'"),
    (["name", "lr", "acc_1"], ["x", "0.1", "0.5"], "column(s) import does not read: 'name'"),
])
def test_csv_problems_are_refused_not_dropped(tmp_path, header, row, fragment):
    src = tmp_path / "t.csv"
    with open(src, "w", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    with pytest.raises(MetaDataError) as err:
        import_table(src, tmp_path / "o")
    assert fragment in str(err.value)


def test_duplicates_inside_the_table_kept_once_or_refused(tmp_path):
    rows = _rows()
    meta = import_table(_jsonl(tmp_path / "dup.jsonl", rows + [rows[0]]), tmp_path / "o")
    assert len(meta.records) == 4
    conflicting = rows + [{**rows[0], "val_acc": [0.9, 0.9]}]
    with pytest.raises(MetaDataError, match=r"row 5: repeats a cell \(task, config, seed\) with other values; got 'first at row 1'"):
        import_table(_jsonl(tmp_path / "conflict.jsonl", conflicting), tmp_path / "o2")


def test_an_existing_meta_dataset_is_refused_without_append_or_replace(existing, tmp_path):
    before = _snapshot(existing)
    with pytest.raises(InvalidInputError, match="already holds a meta-dataset. Pass --append .* --replace") as err:
        import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing)
    assert "\n" not in str(err.value) and _snapshot(existing) == before
    with pytest.raises(InvalidInputError, match="both append=True and replace=True"):
        import_table(tmp_path / "other.jsonl", existing, append=True, replace=True)


def test_replace_replaces(existing, tmp_path):
    meta = import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing, replace=True)
    assert meta.task_names == ["z"] and meta.path == existing
    assert load_meta_dataset(existing).task_names == ["z"] and _siblings(existing) == []


def test_append_merges_by_the_stated_rule(existing, tmp_path):
    old_results = (existing / RESULTS).read_bytes()
    (existing / "NOTES.txt").write_text("kept")
    # Rows already there (identical: kept once), a new configuration for an old task, a new task.
    rows = _rows(("a",)) + [{"task": "a", "config": {"lr": 0.05}, "val_acc": [0.1, 0.2]}] + _rows(("c",), (0.1,))
    meta = import_table(_jsonl(tmp_path / "more.jsonl", rows), existing, append=True)
    assert meta.task_names == ["a", "b", "c"] and meta.n_configs == 3 and len(meta.records) == 4 + 2
    assert (existing / RESULTS).read_bytes().startswith(old_results)  # the old rows, byte for byte
    assert [c["id"] for c in meta.manifest["configs"]] == ["c0000", "c0001", "c0002"]
    assert (existing / "NOTES.txt").read_text() == "kept" and _siblings(existing) == []
    assert meta.manifest["appended"][0]["source"] == "more.jsonl"
    # A cell that is there with other values is refused, naming the row; nothing changes.
    before = _snapshot(existing)
    with pytest.raises(MetaDataError, match=r"rows 1, 2 \(2 rows\): repeats a cell of .* with other values; got 'a/c0000 seed 0'"):
        import_table(_jsonl(tmp_path / "clash.jsonl", _rows(("a",), shift=0.1)), existing, append=True)
    with pytest.raises(MetaDataError, match=r"another descriptor value; got 'a: n_images=99.0, not 10.0'"):
        import_table(_jsonl(tmp_path / "desc.jsonl", [{**_rows(("a",))[0], "descriptors": {"n_images": 99.0}}]), existing,
                     append=True)
    with pytest.raises(MetaDataError, match=r"longer curve than the max_budget \(2\)"):
        import_table(_jsonl(tmp_path / "long.jsonl", [{"task": "d", "val_acc": [0.1, 0.2, 0.3]}]), existing, append=True)
    assert _snapshot(existing) == before and _siblings(existing) == []


@pytest.mark.parametrize("where", ["results", "manifest", "swap"])
def test_a_failure_while_writing_leaves_the_old_folder_and_no_temporary(existing, tmp_path, monkeypatch, where):
    before = _snapshot(existing)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {"results": "atomic_write_bytes", "manifest": "write_manifest", "swap": "_exchange"}[where]
    monkeypatch.setattr(importer, target, full)
    with pytest.raises(OSError, match="No space left"):
        import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing, replace=True)
    assert _snapshot(existing) == before and _siblings(existing) == []
    with pytest.raises(OSError):  # into a new folder: none is left behind either
        import_table(tmp_path / "other.jsonl", tmp_path / "new")
    assert not (tmp_path / "new").exists() and _siblings(tmp_path / "new") == []


def test_the_two_rename_swap_where_exchange_is_missing(existing, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "_exchange", lambda a, b: False)
    meta = import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing, replace=True)
    assert meta.task_names == ["z"] and load_meta_dataset(existing).task_names == ["z"] and _siblings(existing) == []


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_an_interrupted_two_rename_swap_is_reported_not_swept(existing, tmp_path):
    aside = existing.with_name(f".{existing.name}.replaced-{_dead_pid()}")
    os.rename(existing, aside)
    with pytest.raises(MetaDataError, match=f"interrupted mid-swap: the meta-dataset is in '{aside}'. Rename"):
        import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing)
    assert (aside / MANIFEST).is_file()


@pytest.mark.parametrize("when", ["before the swap", "after the swap"])
def test_kill_9_mid_import_leaves_one_whole_meta_dataset(existing, tmp_path, when):
    before = _snapshot(existing)
    src = _jsonl(tmp_path / "other.jsonl", _rows(("z",)))
    pause = ("time.sleep(60); real(a, b)" if when == "before the swap" else "real(a, b); time.sleep(60)")
    script = (
        "import sys, time; import hyperstar.meta.importer as m; real = m._exchange\n"
        "def slow(a, b):\n"
        f"    print('swapping', flush=True); {pause}\n"
        "    return True\n"
        "m._exchange = slow\n"
        f"m.import_table({str(src)!r}, {str(existing)!r}, replace=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "swapping"
        if when == "after the swap":
            time.sleep(0.5)  # the print comes before the rename
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    names = load_meta_dataset(existing).task_names
    if when == "before the swap":
        assert _snapshot(existing) == before and names == ["a", "b"]
    else:
        assert names == ["z"]
    assert len(_siblings(existing)) == 1  # the killed import's temporary folder
    # The next import into the folder removes it.
    import_table(_jsonl(tmp_path / "again.jsonl", _rows(("y",))), existing, replace=True)
    assert _siblings(existing) == [] and load_meta_dataset(existing).task_names == ["y"]


def test_folders_that_are_not_meta_datasets_are_refused(tmp_path):
    src = _jsonl(tmp_path / "t.jsonl", _rows())
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(InvalidInputError, match="is not empty and holds no meta-dataset"):
        import_table(src, tmp_path / "docs", replace=True)
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"
    with pytest.raises(InvalidInputError, match="is a file"):
        import_table(src, src)
    (tmp_path / "empty").mkdir()
    assert import_table(src, tmp_path / "empty").n_tasks == 2


def test_a_folder_being_written_is_refused(existing, tmp_path):
    script = (f"from hyperstar._internal.locks import file_lock; import time\n"
              f"with file_lock({str(existing)!r}, what='meta-dataset'):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match="is in use by another hyperstar process"):
            import_table(_jsonl(tmp_path / "other.jsonl", _rows(("z",))), existing, replace=True)
    finally:
        holder.kill()
        holder.wait()
    assert load_meta_dataset(existing).task_names == ["a", "b"]


def test_cli_import_refuses_keeps_and_appends(existing, tmp_path, capsys):
    from hyperstar.cli.main import main

    before = _snapshot(existing)
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="") as fh:
        csv.writer(fh).writerows([["task", "lr", "acc_1"], ["a", "0.1", "0.5"], ["a", "0.01", "0.6"], ["b", "0.1", "1.7"]])
    assert main(["metadata", "import", str(bad), "--out", str(existing), "--append"]) == 1
    err = capsys.readouterr().err
    assert err == f"hyperstar: error: '{bad}' row 3: accuracies must be fractions in [0, 1]; got 1.7. Fix or remove it.\n"
    assert _snapshot(existing) == before
    assert main(["metadata", "import", str(_jsonl(tmp_path / "z.jsonl", _rows(("z",)))), "--out", str(existing)]) == 1
    assert "--append" in capsys.readouterr().err and _snapshot(existing) == before
    assert main(["metadata", "import", str(tmp_path / "z.jsonl"), "--out", str(existing), "--append"]) == 0
    assert capsys.readouterr().out.startswith(f"appended to {existing}: 3 tasks")
    with pytest.raises(SystemExit):
        main(["metadata", "import", str(tmp_path / "z.jsonl"), "--out", str(existing), "--append", "--replace"])

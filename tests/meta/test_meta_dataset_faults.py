"""Loading a damaged meta-dataset: bad values and shapes are refused with one line per kind of problem,
naming the file and the rows; never a bare KeyError, never wrong numbers loaded silently."""

import json

import numpy as np
import pytest

from hyperstar.exceptions import MetaDataError
from hyperstar.meta.dataset import FORMAT_VERSION, MANIFEST, RESULTS, MetaDataset, load_meta_dataset, write_manifest


def _manifest(**over):
    m = {"format_version": FORMAT_VERSION, "name": "t", "max_budget": 2,
         "tasks": [{"name": "a", "family": "x", "recipe": None, "descriptors": {"n": 1.0}},
                   {"name": "b", "family": "x", "recipe": None, "descriptors": {"n": 2.0}}],
         "configs": [{"id": "c0000", "config": {"lr": 0.1}}, {"id": "c0001", "config": {"lr": 0.01}}]}
    m.update(over)
    return m


def _rec(task="a", config_id="c0000", seed=0, val_acc=(0.2, 0.4), test_acc=0.3, **extra):
    return {"task": task, "config_id": config_id, "seed": seed, "val_acc": list(val_acc), "test_acc": test_acc, **extra}


def _write(folder, records, manifest=None, raw_lines=()):
    write_manifest(folder, manifest or _manifest())
    lines = [json.dumps(r) for r in records] + list(raw_lines)
    (folder / RESULTS).write_text("".join(line + "\n" for line in lines))
    return folder


def _good():
    return [_rec(t, c) for t in ("a", "b") for c in ("c0000", "c0001")]


def test_a_valid_meta_dataset_loads(tmp_path):
    meta = load_meta_dataset(_write(tmp_path, _good()))
    assert meta.complete and meta.curves.shape == (2, 2, 2)


@pytest.mark.parametrize("record, line, fragment", [
    (_rec(val_acc=(0.2, -3)), '"val_acc": [0.2, -3]', "row 1: 'val_acc' accuracies must be finite fractions in [0, 1]; got -3"),
    (_rec(val_acc=(1e300, 0.2)), '"val_acc": [1e+300, 0.2]', "got 1e+300"),
    (None, '{"task": "a", "config_id": "c0000", "seed": 0, "val_acc": [NaN, 0.5]}', "got nan"),
    (_rec(test_acc=7.0), "", "row 1: 'test_acc' must be a finite fraction in [0, 1] or null; got 7.0"),
    (_rec(val_acc=()), "", "'val_acc' must be a non-empty list of per-epoch accuracies; got []"),
    (_rec(val_loss=[1.0, "x"]), "", "'val_loss' must be a list of finite numbers"),
    (_rec(seed=-1), "", "'seed' must be an int >= 0; got -1"),
    (_rec(seed="0"), "", "'seed' must be an int >= 0; got '0'"),
    (_rec(task="zzz"), "", f"'task' is not a task of {MANIFEST}; got 'zzz'"),
    (_rec(config_id="c9999"), "", f"'config_id' is not a configuration of {MANIFEST}; got 'c9999'"),
    (_rec(diverged="no"), "", "'diverged' must be true or false"),
    (None, '["a", "c0000", 0, [0.5]]', "row 1: must be a JSON object (one result per line); got 'list'"),
    (None, '{"task": "a", "val_acc": [0.5]', "row 1: is not valid JSON"),
    (None, '{"task": "a"}', "'val_acc' must be a non-empty list"),
    (None, '{"val_acc": "0.5"}', "'task' is not a task"),
])
def test_a_bad_row_is_refused_with_file_row_and_value(tmp_path, record, line, fragment):
    if record is None:
        _write(tmp_path, [], raw_lines=[line])
    else:
        _write(tmp_path, [record])
    with pytest.raises(MetaDataError) as err:
        load_meta_dataset(tmp_path)
    msg = str(err.value)
    assert fragment in msg and f"'{tmp_path / RESULTS}'" in msg


def test_problems_are_grouped_one_line_per_kind_with_rows_and_a_count(tmp_path):
    records = _good() + [_rec("a", "c0000", seed=2 + i, val_acc=(1.7, 0.1)) for i in range(8)]
    records += [_rec("b", "c0001", seed=20, test_acc=-1.0), _rec("b", "nope", seed=21)]
    _write(tmp_path, records)
    with pytest.raises(MetaDataError) as err:
        load_meta_dataset(tmp_path)
    lines = str(err.value).splitlines()
    assert lines[0] == f"'{tmp_path / RESULTS}' has 10 bad rows; fix or remove them:"
    assert lines[1] == ("  rows 5, 6, 7, 8, 9 and 3 more (8 rows): 'val_acc' accuracies must be finite fractions in "
                        "[0, 1]; got 1.7 (row 5)")
    assert lines[2] == "  row 13: 'test_acc' must be a finite fraction in [0, 1] or null; got -1.0"
    assert lines[3] == f"  row 14: 'config_id' is not a configuration of {MANIFEST}; got 'nope'"
    assert len(lines) == 4


def test_conflicting_duplicate_cells_are_refused_identical_ones_kept_once(tmp_path):
    same = _good() + [_rec("a", "c0000", wall_time=9.0)]  # only provenance differs
    meta = load_meta_dataset(_write(tmp_path / "same", same))
    assert len(meta.records) == 4 and meta.curves[0, 0].tolist() == [0.2, 0.4]
    other = _good() + [_rec("a", "c0000", val_acc=(0.9, 0.9))]
    with pytest.raises(MetaDataError, match=r"row 5: repeats a cell \(task, config_id, seed\) with other values; "
                                            r"got 'a/c0000 seed 0, first at row 1'"):
        load_meta_dataset(_write(tmp_path / "other", other))


def test_a_cut_short_last_line_is_still_only_a_warning(tmp_path, caplog):
    _write(tmp_path, _good())
    with open(tmp_path / RESULTS, "a") as fh:
        fh.write('{"task": "a", "conf')
    assert load_meta_dataset(tmp_path).complete
    assert "incomplete last line" in caplog.text


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m.pop("tasks"), "'tasks' is missing"),
    (lambda m: m.update(tasks={"a": 1}), "'tasks' must be a list. Got 'dict'."),
    (lambda m: m.pop("configs"), "'configs' is missing"),
    (lambda m: m.pop("max_budget"), "'max_budget' is missing"),
    (lambda m: m.update(max_budget="9"), "'max_budget' must be an int >= 1. Got '9'."),
    (lambda m: m["tasks"].append("c"), "'tasks[2]' must be an object. Got 'str'."),
    (lambda m: m["tasks"][0].pop("name"), "'tasks[0]'.name must be a non-empty string. Got None."),
    (lambda m: m["tasks"][1].update(name="a"), "'tasks[1]'.name repeats an earlier task. Got 'a'."),
    (lambda m: m["tasks"][0].update(descriptors=[1]), "'tasks[0]'.descriptors must be an object"),
    (lambda m: m["configs"][1].pop("id"), "'configs[1]'.id must be a non-empty string"),
    (lambda m: m["configs"][1].update(id="c0000"), "'configs[1]'.id repeats an earlier configuration id"),
    (lambda m: m["configs"][0].update(config=None), "'configs[0]'.config must be an object"),
    (lambda m: m.update(descriptor_names="n"), "'descriptor_names' must be a list of strings"),
])
def test_a_damaged_manifest_names_the_file_and_the_key(tmp_path, change, fragment):
    m = _manifest()
    change(m)
    _write(tmp_path, _good(), manifest=m)
    with pytest.raises(MetaDataError) as err:
        load_meta_dataset(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"'{tmp_path / MANIFEST}' is damaged: ") and fragment in msg and "\n" not in msg


@pytest.mark.parametrize("text, fragment", [("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object"),
                                            ('{"format_version": 99}', "has format version 99")])
def test_a_manifest_that_is_not_a_manifest(tmp_path, text, fragment):
    _write(tmp_path, _good())
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(MetaDataError, match=fragment) as err:
        load_meta_dataset(tmp_path)
    assert str(tmp_path / MANIFEST) in str(err.value)


def test_a_meta_dataset_built_by_hand_is_checked_too(tmp_path):
    meta = load_meta_dataset(_write(tmp_path, _good()))
    fields = {f: getattr(meta, f) for f in MetaDataset.__dataclass_fields__}
    with pytest.raises(MetaDataError, match=r"'test_acc' must have shape \(2, 2\)"):
        MetaDataset(**{**fields, "test_acc": np.zeros((3, 2))})
    bad = meta.curves.copy()
    bad[1, 0, 1] = 3.0
    with pytest.raises(MetaDataError, match=r"'curves' must hold fractions in \[0, 1\].*Got 3.0 at index \(1, 0, 1\)"):
        MetaDataset(**{**fields, "curves": bad})
    assert meta.subset([1]).n_tasks == 1

import json

import numpy as np
import pytest

from hyperstar.meta.builder import design_configurations
from hyperstar.exceptions import DataError
from hyperstar.meta.dataset import load_meta_dataset
from hyperstar.meta.importer import import_table

def _table_rows():
    configs = design_configurations(2, seed=0)
    rows = []
    for t, task in enumerate(["ext-a", "ext-b"]):
        for c, config in enumerate(configs):
            rows.append({"task": task, "config": config, "val_acc": [0.1 * (t + 1), 0.2 + 0.1 * c, 0.3 + 0.1 * c],
                         "test_acc": 0.3, "descriptors": {"n_images": 100.0 * (t + 1), "n_classes": 5.0}})
    return rows


def test_import_json_lines(tmp_path):
    src = tmp_path / "table.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _table_rows()) + "\n")
    meta = import_table(src, tmp_path / "imported")
    assert (meta.n_tasks, meta.n_configs, meta.max_budget) == (2, 3, 3) and meta.complete
    assert not meta.has_images and meta.descriptor_names == ["n_images", "n_classes"]
    assert meta.curves[1, 2].tolist() == pytest.approx([0.2, 0.4, 0.5])
    assert load_meta_dataset(tmp_path / "imported").info()["complete"]


def test_import_csv_with_columns(tmp_path):
    import csv

    src = tmp_path / "table.csv"
    with open(src, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "lr", "optimizer", "acc_1", "acc_2", "desc_n_images"])
        w.writerow(["x", "0.1", "sgd", "0.5", "0.6", "50"])
        w.writerow(["x", "0.001", "adamw", "0.4", "0.7", "50"])
        w.writerow(["y", "0.1", "sgd", "0.2", "0.3", "80"])
    meta = import_table(src, tmp_path / "imported")
    assert (meta.n_tasks, meta.n_configs, meta.max_budget) == (2, 2, 2)
    assert not meta.complete  # task y lacks one configuration
    assert meta.info()["cells_filled"] == 3


@pytest.mark.parametrize(
    "row, fragment",
    [
        ({"task": "a", "config": {"lr": 0.1}, "val_acc": [1.5]}, "fractions in"),
        ({"task": "a", "config": {"lr": 99.0}, "val_acc": [0.5]}, "'lr' must be in"),
        ({"config": {}, "val_acc": [0.5]}, "has no 'task'"),
        ({"task": "a", "config": {}}, "no per-epoch accuracies"),
    ],
)
def test_import_bad_rows_name_the_row(tmp_path, row, fragment):
    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=fragment) as err:
        import_table(src, tmp_path / "o")
    assert "row 1" in str(err.value)


def test_a_bad_table_leaves_an_existing_meta_dataset_intact(tmp_path):
    good = tmp_path / "table.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in _table_rows()) + "\n")
    before = import_table(good, tmp_path / "meta")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task": "a", "config": {}, "val_acc": [1.5]}) + "\n")
    with pytest.raises(DataError, match="fractions in"):
        import_table(bad, tmp_path / "meta")
    after = load_meta_dataset(tmp_path / "meta")
    assert after.task_names == before.task_names and np.array_equal(after.curves, before.curves)

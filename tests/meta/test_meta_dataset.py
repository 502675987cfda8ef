
import pytest

from hyperstar.exceptions import DataError
from hyperstar.meta.dataset import RESULTS, append_record, load_meta_dataset, read_records, repair_results

def test_partial_line_is_ignored_and_repaired(tmp_path):
    path = tmp_path / RESULTS
    append_record(path, {"task": "a", "config_id": "c0000", "seed": 0, "val_acc": [0.5]})
    with open(path, "a") as fh:
        fh.write('{"task": "b", "conf')
    assert len(read_records(path)) == 1
    assert repair_results(path) > 0
    assert path.read_text().endswith("\n") and len(read_records(path)) == 1


def test_missing_meta_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="No meta-dataset at"):
        load_meta_dataset(tmp_path / "nothing")

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hyperstar.meta.builder import build_meta_dataset, design_configurations
from hyperstar.exceptions import DataError, InvalidInputError
from hyperstar.meta.dataset import RESULTS, append_record, load_meta_dataset, read_records, repair_results
from hyperstar.meta.importer import import_table
from hyperstar.space import DEFAULT_CONFIG, validate_configuration

TINY = dict(n_configs=2, max_budget=2, noise_configs=1, backbone="smallcnn_tiny", weights=None, resolution=16)


def tiny_recipes():
    from hyperstar.suite import tiny_suite

    return tiny_suite()[:2]


def test_design_starts_with_the_common_default_and_is_shared():
    configs = design_configurations(8, seed=0)
    assert configs[0] == validate_configuration(DEFAULT_CONFIG)
    assert len(configs) == 9 and configs == design_configurations(8, seed=0)


def test_build_small_meta_dataset_in_process(tmp_path):
    meta = build_meta_dataset(tmp_path / "m", recipes=tiny_recipes(), n_workers=0, **TINY)
    assert meta.complete and meta.curves.shape == (2, 3, 2)
    assert np.all((meta.curves >= 0) & (meta.curves <= 1))
    assert np.isfinite(meta.noise_curves[:, 0]).all() and np.isnan(meta.noise_curves[:, 1:]).all()
    rec = meta.records[0]
    for key in ("code_version", "machine", "wall_time", "finished_at", "seed", "train_loss", "val_loss", "test_acc"):
        assert key in rec
    assert meta.descriptors.shape[0] == 2 and np.isfinite(meta.descriptors).any()
    info = meta.info()
    assert (info["n_tasks"], info["n_configs"], info["max_budget"], info["complete"]) == (2, 3, 2, True)
    # A re-run has nothing left to do and changes nothing.
    before = (tmp_path / "m" / RESULTS).read_text()
    build_meta_dataset(tmp_path / "m", recipes=tiny_recipes(), n_workers=0, **TINY)
    assert (tmp_path / "m" / RESULTS).read_text() == before


def test_parallel_workers_give_the_same_cells(tmp_path):
    serial = build_meta_dataset(tmp_path / "a", recipes=tiny_recipes()[:1], n_workers=0, **TINY)
    parallel = build_meta_dataset(tmp_path / "b", recipes=tiny_recipes()[:1], n_workers=2, **TINY)
    assert np.array_equal(serial.curves, parallel.curves)


def test_resume_refuses_different_settings(tmp_path):
    build_meta_dataset(tmp_path / "m", recipes=tiny_recipes()[:1], n_workers=0, max_cells=1, **TINY)
    with pytest.raises(InvalidInputError, match="max_budget"):
        build_meta_dataset(tmp_path / "m", recipes=tiny_recipes()[:1], n_workers=0, **{**TINY, "max_budget": 3})


def test_kill_9_mid_build_loses_nothing_finished(tmp_path):
    out = tmp_path / "m"
    # Tiny cells finish in milliseconds, so the child pauses after each finished record: the kill then
    # lands mid-build on any machine, however fast (a faster CI box once finished all six first).
    script = (
        "import time; import hyperstar.meta.builder as b; from hyperstar.suite import tiny_suite;"
        "_append = b.append_record;"
        "b.append_record = lambda *a, **k: (_append(*a, **k), time.sleep(2.0));"
        f"b.build_meta_dataset({str(out)!r}, recipes=tiny_suite()[:2], n_workers=0, n_configs=2, max_budget=2,"
        " noise_configs=0, backbone='smallcnn_tiny', weights=None, resolution=16)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    results = out / RESULTS
    deadline = time.time() + 120
    while time.time() < deadline and (not results.exists() or len(read_records(results)) < 2):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = read_records(results)
    assert 2 <= len(finished) < 6, "the kill should land mid-build"
    # Simulate the worst case too: a line cut short by the kill.
    with open(results, "a") as fh:
        fh.write('{"task": "half-writ')
    meta = build_meta_dataset(out, recipes=tiny_recipes(), n_workers=0, noise_configs=0,
                              **{k: v for k, v in TINY.items() if k != "noise_configs"})
    after = read_records(results)
    assert meta.complete and len(after) == 6
    assert after[: len(finished)] == finished  # nothing finished was lost or recomputed


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


def test_cli_info_json_on_a_built_dataset(tmp_path, capsys):
    from hyperstar.cli.main import main

    build_meta_dataset(tmp_path / "m", recipes=tiny_recipes(), n_workers=0, **TINY)
    assert main(["metadata", "info", str(tmp_path / "m"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] is True and info["n_tasks"] == 2 and info["n_configs"] == 3
    assert 0 <= info["val_acc_min"] <= info["val_acc_max"] <= 1
    assert "mean_pairwise_spearman" in info["analysis"]


def test_builder_weights_resolution(tmp_path):
    from hyperstar.meta.builder import _resolve_weights

    assert _resolve_weights("resnet18", "DEFAULT") == "DEFAULT"  # handed to torchvision
    assert _resolve_weights("smallcnn_tiny", None) is None
    with pytest.raises(InvalidInputError, match="do not exist"):
        _resolve_weights("smallcnn", tmp_path / "missing.pt")

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hyperstar.meta.builder import build_meta_dataset, design_configurations
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.dataset import RESULTS, read_records
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


def test_cli_info_json_on_a_built_dataset(tmp_path, capsys):
    from hyperstar.cli.main import main

    build_meta_dataset(tmp_path / "m", recipes=tiny_recipes(), n_workers=0, **TINY)
    assert main(["metadata", "info", str(tmp_path / "m"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] is True and info["n_tasks"] == 2 and info["n_configs"] == 3
    assert 0 <= info["val_acc_min"] <= info["val_acc_max"] <= 1
    assert "mean_pairwise_spearman" in info["analysis"]


def test_builder_weights_resolution(tmp_path):
    from hyperstar._internal.paths import resolve_weights

    def _resolve_weights(backbone, weights):
        return resolve_weights(backbone, weights, check=True)

    assert _resolve_weights("resnet18", "DEFAULT") == "DEFAULT"  # handed to torchvision
    assert _resolve_weights("smallcnn_tiny", None) is None
    with pytest.raises(InvalidInputError, match="do not exist"):
        _resolve_weights("smallcnn", tmp_path / "missing.pt")

"""Meta-data format 2: rows record WiSE-FT and the shifted accuracy; format 1 (the shipped meta-data) still loads,
over the version-1 space, with its numbers unchanged and no WiSE-FT numbers."""

import json
import shutil

import numpy as np
import pytest

from hyperstar.exceptions import InvalidInputError, MetaDataError
from hyperstar.finetune.wiseft import WISE_ALPHAS
from hyperstar.meta.builder import build_meta_dataset
from hyperstar.meta.dataset import MANIFEST, RESULTS, WISE_SPLITS, load_meta_dataset
from hyperstar.space import default_space, same_space
from shipped_v1 import v1_folder

TINY = dict(n_configs=1, max_budget=2, noise_configs=0, backbone="smallcnn_tiny", weights=None, resolution=16)


def _recipes():
    from hyperstar.suite import tiny_suite

    return tiny_suite()[:1]


def test_a_built_meta_dataset_records_wise_ft_per_alpha_and_split(tmp_path):
    meta = build_meta_dataset(tmp_path / "m", recipes=_recipes(), n_workers=0, **TINY)
    assert meta.manifest["format_version"] == 2 and meta.manifest["space_version"] == 2
    assert same_space(meta.space, default_space())
    rec = meta.records[0]
    assert rec["wise_ft"]["alphas"] == list(WISE_ALPHAS) and 0 <= rec["shifted_acc"] <= 1
    w = meta.wise_ft
    assert w.shape == (1, meta.n_configs, len(WISE_ALPHAS), len(WISE_SPLITS)) and np.isfinite(w).all()
    # alpha = 1 on validation and test is the stored curve's end and test accuracy
    assert np.allclose(w[:, :, -1, 0], meta.final_acc) and np.allclose(w[:, :, -1, 1], meta.test_acc)
    assert np.isfinite(meta.subset([0]).wise_ft).all()


def test_a_bad_wise_ft_row_is_refused(tmp_path):
    build_meta_dataset(tmp_path / "m", recipes=_recipes(), n_workers=0, **TINY)
    path = tmp_path / "m" / RESULTS
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["wise_ft"]["test"] = [2.0] * len(WISE_ALPHAS)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(MetaDataError, match="'wise_ft' must be null or an object"):
        load_meta_dataset(tmp_path / "m")


def test_the_shipped_format_1_meta_data_reads_over_the_version_1_space(tmp_path):
    meta = load_meta_dataset(v1_folder())
    assert meta.manifest["format_version"] == 1
    assert same_space(meta.space, default_space(version=1)) and not meta.own_space
    assert meta.default_index == 0 and np.isnan(meta.wise_ft).all()
    # a copy of it is not resumed by the version-2 builder: it says so in one line
    copy = tmp_path / "old"
    shutil.copytree(meta.path, copy)
    with pytest.raises(InvalidInputError, match="format version 1 .*search space version 1.*another --out"):
        build_meta_dataset(copy, recipes=_recipes(), n_workers=0, max_cells=0, **{**TINY, "max_budget": 9,
                                                                                    "backbone": "smallcnn"})


def test_a_format_2_manifest_names_its_space_version(tmp_path):
    build_meta_dataset(tmp_path / "m", recipes=_recipes(), n_workers=0, space_version=1, **TINY)
    meta = load_meta_dataset(tmp_path / "m")
    assert meta.manifest["space_version"] == 1 and same_space(meta.space, default_space(version=1))
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    manifest["space_version"] = 7
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MetaDataError, match="'space_version' must be one of"):
        load_meta_dataset(tmp_path / "m")

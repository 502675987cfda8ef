"""Fixtures of the hpo tests, built once per session: the synthetic meta-datasets and the tiny image folder.

Everything runs a real hpbandster loop (nameserver on 127.0.0.1); the ``hyperstar tune`` /
``hyperstar worker`` tests run the CLI in real subprocesses with tiny image folders, the tiny CNN and
budgets 1..3 so that each takes seconds.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hpo_support import make_synthetic_meta


def _root_conftest():
    # tests/conftest.py by path: the bare name `conftest` is whichever folder's conftest pytest loaded last.
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("_hyperstar_tests_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Fine-tuning in this process with one thread: two threads on a busy 2-core machine are ~100x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def meta(tmp_path_factory):
    return make_synthetic_meta(tmp_path_factory.mktemp("meta") / "m")


@pytest.fixture(scope="session")
def meta9(tmp_path_factory):
    return make_synthetic_meta(tmp_path_factory.mktemp("meta9") / "m", max_budget=9)


@pytest.fixture(scope="session")
def folder(tmp_path_factory):
    return _root_conftest().write_image_folder(tmp_path_factory.mktemp("images") / "imgs", n_classes=3, per_class=12,
                                               size=16)

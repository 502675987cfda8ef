"""The shipped data reaches an installed wheel: a wheel installed outside the checkout finds the
shipped recommender, meta-data and backbone weights (and runs the demo, in the slow test)."""

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """A fresh venv holding only the hyperstar wheel; its dependencies come from this environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                           str(tmp / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp / "dist").glob("hyperstar-*.whl"))
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as z:  # installing a pure wheel is unpacking it into site-packages
        z.extractall(target)
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "HYPERSTAR_META_DATA": ""}
    env.pop("HYPERSTAR_META_DATA")
    return wheel, python, env, tmp


def test_the_wheel_carries_the_shipped_data(installed_wheel):
    wheel = installed_wheel[0]
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("recommender/model.json", "recommender/weights.pt", "default/manifest.json", "default/results.jsonl",
              "backbones/smallcnn_source.pt"):
        assert f"hyperstar/shipped/{f}" in names


def test_an_installed_wheel_loads_the_shipped_recommender_and_meta_data(installed_wheel):
    _, python, env, tmp = installed_wheel
    code = ("import hyperstar, pathlib; r = hyperstar.Recommender.default(); m = hyperstar.load_meta_dataset();"
            "print(pathlib.Path(hyperstar.__file__).parent, m.n_tasks, len(r.configs_))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    where, n_tasks, n_configs = proc.stdout.split()
    assert not Path(where).is_relative_to(ROOT), "the checkout was imported instead of the wheel"
    assert int(n_tasks) > 0 and int(n_configs) > 0


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo(installed_wheel):
    _, python, env, tmp = installed_wheel
    proc = subprocess.run([str(python), "-m", "hyperstar", "demo", "--out", str(tmp / "demo")], capture_output=True,
                          text=True, cwd=tmp, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp / "demo" / "demo.json").is_file()

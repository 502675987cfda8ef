"""The builder under faults and nonsense: kill -9 leaves no process behind, bad counts are one-line errors,
one build per folder."""

import os
import signal
import subprocess
import sys
import time

import pytest

from hyperstar._internal.locks import FolderBusyError, file_lock
from hyperstar.exceptions import InvalidInputError
from hyperstar.meta.builder import build_meta_dataset
from hyperstar.meta.dataset import RESULTS, read_records

TINY = dict(n_configs=2, max_budget=2, noise_configs=0, backbone="smallcnn_tiny", weights=None, resolution=16,
            progress=False)


def _children(pid: int) -> list[int]:
    """The live (not zombie) processes whose parent is ``pid``, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and int(stat[1]) == pid and stat[0] != "Z":
                kids.append(int(entry))
    return kids


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()  # state, ppid, ...
    except OSError:
        return None


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table from /proc")
def test_kill_9_of_a_two_worker_build_leaves_no_process_behind(tmp_path):
    out = tmp_path / "m"
    # A tiny task first (its cells finish quickly: the first record shows the workers are at work), then a
    # larger one whose cells run for several seconds: the kill lands while workers are mid-cell.
    script = (
        "from hyperstar.meta.builder import build_meta_dataset; from hyperstar.suite import TaskRecipe, tiny_suite;"
        "big = TaskRecipe('shapes', {'n_classes': 3, 'per_class': 400}, seed=5);"
        f"build_meta_dataset({str(out)!r}, recipes=[tiny_suite()[0], big], n_workers=2, n_configs=2, max_budget=20,"
        " noise_configs=0, backbone='smallcnn_tiny', weights=None, resolution=16, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    results = out / RESULTS
    kids: list[int] = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (results.exists() and read_records(results)):
            assert proc.poll() is None, "the build ended before the kill"
            time.sleep(0.05)
        assert read_records(results), "no cell finished within 60 s"
        kids = _children(proc.pid)
        assert len(kids) >= 2, f"expected the two workers as children of the build, got {kids}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.1)
        left = [k for k in kids if _alive(k)]
        assert not left, f"processes of the killed build still running 5 s after the kill: {left}"
    finally:
        proc.kill()
        for k in kids:
            if _alive(k):
                os.kill(k, signal.SIGKILL)


@pytest.mark.parametrize("arg, value, fragment", [
    ("max_cells", -1, "'max_cells' argument of build_meta_dataset must be an int >= 0. Got -1."),
    ("n_workers", -2, "'n_workers' argument of build_meta_dataset must be an int in [0, 512]. Got -2."),
    ("n_configs", -3, "'n_configs' argument of build_meta_dataset must be an int >= 0. Got -3."),
    ("noise_configs", -1, "'noise_configs'"),
    ("max_budget", 0, "'max_budget' argument of build_meta_dataset must be an int in [1, 10000]. Got 0."),
    ("max_budget", 2.5, "Got 2.5."),
    ("config_seed", -1, "'seed'"),
    ("threads_per_worker", 0, "'threads_per_worker'"),
    ("resolution", 4, "'resolution'"),
])
def test_nonsense_counts_are_refused_before_anything_is_written(tmp_path, arg, value, fragment):
    from hyperstar.suite import tiny_suite

    with pytest.raises(InvalidInputError) as err:
        build_meta_dataset(tmp_path / "m", recipes=tiny_suite()[:1], **{**TINY, "n_workers": 0, arg: value})
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "m").exists()


def test_cli_max_cells_minus_one_is_one_line_not_a_slice(tmp_path, capsys):
    from hyperstar.cli.main import main

    code = main(["metadata", "build", "--out", str(tmp_path / "m"), "--tasks", "tiny", "--max-cells", "-1",
                 "--backbone", "smallcnn_tiny", "--weights", "none", "--workers", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == ("hyperstar: error: The '--max-cells' argument of hyperstar metadata build must be an "
                                 "int >= 0. Got -1.")
    assert not (tmp_path / "m" / RESULTS).exists()


@pytest.mark.parametrize("flag, value", [("--workers", "-1"), ("--n-configs", "-3"), ("--max-budget", "0"),
                                         ("--noise-configs", "-1"), ("--resolution", "2")])
def test_cli_nonsense_counts_name_the_flag(tmp_path, capsys, flag, value):
    from hyperstar.cli.main import main

    assert main(["metadata", "build", "--out", str(tmp_path / "m"), "--tasks", "tiny", flag, value]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hyperstar: error: The '{flag}' argument of hyperstar metadata build must be an int")
    assert err.endswith(f"Got {value}.") and "\n" not in err and not (tmp_path / "m").exists()


def test_a_folder_another_build_is_writing_is_refused(tmp_path):
    from hyperstar.suite import tiny_suite

    out = tmp_path / "m"
    script = (f"from hyperstar._internal.locks import file_lock; import time\n"
              f"with file_lock({str(out)!r}, what='meta-dataset'):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match=f"meta-dataset '{out}' is in use by another hyperstar process"):
            build_meta_dataset(out, recipes=tiny_suite()[:1], n_workers=0, **TINY)
    finally:
        holder.kill()
        holder.wait()
    with file_lock(out):  # released with its holder
        pass

"""The folder lock: a second writer is refused; the lock is freed when its holder ends."""

import subprocess
import sys

import pytest

from hyperstar._internal.locks import FolderBusyError, file_lock
from hyperstar.exceptions import HyperstarError


def test_file_lock_refuses_a_second_process_and_frees_on_exit(tmp_path):
    child = (
        "import sys, time; from hyperstar._internal.locks import file_lock, FolderBusyError\n"
        f"try:\n    with file_lock({str(tmp_path)!r}, what='run directory'):\n        print('got it')\n"
        "except FolderBusyError as e:\n    print('busy:', e)\n"
    )
    with file_lock(tmp_path, what="run directory"):
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60).stdout
        assert out.startswith("busy:") and "in use by another hyperstar process" in out
        with pytest.raises(FolderBusyError), file_lock(tmp_path):  # a second lock in this process too
            pass
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "got it"
    assert issubclass(FolderBusyError, HyperstarError)

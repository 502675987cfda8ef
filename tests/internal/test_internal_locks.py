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


def test_a_refusal_names_the_holder_and_a_dead_holder_is_taken_over_with_a_notice(tmp_path, caplog):
    import os
    import socket

    from hyperstar._internal.locks import OWNER_FILE, lock_owner

    # The holder is killed (os._exit: no cleanup), as kill -9 would: its owner note stays behind.
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time; from hyperstar._internal.locks import file_lock\n"
         f"with file_lock({str(tmp_path)!r}, what='run directory'):\n"
         "    print('holding', flush=True); sys.stdin.readline(); os._exit(9)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(FolderBusyError) as exc:
            with file_lock(tmp_path, what="run directory"):
                pass
        assert f"pid {holder.pid} on {socket.gethostname()}" in str(exc.value)
        assert "\n" not in str(exc.value)
    finally:
        holder.stdin.write("go\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    assert lock_owner(tmp_path)["pid"] == holder.pid  # left behind by the dead holder
    with caplog.at_level("WARNING", logger="hyperstar._internal.locks"):
        with file_lock(tmp_path, what="run directory"):
            assert lock_owner(tmp_path)["pid"] == os.getpid()
    assert f"from pid {holder.pid}" in caplog.text and "ended without releasing it" in caplog.text
    assert not (tmp_path / OWNER_FILE).exists()  # a clean release removes the note

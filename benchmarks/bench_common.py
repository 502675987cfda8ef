"""Helpers shared by the benchmarks (git commit of the code measured, finishing a plot, a fixed hash seed, one-line
errors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HASH_SEED = "0"


def fixed_hash_seed() -> None:
    """Start this script again with ``PYTHONHASHSEED`` fixed, unless it already is (call it first thing, from
    ``if __name__ == "__main__"`` only).

    Python salts ``str`` hashes per process, so the iteration order of a set of strings differs between runs.
    SMAC3 2.4 depends on it: two runs of its multi-fidelity facade on the same stored curves and seed proposed
    different configurations (measured on two v1 tasks: 240 against 255 trials), and with the hash seed fixed
    they were identical. Without this a from-scratch re-run of a stored row (``--reproduce``) could not match.
    Spawned workers inherit the environment, so they run under the same hash seed.
    """
    if sys.flags.ignore_environment:  # python -E / -I: the variable would be set but have no effect
        raise SystemExit("This benchmark must read PYTHONHASHSEED from the environment; run it without -E / -I.")
    if os.environ.get("PYTHONHASHSEED") == HASH_SEED:
        return
    os.environ["PYTHONHASHSEED"] = HASH_SEED
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def run_main(main) -> None:
    """Run a benchmark's ``main()`` the way the ``hyperstar`` command runs its commands: an error hyperstar raises
    on purpose (a folder that is not a meta-dataset, an unfinished build, a bad option value) ends the script
    with its one-line message and exit status 2, not a traceback; Ctrl-C ends it with status 130 and one line.
    The scripts that resume keep every row they finished either way (they append rows as they finish)."""
    from hyperstar.exceptions import HyperstarError

    name = Path(sys.argv[0]).name
    try:
        status = main()
    except HyperstarError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(status if isinstance(status, int) else 0)


def git_commit() -> str:
    """The short commit of the checkout the benchmark runs from ("" outside a git checkout), with "+dirty" when
    a Python file differs from that commit (so a report made by uncommitted code says so; data files such as a
    running build's rows do not count)."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=here, timeout=10).stdout.strip()
        if head and subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "*.py"], cwd=here,
                                   capture_output=True, timeout=30).returncode == 1:
            head += "+dirty"
        return head
    except (OSError, subprocess.SubprocessError):
        return ""


def save_plot(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str, legend_size: int = 8) -> None:
    """Label ``ax``, add its legend, and write ``fig`` to ``path`` (PNG) and close it."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_meta(script: str, argv: list[str] | None, **fields) -> dict:
    """What every result file records: versions, machine, load, date, commit and the command that made it."""
    import os
    import sys
    import time

    from hyperstar import __version__

    args = sys.argv[1:] if argv is None else argv
    return {"hyperstar": __version__, **fields, "cpu_count": os.cpu_count(),
            "load_average_at_end": list(os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "git_commit": git_commit(),
            "command": f"python benchmarks/{script} " + " ".join(args)}


def write_json(out: Path, stem: str, meta: dict, rows: list) -> Path:
    """``out/<stem>.json`` with ``{"meta": ..., "rows": ...}`` (the folder is created)."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.json"
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    return path


def command_line(meta: dict) -> str:
    """The report line that says which command, code and date made a result."""
    return f"Command: `{meta['command']}` (code at commit {meta['git_commit'] or 'unknown'}, {meta['date']})  "


def load_text(meta: dict) -> str:
    """The machine's load average at the end of the run, as text."""
    return ", ".join(f"{v:.2f}" for v in meta["load_average_at_end"])


def header(title: str, meta: dict) -> list[str]:
    """The first lines of a markdown report: its title, and the command, code and date that made it."""
    return [f"# {title}", "", command_line(meta)]

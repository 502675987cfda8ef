"""What the command modules share: parent parsers for the flags several subcommands take, JSON output,
loading an image folder, and the process-level settings of the commands that run hpbandster.

A parent parser is built per call (``parents=[seed_flag()]``), so a subcommand can give a flag its own
default without touching the others'. Nothing heavy is imported here: ``import hyperstar.cli.main``
stays light.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

#: ``--weights`` values, as the finetune, tune and metadata build commands take them
WEIGHTS_HELP = "'auto' (shipped source weights if any), 'none', a .pt file, or torchvision weights name"


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


def json_flag(help: str = "print the result as one JSON object") -> argparse.ArgumentParser:
    """``--json``."""
    p = _parent()
    p.add_argument("--json", action="store_true", help=help)
    return p


def seed_value(text: str) -> int:
    """An argparse type: a seed, an int in [0, 2**32 - 1] (what numpy's generators take)."""
    from hyperstar._internal.validation import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int in [0, {MAX_SEED}]; got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an int in [0, {MAX_SEED}]; got {value}")
    return value


def seed_flag() -> argparse.ArgumentParser:
    """``--seed`` (default 0; an int in [0, 2**32 - 1])."""
    p = _parent()
    p.add_argument("--seed", type=seed_value, default=0)
    return p


def device_flag(default: str | None = "auto", help: str | None = None) -> argparse.ArgumentParser:
    """``--device``."""
    p = _parent()
    p.add_argument("--device", default=default, help=help)
    return p


def backbone_flags(default: str | None = "smallcnn", help: str | None = None) -> argparse.ArgumentParser:
    """``--backbone`` and ``--weights`` (``'none'`` becomes ``None`` in :func:`hyperstar.cli.main.main`)."""
    p = _parent()
    p.add_argument("--backbone", default=default, help=help)
    p.add_argument("--weights", default="auto", help=WEIGHTS_HELP)
    return p


def image_flags(resolution: int | None = 32, help: str | None = None, channels: bool = False) -> argparse.ArgumentParser:
    """``--resolution`` (and ``--channels`` when ``channels``)."""
    p = _parent()
    p.add_argument("--resolution", type=int, default=resolution, help=help)
    if channels:
        p.add_argument("--channels", type=int, default=3, choices=(1, 3))
    return p


def model_flag(help: str) -> argparse.ArgumentParser:
    """``--model``: a saved recommender folder (default ``None``: the shipped one)."""
    p = _parent()
    p.add_argument("--model", default=None, help=help)
    return p


def budget_flags(max_help: str = "largest budget in epochs (default 9)") -> argparse.ArgumentParser:
    """``--min-budget`` and ``--max-budget`` of a Hyperband run (epochs)."""
    p = _parent()
    p.add_argument("--min-budget", type=float, default=1, help="smallest budget in epochs (default 1)")
    p.add_argument("--max-budget", type=int, default=9, help=max_help)
    return p


def first_set(*values: Any) -> Any:
    """The first value that is not ``None`` (a flag left at ``None``, then the model's, ..., a fallback).

    >>> first_set(None, 64, 32)
    64
    >>> first_set(None, None, 32)
    32
    """
    return next((v for v in values if v is not None), None)


def print_json(obj: Any) -> None:
    """Exactly one strict-JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def stderr_tty() -> bool:
    return sys.stderr.isatty()


def load_task(path: str, resolution: int, channels: int = 3):
    """The image folder at ``path`` as a :class:`~hyperstar.data.Task` (a progress bar on a terminal)."""
    from hyperstar.data import Task

    return Task.from_folder(path, resolution=resolution, channels=channels, progress=stderr_tty())


def quiet_hpbandster(debug: bool) -> None:
    """hpbandster's own INFO lines are noise next to ours (kept with ``--debug``)."""
    if not debug:
        logging.getLogger("hpbandster").setLevel(logging.WARNING)
        logging.getLogger("hyperstar.hpo.hpbandster").setLevel(logging.WARNING)


def sigterm_as_interrupt() -> None:
    """SIGTERM (a cluster's scheduler, `kill`) shuts a run down as cleanly as Ctrl-C does."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread (e.g. main() called from a thread): leave it
        pass

"""The ``hyperstar`` command line.

Errors are printed to stderr as one readable line with a non-zero exit code; ``--debug`` shows
the traceback. With ``--json`` a command prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .exceptions import HyperstarError

logger = logging.getLogger("hyperstar.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def _stderr_tty() -> bool:
    return sys.stderr.isatty()


# --------------------------------------------------------------------------- finetune


def _load_task(path: str, resolution: int, channels: int):
    from .data import Task

    return Task.from_folder(path, resolution=resolution, channels=channels, progress=_stderr_tty())


def _format_curve(result) -> str:
    lines = [f"{'epoch':>5}  {'train_loss':>10}  {'val_loss':>9}  {'val_acc':>7}  {'lr':>9}  {'seconds':>7}"]
    for e in result.curve:
        lines.append(
            f"{e.epoch:>5}  {e.train_loss:>10.4f}  {e.val_loss:>9.4f}  {e.val_acc:>7.3f}  {e.lr:>9.2e}  {e.seconds:>7.2f}"
        )
    test = "n/a" if result.test_acc is None else f"{result.test_acc:.3f}"
    lines.append(
        f"test_acc={test}  diverged={result.diverged}  wall_time={result.wall_time:.1f}s  "
        f"throughput={result.samples_per_s:.0f} samples/s  device={result.device}"
    )
    return "\n".join(lines)


def cmd_finetune(args: argparse.Namespace) -> int:
    from .finetune import fine_tune
    from .space import config_from_json, default_configuration

    config = config_from_json(args.config) if args.config else default_configuration()
    task = _load_task(args.path, args.resolution, args.channels)
    result = fine_tune(
        task,
        config,
        budget=args.epochs,
        max_budget=args.max_budget,
        backbone=args.backbone,
        weights=args.weights,
        seed=args.seed,
        device=args.device,
        checkpoint_path=args.checkpoint,
        resume_from=args.resume,
        progress=_stderr_tty() and not args.json,
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        print(_format_curve(result))
    return 0


# --------------------------------------------------------------------------- space


def cmd_space(args: argparse.Namespace) -> int:
    from ConfigSpace import CategoricalHyperparameter, OrdinalHyperparameter

    from .space import default_configuration, default_space, feature_names, plain

    space = default_space()
    conditions = {c.child.name: str(c) for c in space.conditions}
    rows = []
    for hp in space.values():
        row: dict[str, Any] = {"name": hp.name}
        if isinstance(hp, CategoricalHyperparameter):
            row.update(type="categorical", choices=[plain(c) for c in hp.choices])
        elif isinstance(hp, OrdinalHyperparameter):
            row.update(type="ordinal", sequence=[plain(c) for c in hp.sequence])
        else:
            row.update(type="float", lower=float(hp.lower), upper=float(hp.upper), log=bool(hp.log))
        row["default"] = plain(hp.default_value)
        row["condition"] = conditions.get(hp.name)
        rows.append(row)
    if args.json:
        _print_json({"hyperparameters": rows, "default": default_configuration(space),
                     "encoding": feature_names(space)})
        return 0
    for row in rows:
        if row["type"] == "float":
            domain = f"[{row['lower']:g}, {row['upper']:g}]" + (" log" if row["log"] else "")
        else:
            domain = "{" + ", ".join(map(str, row.get("choices", row.get("sequence")))) + "}"
        cond = f"   if {row['condition'].split('|')[-1].strip()}" if row["condition"] else ""
        print(f"{row['name']:<17} {domain:<34} default={row['default']}{cond}")
    return 0


# --------------------------------------------------------------------------- demo


def _digits_task():
    """scikit-learn's 8x8 digits (ships with scikit-learn), upscaled to 32x32 RGB."""
    import numpy as np
    from sklearn.datasets import load_digits

    from .data import Task

    digits = load_digits()
    images = (digits.images / 16.0 * 255).round().astype(np.uint8)
    return Task.from_arrays(images, digits.target, resolution=32, channels=3, name="sklearn-digits")


def cmd_demo(args: argparse.Namespace) -> int:
    from .finetune import fine_tune
    from .space import default_configuration

    task = _digits_task()
    sub = task.subset(_stratified_head(task.labels, args.per_class), name=task.name)
    config = default_configuration()
    print(f"hyperstar {__version__} demo: fine-tuning the common-practice default configuration")
    print(f"task: {sub.name}, {len(sub)} images, {sub.n_classes} classes, {sub.resolution}x{sub.resolution}")
    print("config: " + json.dumps(config, sort_keys=True))
    result = fine_tune(sub, config, budget=args.epochs, max_budget=args.epochs, seed=args.seed,
                       progress=_stderr_tty())
    print(_format_curve(result))
    return 0


def _stratified_head(labels, per_class: int):
    import numpy as np

    keep = [np.flatnonzero(labels == k)[:per_class] for k in np.unique(labels)]
    return np.sort(np.concatenate(keep))


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperstar", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"hyperstar {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="informational logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("finetune", help="fine-tune a backbone on an image folder with one configuration")
    p.add_argument("path", help="image folder: one sub-folder per class")
    p.add_argument("--config", help="configuration as JSON text or a JSON file (missing values: defaults)")
    p.add_argument("--epochs", type=int, default=3, help="budget in epochs (default 3)")
    p.add_argument("--max-budget", type=int, default=None,
                   help="horizon of the learning-rate schedule in epochs (default: --epochs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default="smallcnn", help="registered backbone name (default smallcnn)")
    p.add_argument("--weights", default="auto",
                   help="'auto' (shipped source weights if any), 'none', a .pt file, or torchvision weights name")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channels", type=int, default=3, choices=(1, 3))
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint", help="save the final state here (to resume to a larger budget)")
    p.add_argument("--resume", help="continue from a checkpoint written by --checkpoint")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("space", help="show the default search space")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("demo", help="run the demo on a small built-in task")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--per-class", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="hyperstar: %(levelname)s: %(message)s", stream=sys.stderr)

    def show(message, category, filename, lineno, file=None, line=None):  # one clean line per warning
        sys.stderr.write(f"hyperstar: warning: {message}\n")

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "weights", None) == "none":
        args.weights = None
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _setup_logging(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("hyperstar: interrupted\n")
        return 130
    except HyperstarError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"hyperstar: error: {exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # anything unexpected: still one line unless --debug
        if args.debug:
            raise
        sys.stderr.write(f"hyperstar: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)\n")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``hyperstar`` command line.

Errors are printed to stderr as one readable line with a non-zero exit code; ``--debug`` shows
the traceback. With ``--json`` a command prints exactly one JSON document on stdout.

The commands live one group to a module (``finetune``, ``metadata``, ``ranking``, ``tune``, ``demo``);
the flags several of them take come from the parent parsers of ``_common``. For example:

>>> args = build_parser().parse_args(["finetune", "images", "--epochs", "2", "--weights", "none"])
>>> args.command, args.epochs, args.backbone, args.resolution, args.weights
('finetune', 2, 'smallcnn', 32, 'none')
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from hyperstar._version import __version__
from hyperstar.cli import demo, finetune, metadata, ranking, tune
from hyperstar.exceptions import HyperstarError

logger = logging.getLogger("hyperstar.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2

#: the subcommands, in the order ``hyperstar --help`` lists them
_COMMANDS = (finetune.add_finetune, finetune.add_space, metadata.add_metadata, ranking.add_fit, ranking.add_recommend,
             metadata.add_pretrain_source, tune.add_tune, tune.add_worker, demo.add_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperstar", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"hyperstar {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="informational logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
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

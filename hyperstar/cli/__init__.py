"""The ``hyperstar`` command line (thin: parsing and printing; the work lives in the library)."""

from hyperstar.cli.main import build_parser, main

__all__ = ["main", "build_parser"]

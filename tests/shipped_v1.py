"""The repository's meta-dataset v1 (29 tasks over the version-1 space, format 1), wherever it lies.

It is ``hyperstar/shipped/default`` until meta-data v2 becomes the default, then ``hyperstar/shipped/v1`` (see
"Switching the default to v2" in hyperstar/shipped/README.md). Tests of v1 itself (its design, its format)
read it from here, never through ``HYPERSTAR_META_DATA``, which may point at another default.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hyperstar

SHIPPED = Path(hyperstar.__file__).resolve().parent / "shipped"


def v1_folder() -> Path:
    """The folder of the shipped version-1 meta-dataset (fails the test when the repository has none)."""
    for name in ("v1", "default"):
        manifest = SHIPPED / name / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("format_version") == 1:
            return manifest.parent
    pytest.fail(f"No format-1 meta-dataset under {SHIPPED}/v1 or {SHIPPED}/default: the tests of v1 need it.")

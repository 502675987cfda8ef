"""``python -m hyperstar``: the same as the ``hyperstar`` command."""

import sys

from hyperstar.cli.main import main

sys.exit(main())

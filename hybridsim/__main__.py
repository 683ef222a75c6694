"""``python -m hybridsim``: the command line (see :mod:`hybridsim.commands`)."""

import sys

from .commands import main

sys.exit(main())

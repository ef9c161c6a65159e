"""python -m depix: the command line."""

import sys

from depix.cli import main

sys.exit(main())

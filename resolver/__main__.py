"""``python -m resolver`` is the ``zonesolve`` command."""

import sys

from resolver.cli import main

sys.exit(main())

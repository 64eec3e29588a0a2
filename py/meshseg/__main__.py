"""``python -m meshseg``: see :mod:`meshseg.cli`."""

import sys

from meshseg.cli import main

sys.exit(main())

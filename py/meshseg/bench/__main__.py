"""``python -m meshseg.bench``: the pipeline and browser benchmark (:mod:`meshseg.bench.native`)."""

import sys

from meshseg.bench.native import main

if __name__ == "__main__":
    sys.exit(main())

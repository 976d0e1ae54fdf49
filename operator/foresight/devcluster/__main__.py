"""``python -m foresight.devcluster``: see :mod:`foresight.devcluster.command`."""

import sys

from foresight.devcluster.command import main

if __name__ == "__main__":
    sys.exit(main())

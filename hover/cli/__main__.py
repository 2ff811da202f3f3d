"""``python -m hover.cli``: the same as ``hover`` (and ``python -m hover``)."""

import sys

from hover.cli import main

sys.exit(main())

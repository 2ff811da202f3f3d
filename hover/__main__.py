import sys

from hover.cli import main

sys.exit(main())

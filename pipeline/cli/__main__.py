"""``python -m pipeline.cli``: the ``n2n`` command line."""

import sys

from pipeline.cli.main import main

sys.exit(main())

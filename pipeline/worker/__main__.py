"""``python -m pipeline.worker STEP``: the container's entry point."""

import os
import sys

from pipeline.worker.main import main

sys.exit(main(sys.argv[1:], os.environ))

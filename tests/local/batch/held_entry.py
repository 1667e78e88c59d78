"""An in-process entry point for the pool and engine tests (``python -m
tests.local.batch.held_entry`` once added to ``IN_PROCESS_ENTRY_POINTS``): it marks that it
started (a file ``{index}-{attempt}`` in ``MARKS``), holds while the file ``RELEASE`` does
not exist (only at ``HOLD_INDEX`` when that is set), then exits with ``EXIT_CODE`` (0)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

MODULE = "tests.local.batch.held_entry"


def main(argv: Sequence[str], environ: Mapping[str, str], out: TextIO) -> int:
    """The child: mark, hold, exit."""
    index = environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0")
    Path(environ["MARKS"], f"{index}-{environ.get('AWS_BATCH_JOB_ATTEMPT', '1')}").touch()
    held = environ.get("HOLD_INDEX") in (None, index)
    while held and not Path(environ["RELEASE"]).exists():
        time.sleep(0.005)
    return int(environ.get("EXIT_CODE", "0"))

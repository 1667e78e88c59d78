"""The local backend's clock: epoch milliseconds, as Batch, Logs and the history report times."""

from __future__ import annotations

import time


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)

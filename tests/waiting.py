"""The one way tests wait: poll a condition until it holds or a deadline passes, then fail
with the state last seen (never a bare ``sleep``, never a wall-clock bound)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
POLL_S = 0.02


def wait_until(
    condition: Callable[[], T],
    deadline: float = 60.0,
    describe: Callable[[], Any] | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; after
    ``deadline`` seconds fail with ``describe()`` (default: the last value returned)."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            seen = describe() if describe else value
            raise AssertionError(f"not true after {deadline:g} s; last seen: {seen!r}")
        time.sleep(POLL_S)

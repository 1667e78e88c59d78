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


def wait_for(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 60.0) -> T:
    """Call ``read`` until ``done`` holds for what it returned and return that value; after
    ``timeout_s`` seconds fail with the last value read."""
    seen: list[T] = []

    def ready() -> bool:
        seen[:] = [read()]
        return done(seen[0])

    wait_until(ready, deadline=timeout_s, describe=lambda: seen[0] if seen else None)
    return seen[0]

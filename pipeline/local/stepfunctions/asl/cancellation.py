"""Stop signals for the parts of an execution: the caller's stop event at the root, and a
child per Parallel/Map so a failed branch can stop its siblings."""

from __future__ import annotations

import threading
import time

POLL_S = 0.02


class Cancellation:
    """Set when this scope or any scope above it was cancelled."""

    def __init__(self, parent: Cancellation | threading.Event | None = None) -> None:
        self._parent = parent
        self._event = threading.Event()

    def child(self) -> Cancellation:
        """A scope that is cancelled with this one, and can be cancelled on its own."""
        return Cancellation(self)

    def cancel(self) -> None:
        """Cancel this scope and its children."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether this scope or one above it was cancelled."""
        return self._event.is_set() or (self._parent is not None and self._parent.is_set())

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when cancelled meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._event.wait(min(remaining, POLL_S))
        return True

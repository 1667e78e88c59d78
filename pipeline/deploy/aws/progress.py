"""Progress while a boto3 waiter blocks: a background thread polls for what to show.

The waiter decides when the wait is over and whether it failed; the poll only feeds a
progress bar. A poll that fails stops the polling, and its error is raised once the wait
is over (unless the wait itself failed): what the bar could not show is not hidden.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError


@contextmanager
def polling(poll: Callable[[], object], interval: float) -> Iterator[None]:
    """Call ``poll`` every ``interval`` seconds while the body runs, and once at its end
    (also when it raises, so the last state is shown)."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def loop() -> None:
        while not stop.wait(interval):
            try:
                poll()
            except (BotoCoreError, ClientError) as error:
                failures.append(error)
                return

    thread = threading.Thread(target=loop, name="n2n-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        poll()
    if failures:
        raise failures[0]

"""Waiting on a run: one polling loop, with a deadline, that every wait of the kit uses."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pipeline.runs.state import RunState, run_state, step_progress

POLL_S = 0.5
T = TypeVar("T")


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    interval_s: float | Callable[[T], float] = POLL_S,
    timeout_s: float | None = None,
) -> Iterator[T]:
    """Yield ``read()`` every ``interval_s`` (or ``interval_s(value)``) seconds until
    ``done(value)`` or ``timeout_s`` passed (None: no deadline); the last value yielded is
    the first done one, or the one read at the deadline."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        value = read()
        yield value
        if done(value) or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(interval_s(value) if callable(interval_s) else interval_s)


def wait_for(
    read: Callable[[], T],
    done: Callable[[T], bool],
    interval_s: float = POLL_S,
    timeout_s: float | None = None,
) -> T:
    """The last value of :func:`poll`: the first done one, or the one read at the deadline."""
    return collections.deque(poll(read, done, interval_s, timeout_s), maxlen=1)[0]


def wait_for_workflow(conn: Any, arn: str, timeout_s: float = 60.0) -> RunState:
    """The execution's state once its prepare step named the workflow (or it ended, or
    ``timeout_s`` passed): what ``n2n run`` reports without ``--wait``."""
    return wait_for(
        lambda: run_state(conn, arn),
        lambda state: state.workflow_id is not None or state.ended,
        POLL_S / 5,
        timeout_s,
    )


def wait_for_run(
    conn: Any,
    arn: str,
    on_progress: Callable[[RunState, dict[str, dict[str, int]]], None] | None = None,
    poll_s: float = POLL_S,
    timeout_s: float | None = None,
) -> RunState:
    """Poll until the execution ends (or ``timeout_s`` passed), reporting per-step progress
    to ``on_progress`` (a :class:`~pipeline.runs.progress.StepBars`, say); return its
    last state."""

    def read() -> RunState:
        state = run_state(conn, arn)
        if on_progress:
            on_progress(state, step_progress(conn, state.jobs))
        return state

    return wait_for(read, lambda state: state.ended, poll_s, timeout_s)

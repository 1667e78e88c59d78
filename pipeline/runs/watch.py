"""Watch a run live: one progress bar per step (``n2n watch``) or, in a notebook, one
running-children chart redrawn in place, until the execution ends.

Every refresh reads through the same code as the analysis and ``n2n status``
(:func:`pipeline.runs.state.step_progress`, :func:`pipeline.analysis.timeline.timeline_from`)
on a connection that counts the API calls it makes (paginated pages count one each).
Refreshes are at least ``interval_s`` apart and spaced so that the calls they make stay
under ``calls_per_s``: a 10,000-child timeline, which takes dozens of calls, is redrawn
less often than a small one. The execution's history is read only until its three jobs
are known; after that a bar refresh is two calls (describe_execution, describe_jobs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd
from matplotlib.figure import Figure

from pipeline.analysis.plots import FIGURE_LEGEND, draw_running
from pipeline.analysis.timeline import timeline_from
from pipeline.connect import SERVICES
from pipeline.jobs import STEPS
from pipeline.runs.progress import StepBars
from pipeline.runs.state import RunState, run_state, step_progress
from pipeline.runs.wait import poll

INTERVAL_S = 1.0
CALLS_PER_S = 5.0
T = TypeVar("T")


class _CountingPaginator:
    def __init__(self, paginator: Any, connection: CountingConnection) -> None:
        self._paginator = paginator
        self._connection = connection

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        for page in self._paginator.paginate(**params):
            self._connection.calls += 1
            yield page


class _CountingClient:
    def __init__(self, client: Any, connection: CountingConnection) -> None:
        self._client = client
        self._connection = connection

    def get_paginator(self, operation: str) -> _CountingPaginator:
        return _CountingPaginator(self._client.get_paginator(operation), self._connection)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or name in ("exceptions", "meta") or not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._connection.calls += 1
            return attribute(*args, **kwargs)

        return call


class CountingConnection:
    """A connection whose clients count the API calls made through them in ``calls``."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._clients: dict[str, _CountingClient] = {}
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name not in SERVICES:
            return getattr(self._conn, name)
        if name not in self._clients:
            self._clients[name] = _CountingClient(getattr(self._conn, name), self)
        return self._clients[name]


@dataclass(frozen=True)
class Refresh(Generic[T]):
    """One refresh: the execution's state, what was read for it and the API calls made."""

    state: RunState
    value: T
    calls: int


def _latest_state(conn: Any, arn: str, state: RunState | None) -> RunState:
    """The execution's state: from its history until the three jobs are known, then from
    one describe_execution."""
    if state is None or len(state.jobs) < len(STEPS):
        return run_state(conn, arn)
    described = conn.sfn.describe_execution(executionArn=arn)
    return dataclasses.replace(
        state,
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        stopped_at=described.get("stopDate"),
    )


def follow(
    conn: Any,
    arn: str,
    read: Callable[[Any, RunState], T],
    interval_s: float = INTERVAL_S,
    calls_per_s: float = CALLS_PER_S,
) -> Iterator[Refresh[T]]:
    """Refresh until the execution ends: each refresh yields the state and ``read(conn,
    state)``; the last one is the execution's final state."""
    counted = CountingConnection(conn)
    state = None

    def refresh() -> Refresh[T]:
        nonlocal state
        counted.calls = 0
        state = _latest_state(counted, arn, state)
        return Refresh(state, read(counted, state), counted.calls)

    yield from poll(
        refresh,
        lambda latest: latest.state.ended,
        lambda latest: max(interval_s, latest.calls / calls_per_s),
    )


def watch_with_bars(
    conn: Any, arn: str, interval_s: float = INTERVAL_S, disable: bool = False
) -> RunState:
    """One tqdm bar per step, from the jobs' status counts, until the execution ends."""
    with StepBars(disable=disable) as bars:
        for refresh in follow(conn, arn, lambda c, s: step_progress(c, s.jobs), interval_s):
            bars(refresh.state, refresh.value)
    return refresh.state


def _live_span_s(timeline: pd.DataFrame, status: str) -> float | None:
    """While the execution runs, the seconds from its first child's creation to now (the
    live chart's time axis reaches the present); once it has ended, None (fit the data)."""
    created = timeline["created_at"].min() if len(timeline) else pd.NaT
    if status != "RUNNING" or pd.isna(created):
        return None
    return (pd.Timestamp.now(tz="UTC") - created).total_seconds()


class RunningChart:
    """The running view of :func:`pipeline.analysis.plots.running` (children finished per
    step beside the smoothed occupancy), redrawn in place: shown once with a display id,
    then updated through that id (``IPython.display``). One view from start to end."""

    def __init__(self, display: Callable[..., Any] | None = None) -> None:
        if display is None:
            from IPython.display import display
        self._display = display
        self._handle: Any = None
        self.figure = Figure(figsize=(11, 3.8), layout="constrained")
        self.axes = self.figure.subplots(1, 2)

    def draw(self, timeline: pd.DataFrame, status: str) -> None:
        """Redraw the running view of ``timeline`` and show it."""
        for axes in self.axes:
            axes.clear()
        self.figure.legends.clear()
        draw_running(*self.axes, timeline, span_s=_live_span_s(timeline, status))
        if self.axes[0].get_legend_handles_labels()[0]:
            self.figure.legend(**FIGURE_LEGEND)
        self.figure.suptitle(f"{timeline.attrs.get('execution_name', '')}: {status}")
        if self._handle is None:
            self._handle = self._display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)


def timeline_progress(timeline: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per step: children ``total`` (the step's array size where the timeline knows it),
    ``succeeded`` and ``failed``, counted from a timeline."""
    sizes = timeline.attrs.get("array_size") or {}
    return {
        step: {
            "total": sizes.get(step, len(rows)),
            "succeeded": int((rows["status"] == "SUCCEEDED").sum()),
            "failed": int((rows["status"] == "FAILED").sum()),
        }
        for step, rows in timeline.groupby("step", sort=False)
    }


def live_running_chart(
    conn: Any,
    arn: str,
    interval_s: float = 2.0,
    calls_per_s: float = CALLS_PER_S,
    chart: RunningChart | None = None,
    bars: StepBars | None = None,
) -> pd.DataFrame:
    """Redraw one running-children chart (and, given ``bars``, the step bars) until the
    execution ends: the run notebook's live view. Return the final timeline."""
    chart = chart or RunningChart()
    with bars or nullcontext():
        for refresh in follow(conn, arn, timeline_from, interval_s, calls_per_s):
            chart.draw(refresh.value, refresh.state.status)
            if bars is not None:
                bars(refresh.state, timeline_progress(refresh.value))
    return refresh.value

"""Watching a run: bars and the live chart end with the execution, read through counted
calls at a bounded rate, and the chart is one figure updated in place."""

from __future__ import annotations

import itertools
import time

import pandas as pd

from pipeline.cli.main import main
from pipeline.runs import step_progress
from pipeline.runs.watch import RunningChart, follow, live_running_chart
from tests.analysis import timelines

WORK = {"id_count": 200, "ids_per_node": 10, "work": {"compute_ms_per_id": 10}}


def test_watch_exits_when_the_run_ends(one_attempt_stack, capsys):
    stack = one_attempt_stack
    arn = stack.start(**WORK)
    assert main(["watch", arn]) == 0
    assert "Status: SUCCEEDED" in capsys.readouterr().out
    assert main(["watch", "--latest"]) == 0


def test_refreshes_are_spaced_and_cheap(one_attempt_stack):
    stack = one_attempt_stack
    arn = stack.start(**WORK)
    stamps, refreshes = [], []
    for refresh in follow(stack.conn, arn, lambda c, s: step_progress(c, s.jobs), 0.2, 100):
        stamps.append(time.monotonic())
        refreshes.append(refresh)
    assert refreshes[-1].state.status == "SUCCEEDED"
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(stamps))
    known = [r for r in refreshes[1:] if len(r.state.jobs) == 3]
    assert known and all(r.calls == 2 for r in known[1:])
    assert all(r.calls <= 4 for r in refreshes)


class Display:
    """Records what a notebook would show: one display, then updates of the same figure."""

    def __init__(self) -> None:
        self.shown, self.updates = [], []

    def __call__(self, figure, display_id: bool):
        assert display_id is True
        self.shown.append(figure)
        return self

    def update(self, figure) -> None:
        self.updates.append(figure)


def test_live_chart_redraws_one_figure(one_attempt_stack):
    stack = one_attempt_stack
    arn = stack.start(**WORK)
    display = Display()
    chart = RunningChart(display)
    timeline = live_running_chart(stack.conn, arn, interval_s=0.2, chart=chart)
    assert len(display.shown) == 1 and display.updates
    assert {id(f) for f in display.shown + display.updates} == {id(chart.figure)}
    assert len(chart.figure.axes) == 2
    legend = [text.get_text() for text in chart.figure.legends[0].get_texts()]
    assert legend == ["procure (20/20)", "process (20/20)", "egress (20/20)"]
    assert (timeline["status"] == "SUCCEEDED").all() and len(timeline) == 60


def test_while_running_the_live_chart_reaches_the_present_and_at_the_end_fits_the_data():
    # One child created 300 s ago that ran from 100 s to 160 s after: while the execution
    # runs, the axis reaches now (at least 300 s, shown as 5 min); once it has ended it fits
    # the data (160 s, in seconds).
    now = pd.Timestamp.now(tz="UTC")
    created = now - pd.Timedelta(seconds=300)
    timeline = timelines.build({"procure": [(100, 160)]})
    shift = created - timeline["created_at"].min()
    for column in ("created_at", "started_at", "stopped_at"):
        timeline[column] = timeline[column] + shift
    chart = RunningChart(Display())
    chart.draw(timeline, "RUNNING")
    finished = chart.axes[0]
    assert finished.get_xlabel().endswith("(min)") and finished.get_xlim()[1] >= 5.0
    chart.draw(timeline, "SUCCEEDED")
    assert finished.get_xlabel().endswith("(s)")
    assert 160 <= finished.get_xlim()[1] < 300

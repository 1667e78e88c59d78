"""Step bars: one bar per step counting finished children, closed when the block ends."""

from __future__ import annotations

import pytest

from pipeline.runs import RunState
from pipeline.runs.progress import StepBars

STATE = RunState("arn:aws:states:us-east-1:123456789012:execution:m:e", "RUNNING")


def test_bars_count_finished_children_and_close_on_error():
    with pytest.raises(RuntimeError), StepBars() as bars:
        bars(STATE, {"procure": {"total": 4, "succeeded": 2, "failed": 1}})
        bars(STATE, {"procure": {"total": 4, "succeeded": 3, "failed": 1}})
        raise RuntimeError("the run was interrupted")
    (bar,) = bars.bars.values()
    assert (bar.total, bar.n) == (4, 4)
    assert bar not in type(bar)._instances


def test_totals_follow_the_reported_array_size_and_the_bars_read_as_text():
    with StepBars() as bars:
        bars(STATE, {"procure": {"total": 4, "succeeded": 1, "failed": 0}})
        bars(STATE, {"procure": {"total": 5, "succeeded": 5, "failed": 0}})
    (bar,) = bars.bars.values()
    assert (bar.total, bar.n) == (5, 5)
    assert bars.text().startswith("procure : 100%") and "5/5" in bars.text()

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

"""wait_for_run's interval: soon at first, then a quarter of the time waited, capped."""

from __future__ import annotations

import pytest

from pipeline.runs import wait


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("waited_s", "interval_s"),
    [
        (0.0, 0.05),  # the first poll comes after 50 ms
        (0.1, 0.05),  # a quarter of 0.1 s is 25 ms: still 50 ms
        (0.4, 0.1),  # a quarter of 0.4 s
        (1.2, 0.3),  # a quarter of 1.2 s
        (2.0, 0.5),  # a quarter of 2 s reaches the 0.5 s cap
        (60.0, 0.5),  # a long run is read every 0.5 s, as before
    ],
)
def test_rising_interval_is_a_quarter_of_the_time_waited_between_50_ms_and_the_cap(
    monkeypatch, waited_s, interval_s
):
    clock = Clock()
    monkeypatch.setattr(wait.time, "monotonic", clock)
    interval = wait.rising_interval(0.5)
    clock.now += waited_s
    assert interval(None) == pytest.approx(interval_s)


def test_wait_for_run_reads_again_after_the_rising_interval(monkeypatch):
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(wait.time, "monotonic", clock)
    monkeypatch.setattr(wait.time, "sleep", sleep)
    ends_after = 9

    class State:
        def __init__(self, ended: bool) -> None:
            self.ended = ended
            self.jobs = {}

    reads = iter(State(i == ends_after - 1) for i in range(ends_after))
    monkeypatch.setattr(wait, "run_state", lambda conn, arn: next(reads))
    assert wait.wait_for_run(None, "arn").ended
    # By hand, sleeping max(0.05, waited / 4) after each read: 0.05 at 0, 0.05, 0.1, 0.15
    # and 0.2 s; then 0.0625 at 0.25 s, 0.078125 at 0.3125 s, 0.09765625 at 0.390625 s;
    # the ninth read ends the run.
    assert slept == pytest.approx([0.05] * 5 + [0.0625, 0.078125, 0.09765625])

"""When the watch polls next, and when a run has run out of time.

Each round of the state machine's Wait → Watch → Choice loop writes 9 history events
(Wait entered/exited; Task entered, Lambda scheduled/started/succeeded, Task exited; Choice
entered/exited), and a Standard execution holds at most 25,000
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). A fixed
interval would exhaust that in about 23 hours at 30 s, so the wait grows with the run's
age: the first polls come every ``interval_s``, later ones wait a twentieth of the run's
age, never more than :data:`MAX_WAIT_S`.
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_WAIT_S = 900
"""The longest wait between two polls (15 minutes)."""

WAIT_FRACTION = 0.05
"""The wait as a share of the run's age, once that exceeds ``interval_s``."""

STOP_MARGIN_S = 1200
"""Time kept for stopping a run (terminate its jobs, write its summary, with the Lambda
retries of the template) before the execution's own TimeoutSeconds would end it."""


def run_age_s(started_at: str, now: datetime | None = None) -> float:
    """Seconds since ``started_at`` (an ISO 8601 timestamp such as Step Functions'
    ``$$.Execution.StartTime``)."""
    started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - started).total_seconds()


def next_wait_s(age_s: float, interval_s: int) -> int:
    """Seconds to wait before the next poll of a run ``age_s`` old."""
    return int(min(MAX_WAIT_S, max(interval_s, age_s * WAIT_FRACTION)))


def out_of_time(age_s: float, wait_s: int, timeout_s: int) -> bool:
    """Whether a run ``age_s`` old must be stopped now: after one more wait too little
    would be left of ``timeout_s`` to stop it cleanly."""
    return age_s + wait_s + STOP_MARGIN_S >= timeout_s

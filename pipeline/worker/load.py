"""Synthetic load: seeded randomness, skew, CPU burn, I/O waits and injected failures.

Every draw is seeded from the child's coordinates (the data and failures also from the
workflow id), so a retry of the same child sees the same data and the same skew.
"""

from __future__ import annotations

import random
import time


def seeded(*parts: object) -> random.Random:
    """A random generator seeded deterministically from ``parts``."""
    return random.Random(":".join(str(part) for part in parts))


def skew_factor(index: int, sigma: float) -> float:
    """The lognormal multiplier of one index's work (1.0 without skew): the same for an
    index in every step and every run, so runs of the same input do the same work and
    N_TO_N and BARRIER compare like for like."""
    return seeded(index, "skew").lognormvariate(0.0, sigma) if sigma else 1.0


def injected_failure(
    workflow_id: str, step: str, index: int, attempt: int, probability: float
) -> bool:
    """Whether this attempt of this child fails on purpose."""
    if probability <= 0:
        return False
    return seeded(workflow_id, step, index, attempt, "fail").random() < probability


def burn_cpu(milliseconds: float) -> None:
    """Keep one core busy for ``milliseconds`` of wall time."""
    deadline = time.perf_counter() + milliseconds / 1000.0
    while time.perf_counter() < deadline:
        pass


def wait_io(milliseconds: float) -> None:
    """Wait ``milliseconds`` without using the CPU, as a child waiting on I/O does."""
    if milliseconds > 0:
        time.sleep(milliseconds / 1000.0)

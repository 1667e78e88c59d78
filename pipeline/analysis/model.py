"""The list-scheduling model of a chained run: when would each child start and stop?

Each step has its own ``slots`` (its own compute environment). A child becomes *ready*
when its dependency allows it; ready children of a step are dispatched in index order
onto the first free slot of that step. Like AWS Batch, which dispatches any RUNNABLE
job, a ready index never waits for an earlier index that is not ready yet. The model is
event driven (heaps, O(n log n)) and knows nothing of queue or start-up delays.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

# How a stop in one step releases children of the next: (index, remaining, size) -> indices.
Release = Callable[[int, int, int], range]


def _n_to_n(index: int, remaining: int, size: int) -> range:
    """Child i of the next step waits for child i only."""
    return range(index, index + 1)


def _barrier(index: int, remaining: int, size: int) -> range:
    """The next step waits for every child of this one."""
    return range(size) if remaining == 0 else range(0)


RELEASES: dict[str, Release] = {"N_TO_N": _n_to_n, "BARRIER": _barrier}


@dataclass(frozen=True)
class Schedule:
    """Simulated start and stop (seconds from the run's start) of every child, per step."""

    steps: tuple[str, ...]
    start_s: dict[str, np.ndarray]
    stop_s: dict[str, np.ndarray]

    @property
    def makespan_s(self) -> float:
        """Seconds from the first dispatch to the last stop."""
        stops = [float(stop.max()) for stop in self.stop_s.values() if stop.size]
        return max(stops, default=0.0)

    def to_frame(self) -> pd.DataFrame:
        """One row per child: step, step_order, array_index, start_s, stop_s."""
        return pd.concat(
            [
                pd.DataFrame(
                    {
                        "step": step,
                        "step_order": order,
                        "array_index": np.arange(self.start_s[step].size),
                        "start_s": self.start_s[step],
                        "stop_s": self.stop_s[step],
                    }
                )
                for order, step in enumerate(self.steps, start=1)
            ],
            ignore_index=True,
        )


def _release_rule(dependency: str) -> Release:
    if dependency not in RELEASES:
        raise ValueError(
            f"dependency {dependency!r} is not modelled: use one of {', '.join(RELEASES)}."
        )
    return RELEASES[dependency]


def _slot_counts(steps: tuple[str, ...], slots: Mapping[str, int], size: int) -> list[int]:
    missing = [step for step in steps if step not in slots]
    if missing or any(int(slots[step]) < 1 for step in steps):
        raise ValueError(
            f"every step needs at least one slot: give {', '.join(steps)} a count of 1 or more."
        )
    return [min(int(slots[step]), max(size, 1)) for step in steps]


def simulate(
    run_s: Mapping[str, np.ndarray], slots: Mapping[str, int], dependency: str = "N_TO_N"
) -> Schedule:
    """List-schedule children with run times ``run_s[step][index]`` (steps in mapping order).

    Steps with fewer indices than the widest are padded with zero-length children; NaN and
    negative run times count as zero.
    """
    release = _release_rule(dependency)
    steps = tuple(run_s)
    size = max((len(run_s[step]) for step in steps), default=0)
    durations = [
        np.pad(
            np.clip(np.nan_to_num(np.asarray(run_s[step], dtype=float)), 0, None),
            (0, size - len(run_s[step])),
        )
        for step in steps
    ]
    free = _slot_counts(steps, slots, size)
    start = [np.full(size, np.nan) for _ in steps]
    stop = [np.full(size, np.nan) for _ in steps]
    ready: list[list[int]] = [list(range(size)) if k == 0 else [] for k in range(len(steps))]
    remaining = [size] * len(steps)
    events: list[tuple[float, int, int]] = []
    now = 0.0
    while True:
        for k, queue in enumerate(ready):
            while free[k] and queue:
                index = heapq.heappop(queue)
                free[k] -= 1
                start[k][index] = now
                stop[k][index] = now + durations[k][index]
                heapq.heappush(events, (stop[k][index], k, index))
        if not events:
            break
        now = events[0][0]
        while events and events[0][0] == now:
            _, k, index = heapq.heappop(events)
            free[k] += 1
            remaining[k] -= 1
            if k + 1 < len(steps):
                for released in release(index, remaining[k], size):
                    heapq.heappush(ready[k + 1], released)
    return Schedule(
        steps, dict(zip(steps, start, strict=True)), dict(zip(steps, stop, strict=True))
    )


def step_names(timeline: pd.DataFrame) -> list[str]:
    """The timeline's steps in chain order (by ``step_order``)."""
    order = timeline.groupby("step", sort=False)["step_order"].min().sort_values()
    return list(order.index)


def run_times(timeline: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per step, each index's observed run time; failed children count (they held a slot),
    children that never ran count zero."""
    size = int(timeline["array_index"].max()) + 1 if len(timeline) else 0
    times: dict[str, np.ndarray] = {}
    for step in step_names(timeline):
        rows = timeline[timeline["step"] == step]
        values = np.zeros(size)
        values[rows["array_index"].to_numpy(dtype=int)] = rows["run_s"].fillna(0.0).to_numpy()
        times[step] = values
    return times


def predict(
    timeline: pd.DataFrame, slots: Mapping[str, int], dependency: str = "N_TO_N"
) -> Schedule:
    """The schedule of the timeline's child run times under other slots or dependency."""
    return simulate(run_times(timeline), slots, dependency)

"""The calibrated model of a chained run: when would each child start and stop?

The model replays a measured run. Each step has its own ``slots`` (its own compute
environment). A child becomes *startable* at the latest of: its step's creation, its
dependency (N_TO_N: the same index of the step before stopped; BARRIER: every child of
the step before stopped), the run's first start, and a free slot of its step. Startable
children are dispatched in index order onto free slots (as Batch and the local engine
serve RUNNABLE children of one array job: FIFO by creation, then index; a ready index
never waits for an earlier one that is not ready) by **one dispatcher for the whole run**,
which dispatches no sooner than the run's dispatch gap after its previous dispatch (of any
step); they hold the slot through their dispatch latency and run time, and free it when
they stop.

Calibration (:func:`calibrate`) measures, from the run's timeline alone:

- **run time** of each child: ``stopped_at - started_at`` (failed children count, they held
  a slot; children that never started count zero);
- **dispatch latency** of each child: ``started_at`` minus the moment it became startable in
  the measured run (the latest of its ``created_at``, its dependency's stop, the run's first
  start and the moment a slot of its step was free). The slot-free moment is found by
  replaying the step's starts in order over its measured slots: the k-th child to start
  takes the slot of the earliest stop among the children then holding one. A step's
  latencies are replayed as the distribution they were, not as a constant and not tied to
  the children they were measured on: each replayed child draws one, in a seeded random
  order (so a replay is repeatable, and its error at the measured slots is a real test).
  The first child of each step to start is the exception: its latency is the step's
  **warm-up** (AWS: its compute environment scaling out from zero; locally: the worker pool
  starting a process for the step), which the replay gives to the step's first dispatch.
  On AWS this is the RUNNABLE -> RUNNING wait of a Fargate task (image pull, ENI, task
  start: tens of seconds) plus Batch's scheduling cycle; locally it is the engine's poll,
  dispatch and collection of a finished child (milliseconds);
- **the dispatch gap**: the run's dispatcher starts children one after another at a finite
  rate, whatever the slots (locally: the engine is one loop that starts, collects and
  settles every child of every step; AWS: Batch's scheduler places RUNNABLE array children
  and Fargate launches tasks at a finite rate). It is measured where the run was
  backlogged: taking every started child of every step in start order, a child that was
  already startable when the child before it started was held by the dispatcher, not by a
  slot or a dependency; the gap is the mean spacing of those starts (one over the dispatch
  rate while backlogged), zero when the run never had a backlog. A child that became
  startable at the very moment the child started before it stopped is not a backlog: that
  child held it (its slot or its dependency) for a run too short for the clock to see
  (Batch times are whole milliseconds), and the spacing is its handoff latency. A child's
  dispatch is then the later of its startable moment and the previous dispatch plus the
  gap (never after its start), and its latency is measured from there. A run that never
  backlogged (one slot per step and one step at a time: a BARRIER run on one slot) shows
  no rate, and its replay on more slots assumes none. With children that do almost no
  work the rate, not the slots, bounds the makespan (locally a few hundred children a
  second);
- **the delay before the first start**: the run's first ``started_at`` minus its first
  ``created_at`` (AWS: the compute environment scaling up; locally: the runner and its
  worker pool starting);
- **slots** per step: given (MaxVcpus ÷ the job's vCPUs, capped locally by the runner's
  workers), or else the most children of the step that ran at once.

``barrier_makespan_s`` is the model under BARRIER, ``n2n_gain = 1 - model(N_TO_N) /
model(BARRIER)``, both with the same calibration (like for like), and the what-if
(:func:`what_if`) is the same model at other slots. The replay is event driven (heaps,
O(n log n)).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.cost import child_rates, estimated_cost, resources_used
from pipeline.analysis.timeline import step_names
from pipeline.errors import N2NError

# How a stop in one step releases children of the next: (index, remaining, size) -> indices.
Release = Callable[[int, int, int], range]
DEPENDENCIES = ("N_TO_N", "BARRIER")
PERCENTILES = {"p50": 0.5, "p90": 0.9}
SEED = 2024
"""Seeds the order in which a replay draws each step's measured latencies."""


class CapacityError(N2NError):
    """A what-if that cannot be computed as asked."""


def _n_to_n(index: int, remaining: int, size: int) -> range:
    """Child i of the next step waits for child i only."""
    return range(index, index + 1)


def _barrier(index: int, remaining: int, size: int) -> range:
    """The next step waits for every child of this one."""
    return range(size) if remaining == 0 else range(0)


RELEASES: dict[str, Release] = {"N_TO_N": _n_to_n, "BARRIER": _barrier}


@dataclass(frozen=True)
class Schedule:
    """Modelled start and stop (seconds from the run's first creation) of every child."""

    steps: tuple[str, ...]
    start_s: dict[str, np.ndarray]
    stop_s: dict[str, np.ndarray]

    @property
    def makespan_s(self) -> float:
        """Seconds from the run's first creation to the last stop."""
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


def _padded(values: Any, size: int) -> np.ndarray:
    """Non-negative floats, NaN as zero, padded with zeros to ``size``."""
    array = np.clip(np.nan_to_num(np.asarray(values, dtype=float)), 0, None)
    return np.pad(array, (0, size - len(array)))


def _first(warmup: float | None, latency: float) -> tuple[float, None]:
    """The latency of a dispatch: the step's warm-up if it has not been used, else its own
    (and the warm-up is then spent)."""
    return (latency if warmup is None else max(float(warmup), 0.0)), None


def replay(
    run_s: Mapping[str, Sequence[float]],
    slots: Mapping[str, int],
    dependency: str = "N_TO_N",
    *,
    latency_s: Mapping[str, Sequence[float]] | None = None,
    warmup_s: Mapping[str, float] | None = None,
    created_s: Mapping[str, float] | None = None,
    first_start_s: float = 0.0,
    dispatch_gap_s: float = 0.0,
) -> Schedule:
    """Schedule children with run times ``run_s[step][index]`` (steps in mapping order),
    each dispatched onto a slot no sooner than ``dispatch_gap_s`` after the dispatch before
    it (of any step: one dispatcher serves the run) and started ``latency_s[step][index]``
    after its dispatch (the step's first dispatch: ``warmup_s[step]`` instead); no child of
    a step is startable before ``created_s[step]`` nor before ``first_start_s``.

    Steps with fewer indices than the widest are padded with zero-length children; NaN and
    negative times count as zero.
    """
    release = _release_rule(dependency)
    steps = tuple(run_s)
    size = max((len(run_s[step]) for step in steps), default=0)
    durations = [_padded(run_s[step], size) for step in steps]
    latencies = [_padded((latency_s or {}).get(step, ()), size) for step in steps]
    warmups: list[float | None] = [(warmup_s or {}).get(step) for step in steps]
    opens = [max(float((created_s or {}).get(step, 0.0)), first_start_s) for step in steps]
    free = _slot_counts(steps, slots, size)
    start = [np.full(size, np.nan) for _ in steps]
    stop = [np.full(size, np.nan) for _ in steps]
    # Children waiting for their ready time (time, index), and ready ones by index.
    pending: list[list[tuple[float, int]]] = [[] for _ in steps]
    ready: list[list[int]] = [[] for _ in steps]
    if steps:
        pending[0] = [(opens[0], index) for index in range(size)]
    remaining = [size] * len(steps)
    events: list[tuple[float, int, int]] = []
    now = 0.0
    dispatched = -math.inf
    while True:
        for k in range(len(steps)):
            while pending[k] and pending[k][0][0] <= now:
                heapq.heappush(ready[k], heapq.heappop(pending[k])[1])
            while free[k] and ready[k]:
                index = heapq.heappop(ready[k])
                free[k] -= 1
                latency, warmups[k] = _first(warmups[k], latencies[k][index])
                dispatched = max(now, dispatched + dispatch_gap_s)
                start[k][index] = dispatched + latency
                stop[k][index] = start[k][index] + durations[k][index]
                heapq.heappush(events, (stop[k][index], k, index))
        upcoming = [queue[0][0] for queue in pending if queue]
        if events:
            upcoming.append(events[0][0])
        if not upcoming:
            break
        now = min(upcoming)
        while events and events[0][0] == now:
            _, k, index = heapq.heappop(events)
            free[k] += 1
            remaining[k] -= 1
            if k + 1 < len(steps):
                for released in release(index, remaining[k], size):
                    heapq.heappush(pending[k + 1], (max(now, opens[k + 1]), released))
    return Schedule(
        steps, dict(zip(steps, start, strict=True)), dict(zip(steps, stop, strict=True))
    )


def makespan_s(timeline: pd.DataFrame) -> float | None:
    """Seconds from the first child's creation to the last child's stop (None when no
    child stopped)."""
    seconds = (timeline["stopped_at"].max() - timeline["created_at"].min()).total_seconds()
    return None if pd.isna(seconds) else float(seconds)


def peak_running(timeline: pd.DataFrame) -> dict[str, int]:
    """Per step: the most children that ran at once (a stop frees its slot before a start
    at the same instant takes it)."""
    peaks = {}
    for step in step_names(timeline):
        rows = timeline[(timeline["step"] == step) & timeline["started_at"].notna()]
        moments = pd.concat([rows["stopped_at"].dropna(), rows["started_at"]])
        deltas = np.r_[-np.ones(rows["stopped_at"].notna().sum()), np.ones(len(rows))]
        order = np.lexsort((deltas, moments.to_numpy()))
        peaks[step] = int(max(np.cumsum(deltas[order]).max(initial=0), 0))
    return peaks


def _seconds(moments: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    return (moments - origin).dt.total_seconds().to_numpy(dtype=float)


def _slot_free(start: np.ndarray, stop: np.ndarray, slots: int) -> np.ndarray:
    """For each child that started, the moment a slot of its step was free for it: the
    k-th child to start takes the slot of the earliest stop among those holding one."""
    free = np.full(start.size, -np.inf)
    holding: list[float] = []
    for index in np.argsort(start, kind="stable"):
        if np.isnan(start[index]):
            break
        if len(holding) >= slots:
            free[index] = heapq.heappop(holding)
        heapq.heappush(holding, stop[index] if not np.isnan(stop[index]) else np.inf)
    return free


@dataclass(frozen=True)
class Calibration:
    """What the model takes from one measured run (seconds from its first creation);
    ``latency_s[step][index]`` is NaN for a child that never started and for the step's
    first start, whose latency is ``warmup_s[step]``."""

    steps: tuple[str, ...]
    dependency: str
    run_s: dict[str, np.ndarray]
    latency_s: dict[str, np.ndarray]
    warmup_s: dict[str, float]
    created_s: dict[str, float]
    first_start_s: float
    slots: dict[str, int]
    slots_source: str = "observed peak running"
    dispatch_gap_s: float = 0.0

    def predict(
        self, dependency: str | None = None, slots: Mapping[str, int] | None = None
    ) -> Schedule:
        """The run's children under ``dependency`` (default: the measured one) and
        ``slots`` (default: the measured slots)."""
        return replay(
            self.run_s,
            slots or self.slots,
            dependency or self.dependency,
            latency_s=self.drawn_latency_s(),
            warmup_s=self.warmup_s,
            created_s=self.created_s,
            first_start_s=self.first_start_s,
            dispatch_gap_s=self.dispatch_gap_s,
        )

    def drawn_latency_s(self) -> dict[str, np.ndarray]:
        """Per step, one latency per index drawn from the step's measured ones (each used
        once per pass, in a seeded random order); zero where a step has none."""
        drawn = {}
        for number, (step, values) in enumerate(self.latency_s.items()):
            measured = values[~np.isnan(values)]
            order = np.random.default_rng([SEED, number]).permutation(measured)
            drawn[step] = np.resize(order, values.size) if order.size else np.zeros(values.size)
        return drawn

    def summary(self) -> dict[str, Any]:
        """JSON-ready: slots, the first-start delay, and per step the latency p50 / p90."""
        return {
            "dependency": self.dependency,
            "slots": dict(self.slots),
            "slots_source": self.slots_source,
            "first_start_s": self.first_start_s,
            "dispatch_gap_s": self.dispatch_gap_s,
            "warmup_s": dict(self.warmup_s),
            "latency_s": {step: _quantiles(values) for step, values in self.latency_s.items()},
        }


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    measured = values[~np.isnan(values)]
    if not measured.size:
        return dict.fromkeys(PERCENTILES)
    return {name: float(np.quantile(measured, q)) for name, q in PERCENTILES.items()}


def _measured_dependency(timeline: pd.DataFrame) -> str:
    """The dependency the jobs really had (``attrs["dependency"]``, read from their
    ``dependsOn``), else the one the run's input asked for, else N_TO_N."""
    for dependency in (
        timeline.attrs.get("dependency"),
        (timeline.attrs.get("input") or {}).get("dependency"),
    ):
        if dependency in RELEASES:
            return dependency
    return "N_TO_N"


def calibrate(timeline: pd.DataFrame, slots: Mapping[str, int] | None = None) -> Calibration:
    """Measure run times, dispatch latencies, step creations, the first-start delay and the
    slots (``slots``, else the observed peak running) of one run's timeline."""
    steps = tuple(step_names(timeline))
    dependency = _measured_dependency(timeline)
    size = int(timeline["array_index"].max()) + 1 if len(timeline) else 0
    origin = timeline["created_at"].min()
    first_start = _seconds(pd.Series([timeline["started_at"].min()]), origin)[0]
    first_start = 0.0 if np.isnan(first_start) else float(first_start)
    peaks = peak_running(timeline)
    chosen = {step: int(slots[step]) if slots else max(peaks[step], 1) for step in steps}
    run_s, startable_s, start_s, stop_s, created_s = {}, {}, {}, {}, {}
    previous_stop = None
    for step in steps:
        rows = timeline[timeline["step"] == step]
        index = rows["array_index"].to_numpy(dtype=int)
        created, start, stop = (np.full(size, np.nan) for _ in range(3))
        created[index] = _seconds(rows["created_at"], origin)
        start[index] = _seconds(rows["started_at"], origin)
        stop[index] = _seconds(rows["stopped_at"], origin)
        created_s[step] = float(np.nanmin(created)) if len(rows) else 0.0
        if previous_stop is None:
            met = np.full(size, -np.inf)
        elif dependency == "BARRIER":
            met = np.full(size, np.nanmax(previous_stop, initial=-np.inf))
        else:
            met = np.nan_to_num(previous_stop, nan=-np.inf)
        startable_s[step] = np.fmax.reduce(
            [
                np.nan_to_num(created, nan=-np.inf),
                met,
                _slot_free(start, stop, chosen[step]),
                np.full(size, first_start),
            ]
        )
        run_s[step] = np.nan_to_num(stop - start)
        start_s[step] = start
        stop_s[step] = stop
        previous_stop = stop
    gap, latency_s, warmup_s = _dispatch(start_s, startable_s, stop_s)
    return Calibration(
        steps,
        dependency,
        run_s,
        latency_s,
        warmup_s,
        created_s,
        first_start,
        chosen,
        "argument" if slots else "observed peak running",
        gap,
    )


def _dispatch(
    start_s: Mapping[str, np.ndarray],
    startable_s: Mapping[str, np.ndarray],
    stop_s: Mapping[str, np.ndarray],
) -> tuple[float, dict[str, np.ndarray], dict[str, float]]:
    """The dispatch gap, then each child's dispatch latency and each step's warm-up (the
    latency of its first start), from every step's measured starts, startable moments and
    stops.

    Children are taken in the order they started (all steps together). The gap is the
    mean spacing between successive starts where the later child was already startable
    when the earlier one started (a backlog: neither a slot nor a dependency held it, the
    dispatcher did), i.e. one over the dispatch rate while backlogged; zero when the run
    never had a backlog. A later child that became startable exactly when the earlier one
    stopped was held by it (a run shorter than the clock's millisecond), not by the
    dispatcher. Then, in the order children became startable (first come, first
    served, as the replay dispatches them), a child's dispatch is the later of its
    startable moment and the dispatch before it plus the gap (never after its own start),
    and its latency is its start minus its dispatch.
    """
    start = np.concatenate(list(start_s.values()))
    startable = np.concatenate(list(startable_s.values()))
    order = np.argsort(start, kind="stable")
    order = order[~np.isnan(start[order])]
    stop = np.concatenate(list(stop_s.values()))
    previous = np.r_[-np.inf, start[order][:-1]]
    held = startable[order] == np.r_[np.nan, stop[order][:-1]]
    spacing = (start[order] - previous)[(startable[order] <= previous) & ~held]
    gap = float(spacing.mean()) if spacing.size else 0.0
    latency = np.full(start.size, np.nan)
    dispatched = -np.inf
    for child in order[np.lexsort((start[order], startable[order]))]:
        dispatched = min(max(startable[child], dispatched + gap), start[child])
        latency[child] = start[child] - dispatched
    latency_s, warmup_s, offset = {}, {}, 0
    for step, step_start in start_s.items():
        latency_s[step] = latency[offset : offset + step_start.size]
        offset += step_start.size
        if not np.isnan(step_start).all():
            first = int(np.nanargmin(step_start))
            warmup_s[step] = float(latency_s[step][first])
            latency_s[step][first] = np.nan
    return gap, latency_s, warmup_s


def run_times(timeline: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per step, each index's observed run time; failed children count (they held a slot),
    children that never ran count zero."""
    return calibrate(timeline).run_s


# The what-if table.
COLUMNS = [
    "source",
    "dependency",
    "max_vcpus",
    "slots",
    "makespan_s",
    "held_usd",
    "fargate_usd",
    "vcpu_s",
]
MEASURED, AT_MEASURED_SLOTS, MODEL = "measured", "model at measured slots", "model"


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def parse_vcpus(text: str) -> list[float | int]:
    """``"2,4,8,16"`` as vCPU settings; one sentence when it is not a list of positive
    numbers."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise CapacityError(
            f"--vcpus must be positive numbers separated by commas, e.g. 2,4,8,16, not {text!r}."
        )
    return [_whole(value) for value in values]


def slots_for(max_vcpus: float, job_vcpus: float) -> int:
    """Children a compute environment of ``max_vcpus`` runs at once (at least one)."""
    return max(1, math.floor(max_vcpus / job_vcpus + 1e-9))


def what_if(
    timeline: pd.DataFrame,
    vcpus: Sequence[float],
    resources: Mapping[str, Mapping[str, float]] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per MaxVcpus setting (the same for every step) and dependency, after the
    measured run and the model at its measured slots (a setting that repeats that row is
    left out). Columns: source, dependency, max_vcpus, slots ("procure/process/egress"),
    makespan_s, held_usd (every slot held for the whole makespan: what varies with
    MaxVcpus), fargate_usd (Fargate's bill of the children's own seconds, one-minute
    minimum) and vcpu_s (vCPU-seconds the children used); the last two do not change with
    MaxVcpus. ``attrs["calibration"]`` holds :meth:`Calibration.summary`.
    """
    if timeline.empty:
        raise CapacityError("The run has no children to model: pick an execution that ran.")
    used = resources_used(timeline, resources)
    rates = child_rates(used, prices)
    cost = estimated_cost(timeline, resources, prices)
    calibration = calibrate(timeline)

    def row(source: str, dependency: str, slots: Mapping[str, int], makespan: float) -> dict:
        return {
            "source": source,
            "dependency": dependency,
            "max_vcpus": _whole(max(slots[s] * used[s]["vcpus"] for s in slots)),
            "slots": "/".join(str(slots[step]) for step in slots),
            "makespan_s": makespan,
            "held_usd": makespan * sum(slots[s] * rates[s] for s in slots),
            "fargate_usd": cost["total_usd"],
            "vcpu_s": cost["vcpu_s"],
        }

    measured = dict(calibration.slots)
    dependency = calibration.dependency
    rows = [
        row(MEASURED, dependency, measured, makespan_s(timeline) or 0.0),
        row(AT_MEASURED_SLOTS, dependency, measured, calibration.predict().makespan_s),
    ]
    for max_vcpus in sorted(set(vcpus)):
        slots = {step: slots_for(max_vcpus, used[step]["vcpus"]) for step in used}
        for mode in DEPENDENCIES:
            if mode == dependency and slots == measured:
                continue
            makespan = calibration.predict(mode, slots).makespan_s
            rows.append({**row(MODEL, mode, slots, makespan), "max_vcpus": _whole(max_vcpus)})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs["calibration"] = calibration.summary()
    return table


def model_error(table: pd.DataFrame) -> float:
    """The model's relative error on the measured run: predicted / measured - 1."""
    by_source = table.set_index("source")["makespan_s"]
    return float(by_source[AT_MEASURED_SLOTS] / by_source[MEASURED] - 1)

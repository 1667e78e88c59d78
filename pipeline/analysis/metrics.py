"""Metrics of one run from its timeline alone, as DESIGN.md defines them.

Failed children count in ``children`` and in the cost (they were billed) but not in the
run-time statistics (queue and run percentiles, lag). Every value is JSON-ready: numbers,
strings, dicts, and None where the timeline cannot tell.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.model import predict, step_names

# us-east-1 AWS Fargate, Linux/x86, on-demand: $0.04048 per vCPU-hour and $0.004445 per
# GB-hour, billed per second with a one-minute minimum. Source:
# https://aws.amazon.com/fargate/pricing/ (the ECS pricing page's worked example quotes the
# same $0.000011244 per vCPU-second: https://aws.amazon.com/ecs/pricing/).
FARGATE_PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "platform": "AWS Fargate Linux/x86 on-demand",
    "usd_per_vcpu_hour": 0.04048,
    "usd_per_gb_hour": 0.004445,
    "minimum_billed_s": 60.0,
    "source": "https://aws.amazon.com/fargate/pricing/",
}
DEFAULT_RESOURCES: dict[str, float] = {"vcpus": 1.0, "memory_mib": 2048.0}
PERCENTILES = {"p50": 0.5, "p90": 0.9}
DEPENDENCIES = ("N_TO_N", "BARRIER")
EXECUTION_KEYS = ("execution_arn", "execution_name", "input")


def _number(value: Any) -> float | None:
    """A plain float, or None for NaN, NaT and missing values."""
    return None if value is None or pd.isna(value) else float(value)


def _seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds()


def _summary(values: pd.Series, *reductions: str) -> dict[str, float | None]:
    """p50 and p90 (and any pandas ``reductions`` such as "max") of the non-missing values."""
    values = values.dropna()
    out = {
        name: _number(values.quantile(q)) if len(values) else None
        for name, q in PERCENTILES.items()
    }
    out.update({how: _number(values.agg(how)) for how in reductions})
    return out


def _by_step(timeline: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {step: timeline[timeline["step"] == step] for step in step_names(timeline)}


def _succeeded(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["status"] == "SUCCEEDED"]


def makespan_s(timeline: pd.DataFrame) -> float | None:
    """Seconds from the first child's creation to the last child's stop."""
    return _number((timeline["stopped_at"].max() - timeline["created_at"].min()).total_seconds())


def early_start_fraction(timeline: pd.DataFrame) -> dict[str, float | None]:
    """Per later step: share of its started children that started before the previous
    step's last child stopped (0 under a barrier; at most (n-1)/n under N_TO_N)."""
    steps = _by_step(timeline)
    fractions: dict[str, float | None] = {}
    for before, step in itertools.pairwise(steps):
        last_stop = steps[before]["stopped_at"].max()
        started = steps[step]["started_at"].dropna()
        early = None if started.empty or pd.isna(last_stop) else (started < last_stop).mean()
        fractions[step] = _number(early)
    return fractions


def lag(timeline: pd.DataFrame) -> pd.DataFrame:
    """Per child of a later step: step, array_index, lag_s = its start - the stop of the same
    index in the previous step (NaN for failed children and missing times)."""
    steps = _by_step(timeline)
    frames = [pd.DataFrame({"step": [], "array_index": [], "lag_s": []})]
    for before, step in itertools.pairwise(steps):
        rows = steps[step]
        previous_stop = rows["array_index"].map(
            steps[before].set_index("array_index")["stopped_at"]
        )
        value = _seconds(rows["started_at"], previous_stop).where(rows["status"] == "SUCCEEDED")
        frames.append(
            pd.DataFrame({"step": step, "array_index": rows["array_index"], "lag_s": value})
        )
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"array_index": int, "lag_s": float})


def running_curve(timeline: pd.DataFrame) -> pd.DataFrame:
    """Children running over time per step, a step function: time (UTC), step, running,
    elapsed_s (seconds from the run's first creation). Each step starts at 0."""
    origin = timeline["created_at"].min()
    frames = []
    for step, rows in _by_step(timeline).items():
        began = rows["started_at"].dropna()
        ended = rows.loc[rows["started_at"].notna(), "stopped_at"].dropna()
        events = pd.DataFrame(
            {
                "time": pd.concat([pd.Series([origin]), began, ended], ignore_index=True),
                "delta": [0] + [1] * len(began) + [-1] * len(ended),
            }
        ).sort_values("time", kind="stable")
        events["running"] = events["delta"].cumsum()
        curve = events.groupby("time", sort=True)["running"].last().reset_index()
        frames.append(curve.assign(step=step))
    out = pd.concat(frames, ignore_index=True)[["time", "step", "running"]]
    out["elapsed_s"] = _seconds(out["time"], pd.Series(origin, index=out.index))
    return out


def mean_running(timeline: pd.DataFrame, bins: int = 200) -> pd.DataFrame:
    """Per step, the time-weighted mean of running children in ``bins`` equal slices of the
    run: elapsed_s (slice start), step, running. Readable where children last milliseconds
    and the exact curve flickers."""
    curve = running_curve(timeline)
    end = float(curve["elapsed_s"].max()) if len(curve) else 0.0
    edges = np.linspace(0.0, end, bins + 1) if end > 0 else np.zeros(2)
    width = np.diff(edges)
    frames = []
    for step, rows in curve.groupby("step", sort=False):
        times = rows["elapsed_s"].to_numpy(float)
        running = rows["running"].to_numpy(float)
        area = np.concatenate(([0.0], np.cumsum(running[:-1] * np.diff(times))))
        integral = np.interp(edges, times, area, right=area[-1])
        mean = np.divide(np.diff(integral), width, out=np.zeros_like(width), where=width > 0)
        frames.append(pd.DataFrame({"elapsed_s": edges[:-1], "step": step, "running": mean}))
    return (
        pd.concat(frames, ignore_index=True) if frames else curve[["elapsed_s", "step", "running"]]
    )


def peak_running(timeline: pd.DataFrame) -> dict[str, int]:
    """Per step: the most children that ran at once."""
    peaks = running_curve(timeline).groupby("step", sort=False)["running"].max()
    return {step: int(peaks.get(step, 0)) for step in step_names(timeline)}


def resources_used(
    timeline: pd.DataFrame, resources: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per step: vcpus and memory_mib from ``resources``, else ``timeline.attrs``, else the
    default (1 vCPU, 2 GiB), with the ``source`` that gave them."""
    sources = {"argument": resources or {}, "timeline": timeline.attrs.get("resources") or {}}
    chosen: dict[str, dict[str, Any]] = {}
    for step in step_names(timeline):
        source, given = next(
            ((name, table[step]) for name, table in sources.items() if step in table),
            ("default", {}),
        )
        values = {key: float(given.get(key, value)) for key, value in DEFAULT_RESOURCES.items()}
        chosen[step] = {**values, "source": source}
    return chosen


def estimated_cost(
    timeline: pd.DataFrame,
    resources: Mapping[str, Mapping[str, float]] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Compute cost of every child that ran (failed ones too): billed seconds (run_s, at
    least ``minimum_billed_s``) x (vCPUs x vCPU price + memory GiB x GB price)."""
    prices = {**FARGATE_PRICES, **(prices or {})}
    used = resources_used(timeline, resources)
    by_step = {}
    for step, rows in _by_step(timeline).items():
        billed = rows["run_s"].dropna().clip(lower=prices["minimum_billed_s"])
        usd_per_s = (
            used[step]["vcpus"] * prices["usd_per_vcpu_hour"]
            + used[step]["memory_mib"] / 1024 * prices["usd_per_gb_hour"]
        ) / 3600
        by_step[step] = float(billed.sum() * usd_per_s)
    return {
        "total_usd": math.fsum(by_step.values()),
        "by_step_usd": by_step,
        "resources": used,
        "prices": prices,
    }


def _children(rows: pd.DataFrame) -> dict[str, int]:
    status = rows["status"]
    return {
        "total": len(rows),
        "succeeded": int((status == "SUCCEEDED").sum()),
        "failed": int((status == "FAILED").sum()),
    }


def compute_metrics(
    timeline: pd.DataFrame,
    *,
    slots: Mapping[str, int] | None = None,
    resources: Mapping[str, Mapping[str, float]] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every metric of the run, JSON-ready.

    ``slots`` per step feed the list-scheduling model (default: the observed peak running);
    ``resources`` and ``prices`` feed the cost estimate.
    """
    steps = _by_step(timeline)
    makespan = makespan_s(timeline)
    peaks = peak_running(timeline)
    model_slots = dict(slots) if slots else {step: max(peak, 1) for step, peak in peaks.items()}
    simulated = {mode: predict(timeline, model_slots, mode).makespan_s for mode in DEPENDENCIES}
    barrier = simulated["BARRIER"]
    last = _succeeded(steps[next(reversed(steps))]) if steps else timeline
    records = last["records"].sum(min_count=1)
    cost = estimated_cost(timeline, resources, prices)
    lags = lag(timeline)
    return {
        "execution": {key: timeline.attrs[key] for key in EXECUTION_KEYS if key in timeline.attrs},
        "children": {step: _children(rows) for step, rows in steps.items()},
        "makespan_s": makespan,
        "early_start_fraction": early_start_fraction(timeline),
        "lag_s": {
            step: _summary(lags.loc[lags["step"] == step, "lag_s"], "max")
            for step in list(steps)[1:]
        },
        "peak_running": peaks,
        "barrier_makespan_s": barrier,
        "n2n_gain": None if makespan is None or not barrier else 1 - makespan / barrier,
        "model": {
            "slots": model_slots,
            "slots_source": "argument" if slots else "observed peak running",
            "simulated_makespan_s": simulated,
        },
        "queue_s": {step: _summary(_succeeded(rows)["queue_s"]) for step, rows in steps.items()},
        "run_s": {step: _summary(_succeeded(rows)["run_s"]) for step, rows in steps.items()},
        "records": _number(records),
        "records_per_s": _number(records / makespan) if makespan else None,
        "estimated_compute_cost_usd": cost["total_usd"],
        "cost": cost,
    }

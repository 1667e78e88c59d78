"""Metrics of one run from its timeline alone, as DESIGN.md defines them.

Failed children count in ``children`` and in the cost (they were billed) but not in the
run-time statistics (queue and run percentiles, lag). Every value is JSON-ready: numbers,
strings, dicts, and None where the timeline cannot tell.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.cost import estimated_cost
from pipeline.analysis.model import (
    DEPENDENCIES,
    PERCENTILES,
    calibrate,
    makespan_s,
    peak_running,
)
from pipeline.analysis.timeline import step_names

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


def finished_curve(timeline: pd.DataFrame) -> pd.DataFrame:
    """Children finished (stopped, succeeded or failed) over time per step, cumulative:
    elapsed_s (seconds from the run's first creation), step, finished. Each step starts at
    (0, 0) and steps up once per distinct stop time."""
    origin = timeline["created_at"].min()
    frames = [pd.DataFrame({"elapsed_s": [], "step": [], "finished": []})]
    for step, rows in _by_step(timeline).items():
        stops = _seconds(rows["stopped_at"].dropna(), origin).sort_values()
        counts = stops.groupby(stops.to_numpy()).size().cumsum()
        frames.append(
            pd.DataFrame(
                {
                    "elapsed_s": np.r_[0.0, counts.index.to_numpy(dtype=float)],
                    "step": step,
                    "finished": np.r_[0, counts.to_numpy()],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).astype({"elapsed_s": float, "finished": int})


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
        # After a step's last event its count holds (children still running stay counted).
        integral = np.interp(edges, times, area) + running[-1] * np.clip(edges - times[-1], 0, None)
        mean = np.divide(np.diff(integral), width, out=np.zeros_like(width), where=width > 0)
        frames.append(pd.DataFrame({"elapsed_s": edges[:-1], "step": step, "running": mean}))
    return (
        pd.concat(frames, ignore_index=True) if frames else curve[["elapsed_s", "step", "running"]]
    )


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

    ``slots`` per step feed the calibrated model (default: the observed peak running);
    ``resources`` and ``prices`` feed the cost estimate. ``barrier_makespan_s`` and
    ``n2n_gain`` come from the model under both dependencies with the same calibration
    (like for like); ``model.error`` is the model under the run's own dependency against
    the measured makespan.
    """
    steps = _by_step(timeline)
    makespan = makespan_s(timeline)
    calibration = calibrate(timeline, slots)
    modelled = {mode: calibration.predict(mode).makespan_s for mode in DEPENDENCIES}
    own = modelled[calibration.dependency]
    barrier = modelled["BARRIER"]
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
        "peak_running": peak_running(timeline),
        "barrier_makespan_s": barrier,
        "n2n_gain": 1 - modelled["N_TO_N"] / barrier if barrier else None,
        "model": {
            **calibration.summary(),
            "makespan_s": modelled,
            "error": own / makespan - 1 if makespan else None,
        },
        "queue_s": {step: _summary(_succeeded(rows)["queue_s"]) for step, rows in steps.items()},
        "run_s": {step: _summary(_succeeded(rows)["run_s"]) for step, rows in steps.items()},
        "records": _number(records),
        "records_per_s": _number(records / makespan) if makespan else None,
        "estimated_compute_cost_usd": cost["total_usd"],
        "vcpu_s": cost["vcpu_s"],
        "cost": cost,
    }

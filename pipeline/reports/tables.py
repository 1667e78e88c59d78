"""Small tables for the notebooks: a stack's parameters and outputs, a run's summary, a
preview of its timeline, its per-step metrics, and the N_TO_N vs BARRIER comparison of
``05_compare``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

PREVIEW_COLUMNS = ["step", "array_index", "status", "attempts", "started_at", "queue_s", "run_s"]
STEP_METRICS = ("children", "early_start_fraction", "peak_running", "queue_s", "run_s", "lag_s")
COMPARE_COLUMNS = [
    "makespan_s",
    "model_makespan_s",
    "model_error",
    "barrier_makespan_s",
    "n2n_gain",
    "measured_gain",
]
DECIMALS = {"s": 2, "error": 3, "gain": 3}
"""Digits shown: seconds to 10 ms, relative errors and gains to 0.1 %."""
STEP_DECIMALS = {"fargate_usd": 5}
"""Digits of the per-step table: a step's Fargate bill to 0.00001 USD, everything else
(seconds, fractions, vCPU-seconds) to three decimals."""
RUN_LEVELS = ["dependency", "skew"]
"""The key of a run in ``05_compare``: (dependency, skew)."""


def _stack(conn: Any, stack: str) -> dict[str, Any]:
    return conn.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]


def stack_parameters(conn: Any, stack: str) -> pd.DataFrame:
    """The stack's parameters: one row per parameter with its value."""
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in _stack(conn, stack)["Parameters"]}
    return pd.DataFrame({"value": pd.Series(values, dtype=object)}).rename_axis("parameter")


def resource_name(value: str) -> str:
    """The name an ARN ends with (``job-queue/n2n-procure`` -> ``n2n-procure``); any other
    value as it is."""
    if not value.startswith("arn:"):
        return value
    return value.rsplit("/", 1)[-1] if "/" in value else value.rsplit(":", 1)[-1]


def outputs_table(conn: Any, stack: str) -> pd.DataFrame:
    """The stack's outputs: one row per output with the resource's name (the end of an
    ARN, so queues and job definitions tell apart at a glance), its description and full
    value."""
    rows = {
        o["OutputKey"]: {
            "name": resource_name(o["OutputValue"]),
            "description": o.get("Description", ""),
            "value": o["OutputValue"],
        }
        for o in _stack(conn, stack).get("Outputs", [])
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["name", "description", "value"])
    return frame.rename_axis("output").sort_index()


def timeline_preview(timeline: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """The first ``rows`` children of a timeline in the columns a reader scans first (no job
    ids), start times to the millisecond and seconds to three decimals."""
    preview = timeline[PREVIEW_COLUMNS].head(rows).copy()
    preview["started_at"] = preview["started_at"].dt.strftime("%H:%M:%S.%f").str[:-3]
    return preview.round({"queue_s": 3, "run_s": 3})


def summary_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The watch Lambda's ``_SUMMARY.json`` per step: status and children per Batch status."""
    rows = {step: {"status": s["status"], **s["summary"]} for step, s in summary["steps"].items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("step")


def _flat(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {f"{key}.{name}": item for name, item in value.items()}
    return {key: value}


def step_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """A run's per-step metrics, one column per step: children, early starts, peak running,
    queue / run / lag percentiles in seconds, the Fargate bill in USD and the vCPU-seconds
    used."""
    tables = {
        **{key: metrics[key] for key in STEP_METRICS},
        "fargate_usd": metrics["cost"]["by_step_usd"],
        "vcpu_s": metrics["cost"]["by_step_vcpu_s"],
    }
    rows = {
        step: {
            column: value
            for key, table in tables.items()
            if step in table
            for column, value in _flat(key, table[step]).items()
        }
        for step in metrics["children"]
    }
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis(columns="step")
    order = list(tables)
    columns = sorted(frame.columns, key=lambda column: order.index(column.split(".")[0]))
    digits = {column: STEP_DECIMALS.get(column, 3) for column in columns}
    return frame[columns].round(digits).astype(object).T.rename_axis("metric")


def compare_table(metrics: Mapping[tuple[str, float], Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (dependency, skew) run: its measured makespan; the calibrated model's
    makespan of the run and its error; the model's barrier makespan and ``n2n_gain`` (both
    modelled from this run, like for like); and, on the N_TO_N rows, ``measured_gain`` =
    1 - the N_TO_N run's makespan / the BARRIER run's of the same skew (both really run).
    Seconds to two decimals, errors and gains to three."""
    rows = {}
    for key, m in metrics.items():
        model = m["model"]
        rows[key] = {
            "makespan_s": m["makespan_s"],
            "model_makespan_s": model["makespan_s"][model["dependency"]],
            "model_error": model["error"],
            "barrier_makespan_s": m["barrier_makespan_s"],
            "n2n_gain": m["n2n_gain"],
        }
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis(RUN_LEVELS)
    makespan = frame["makespan_s"].astype(float)
    barrier = makespan.xs("BARRIER", level="dependency", drop_level=True)
    ratio = makespan / barrier.reindex(frame.index.get_level_values("skew")).to_numpy()
    frame["measured_gain"] = (1 - ratio).where(
        frame.index.get_level_values("dependency") == "N_TO_N"
    )
    digits = {column: DECIMALS[column.rsplit("_", 1)[-1]] for column in COMPARE_COLUMNS}
    return frame[COMPARE_COLUMNS].astype(float).round(digits) + 0.0  # + 0.0: no "-0.0"

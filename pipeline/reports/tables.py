"""Small tables for the notebooks: a stack's parameters and outputs, a run's summary, a
run's per-step metrics, and the N_TO_N vs BARRIER comparison of ``05_compare``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

STEP_METRICS = ("children", "early_start_fraction", "peak_running", "queue_s", "run_s", "lag_s")
COMPARE_COLUMNS = ["makespan_s", "barrier_makespan_s", "n2n_gain"]
RUN_LEVELS = ["dependency", "skew"]
"""The key of a run in ``05_compare``: (dependency, skew)."""


def _stack(conn: Any, stack: str) -> dict[str, Any]:
    return conn.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]


def stack_parameters(conn: Any, stack: str) -> pd.DataFrame:
    """The stack's parameters: one row per parameter with its value."""
    values = {p["ParameterKey"]: p.get("ParameterValue") for p in _stack(conn, stack)["Parameters"]}
    return pd.DataFrame({"value": pd.Series(values, dtype=object)}).rename_axis("parameter")


def outputs_table(conn: Any, stack: str) -> pd.DataFrame:
    """The stack's outputs: one row per output with its value and description."""
    rows = {
        o["OutputKey"]: {"value": o["OutputValue"], "description": o.get("Description", "")}
        for o in _stack(conn, stack).get("Outputs", [])
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["value", "description"])
    return frame.rename_axis("output").sort_index()


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
    queue / run / lag percentiles in seconds and the estimated cost in USD."""
    tables = {
        **{key: metrics[key] for key in STEP_METRICS},
        "cost_usd": metrics["cost"]["by_step_usd"],
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
    return frame[columns].astype(object).T.rename_axis("metric")


def compare_table(metrics: Mapping[tuple[str, float], Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (dependency, skew) run: makespan, the barrier model's makespan,
    ``n2n_gain``, and ``measured_gain`` = 1 - the N_TO_N run's makespan / the BARRIER
    run's of the same skew (on the N_TO_N rows)."""
    frame = pd.DataFrame.from_dict(
        {key: {column: m[column] for column in COMPARE_COLUMNS} for key, m in metrics.items()},
        orient="index",
    ).rename_axis(RUN_LEVELS)
    makespan = frame["makespan_s"].astype(float)
    barrier = makespan.xs("BARRIER", level="dependency", drop_level=True)
    ratio = makespan / barrier.reindex(frame.index.get_level_values("skew")).to_numpy()
    frame["measured_gain"] = (1 - ratio).where(
        frame.index.get_level_values("dependency") == "N_TO_N"
    )
    return frame

"""Capacity what-if: the makespan and cost a measured run would have under other
``MaxVcpus`` settings.

The same child run times are list-scheduled (:func:`pipeline.analysis.model.predict`)
with each step given ``MaxVcpus ÷ the job's vCPUs`` slots, as a Batch compute environment
runs that many children at once, under N_TO_N and under BARRIER. Two costs per setting,
with :mod:`pipeline.analysis.metrics`' prices and the run's job resources:

- ``cost_usd``: Fargate bills each child's own seconds, so the compute cost does not move
  with MaxVcpus (only the makespan does);
- ``held_usd``: the cost if every slot were held for the whole makespan (capacity that
  does not scale down, e.g. EC2 with minvCpus = maxvCpus): what too many slots waste.

The model has no queue or start-up delays and greedy list scheduling is not monotone
(a few more slots can make N_TO_N slower), so the curves need not fall smoothly. The
table marks the measured run and the model's prediction at the measured slots (the
observed peak running per step): their gap is the model's error on this run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from pipeline.analysis.metrics import (
    DEPENDENCIES,
    FARGATE_PRICES,
    estimated_cost,
    makespan_s,
    peak_running,
    resources_used,
)
from pipeline.analysis.model import predict
from pipeline.errors import N2NError

COLUMNS = ["source", "dependency", "max_vcpus", "slots", "makespan_s", "cost_usd", "held_usd"]
MEASURED, AT_MEASURED_SLOTS, MODEL = "measured", "model at measured slots", "model"


class CapacityError(N2NError):
    """A what-if that cannot be computed as asked."""


def parse_vcpus(text: str) -> list[float]:
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
    return values


def slots_for(max_vcpus: float, job_vcpus: float) -> int:
    """Children a compute environment of ``max_vcpus`` runs at once (at least one)."""
    return max(1, math.floor(max_vcpus / job_vcpus + 1e-9))


def _usd_per_child_s(resources: Mapping[str, Any], prices: Mapping[str, Any]) -> float:
    hourly = (
        resources["vcpus"] * prices["usd_per_vcpu_hour"]
        + resources["memory_mib"] / 1024 * prices["usd_per_gb_hour"]
    )
    return hourly / 3600


def _row(
    source: str,
    dependency: str,
    max_vcpus: float,
    slots: Mapping[str, int],
    makespan: float | None,
    cost: float,
    rates: Mapping[str, float],
) -> dict[str, Any]:
    held = None if makespan is None else makespan * sum(slots[s] * rates[s] for s in slots)
    return {
        "source": source,
        "dependency": dependency,
        "max_vcpus": max_vcpus,
        "slots": "/".join(str(slots[step]) for step in slots),
        "makespan_s": makespan,
        "cost_usd": cost,
        "held_usd": held,
    }


def what_if(
    timeline: pd.DataFrame,
    vcpus: Sequence[float],
    resources: Mapping[str, Mapping[str, float]] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per MaxVcpus setting (the same for every step) and dependency, plus the
    measured run and the model at its measured slots. Columns: source, dependency,
    max_vcpus, slots (per step, "procure/process/egress"), makespan_s, cost_usd, held_usd.
    """
    if timeline.empty:
        raise CapacityError("The run has no children to simulate: pick an execution that ran.")
    prices = {**FARGATE_PRICES, **(prices or {})}
    used = resources_used(timeline, resources)
    rates = {step: _usd_per_child_s(values, prices) for step, values in used.items()}
    cost = estimated_cost(timeline, resources, prices)["total_usd"]
    measured_slots = {step: max(peak, 1) for step, peak in peak_running(timeline).items()}
    measured_vcpus = max(measured_slots[s] * used[s]["vcpus"] for s in measured_slots)
    dependency = (timeline.attrs.get("input") or {}).get("dependency", "N_TO_N")
    rows = [
        _row(
            MEASURED, dependency, measured_vcpus, measured_slots, makespan_s(timeline), cost, rates
        ),
        _row(
            AT_MEASURED_SLOTS,
            dependency,
            measured_vcpus,
            measured_slots,
            predict(timeline, measured_slots, dependency).makespan_s,
            cost,
            rates,
        ),
    ]
    for max_vcpus in sorted(set(vcpus)):
        slots = {step: slots_for(max_vcpus, used[step]["vcpus"]) for step in used}
        for mode in DEPENDENCIES:
            makespan = predict(timeline, slots, mode).makespan_s
            rows.append(_row(MODEL, mode, max_vcpus, slots, makespan, cost, rates))
    return pd.DataFrame(rows, columns=COLUMNS)


def model_error(table: pd.DataFrame) -> float:
    """The model's relative error on the measured run: predicted / measured - 1."""
    by_source = table.set_index("source")["makespan_s"]
    return float(by_source[AT_MEASURED_SLOTS] / by_source[MEASURED] - 1)


def capacity_figure(table: pd.DataFrame) -> Figure:
    """Predicted makespan and cost against MaxVcpus per step, per dependency, with the
    measured run marked."""
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    time_axes, cost_axes = figure.subplots(1, 2, sharex=True)
    model = table[table["source"] == MODEL]
    for mode, rows in model.groupby("dependency", sort=False):
        time_axes.plot(rows["max_vcpus"], rows["makespan_s"], marker="o", label=mode)
        cost_axes.plot(rows["max_vcpus"], rows["held_usd"], marker="o", label=f"held, {mode}")
    first = model.drop_duplicates("max_vcpus")
    cost_axes.plot(first["max_vcpus"], first["cost_usd"], color="black", label="Fargate")
    measured = table[table["source"] == MEASURED].iloc[0]
    for axes, column in ((time_axes, "makespan_s"), (cost_axes, "cost_usd")):
        axes.scatter(
            [measured["max_vcpus"]],
            [measured[column]],
            marker="*",
            s=160,
            color="#d62728",
            zorder=3,
            label=f"measured ({measured['dependency']})",
        )
        axes.set_xscale("log", base=2)
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.set_xlabel("MaxVcpus per step")
        axes.grid(alpha=0.3)
        axes.legend(frameon=False)
    time_axes.set_ylabel("makespan (s)")
    time_axes.set_title("Predicted makespan")
    cost_axes.set_yscale("log")
    cost_axes.set_ylabel("USD (log scale)")
    cost_axes.set_title("Estimated compute cost")
    return figure

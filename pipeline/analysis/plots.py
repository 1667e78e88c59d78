"""Figures of one run's timeline: Gantt, running children, lag ECDF, queue wait vs run time;
of several runs side by side; and of the capacity what-if.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot (no global
state, safe headless). Large data goes into one rasterized collection per step, so 10,000
indices x 3 steps draw fast and stay small in SVG. Times are shown in the unit that fits
the run's span (ms, s, min or h) and legends sit outside the data. ``FIGURES`` names the
figures of one run; ``save_figures`` writes each as PNG and SVG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    ScalarFormatter,
)

from pipeline.analysis.metrics import finished_curve, lag, mean_running
from pipeline.analysis.model import AT_MEASURED_SLOTS, MEASURED, MODEL
from pipeline.analysis.timeline import step_names

STYLE: dict[str, Any] = {
    "colors": {"procure": "#1b9e77", "process": "#7570b3", "egress": "#d95f02"},
    "cycle": ("#e7298a", "#66a61e", "#e6ab02", "#a6761d"),
    "figsize": (10.0, 6.0),
    "dpi": 110,
    "bar_height": 0.8,
    "point_size": 6.0,
    "alpha": 0.5,
    "fill_alpha": 0.2,
    "running_bins": 80,
    # A Gantt of more rows than this shrinks its marks in proportion (never below
    # "min_mark_area", in points squared), so they stay on their rows at 10,000 children.
    "marks_full_size_rows": 100,
    "min_mark_area": 4.0,
    "grid_alpha": 0.3,
    # Outside the axes: never over the data, and no costly search for the "best" place.
    "legend": {
        "loc": "upper left",
        "bbox_to_anchor": (1.01, 1.0),
        "frameon": False,
        "markerscale": 2.0,
    },
}
# How children that failed, or needed more than one attempt, are picked out and marked.
MARKS: dict[str, dict[str, Any]] = {
    "failed": {
        "select": lambda timeline: timeline["status"] == "FAILED",
        "style": {"marker": "x", "color": "#d62728", "s": 18.0, "zorder": 4},
    },
    "retried": {
        "select": lambda timeline: (timeline["status"] == "SUCCEEDED") & (timeline["attempts"] > 1),
        "style": {"marker": "|", "color": "#000000", "s": 48.0, "zorder": 3},
        # Where marks are shrunk to fit a crowded Gantt, retries (often thousands) are
        # faint so the steps' colours and the failures show through.
        "crowded": {"alpha": 0.25},
    },
}
# A figure-level legend to the right of every panel (constrained layout makes room).
FIGURE_LEGEND: dict[str, Any] = {"loc": "outside right upper", "frameon": False}
ELAPSED = "time since the run's first child was created"
# (span in seconds it stays under, unit, seconds per unit): the first that fits.
TIME_UNITS = ((1.0, "ms", 0.001), (180.0, "s", 1.0), (3 * 3600.0, "min", 60.0))
HOURS = ("h", 3600.0)
PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:g}")
"""Tick labels of a log axis as plain numbers (30, not 3 x 10^1)."""
INPUT_KEYS = ("id_count", "ids_per_node", "dependency")
FORMATS = ("png", "svg")


def step_color(step: str, order: int) -> str:
    """The colour of a step, the same in every figure."""
    cycle = STYLE["cycle"]
    return STYLE["colors"].get(step, cycle[(order - 1) % len(cycle)])


def _title(timeline: pd.DataFrame, what: str) -> str:
    """``what``, the execution's name and its input parameters, as far as attrs tell."""
    attrs = timeline.attrs
    name = attrs.get("execution_name")
    given = attrs.get("input") or {}
    params = ", ".join(f"{key}={given[key]}" for key in INPUT_KEYS if key in given)
    return "\n".join(filter(None, [f"{what} — {name}" if name else what, params]))


def _axes(timeline: pd.DataFrame, what: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=STYLE["figsize"], dpi=STYLE["dpi"], layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(_title(timeline, what))
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=STYLE["grid_alpha"])
    return figure, axes


def _legend(axes: Axes) -> None:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(**STYLE["legend"])
    else:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")


def time_unit(span_s: float) -> tuple[str, float]:
    """The unit that fits a span of ``span_s`` seconds, and its length in seconds."""
    return next(((unit, size) for top, unit, size in TIME_UNITS if span_s < top), HOURS)


def _span_s(timeline: pd.DataFrame) -> float:
    span = (timeline["stopped_at"].max() - timeline["created_at"].min()).total_seconds()
    return 0.0 if pd.isna(span) else float(span)


def _elapsed(timeline: pd.DataFrame, column: str, size: float = 1.0) -> pd.Series:
    return (timeline[column] - timeline["created_at"].min()).dt.total_seconds() / size


def _mark_problems(
    axes: Axes,
    timeline: pd.DataFrame,
    x: Mapping[str, pd.Series],
    y: pd.Series,
    scale: float = 1.0,
) -> None:
    """Mark each kind of ``MARKS`` at (``x[kind]``, ``y``), one collection per kind, each
    mark's area times ``scale`` (at least ``STYLE["min_mark_area"]``; below 1, a kind's
    ``crowded`` style applies too); failures on top."""
    for name, mark in MARKS.items():
        shown = mark["select"](timeline) & x[name].notna() & y.notna()
        if shown.any():
            style = {**mark["style"], **(mark.get("crowded", {}) if scale < 1.0 else {})}
            style["s"] = max(style["s"] * scale, STYLE["min_mark_area"])
            axes.scatter(
                x[name][shown],
                y[shown],
                **style,
                linewidths=1 if scale == 1.0 else 0.5,
                label=f"{name} ({int(shown.sum())})",
                rasterized=True,
            )


def _bars(start: np.ndarray, stop: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Rectangle vertices (n, 4, 2) of horizontal bars centred on each index."""
    low, high = index - STYLE["bar_height"] / 2, index + STYLE["bar_height"] / 2
    corners = [(start, low), (start, high), (stop, high), (stop, low)]
    return np.stack([np.column_stack(corner) for corner in corners], axis=1)


def gantt(timeline: pd.DataFrame) -> Figure:
    """Per-index timeline: one bar per child from start to stop, one colour per step;
    failed children marked at their stop, retried ones at their start."""
    unit, size = time_unit(_span_s(timeline))
    figure, axes = _axes(timeline, "Per-index timeline", f"{ELAPSED} ({unit})", "array index")
    times = {column: _elapsed(timeline, column, size) for column in ("started_at", "stopped_at")}
    ran = times["started_at"].notna() & times["stopped_at"].notna()
    index = timeline["array_index"]
    for order, step in enumerate(step_names(timeline), start=1):
        rows = ran & (timeline["step"] == step)
        if rows.any():
            bars = _bars(
                times["started_at"][rows].to_numpy(),
                times["stopped_at"][rows].to_numpy(),
                index[rows].to_numpy(dtype=float),
            )
            axes.add_collection(
                PolyCollection(
                    bars,
                    facecolors=step_color(step, order),
                    edgecolors="none",
                    label=step,
                    rasterized=True,
                )
            )
    rows = int(index.nunique())
    _mark_problems(
        axes,
        timeline,
        {"failed": times["stopped_at"], "retried": times["started_at"]},
        index,
        scale=min(1.0, STYLE["marks_full_size_rows"] / max(rows, 1)),
    )
    end = times["stopped_at"].max()
    axes.set_xlim(0, end if end > 0 else 1)
    axes.set_ylim(index.max() + 0.5 if len(index) else 0.5, -0.5)
    _legend(axes)
    return figure


def draw_running(
    finished_axes: Axes, occupancy_axes: Axes, timeline: pd.DataFrame, span_s: float | None = None
) -> None:
    """Onto two axes: children finished per step over time (cumulative S-curves whose
    overlap is the N_TO_N fade) and the smoothed occupancy (the time-weighted mean of
    children running in each of ``STYLE["running_bins"]`` slices, one view at any scale).
    ``span_s`` fixes the time unit and the time axis, from 0 to ``span_s`` (default: the
    timeline's span, the axis fitted to the data). The legend counts each
    step's finished children out of its array size (``timeline.attrs``) where known, and
    the finished axis reaches the largest array size from the start, so a live view keeps
    its scale (and whole-number ticks) while the curves climb."""
    unit, size = time_unit(_span_s(timeline) if span_s is None else span_s)
    sizes = timeline.attrs.get("array_size") or {}
    started = bool(timeline["started_at"].notna().any())
    finished = finished_curve(timeline)
    occupancy = mean_running(timeline, STYLE["running_bins"]) if len(timeline) else None
    totals = [1]
    for order, step in enumerate(step_names(timeline), start=1):
        color = step_color(step, order)
        done = finished[finished["step"] == step]
        total = int(sizes.get(step, (timeline["step"] == step).sum()))
        totals.append(total)
        finished_axes.step(
            done["elapsed_s"] / size,
            done["finished"],
            where="post",
            color=color,
            label=f"{step} ({int(done['finished'].iloc[-1]) if len(done) else 0}/{total})",
        )
        if started and occupancy is not None:
            rows = occupancy[occupancy["step"] == step]
            occupancy_axes.plot(rows["elapsed_s"] / size, rows["running"], color=color)
            occupancy_axes.fill_between(
                rows["elapsed_s"] / size, rows["running"], color=color, alpha=STYLE["fill_alpha"]
            )
    if not started:
        occupancy_axes.text(
            0.5, 0.5, "no child has started yet", transform=occupancy_axes.transAxes, ha="center"
        )
    finished_axes.set_ylabel("children finished")
    occupancy_axes.set_ylabel("children running (mean per slice)")
    finished_axes.set_ylim(0, max(totals) * 1.02)
    occupancy_axes.set_ylim(0, max(1.0, occupancy_axes.get_ylim()[1]))
    for axes in (finished_axes, occupancy_axes):
        axes.set_xlabel(f"{ELAPSED} ({unit})")
        axes.set_xlim(0, None if span_s is None else max(span_s / size, 1.0))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=STYLE["grid_alpha"])


def running(timeline: pd.DataFrame) -> Figure:
    """Children finished per step (the fade) beside the smoothed number running."""
    figure = Figure(figsize=STYLE["figsize"], dpi=STYLE["dpi"], layout="constrained")
    finished_axes, occupancy_axes = figure.subplots(1, 2)
    figure.suptitle(_title(timeline, "Children per step over time"))
    draw_running(finished_axes, occupancy_axes, timeline)
    if finished_axes.get_legend_handles_labels()[0]:
        figure.legend(**FIGURE_LEGEND)
    else:
        finished_axes.text(0.5, 0.5, "no data", transform=finished_axes.transAxes, ha="center")
    return figure


def running_overlay(timelines: Mapping[tuple[str, float], pd.DataFrame]) -> Figure:
    """Several runs side by side: one panel per step, one cumulative "children finished"
    curve per (dependency, skew) run (BARRIER dashed), each against the time since that
    run's first child was created."""
    first = next(iter(timelines.values()))
    steps = step_names(first)
    unit, size = time_unit(max(_span_s(timeline) for timeline in timelines.values()))
    width, height = STYLE["figsize"]
    figure = Figure(figsize=(width * 1.4, height * 0.75), dpi=STYLE["dpi"], layout="constrained")
    axes = figure.subplots(1, len(steps), sharex=True, sharey=True)
    figure.suptitle("Children finished per step, run by run")
    for number, ((dependency, skew), timeline) in enumerate(timelines.items()):
        curve = finished_curve(timeline)
        name = timeline.attrs.get("execution_name")
        label = f"{dependency}, skew {skew:g}" + (f" ({name})" if name else "")
        style = "--" if dependency == "BARRIER" else "-"
        for axis, step in zip(axes, steps, strict=True):
            rows = curve[curve["step"] == step]
            axis.step(
                rows["elapsed_s"] / size,
                rows["finished"],
                where="post",
                linestyle=style,
                linewidth=2.0,
                color=STYLE["cycle"][number % len(STYLE["cycle"])],
                label=label,
            )
    for axis, step in zip(axes, steps, strict=True):
        axis.set_title(step)
        axis.set_xlabel(f"{ELAPSED} ({unit})")
        axis.set_xlim(left=0)
        axis.grid(alpha=STYLE["grid_alpha"])
    axes[0].set_ylabel("children finished")
    axes[0].set_ylim(bottom=0)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", frameon=False)
    return figure


def lag_ecdf(timeline: pd.DataFrame) -> Figure:
    """ECDF of lag (a child's start minus the stop of the same index one step before) for
    every later step; failed children left out."""
    lags = lag(timeline).dropna()
    unit, size = time_unit(float(lags["lag_s"].abs().max()) if len(lags) else 0.0)
    figure, axes = _axes(
        timeline,
        "Lag behind the previous step, per index",
        f"lag: start - previous step's stop of the same index ({unit})",
        "share of the step's children",
    )
    for order, step in enumerate(step_names(timeline), start=1):
        values = lags.loc[lags["step"] == step, "lag_s"] / size
        if len(values):
            axes.ecdf(
                values,
                color=step_color(step, order),
                label=f"{step} (n={len(values)})",
                rasterized=True,
            )
    _legend(axes)
    return figure


def queue_vs_run(timeline: pd.DataFrame) -> Figure:
    """Queue wait against run time, one point per child, one colour per step."""
    measured = timeline["queue_s"].notna() & timeline["run_s"].notna()
    run_unit, run_size = time_unit(float(timeline["run_s"].max()) if measured.any() else 0.0)
    queue_unit, queue_size = time_unit(float(timeline["queue_s"].max()) if measured.any() else 0.0)
    figure, axes = _axes(
        timeline, "Queue wait vs run time", f"run time ({run_unit})", f"queue wait ({queue_unit})"
    )
    run_s, queue_s = timeline["run_s"] / run_size, timeline["queue_s"] / queue_size
    for order, step in enumerate(step_names(timeline), start=1):
        rows = measured & (timeline["step"] == step)
        if rows.any():
            axes.scatter(
                run_s[rows],
                queue_s[rows],
                s=STYLE["point_size"],
                alpha=STYLE["alpha"],
                color=step_color(step, order),
                linewidths=0,
                label=step,
                rasterized=True,
            )
    _mark_problems(axes, timeline, dict.fromkeys(MARKS, run_s), queue_s)
    _legend(axes)
    return figure


def capacity_figure(table: pd.DataFrame) -> Figure:
    """The what-if (:func:`pipeline.analysis.model.what_if`): modelled makespan (log scale,
    in the unit that fits) and the cost of the slots held for it against MaxVcpus per step,
    per dependency, with the measured run marked. Fargate's bill and the vCPU-seconds used
    do not move with MaxVcpus, so the cost panel plots ``held_usd`` and says so."""
    unit, size = time_unit(float(table["makespan_s"].max()))
    figure = Figure(
        figsize=(STYLE["figsize"][0] * 1.2, 4.2), dpi=STYLE["dpi"], layout="constrained"
    )
    time_axes, cost_axes = figure.subplots(1, 2, sharex=True)
    # The model at the measured slots stands in for the setting it repeats (what_if leaves
    # that row out), so its dependency's curve has a point at every setting.
    model = table[table["source"] == MODEL]
    at_measured = table[table["source"] == AT_MEASURED_SLOTS]
    point = at_measured.iloc[0]
    same_setting = model[model["max_vcpus"] == point["max_vcpus"]]
    if len(same_setting) and not (same_setting["dependency"] == point["dependency"]).any():
        model = pd.concat([model, at_measured]).sort_values("max_vcpus", kind="stable")
    measured = table[table["source"] == MEASURED].iloc[0]
    for axes, column, scale in ((time_axes, "makespan_s", size), (cost_axes, "held_usd", 1.0)):
        for mode, rows in model.groupby("dependency", sort=False):
            style = "--" if mode == "BARRIER" else "-"
            axes.plot(rows["max_vcpus"], rows[column] / scale, style, marker="o", label=mode)
        axes.scatter(
            [measured["max_vcpus"]],
            [measured[column] / scale],
            marker="*",
            s=160,
            color="#d62728",
            zorder=3,
            label=f"measured ({measured['dependency']})",
        )
        axes.set_xscale("log", base=2)
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.grid(alpha=STYLE["grid_alpha"])
    time_axes.set_yscale("log")
    time_axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    time_axes.yaxis.set_major_formatter(PLAIN_NUMBER)
    time_axes.yaxis.set_minor_formatter(NullFormatter())
    time_axes.set_xlabel("MaxVcpus per step")
    time_axes.set_ylabel(f"makespan ({unit}, log scale)")
    time_axes.set_title("Modelled makespan")
    cost_axes.set_ylim(bottom=0)
    cost_axes.set_ylabel("USD")
    cost_axes.set_title("Cost of the slots held for the makespan (held_usd)")
    cost_axes.set_xlabel(
        f"MaxVcpus per step\n(at every setting: Fargate bill {measured['fargate_usd']:,.4g} USD,"
        f" {measured['vcpu_s']:,.0f} vCPU-s used)"
    )
    figure.legend(*cost_axes.get_legend_handles_labels(), **FIGURE_LEGEND)
    return figure


FIGURES: dict[str, Callable[[pd.DataFrame], Figure]] = {
    "gantt": gantt,
    "running": running,
    "lag": lag_ecdf,
    "queue_vs_run": queue_vs_run,
}


def save_figures(
    timeline: pd.DataFrame, out_dir: str | Path, formats: tuple[str, ...] = FORMATS
) -> list[Path]:
    """Draw every figure of ``FIGURES`` and write ``{name}.{format}`` files into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in FIGURES.items():
        figure = draw(timeline)
        for suffix in formats:
            path = out / f"{name}.{suffix}"
            figure.savefig(path)
            paths.append(path)
    return paths

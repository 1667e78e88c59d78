"""Figures of one run's timeline: Gantt, running children, lag ECDF, queue wait vs run time.

Each function takes a timeline and returns a ``matplotlib.figure.Figure`` built without
pyplot (no global state, safe headless). Large data goes into one rasterized collection
per step, so 10,000 indices x 3 steps draw fast and stay small in SVG. ``FIGURES`` names
the figures; ``save_figures`` writes each as PNG and SVG.
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

from pipeline.analysis.metrics import lag, mean_running, running_curve
from pipeline.analysis.model import step_names

STYLE: dict[str, Any] = {
    "colors": {"procure": "#1b9e77", "process": "#7570b3", "egress": "#d95f02"},
    "cycle": ("#e7298a", "#66a61e", "#e6ab02", "#a6761d"),
    "figsize": (10.0, 6.0),
    "dpi": 110,
    "bar_height": 0.8,
    "point_size": 6.0,
    "alpha": 0.5,
    "fill_alpha": 0.2,
    "running_bins": 200,
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
        "style": {"marker": "x", "color": "#d62728", "s": 18.0},
    },
    "retried": {
        "select": lambda timeline: (timeline["status"] == "SUCCEEDED") & (timeline["attempts"] > 1),
        "style": {"marker": "|", "color": "#000000", "s": 48.0},
    },
}
ELAPSED = "time since the run's first child was created (s)"
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


def _elapsed(timeline: pd.DataFrame, column: str) -> pd.Series:
    return (timeline[column] - timeline["created_at"].min()).dt.total_seconds()


def _mark_problems(
    axes: Axes, timeline: pd.DataFrame, x: Mapping[str, pd.Series], y: pd.Series
) -> None:
    """Mark each kind of ``MARKS`` at (``x[kind]``, ``y``), one collection per kind."""
    for name, mark in MARKS.items():
        shown = mark["select"](timeline) & x[name].notna() & y.notna()
        if shown.any():
            axes.scatter(
                x[name][shown],
                y[shown],
                **mark["style"],
                linewidths=1,
                label=f"{name} ({int(shown.sum())})",
                rasterized=True,
                zorder=3,
            )


def _bars(start: np.ndarray, stop: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Rectangle vertices (n, 4, 2) of horizontal bars centred on each index."""
    low, high = index - STYLE["bar_height"] / 2, index + STYLE["bar_height"] / 2
    corners = [(start, low), (start, high), (stop, high), (stop, low)]
    return np.stack([np.column_stack(corner) for corner in corners], axis=1)


def gantt(timeline: pd.DataFrame) -> Figure:
    """Per-index timeline: one bar per child from start to stop, one colour per step;
    failed children marked at their stop, retried ones at their start."""
    figure, axes = _axes(timeline, "Per-index timeline", ELAPSED, "array index")
    times = {column: _elapsed(timeline, column) for column in ("started_at", "stopped_at")}
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
    _mark_problems(
        axes, timeline, {"failed": times["stopped_at"], "retried": times["started_at"]}, index
    )
    end = times["stopped_at"].max()
    axes.set_xlim(0, end if end > 0 else 1)
    axes.set_ylim(index.max() + 0.5 if len(index) else 0.5, -0.5)
    _legend(axes)
    return figure


def running_series(timeline: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, bool]:
    """The curve to draw (exact, or the mean per slice when children last milliseconds
    and the exact curve changes far more often than the plot has room for), the exact
    peaks per step, and whether the curve is the binned one."""
    exact = running_curve(timeline)
    binned = len(exact) > STYLE["running_bins"] * 4
    curve = mean_running(timeline, STYLE["running_bins"]) if binned else exact
    return curve, exact.groupby("step", sort=False)["running"].max(), binned


def running_label(binned: bool) -> str:
    """The y label of a running-children curve."""
    return "children running (mean per slice)" if binned else "children running"


def running(timeline: pd.DataFrame) -> Figure:
    """Children running over time, one step line per step: the N_TO_N overlap."""
    curve, peaks, binned = running_series(timeline)
    figure, axes = _axes(timeline, "Running children per step", ELAPSED, running_label(binned))
    for order, step in enumerate(step_names(timeline), start=1):
        rows = curve[curve["step"] == step]
        color = step_color(step, order)
        axes.step(
            rows["elapsed_s"],
            rows["running"],
            where="post",
            color=color,
            label=f"{step} (peak {int(peaks.get(step, 0))})",
            rasterized=True,
        )
        axes.fill_between(
            rows["elapsed_s"],
            rows["running"],
            step="post",
            color=color,
            alpha=STYLE["fill_alpha"],
            linewidth=0,
            rasterized=True,
        )
    axes.set_ylim(bottom=0)
    _legend(axes)
    return figure


def running_overlay(timelines: Mapping[tuple[str, float], pd.DataFrame]) -> Figure:
    """Several runs side by side: one panel per step, one line per (dependency, skew) run,
    each against the seconds since that run's first child was created."""
    first = next(iter(timelines.values()))
    steps = step_names(first)
    figure = Figure(figsize=(STYLE["figsize"][0] * 1.5, STYLE["figsize"][1] * 0.7))
    axes = figure.subplots(1, len(steps), sharex=True, sharey=True)
    figure.suptitle("Running children per step, run by run")
    for (dependency, skew), timeline in timelines.items():
        curve, _, binned = running_series(timeline)
        for axis, step in zip(axes, steps, strict=True):
            rows = curve[curve["step"] == step]
            axis.step(
                rows["elapsed_s"], rows["running"], where="post", label=f"{dependency} skew={skew}"
            )
            axis.set_title(step)
            axis.set_xlabel(ELAPSED)
            axis.grid(alpha=STYLE["grid_alpha"])
        axes[0].set_ylabel(running_label(binned))
    axes[-1].legend(**STYLE["legend"])
    figure.set_layout_engine("constrained")
    return figure


def lag_ecdf(timeline: pd.DataFrame) -> Figure:
    """ECDF of lag (a child's start minus the stop of the same index one step before) for
    every later step; failed children left out."""
    figure, axes = _axes(
        timeline,
        "Lag behind the previous step, per index",
        "lag: start - previous step's stop of the same index (s)",
        "share of the step's children",
    )
    lags = lag(timeline).dropna()
    for order, step in enumerate(step_names(timeline), start=1):
        values = lags.loc[lags["step"] == step, "lag_s"]
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
    figure, axes = _axes(timeline, "Queue wait vs run time", "run time (s)", "queue wait (s)")
    measured = timeline["queue_s"].notna() & timeline["run_s"].notna()
    for order, step in enumerate(step_names(timeline), start=1):
        rows = timeline[measured & (timeline["step"] == step)]
        if len(rows):
            axes.scatter(
                rows["run_s"],
                rows["queue_s"],
                s=STYLE["point_size"],
                alpha=STYLE["alpha"],
                color=step_color(step, order),
                linewidths=0,
                label=step,
                rasterized=True,
            )
    _mark_problems(axes, timeline, dict.fromkeys(MARKS, timeline["run_s"]), timeline["queue_s"])
    _legend(axes)
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

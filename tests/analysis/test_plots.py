"""Plots: titles, labels and legends as promised; collections, not one artist per bar."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from pipeline.analysis.model import what_if
from pipeline.analysis.plots import (
    FIGURES,
    capacity_figure,
    draw_running,
    gantt,
    lag_ecdf,
    queue_vs_run,
    running,
    running_overlay,
    save_figures,
    time_unit,
)
from tests.analysis import timelines
from tests.analysis.synthetic import synthetic_timeline

STEPS = ["procure", "process", "egress"]


@pytest.fixture(scope="module")
def wide():
    """10,000 indices x 3 steps with a few failures."""
    return synthetic_timeline(10_000, failure_rate=0.001, seed=5)


def legend_texts(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_gantt_has_one_collection_per_step_and_marks_failures(wide) -> None:
    figure = gantt(wide)
    axes = figure.axes[0]
    bars = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert [c.get_label() for c in bars] == STEPS
    assert sum(len(c.get_paths()) for c in bars) == wide["started_at"].notna().sum()
    assert len(axes.get_children()) < 40
    assert all(c.get_rasterized() for c in axes.collections)
    texts = legend_texts(figure)
    assert texts[:3] == STEPS and texts[3].startswith("failed (")
    assert axes.get_xlabel().endswith("(min)") and axes.get_ylabel() == "array index"
    assert "synthetic-10000x3-n_to_n" in axes.get_title()
    assert "dependency=N_TO_N" in axes.get_title()


def test_retried_children_are_marked() -> None:
    timeline = timelines.build(timelines.ONE_NODE)
    timeline.loc[1, "attempts"] = 2
    assert "retried (1)" in legend_texts(gantt(timeline))


@pytest.mark.parametrize(
    ("rows", "failed_area", "retried_area", "retried_alpha"),
    [
        # Up to 100 rows, marks at full size: x of 18 pt², | of 48 pt², opaque.
        (10, 18.0, 48.0, None),
        # 1,000 rows shrink them to a tenth: 1.8 pt² (held at the 4 pt² floor) and 4.8 pt²,
        # and the retries turn faint so the colours and the failures show through.
        (1000, 4.0, 4.8, 0.25),
    ],
)
def test_gantt_marks_shrink_to_their_rows_when_crowded(
    rows, failed_area, retried_area, retried_alpha
) -> None:
    timeline = timelines.build({"procure": [(0, 1)] * rows}, failed={("procure", 0)})
    timeline.loc[1, "attempts"] = 2
    axes = gantt(timeline).axes[0]
    failed, retried = axes.collections[1:]
    assert (failed.get_label(), retried.get_label()) == ("failed (1)", "retried (1)")
    assert list(failed.get_sizes()) == pytest.approx([failed_area])
    assert list(retried.get_sizes()) == pytest.approx([retried_area])
    assert retried.get_alpha() == retried_alpha
    assert failed.get_zorder() > retried.get_zorder()


@pytest.mark.parametrize("draw", list(FIGURES.values()), ids=list(FIGURES))
def test_every_figure_renders_ten_thousand_by_three_to_png(draw, wide, tmp_path) -> None:
    figure = draw(wide)
    assert isinstance(figure, Figure)
    path = tmp_path / "figure.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figure.axes[0].get_children()) < 40


def figure_legend(figure: Figure) -> list[str]:
    return [text.get_text() for text in figure.legends[0].get_texts()]


def test_running_lag_and_queue_figures_say_what_they_show() -> None:
    timeline = timelines.build(timelines.STRAGGLER, attrs={"execution_name": "run-7"})
    figure = running(timeline)
    assert figure_legend(figure) == ["procure (4/4)", "process (4/4)", "egress (4/4)"]
    finished, occupancy = figure.axes
    assert finished.get_ylabel() == "children finished"
    assert occupancy.get_ylabel() == "children running (mean per slice)"
    assert finished.get_xlabel().endswith("(s)")
    # The S-curve of procure: 0 until 1 s, three children by 1 s, all four by 10 s.
    procure = finished.get_lines()[0]
    assert list(procure.get_xdata()) == [0, 1, 10] and list(procure.get_ydata()) == [0, 3, 4]
    figure = lag_ecdf(timeline)
    assert legend_texts(figure) == ["process (n=4)", "egress (n=4)"]
    assert "(s)" in figure.axes[0].get_xlabel()
    figure = queue_vs_run(timeline)
    assert legend_texts(figure) == STEPS
    assert (figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()) == (
        "run time (s)",
        "queue wait (s)",
    )
    assert "run-7" in running(timeline)._suptitle.get_text()
    assert all("run-7" in f(timeline).axes[0].get_title() for f in (gantt, lag_ecdf, queue_vs_run))


@pytest.mark.parametrize(
    ("seconds", "unit", "tick"),
    [(0.5, "ms", 500), (150, "s", 150), (1200, "min", 20), (5 * 3600, "h", 5)],
)
def test_time_axes_use_the_unit_that_fits_the_span(seconds, unit, tick) -> None:
    assert time_unit(seconds)[0] == unit
    scaled = {step: [(0, seconds)] for step in STEPS}
    figure = gantt(timelines.build(scaled))
    assert figure.axes[0].get_xlabel().endswith(f"({unit})")
    assert figure.axes[0].get_xlim()[1] == pytest.approx(tick)
    finished = running(timelines.build(scaled)).axes[0]
    assert finished.get_lines()[0].get_xdata()[-1] == pytest.approx(tick)


def test_figures_without_data_say_so() -> None:
    timeline = timelines.build(timelines.NEVER_STARTED, failed={("procure", 0), ("procure", 1)})
    texts = [t.get_text() for t in lag_ecdf(timeline).axes[0].texts]
    assert texts == ["no data"]
    assert legend_texts(gantt(timeline)) == ["procure", "failed (2)"]
    assert figure_legend(running(timeline)) == ["procure (2/2)", "process (0/2)", "egress (0/2)"]


def test_capacity_figure_plots_the_cost_that_varies_and_marks_the_measured_run() -> None:
    table = what_if(timelines.build(timelines.N_TO_N), [1, 2, 4])
    time_axes, cost_axes = capacity_figure(table).axes
    assert "held_usd" in cost_axes.get_title() and "Fargate bill" in cost_axes.get_xlabel()
    lines = {line.get_label(): line for line in time_axes.get_lines()}
    # The hand schedules of test_model: N_TO_N 12, 8, 8 and BARRIER 19, 11, 9 s.
    assert list(lines["N_TO_N"].get_ydata()) == [12, 8, 8]
    assert list(lines["BARRIER"].get_ydata()) == [19, 11, 9]
    star = time_axes.collections[0].get_offsets()
    assert star.tolist() == [[2, 8]]


def test_capacity_curves_keep_the_setting_the_measured_run_stands_for() -> None:
    # A BARRIER run on 2/2/2: the BARRIER row at MaxVcpus 2 is the model at the measured
    # slots (11 s), and the curve still passes through it: 19, 11, 9 s.
    measured = timelines.build(timelines.BARRIER, attrs={"input": {"dependency": "BARRIER"}})
    time_axes, _ = capacity_figure(what_if(measured, [1, 2, 4])).axes
    lines = {line.get_label(): line for line in time_axes.get_lines()}
    assert list(lines["BARRIER"].get_xdata()) == [1, 2, 4]
    assert list(lines["BARRIER"].get_ydata()) == [19, 11, 9]
    # Measured at MaxVcpus 2, asked for 1 and 4 only: the curves keep to the settings asked.
    time_axes, _ = capacity_figure(what_if(measured, [1, 4])).axes
    lines = {line.get_label(): line for line in time_axes.get_lines()}
    assert list(lines["BARRIER"].get_xdata()) == [1, 4]


def test_save_figures_writes_png_and_svg_of_each(tmp_path) -> None:
    paths = save_figures(timelines.build(timelines.N_TO_N), tmp_path / "out")
    names = {"gantt", "running", "lag", "queue_vs_run"}
    assert {p.name for p in paths} == {f"{n}.{s}" for n in names for s in ("png", "svg")}
    assert all(p.stat().st_size > 0 for p in paths)


def test_running_overlay_has_a_panel_per_step_and_a_named_line_per_run(tmp_path) -> None:
    runs = {
        (mode, 1.0): synthetic_timeline(50, dependency=mode, seed=3)
        for mode in ("N_TO_N", "BARRIER")
    }
    figure = running_overlay(runs)
    axes = figure.get_axes()
    assert [axis.get_title() for axis in axes] == ["procure", "process", "egress"]
    assert all(len(axis.get_lines()) == 2 for axis in axes)
    assert figure_legend(figure) == [
        "N_TO_N, skew 1 (synthetic-50x3-n_to_n)",
        "BARRIER, skew 1 (synthetic-50x3-barrier)",
    ]
    assert [line.get_linestyle() for line in axes[0].get_lines()] == ["-", "--"]
    assert all(line.get_ydata()[-1] == 50 for axis in axes for line in axis.get_lines())
    figure.savefig(tmp_path / "overlay.png")


def visible_ticks(axes) -> list[float]:
    low, high = axes.get_ylim()
    return [tick for tick in axes.get_yticks() if low <= tick <= high]


def test_the_live_running_view_is_one_view_before_and_while_children_run() -> None:
    sizes = {"array_size": dict.fromkeys(STEPS, 2)}
    waiting = timelines.build({step: [None, None] for step in STEPS}, attrs=sizes)
    figure = Figure()
    finished, occupancy = figure.subplots(1, 2)
    draw_running(finished, occupancy, waiting, span_s=2.0)
    # Before any child starts: the same labels, every step in the legend at 0 of its array
    # size, the finished axis already reaching 2, whole-number ticks, and one line saying why
    # nothing runs.
    assert [line.get_label() for line in finished.get_lines()] == [
        "procure (0/2)",
        "process (0/2)",
        "egress (0/2)",
    ]
    assert (finished.get_ylabel(), occupancy.get_ylabel()) == (
        "children finished",
        "children running (mean per slice)",
    )
    assert visible_ticks(finished) == [0, 1, 2]
    assert visible_ticks(occupancy) == [0, 1]
    assert [text.get_text() for text in occupancy.texts] == ["no child has started yet"]
    # The time axis given (2 s since the first child was created) rather than a
    # millisecond axis fitted to no data.
    assert finished.get_xlim() == (0.0, 2.0) and finished.get_xlabel().endswith("(s)")

    # Mid-run, 4 s in: procure child 0 ran 0-1 s and child 1 started at 0 and still runs;
    # process child 0 ran 1-4 s. Procure therefore runs 2 children in the first second and 1
    # after it, up to now; process 0 then 1. In 80 slices of 0.05 s: 20 slices then 60.
    live = timelines.build({"procure": [(0, 1), (0, 4)], "process": [(1, 4), None]}, attrs=sizes)
    still_running = (live["step"] == "procure") & (live["array_index"] == 1)
    live.loc[still_running, ["stopped_at", "status"]] = [pd.NaT, "RUNNING"]
    figure = Figure()
    finished, occupancy = figure.subplots(1, 2)
    draw_running(finished, occupancy, live)
    procure, process = (line.get_ydata() for line in occupancy.get_lines())
    assert list(procure) == pytest.approx([2.0] * 20 + [1.0] * 60)
    assert list(process) == pytest.approx([0.0] * 20 + [1.0] * 60)
    assert [line.get_label() for line in finished.get_lines()] == [
        "procure (1/2)",
        "process (1/2)",
    ]

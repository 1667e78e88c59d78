"""Plots: titles, labels and legends as promised; collections, not one artist per bar."""

from __future__ import annotations

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from pipeline.analysis.plots import (
    FIGURES,
    gantt,
    lag_ecdf,
    queue_vs_run,
    running,
    running_overlay,
    save_figures,
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
    assert axes.get_xlabel().endswith("(s)") and axes.get_ylabel() == "array index"
    assert "synthetic-10000x3-n_to_n" in axes.get_title()
    assert "dependency=N_TO_N" in axes.get_title()


def test_retried_children_are_marked() -> None:
    timeline = timelines.build(timelines.ONE_NODE)
    timeline.loc[1, "attempts"] = 2
    assert "retried (1)" in legend_texts(gantt(timeline))


@pytest.mark.parametrize("draw", list(FIGURES.values()), ids=list(FIGURES))
def test_every_figure_renders_ten_thousand_by_three_to_png(draw, wide, tmp_path) -> None:
    figure = draw(wide)
    assert isinstance(figure, Figure)
    path = tmp_path / "figure.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figure.axes[0].get_children()) < 40


def test_running_lag_and_queue_figures_say_what_they_show() -> None:
    timeline = timelines.build(timelines.STRAGGLER, attrs={"execution_name": "run-7"})
    figure = running(timeline)
    assert legend_texts(figure) == ["procure (peak 4)", "process (peak 3)", "egress (peak 3)"]
    assert figure.axes[0].get_ylabel() == "children running"
    figure = lag_ecdf(timeline)
    assert legend_texts(figure) == ["process (n=4)", "egress (n=4)"]
    assert "(s)" in figure.axes[0].get_xlabel()
    figure = queue_vs_run(timeline)
    assert legend_texts(figure) == STEPS
    assert (figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()) == (
        "run time (s)",
        "queue wait (s)",
    )
    assert all("run-7" in f(timeline).axes[0].get_title() for f in FIGURES.values())


def test_figures_without_data_say_so() -> None:
    timeline = timelines.build(timelines.NEVER_STARTED, failed={("procure", 0), ("procure", 1)})
    texts = [t.get_text() for t in lag_ecdf(timeline).axes[0].texts]
    assert texts == ["no data"]
    gantt(timeline)
    running(timeline)


def test_save_figures_writes_png_and_svg_of_each(tmp_path) -> None:
    paths = save_figures(timelines.build(timelines.N_TO_N), tmp_path / "out")
    names = {"gantt", "running", "lag", "queue_vs_run"}
    assert {p.name for p in paths} == {f"{n}.{s}" for n in names for s in ("png", "svg")}
    assert all(p.stat().st_size > 0 for p in paths)


def test_running_overlay_has_a_panel_per_step_and_a_line_per_run(tmp_path) -> None:
    runs = {
        (mode, 1.0): synthetic_timeline(50, dependency=mode, seed=3)
        for mode in ("N_TO_N", "BARRIER")
    }
    figure = running_overlay(runs)
    axes = figure.get_axes()
    assert [axis.get_title() for axis in axes] == ["procure", "process", "egress"]
    assert all(len(axis.get_lines()) == 2 for axis in axes)
    labels = [text.get_text() for text in axes[-1].get_legend().get_texts()]
    assert labels == ["N_TO_N skew=1.0", "BARRIER skew=1.0"]
    figure.savefig(tmp_path / "overlay.png")

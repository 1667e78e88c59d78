"""Benchmark of the analysis figures, and the figures to look at (not a test).

    .venv/bin/python bench/plots.py [--indices 100,10000] [--out DIR]

For each size, draws every figure of ``pipeline.analysis.plots.FIGURES`` for a synthetic
run of ``indices`` x 3 steps (N_TO_N, a few failures), the N_TO_N / BARRIER overlay of
``05_compare`` and the what-if figure of ``07_capacity``, writes each as
``{indices}/{name}.png`` and prints the seconds each took, drawing and writing together.
Issue 5 asks for the Gantt at 10,000 x 3 in 5 s or less.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the synthetic run is a test aid

from pipeline.analysis.model import what_if
from pipeline.analysis.plots import FIGURES, capacity_figure, running_overlay
from tests.analysis.synthetic import synthetic_timeline


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def drawings(timeline: pd.DataFrame, barrier: pd.DataFrame) -> dict[str, Callable[[], Figure]]:
    """Every figure to draw, by name: one run's, the overlay and the what-if."""
    return {
        **{name: partial(draw, timeline) for name, draw in FIGURES.items()},
        "overlay": partial(running_overlay, {("N_TO_N", 1.0): timeline, ("BARRIER", 1.0): barrier}),
        "capacity": lambda: capacity_figure(what_if(timeline, [2, 8, 32, 128, 512])),
    }


def main() -> None:
    """Time every figure on synthetic timelines of each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indices", type=_sizes, default=[100, 10_000])
    parser.add_argument("--out", type=Path, default=None, help="keep the PNGs here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="n2n-plots-"))
    for indices in args.indices:
        folder = out / str(indices)
        folder.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        timeline = synthetic_timeline(indices, failure_rate=0.001)
        barrier = synthetic_timeline(indices, dependency="BARRIER", failure_rate=0.001)
        print(f"{indices} indices: timelines {time.perf_counter() - began:6.2f} s")
        for name, draw in drawings(timeline, barrier).items():
            began = time.perf_counter()
            draw().savefig(folder / f"{name}.png")
            print(f"  {name:<12} {time.perf_counter() - began:11.2f} s")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()

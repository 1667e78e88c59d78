"""Benchmark of the analysis figures at the seed's scale (not a test).

    .venv/bin/python bench/plots.py [--indices 10000] [--out DIR]

Draws each figure of ``pipeline.analysis.plots.FIGURES`` for a synthetic run of
``indices`` x 3 steps (N_TO_N, a few failures), writes it as PNG and prints the seconds
each took, drawing and writing together. Issue 5 asks for the Gantt at 10,000 x 3 in 5 s
or less.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the synthetic run is a test aid

from pipeline.analysis.plots import FIGURES
from tests.analysis.synthetic import synthetic_timeline


def main() -> None:
    """Time every figure on one synthetic timeline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indices", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the PNGs here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="n2n-plots-"))
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    timeline = synthetic_timeline(args.indices, failure_rate=0.001)
    print(f"timeline  {len(timeline):>6} children  {time.perf_counter() - began:6.2f} s")
    for name, draw in FIGURES.items():
        began = time.perf_counter()
        draw(timeline).savefig(out / f"{name}.png")
        print(f"{name:<12} {time.perf_counter() - began:13.2f} s")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()

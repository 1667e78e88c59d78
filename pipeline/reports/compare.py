"""The research question of ``05_compare``: the same workload under N_TO_N and under
BARRIER (for each skew), run one after another so the runs never share slots."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipeline.analysis.metrics import compute_metrics
from pipeline.analysis.timeline import build_timeline
from pipeline.runs import start_run, wait_for_run
from pipeline.runs.progress import StepBars
from pipeline.spec import DEPENDENCIES, parse_run_input

RunKey = tuple[str, float]
"""(dependency, skew) of one run of a comparison."""


def compare_runs(
    conn: Any,
    stack: str,
    *,
    id_count: int,
    ids_per_node: int,
    skews: Sequence[float],
    work: Mapping[str, float] | None = None,
) -> dict[RunKey, pd.DataFrame]:
    """Run the workload (``work`` knobs, with each skew of ``skews``) once per (dependency,
    skew), waiting for each with progress bars under a line naming the run; return the
    timelines."""
    specs = {
        (dependency, skew): parse_run_input(
            {
                "id_count": id_count,
                "ids_per_node": ids_per_node,
                "work": {**(work or {}), "skew": skew},
                "dependency": dependency,
            }
        )
        for dependency, skew in itertools.product(DEPENDENCIES, skews)
    }
    timelines = {}
    for (dependency, skew), spec in specs.items():
        arn = start_run(conn, stack, spec)
        print(f"{dependency}, skew {skew:g}: {arn.rsplit(':', 1)[-1]}", flush=True)
        with StepBars() as bars:
            state = wait_for_run(conn, arn, bars)
        timelines[dependency, skew] = build_timeline(conn, state.execution_arn)
    return timelines


def compare_metrics(timelines: dict[RunKey, pd.DataFrame]) -> dict[RunKey, dict[str, Any]]:
    """The metrics of every run of a comparison."""
    return {key: compute_metrics(timeline) for key, timeline in timelines.items()}

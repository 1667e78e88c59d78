"""The research question of ``05_compare``: the same workload under N_TO_N and under
BARRIER (for each skew), run one after another so the runs never share slots."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
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
    compute_ms_per_id: float,
) -> dict[RunKey, pd.DataFrame]:
    """Run the workload once per (dependency, skew), waiting for each with progress bars;
    return the timelines."""
    specs = {
        (dependency, skew): parse_run_input(
            {
                "id_count": id_count,
                "ids_per_node": ids_per_node,
                "work": {"skew": skew, "compute_ms_per_id": compute_ms_per_id},
                "dependency": dependency,
            }
        )
        for dependency, skew in itertools.product(DEPENDENCIES, skews)
    }
    timelines = {}
    for key, spec in specs.items():
        with StepBars() as bars:
            state = wait_for_run(conn, start_run(conn, stack, spec), bars)
        timelines[key] = build_timeline(conn, state.execution_arn)
    return timelines


def compare_metrics(timelines: dict[RunKey, pd.DataFrame]) -> dict[RunKey, dict[str, Any]]:
    """The metrics of every run of a comparison."""
    return {key: compute_metrics(timeline) for key, timeline in timelines.items()}

"""Hand-made timelines with known answers, in the contract's shape."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.timeline import TIME_COLUMNS, TIMELINE_COLUMNS

T0 = pd.Timestamp("2024-05-01T12:00:00Z").as_unit("ns")
COLUMNS = TIMELINE_COLUMNS
Span = tuple[float, float] | None


def _at(seconds: float | None) -> pd.Timestamp:
    return pd.NaT if seconds is None else T0 + pd.Timedelta(seconds=seconds)


def build(
    spans: Mapping[str, Sequence[Span]],
    *,
    failed: Collection[tuple[str, int]] = (),
    records: float = 10.0,
    attrs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A timeline where ``spans[step][i]`` is child i's (start, stop) in seconds from T0
    (None: it never started); steps in mapping order, every child created at T0."""
    rows = []
    for order, (step, children) in enumerate(spans.items(), start=1):
        for index, span in enumerate(children):
            start, stop = span or (None, None)
            lost = (step, index) in failed or span is None
            rows.append(
                {
                    "step": step,
                    "step_order": order,
                    "job_id": f"{step}-job:{index}",
                    "parent_job_id": f"{step}-job",
                    "array_index": index,
                    "status": "FAILED" if lost else "SUCCEEDED",
                    "attempts": 3 if lost else 1,
                    "exit_code": np.nan if span is None else float(lost),
                    "status_reason": "failed" if lost else "",
                    "created_at": T0,
                    "started_at": _at(start),
                    "stopped_at": _at(stop),
                    "queue_s": np.nan if start is None else float(start),
                    "run_s": np.nan if span is None else float(stop - start),
                    "records": np.nan if lost else records,
                    "load_s": np.nan,
                    "compute_s": np.nan,
                    "write_s": np.nan,
                }
            )
    timeline = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("created_at", "started_at", "stopped_at"):
        timeline[column] = pd.to_datetime(timeline[column], utc=True).dt.as_unit("ns")
    timeline.attrs = dict(attrs or {})
    return timeline


# Run times procure (4, 2, 3), process (1, 2, 2), egress (3, 1, 1) on 2 slots per step,
# list-scheduled in index order as a whole-job chain: makespan 11.
BARRIER = {
    "procure": [(0, 4), (0, 2), (2, 5)],
    "process": [(5, 6), (5, 7), (6, 8)],
    "egress": [(8, 11), (8, 9), (9, 10)],
}
# The same run times and slots chained N_TO_N: makespan 8.
N_TO_N = {
    "procure": [(0, 4), (0, 2), (2, 5)],
    "process": [(4, 5), (2, 4), (5, 7)],
    "egress": [(5, 8), (4, 5), (7, 8)],
}
# Every step runs side by side from the start (the upper bound of overlap).
FULL_OVERLAP = {
    "procure": [(0, 10), (0, 10)],
    "process": [(1, 5), (1, 5)],
    "egress": [(2, 4), (2, 4)],
}
# Index 3 straggles in procure; each later child starts 0.5 s (straggler's: 2 s) and 1 s
# after its predecessor stopped.
STRAGGLER = {
    "procure": [(0, 1), (0, 1), (0, 1), (0, 10)],
    "process": [(1.5, 2.5), (1.5, 2.5), (1.5, 2.5), (12, 13)],
    "egress": [(3.5, 4.5), (3.5, 4.5), (3.5, 4.5), (14, 15)],
}
# Process index 1 starts late, runs 51 s and fails; its egress child never starts.
WITH_FAILURE = {
    "procure": [(0, 1), (0, 1), (0, 1)],
    "process": [(1, 3), (50, 101), (1, 5)],
    "egress": [(3, 4), None, (5, 6)],
}
ONE_NODE = {"procure": [(0, 2)], "process": [(3, 5)], "egress": [(5.5, 6)]}
# Procure fails everywhere; nothing later ever starts.
NEVER_STARTED = {"procure": [(0, 1), (0, 1)], "process": [None, None], "egress": [None, None]}


def read_timeline_csv(path: Any) -> pd.DataFrame:
    """A timeline written with ``to_csv(index=False)``, with its UTC datetimes restored."""
    frame = pd.read_csv(path, keep_default_na=True)
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["status_reason"] = frame["status_reason"].fillna("")
    return frame

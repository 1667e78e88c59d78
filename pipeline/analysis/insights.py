"""The worker's ``n2n.step`` lines through CloudWatch Logs Insights (large runs on AWS).

A query returns at most 10,000 rows (its ``limit`` maximum), and a step of 10,000 children
can print more lines than that (an attempt that printed before its host was lost prints
again). So each step is read by index range: a range whose query may have been cut (as
many rows as the limit, or more records matched than returned) is split in two and read
again, down to one index. A few queries run at once, all under one deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.errors import N2NError
from pipeline.runs.wait import POLL_S

QUERY = (
    'fields @message | filter event = "n2n.step" and workflow_id = "{workflow_id}" '
    'and step = "{step}" and index >= {first} and index < {end} | limit {limit}'
)
ROWS_LIMIT = 10_000
"""The most rows one Logs Insights query returns (its ``limit`` maximum)."""
INDEX_SPAN = 5_000
"""Indices per first query: half the row limit's worth, so retried children rarely force a
split."""
CONCURRENT_QUERIES = 4
"""Queries running at once: well under the account's concurrent-query quota (CloudWatch Logs
quotas), which dashboards and other users share."""
QUERY_TIMEOUT_S = 3600.0
"""Logs Insights ends a query after 60 minutes with status Timeout (CloudWatch Logs quotas)."""
DONE = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})


class InsightsError(N2NError):
    """Worker lines that Logs Insights could not return in full."""


@dataclass(frozen=True)
class _Range:
    step: str
    first: int
    end: int

    def halves(self) -> list[_Range]:
        middle = (self.first + self.end) // 2
        return [_Range(self.step, self.first, middle), _Range(self.step, middle, self.end)]


def _epoch_s(moment: datetime | None, default: float) -> int:
    return int(moment.timestamp()) if moment else int(default)


def _maybe_cut(result: dict[str, Any]) -> bool:
    matched = result.get("statistics", {}).get("recordsMatched", 0)
    return len(result["results"]) >= ROWS_LIMIT or matched > len(result["results"])


def step_events(
    logs: Any,
    group: str,
    workflow_id: str,
    sizes: Mapping[str, int],
    start: datetime | None = None,
    end: datetime | None = None,
    timeout_s: float = QUERY_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> Iterator[dict[str, Any]]:
    """The parsed ``n2n.step`` events of one workflow, for each worker step of ``sizes``
    (step -> its children), polled every ``poll_s``; one sentence when the queries are not
    done after ``timeout_s`` or a query fails."""
    window = {
        "startTime": max(_epoch_s(start, 0) - 60, 0),
        "endTime": _epoch_s(end, time.time()) + 60,
    }
    todo = [
        _Range(step, first, min(first + INDEX_SPAN, size))
        for step, size in sizes.items()
        for first in range(0, size, INDEX_SPAN)
    ]
    running: dict[str, _Range] = {}
    deadline = time.monotonic() + timeout_s
    while todo or running:
        while todo and len(running) < CONCURRENT_QUERIES:
            span = todo.pop(0)
            query = QUERY.format(
                workflow_id=workflow_id,
                step=span.step,
                first=span.first,
                end=span.end,
                limit=ROWS_LIMIT,
            )
            started = logs.start_query(logGroupName=group, queryString=query, **window)
            running[started["queryId"]] = span
        for query_id, span in list(running.items()):
            result = logs.get_query_results(queryId=query_id)
            if result["status"] not in DONE:
                continue
            del running[query_id]
            if result["status"] != "Complete":
                raise InsightsError(
                    f"The Logs Insights query of step {span.step} ended {result['status']}: "
                    "try again, or read the run from Batch alone."
                )
            if _maybe_cut(result) and span.end - span.first > 1:
                todo.extend(span.halves())
                continue
            if _maybe_cut(result):
                raise InsightsError(
                    f"Index {span.first} of step {span.step} printed over {ROWS_LIMIT:,} "
                    "worker lines, more than one Logs Insights query returns."
                )
            for row in result["results"]:
                fields = {field["field"]: field["value"] for field in row}
                yield json.loads(fields["@message"])
        if running and time.monotonic() >= deadline:
            span = next(iter(running.values()))
            raise InsightsError(
                f"The Logs Insights query of step {span.step} is still running after "
                f"{timeout_s:.0f} s: read the run from Batch alone or try again later."
            )
        if running:
            time.sleep(poll_s)

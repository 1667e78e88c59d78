"""The worker's ``n2n.step`` lines through CloudWatch Logs Insights (large runs on AWS):
one query per step, each under the 10,000-row limit of a query's results."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pipeline.errors import N2NError
from pipeline.jobs import STEPS
from pipeline.runs.wait import wait_for

QUERY = (
    'fields @message | filter event = "n2n.step" and workflow_id = "{workflow_id}" '
    'and step = "{step}" | limit 10000'
)
POLL_S = 1.0
QUERY_TIMEOUT_S = 3600.0
"""Logs Insights ends a query after 60 minutes with status Timeout (CloudWatch Logs quotas)."""
DONE = frozenset({"Complete", "Failed", "Cancelled", "Timeout"})


def _epoch_s(moment: datetime | None, default: float) -> int:
    return int(moment.timestamp()) if moment else int(default)


def step_events(
    logs: Any,
    group: str,
    workflow_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    timeout_s: float = QUERY_TIMEOUT_S,
) -> Iterator[dict[str, Any]]:
    """The parsed ``n2n.step`` events of one workflow, step by step; one sentence when a
    query is still running after ``timeout_s``."""
    window = {
        "startTime": max(_epoch_s(start, 0) - 60, 0),
        "endTime": _epoch_s(end, time.time()) + 60,
    }
    for step in STEPS:
        query = QUERY.format(workflow_id=workflow_id, step=step)
        query_id = logs.start_query(logGroupName=group, queryString=query, **window)["queryId"]
        result = wait_for(
            lambda query_id=query_id: logs.get_query_results(queryId=query_id),
            lambda result: result["status"] in DONE,
            POLL_S,
            timeout_s,
        )
        if result["status"] not in DONE:
            raise N2NError(
                f"The Logs Insights query of step {step} is still {result['status']} after "
                f"{timeout_s:.0f} s: read the run from Batch alone or try again later."
            )
        for row in result["results"]:
            fields = {field["field"]: field["value"] for field in row}
            yield json.loads(fields["@message"])

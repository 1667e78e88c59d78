"""The worker's step lines through Logs Insights, against botocore's Stubber: ranges of
indices, a range that may have been cut read again in halves, one deadline."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipeline.analysis.insights import step_events
from pipeline.errors import N2NError


def row(step: str, index: int, attempt: int = 1) -> list[dict[str, str]]:
    event = {"event": "n2n.step", "step": step, "workflow_id": "wf", "index": index}
    return [{"field": "@message", "value": json.dumps({**event, "attempt": attempt})}]


def start(stubber: Stubber, query_id: str, query_contains: str | None = None) -> None:
    query = _Contains(query_contains) if query_contains else ANY
    expected = {"logGroupName": "g", "queryString": query, "startTime": ANY, "endTime": ANY}
    stubber.add_response("start_query", {"queryId": query_id}, expected)


class _Contains:
    """Matches a query string holding ``text`` (Stubber compares expected params with ==)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.text in other

    def __repr__(self) -> str:
        return f"<query containing {self.text!r}>"


@pytest.fixture
def logs():
    client = boto3.client("logs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_one_query_per_step_range_read_once_complete(logs):
    client, stubber = logs
    for number, step in enumerate(("procure", "process", "egress")):
        start(stubber, f"q{number}", f'step = "{step}" and index >= 0 and index < 3')
    stubber.add_response("get_query_results", {"status": "Running", "results": []})
    stubber.add_response(
        "get_query_results", {"status": "Complete", "results": [row("process", 0)]}
    )
    stubber.add_response("get_query_results", {"status": "Complete", "results": [row("egress", 0)]})
    stubber.add_response(
        "get_query_results", {"status": "Complete", "results": [row("procure", 0)]}
    )
    sizes = {"procure": 3, "process": 3, "egress": 3}
    events = list(step_events(client, "g", "wf", sizes, poll_s=0))
    assert [event["step"] for event in events] == ["process", "egress", "procure"]
    stubber.assert_no_pending_responses()


def test_a_range_that_may_be_cut_is_read_again_in_halves(logs):
    """A 10,000-wide step whose first 5,000 indices printed 10,000 lines (the query's limit,
    so maybe more): that range is read again as 0-2,500 and 2,500-5,000."""
    client, stubber = logs
    start(stubber, "a", "index >= 0 and index < 5000")
    start(stubber, "b", "index >= 5000 and index < 10000")
    full = [row("procure", i % 5000, attempt=1 + i // 5000) for i in range(10_000)]
    stubber.add_response("get_query_results", {"status": "Complete", "results": full})
    rest = [row("procure", i) for i in range(5000, 10_000)]
    stubber.add_response("get_query_results", {"status": "Complete", "results": rest})
    start(stubber, "c", "index >= 0 and index < 2500")
    start(stubber, "d", "index >= 2500 and index < 5000")
    first = [row("procure", i, attempt) for i in range(2500) for attempt in (1, 2)]
    second = [row("procure", i, attempt) for i in range(2500, 5000) for attempt in (1, 2)]
    second.append(row("procure", 4999, attempt=3))
    stubber.add_response("get_query_results", {"status": "Complete", "results": first})
    stubber.add_response("get_query_results", {"status": "Complete", "results": second})
    events = list(step_events(client, "g", "wf", {"procure": 10_000}, poll_s=0))
    stubber.assert_no_pending_responses()
    assert len(events) == 5000 + 5000 + 5001
    assert {event["index"] for event in events} == set(range(10_000))


def test_more_records_matched_than_returned_splits_too(logs):
    client, stubber = logs
    start(stubber, "a", "index >= 0 and index < 4")
    cut = {"recordsMatched": 5.0, "recordsScanned": 5.0, "bytesScanned": 1.0}
    results = [row("egress", i) for i in range(4)]
    stubber.add_response(
        "get_query_results", {"status": "Complete", "results": results, "statistics": cut}
    )
    start(stubber, "b", "index >= 0 and index < 2")
    start(stubber, "c", "index >= 2 and index < 4")
    stubber.add_response("get_query_results", {"status": "Complete", "results": results[:2]})
    stubber.add_response(
        "get_query_results", {"status": "Complete", "results": [*results[2:], row("egress", 3, 2)]}
    )
    events = list(step_events(client, "g", "wf", {"egress": 4}, poll_s=0))
    assert [(e["index"], e["attempt"]) for e in events] == [(0, 1), (1, 1), (2, 1), (3, 1), (3, 2)]


@pytest.mark.parametrize(
    ("status", "timeout_s", "message"),
    [
        ("Running", 0, "query of step procure is still running after 0 s"),
        ("Failed", 60, "query of step procure ended Failed"),
    ],
)
def test_a_late_or_failed_query_is_one_sentence(logs, status, timeout_s, message):
    client, stubber = logs
    start(stubber, "q0")
    stubber.add_response("get_query_results", {"status": status, "results": []})
    with pytest.raises(N2NError, match=message):
        list(step_events(client, "g", "wf", {"procure": 2}, timeout_s=timeout_s, poll_s=0))

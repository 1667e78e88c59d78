"""The worker's step lines through Logs Insights, against botocore's Stubber."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipeline.analysis.insights import step_events
from pipeline.errors import N2NError


def line(step: str) -> list[dict[str, str]]:
    event = {"event": "n2n.step", "step": step, "workflow_id": "wf", "index": 0}
    return [{"field": "@message", "value": json.dumps(event)}]


@pytest.fixture
def logs():
    client = boto3.client("logs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_one_query_per_step_read_once_complete(logs):
    client, stubber = logs
    for number, step in enumerate(("procure", "process", "egress")):
        stubber.add_response(
            "start_query",
            {"queryId": f"q{number}"},
            {"logGroupName": "g", "queryString": ANY, "startTime": ANY, "endTime": ANY},
        )
        stubber.add_response("get_query_results", {"status": "Running", "results": []})
        stubber.add_response("get_query_results", {"status": "Complete", "results": [line(step)]})
    events = list(step_events(client, "g", "wf"))
    assert [event["step"] for event in events] == ["procure", "process", "egress"]
    stubber.assert_no_pending_responses()


def test_a_query_still_running_at_the_deadline_is_one_sentence(logs):
    client, stubber = logs
    stubber.add_response("start_query", {"queryId": "q0"})
    stubber.add_response("get_query_results", {"status": "Running", "results": []})
    with pytest.raises(N2NError, match="query of step procure is still Running after 0 s"):
        list(step_events(client, "g", "wf", timeout_s=0))

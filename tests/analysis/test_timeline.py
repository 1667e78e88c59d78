"""The timeline: the same frame from the local backend and from AWS-shaped responses,
the DESIGN columns and types, a CSV round trip and the API budget at 3 x 10,000."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from pipeline.analysis.timeline import TIMELINE_COLUMNS, build_timeline
from pipeline.connect import Connection
from tests.analysis.timelines import read_timeline_csv

SERVICES = {"sfn": "stepfunctions", "batch": "batch", "logs": "logs"}


def record_calls(conn) -> list[tuple[str, str, dict]]:
    """Record every response the local clients give (service, operation, response)."""
    calls = []
    for attribute, service in SERVICES.items():
        client = getattr(conn, attribute)
        for operation in (
            "describe_execution",
            "get_execution_history",
            "describe_jobs",
            "list_jobs",
            "describe_job_definitions",
            "filter_log_events",
        ):
            method = getattr(client, operation, None)
            if method is None:
                continue

            def recorder(_method=method, _service=service, _operation=operation, **params):
                response = _method(**params)
                calls.append((_service, _operation, response))
                return response

            setattr(client, operation, recorder)
    return calls


def stubbed_connection(calls) -> tuple[Connection, dict[str, Stubber]]:
    """Real boto3 clients whose Stubbers replay ``calls`` (validating every shape)."""
    clients = {s: boto3.client(s, region_name="us-east-1") for s in SERVICES.values()}
    stubbers = {s: Stubber(c) for s, c in clients.items()}
    for service, operation, response in calls:
        stubbers[service].add_response(operation, response)
    for stubber in stubbers.values():
        stubber.activate()
    return Connection("aws", clients.__getitem__), stubbers


@pytest.fixture(scope="module")
def finished_run(local_stack):
    state = local_stack.run(
        "timeline-run", id_count=60, ids_per_node=5, work={"fail_probability": 0.25}
    )
    return local_stack, state


def test_local_and_aws_shaped_responses_give_the_same_timeline(finished_run):
    stack, state = finished_run
    conn = stack.conn
    conn._clients.clear()
    calls = record_calls(conn)
    local = build_timeline(conn, state.execution_arn)
    aws_conn, stubbers = stubbed_connection(calls)
    aws = build_timeline(aws_conn, state.execution_arn)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    pd.testing.assert_frame_equal(local, aws)
    assert local.attrs == aws.attrs
    conn._clients.clear()


def test_the_timeline_has_the_design_columns_and_types(finished_run):
    stack, state = finished_run
    timeline = build_timeline(stack.conn, state.execution_arn)
    assert list(timeline.columns) == TIMELINE_COLUMNS
    assert len(timeline) == 36
    assert list(timeline.groupby("step_order")["step"].first()) == ["procure", "process", "egress"]
    for column in ("created_at", "started_at", "stopped_at"):
        assert str(timeline[column].dt.tz) == "UTC"
    done = timeline[timeline.status == "SUCCEEDED"]
    assert (done.run_s >= 0).all() and (done.queue_s >= 0).all()
    assert done.records.notna().all()
    assert (done[done.step == "procure"].records == 5).all()
    assert timeline.attrs["resources"]["process"] == {"vcpus": 1.0, "memory_mib": 2048.0}
    assert timeline.attrs["input"]["ids_per_node"] == 5
    assert timeline.attrs["array_size"] == {"procure": 12, "process": 12, "egress": 12}


def test_retries_and_failures_show_in_attempts(finished_run):
    stack, state = finished_run
    timeline = build_timeline(stack.conn, state.execution_arn)
    ran = timeline.started_at.notna()
    assert (timeline.attempts[ran] >= 1).all()
    assert (timeline.attempts[~ran] == 0).all()
    assert timeline.attempts.max() > 1
    failed = timeline[timeline.status == "FAILED"]
    assert failed.status_reason.str.len().gt(0).all()


def test_the_latest_execution_is_the_default(finished_run):
    stack, _ = finished_run
    latest = build_timeline(stack.conn, stack=stack.name)
    assert (
        latest.attrs["execution_arn"]
        == stack.conn.sfn.list_executions(
            stateMachineArn=stack.outputs["StateMachineArn"], maxResults=1
        )["executions"][0]["executionArn"]
    )


def test_to_csv_round_trips(finished_run, tmp_path):
    stack, state = finished_run
    timeline = build_timeline(stack.conn, state.execution_arn)
    timeline.to_csv(tmp_path / "timeline.csv", index=False)
    again = read_timeline_csv(tmp_path / "timeline.csv")
    pd.testing.assert_frame_equal(timeline, again, check_dtype=False, check_like=False)


def _budget_responses(size: int, page: int = 1000):
    """AWS-shaped responses of a finished 3 x ``size`` run whose children all succeeded."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ms = int(start.timestamp() * 1000)
    arn = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
    jobs = {step: f"job-{step}" for step in ("procure", "process", "egress")}
    definition = "arn:aws:batch:us-east-1:123456789012:job-definition/d:1"
    sfn, batch = [], []
    sfn.append(
        (
            "describe_execution",
            {
                "executionArn": arn,
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
                "name": "run-1",
                "status": "SUCCEEDED",
                "startDate": start,
                "stopDate": start,
                "input": "{}",
            },
        )
    )
    events = [
        {
            "timestamp": start,
            "type": "TaskSucceeded",
            "id": i + 1,
            "previousEventId": i,
            "taskSucceededEventDetails": {
                "resourceType": "batch",
                "resource": "submitJob",
                "output": json.dumps({"JobId": job_id, "JobName": f"{step}-run-1"}),
            },
        }
        for i, (step, job_id) in enumerate(jobs.items())
    ]
    sfn.append(("get_execution_history", {"events": events}))
    parents = [
        {
            "jobName": f"{step}-run-1",
            "jobId": job_id,
            "jobQueue": "q",
            "status": "SUCCEEDED",
            "startedAt": ms,
            "jobDefinition": definition,
            "arrayProperties": {"statusSummary": {"SUCCEEDED": size}, "size": size},
            "container": {"environment": [{"name": "WORKFLOW_ID", "value": "wf-1"}]},
        }
        for step, job_id in jobs.items()
    ]
    batch.append(("describe_jobs", {"jobs": parents}))
    for step, job_id in jobs.items():
        for first in range(0, size, page):
            summaries = [
                {
                    "jobId": f"{job_id}:{i}",
                    "jobName": f"{step}-run-1",
                    "status": "SUCCEEDED",
                    "createdAt": ms,
                    "startedAt": ms + 1000,
                    "stoppedAt": ms + 2000,
                    "arrayProperties": {"index": i},
                    "container": {"exitCode": 0},
                }
                for i in range(first, min(first + page, size))
            ]
            more = {"nextToken": f"t{first}"} if first + page < size else {}
            batch.append(("list_jobs", {"jobSummaryList": summaries, **more}))
    batch.append(
        (
            "describe_job_definitions",
            {
                "jobDefinitions": [
                    {
                        "jobDefinitionName": "d",
                        "jobDefinitionArn": definition,
                        "revision": 1,
                        "type": "container",
                        "containerProperties": {
                            "logConfiguration": {
                                "logDriver": "awslogs",
                                "options": {"awslogs-group": "g"},
                            },
                            "resourceRequirements": [
                                {"type": "VCPU", "value": "1"},
                                {"type": "MEMORY", "value": "2048"},
                            ],
                        },
                    }
                ]
            },
        )
    )
    return arn, sfn, batch


def _worker_line(step: str, index: int) -> dict:
    return {
        "event": "n2n.step",
        "step": step,
        "workflow_id": "wf-1",
        "index": index,
        "attempt": 1,
        "records": 40,
        "load_s": 0.1,
        "compute_s": 0.2,
        "write_s": 0.3,
    }


def test_a_finished_3_x_10000_run_costs_at_most_60_batch_and_sfn_calls():
    arn, sfn_calls, batch_calls = _budget_responses(10_000)
    clients = {s: boto3.client(s, region_name="us-east-1") for s in SERVICES.values()}
    counted = []
    for service in ("stepfunctions", "batch"):
        clients[service].meta.events.register(
            "before-call.*.*", lambda model, **_: counted.append(model.name)
        )
    stubbers = {s: Stubber(c) for s, c in clients.items()}
    for operation, response in sfn_calls:
        stubbers["stepfunctions"].add_response(operation, response)
    for operation, response in batch_calls:
        stubbers["batch"].add_response(operation, response)
    # Logs Insights, by ranges of 5,000 indices, four queries at a time (started, then read)
    spans = [(step, first) for step in ("procure", "process", "egress") for first in (0, 5000)]
    for wave in (spans[:4], spans[4:]):
        for step, first in wave:
            stubbers["logs"].add_response("start_query", {"queryId": f"q-{step}-{first}"})
        for step, first in wave:
            rows = [
                [{"field": "@message", "value": json.dumps(_worker_line(step, i))}]
                for i in range(first, first + 5000)
            ]
            stubbers["logs"].add_response(
                "get_query_results", {"status": "Complete", "results": rows}
            )
    for stubber in stubbers.values():
        stubber.activate()
    timeline = build_timeline(Connection("aws", clients.__getitem__), arn)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    assert len(timeline) == 30_000
    assert timeline.records.eq(40).all()
    assert len(counted) <= 60, counted


MOVING_LISTINGS = {
    "RUNNABLE": [{"jobId": "p:1", "status": "RUNNABLE", "arrayProperties": {"index": 1}}],
    "RUNNING": [
        {"jobId": "p:0", "status": "RUNNING", "arrayProperties": {"index": 0}},
        {"jobId": "p:1", "status": "RUNNING", "arrayProperties": {"index": 1}},
    ],
}


class _MovingBatch:
    """A batch client whose child 1 moves from RUNNABLE to RUNNING between the two
    listings, as a live run's children do: it is listed under both statuses."""

    def get_paginator(self, operation):
        assert operation == "list_jobs"
        return self

    def paginate(self, arrayJobId, jobStatus, PaginationConfig):
        yield {"jobSummaryList": MOVING_LISTINGS.get(jobStatus, [])}

    def describe_jobs(self, jobs):
        return {"jobs": []}


def test_a_child_listed_under_two_statuses_is_one_row_in_its_latest_status():
    from types import SimpleNamespace

    from pipeline.analysis.timeline import _batch_rows

    parent = {"jobId": "p", "arrayProperties": {"statusSummary": {"RUNNABLE": 1, "RUNNING": 1}}}
    rows = _batch_rows(SimpleNamespace(batch=_MovingBatch()), {"procure": parent})
    assert sorted((row["array_index"], row["status"]) for row in rows) == [
        (0, "RUNNING"),
        (1, "RUNNING"),
    ]

"""The watch Lambda against botocore's Stubber, fed AWS's describe_jobs / list_jobs shapes."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.handlers import watch as watch_module
from pipeline.handlers.watch import watch

JOBS = {"procure": "job-procure", "process": "job-process", "egress": "job-egress"}
EVENT = {"workflow_id": "wf-9", "jobs": JOBS}


def job(job_id, status, summary=None, size=None, reason=None):
    detail = {
        "jobName": f"{job_id}-name",
        "jobId": job_id,
        "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
        "status": status,
        "startedAt": 1_700_000_000_000,
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
    }
    if summary is not None:
        detail["arrayProperties"] = {"statusSummary": summary, "size": size}
    if reason:
        detail["statusReason"] = reason
    return detail


@pytest.fixture
def batch():
    client = boto3.client("batch", region_name="us-east-1")
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


def expect_describe(batch, jobs):
    batch.stubber.add_response(
        "describe_jobs",
        {"jobs": jobs},
        {"jobs": [JOBS["procure"], JOBS["process"], JOBS["egress"]]},
    )


def test_running_arrays_are_not_done_and_write_nothing(batch, local_bucket):
    expect_describe(
        batch,
        [
            job("job-procure", "SUCCEEDED", {"SUCCEEDED": 4}, 4),
            job("job-process", "RUNNING", {"SUCCEEDED": 3, "RUNNING": 1}, 4),
            job("job-egress", "PENDING", {"SUCCEEDED": 2, "PENDING": 2}, 4),
        ],
    )
    result = watch(EVENT, batch, local_bucket.url)
    assert result["done"] is False
    assert result["succeeded"] is False
    assert result["steps"]["process"] == {
        "status": "RUNNING",
        "summary": {"SUCCEEDED": 3, "RUNNING": 1},
    }
    assert list(local_bucket.folder.iterdir()) == []


def test_a_succeeded_run_writes_the_summary(batch, local_bucket):
    expect_describe(
        batch,
        [job(JOBS[s], "SUCCEEDED", {"SUCCEEDED": 4}, 4) for s in ("procure", "process", "egress")],
    )
    result = watch(EVENT, batch, local_bucket.url)
    assert (result["done"], result["succeeded"]) == (True, True)
    assert "cause" not in result
    summary = json.loads((local_bucket.folder / "wf-9/_SUMMARY.json").read_text())
    assert summary["succeeded"] is True
    assert summary["failed_children"] == {"procure": [], "process": [], "egress": []}
    assert summary["steps"]["egress"]["summary"] == {"SUCCEEDED": 4}


def test_a_failed_child_is_listed_with_its_reason(batch, local_bucket):
    expect_describe(
        batch,
        [
            job("job-procure", "FAILED", {"SUCCEEDED": 3, "FAILED": 1}, 4),
            job("job-process", "FAILED", {"SUCCEEDED": 3, "FAILED": 1}, 4),
            job("job-egress", "FAILED", {"SUCCEEDED": 3, "FAILED": 1}, 4),
        ],
    )
    for step, reason in (
        ("procure", "Essential container in task exited"),
        ("process", "Dependent Job failed"),
        ("egress", "Dependent Job failed"),
    ):
        batch.stubber.add_response(
            "list_jobs",
            {
                "jobSummaryList": [
                    {
                        "jobId": f"{JOBS[step]}:2",
                        "jobName": f"{step}-name",
                        "status": "FAILED",
                        "statusReason": reason,
                        "arrayProperties": {"index": 2},
                    }
                ]
            },
            {"arrayJobId": JOBS[step], "jobStatus": "FAILED", "maxResults": 100},
        )
    result = watch(EVENT, batch, local_bucket.url)
    assert (result["done"], result["succeeded"]) == (True, False)
    assert result["cause"] == (
        "procure failed 1 of 4 children; process failed 1 of 4 children; egress failed 1 of 4 "
        "children. procure child 2: Essential container in task exited"
    )
    summary = json.loads((local_bucket.folder / "wf-9/_SUMMARY.json").read_text())
    assert summary["failed_children"]["procure"] == [
        {"index": 2, "reason": "Essential container in task exited"}
    ]
    assert summary["failed_children"]["egress"][0]["reason"] == "Dependent Job failed"


def test_a_failed_childs_container_reason_is_the_cause_it_quotes(batch, local_bucket):
    """ListJobs gives a child's ``container.reason`` (``OutOfMemoryError: ...``, or a
    worker's full disk on the local backend); it says more than the status reason."""
    said = "OutOfMemoryError: Container killed due to memory usage"
    expect_describe(
        batch,
        [
            job("job-procure", "SUCCEEDED", {"SUCCEEDED": 4}, 4),
            job("job-process", "FAILED", {"SUCCEEDED": 3, "FAILED": 1}, 4),
            job("job-egress", "SUCCEEDED", {"SUCCEEDED": 4}, 4),
        ],
    )
    batch.stubber.add_response(
        "list_jobs",
        {
            "jobSummaryList": [
                {
                    "jobId": f"{JOBS['process']}:1",
                    "jobName": "process-name",
                    "status": "FAILED",
                    "statusReason": "Essential container in task exited",
                    "container": {"exitCode": 137, "reason": said},
                    "arrayProperties": {"index": 1},
                }
            ]
        },
        {"arrayJobId": JOBS["process"], "jobStatus": "FAILED", "maxResults": 100},
    )
    result = watch(EVENT, batch, local_bucket.url)
    assert result["cause"] == f"process failed 1 of 4 children. process child 1: {said}"


def test_a_one_node_run_uses_the_plain_job_status(batch, local_bucket):
    expect_describe(
        batch,
        [
            job("job-procure", "SUCCEEDED"),
            job("job-process", "FAILED", reason="Essential container in task exited"),
            job("job-egress", "FAILED", reason="Dependent Job failed"),
        ],
    )
    result = watch(EVENT, batch, local_bucket.url)
    assert result["steps"]["procure"] == {"status": "SUCCEEDED", "summary": {"SUCCEEDED": 1}}
    assert result["done"] is True
    summary = json.loads((local_bucket.folder / "wf-9/_SUMMARY.json").read_text())
    assert summary["failed_children"]["process"] == [
        {"index": 0, "reason": "Essential container in task exited"}
    ]


def test_at_most_a_hundred_failed_children_are_listed(batch, local_bucket):
    expect_describe(
        batch,
        [
            job("job-procure", "FAILED", {"FAILED": 150}, 150),
            job("job-process", "SUCCEEDED", {"SUCCEEDED": 150}, 150),
            job("job-egress", "SUCCEEDED", {"SUCCEEDED": 150}, 150),
        ],
    )
    children = [
        {"jobId": f"job-procure:{i}", "jobName": "p", "arrayProperties": {"index": i}}
        for i in range(150)
    ]
    batch.stubber.add_response(
        "list_jobs",
        {"jobSummaryList": children[:100], "nextToken": "more"},
        {"arrayJobId": "job-procure", "jobStatus": "FAILED", "maxResults": 100},
    )
    watch(EVENT, batch, local_bucket.url)
    summary = json.loads((local_bucket.folder / "wf-9/_SUMMARY.json").read_text())
    assert len(summary["failed_children"]["procure"]) == watch_module.MAX_FAILED_LISTED


def test_the_handler_uses_the_installed_client_factory(local_bucket, monkeypatch, batch):
    from pipeline import clients

    expect_describe(
        batch,
        [job(JOBS[s], "RUNNING", {"RUNNING": 2}, 2) for s in ("procure", "process", "egress")],
    )
    monkeypatch.setenv("EGRESS_URL", local_bucket.url)
    clients.set_client_factory(lambda service: batch)
    try:
        assert watch_module.handler(EVENT, None)["done"] is False
    finally:
        clients.set_client_factory(None)

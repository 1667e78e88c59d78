"""The local batch client: responses in botocore's output shapes, pagination through
botocore's paginator, and errors as ClientError with AWS's codes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.local.batch.support import (
    add_queue,
    local_batch,
    register,
    running_engine,
    shell,
    wait_done,
)
from tests.shapes import assert_aws_shape


@pytest.fixture
def batch(n2n_home, monkeypatch):
    client = local_batch(n2n_home, monkeypatch)
    add_queue(client, "q")
    register(client, "echo", shell("print('hi')"), retry={"attempts": 2}, timeout=60)
    return client


def test_every_response_fits_the_model(batch, n2n_home):
    responses = {
        "describe_compute_environments": batch.describe_compute_environments(),
        "describe_job_queues": batch.describe_job_queues(),
        "describe_job_definitions": batch.describe_job_definitions(jobDefinitionName="echo"),
        "update_compute_environment": batch.update_compute_environment(
            computeEnvironment="q-ce", computeResources={"maxvCpus": 8}
        ),
        "update_job_queue": batch.update_job_queue(jobQueue="q", priority=5),
    }
    parent = batch.submit_job(
        jobName="a", jobQueue="q", jobDefinition="echo", arrayProperties={"size": 2}
    )
    single = batch.submit_job(
        jobName="b", jobQueue="q", jobDefinition="echo:1", dependsOn=[{"jobId": parent["jobId"]}]
    )
    responses["submit_job"] = single
    with running_engine(n2n_home):
        wait_done(batch, single["jobId"])
    responses["describe_jobs"] = batch.describe_jobs(
        jobs=[parent["jobId"], f"{parent['jobId']}:1", single["jobId"]]
    )
    responses["list_jobs"] = batch.list_jobs(jobQueue="q", jobStatus="SUCCEEDED")
    responses["terminate_job"] = batch.terminate_job(jobId=single["jobId"], reason="done")
    responses["cancel_job"] = batch.cancel_job(jobId=single["jobId"], reason="done")
    responses["deregister_job_definition"] = batch.deregister_job_definition(jobDefinition="echo:1")
    for operation, response in responses.items():
        assert_aws_shape("batch", operation, response)
    jobs = responses["describe_jobs"]["jobs"]
    assert jobs[0]["arrayProperties"]["size"] == 2
    assert jobs[1]["arrayProperties"] == {"index": 1}
    assert jobs[2]["dependsOn"] == [{"jobId": parent["jobId"]}]
    assert jobs[2]["retryStrategy"] == {"attempts": 2}
    assert jobs[2]["timeout"] == {"attemptDurationSeconds": 60}
    assert jobs[2]["jobQueue"].endswith(":job-queue/q")
    assert jobs[2]["jobDefinition"].endswith(":job-definition/echo:1")
    (definition,) = batch.describe_job_definitions(jobDefinitions=["echo:1"])["jobDefinitions"]
    assert definition["status"] == "INACTIVE"


def test_list_jobs_pages_through_the_paginator(batch):
    job_id = batch.submit_job(
        jobName="a", jobQueue="q", jobDefinition="echo", arrayProperties={"size": 5}
    )["jobId"]
    pages = list(
        batch.get_paginator("list_jobs").paginate(
            arrayJobId=job_id, jobStatus="SUBMITTED", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["jobSummaryList"]) for page in pages] == [2, 2, 1]
    indexes = [s["arrayProperties"]["index"] for p in pages for s in p["jobSummaryList"]]
    assert indexes == [0, 1, 2, 3, 4]
    for page in pages:
        assert_aws_shape("batch", "list_jobs", page)
    everything = batch.list_jobs(jobQueue="q", filters=[{"name": "JOB_NAME", "values": ["a*"]}])
    assert [s["jobId"] for s in everything["jobSummaryList"]] == [job_id]
    assert batch.list_jobs(jobQueue="q")["jobSummaryList"] == []


@pytest.mark.parametrize("size", [1, 10_001])
def test_array_size_bounds(batch, size):
    with pytest.raises(ClientError) as raised:
        batch.submit_job(
            jobName="a", jobQueue="q", jobDefinition="echo", arrayProperties={"size": size}
        )
    assert raised.value.response["Error"]["Code"] == "ClientException"
    assert "2 to 10,000" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda b: b.submit_job(jobName="a", jobQueue="nope", jobDefinition="echo"), "nope"),
        (lambda b: b.submit_job(jobName="a", jobQueue="q", jobDefinition="nope"), "nope"),
        (
            lambda b: b.submit_job(
                jobName="a", jobQueue="q", jobDefinition="echo", dependsOn=[{"jobId": "x"}]
            ),
            "x",
        ),
        (
            lambda b: b.submit_job(
                jobName="a", jobQueue="q", jobDefinition="echo", dependsOn=[{"type": "SEQUENTIAL"}]
            ),
            "array",
        ),
        (lambda b: b.terminate_job(jobId="missing", reason="r"), "missing"),
        (lambda b: b.delete_compute_environment(computeEnvironment="q-ce"), "JobQueue"),
        (
            lambda b: b.create_compute_environment(computeEnvironmentName="q-ce", type="UNMANAGED"),
            "exists",
        ),
        (lambda b: b.list_jobs(), "jobQueue"),
    ],
)
def test_errors_are_client_exceptions(batch, call, fragment):
    with pytest.raises(batch.exceptions.ClientException) as raised:
        call(batch)
    assert fragment in raised.value.response["Error"]["Message"]


def test_requests_are_validated(batch):
    with pytest.raises(ParamValidationError):
        batch.submit_job(jobName="a", jobQueue="q")


def test_n_to_n_needs_arrays_of_the_same_size(batch):
    first = batch.submit_job(
        jobName="a", jobQueue="q", jobDefinition="echo", arrayProperties={"size": 3}
    )["jobId"]
    with pytest.raises(ClientError, match="same size"):
        batch.submit_job(
            jobName="b",
            jobQueue="q",
            jobDefinition="echo",
            arrayProperties={"size": 4},
            dependsOn=[{"jobId": first, "type": "N_TO_N"}],
        )


def test_queue_and_environment_lifecycle(batch):
    batch.update_job_queue(jobQueue="q", state="DISABLED")
    batch.delete_job_queue(jobQueue="q")
    batch.delete_compute_environment(computeEnvironment="q-ce")
    assert batch.describe_job_queues()["jobQueues"] == []
    assert batch.describe_compute_environments()["computeEnvironments"] == []

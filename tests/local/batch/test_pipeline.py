"""The real worker (``python -m pipeline.worker``) in the engine's long-lived worker
processes: procure → process → egress chained N_TO_N, and a worker process killed -9."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time

import pytest

from pipeline.layout import RunLayout, atomic_write_json
from pipeline.local import local_client
from pipeline.local.logs.client import LogsClient
from tests.local.batch.support import (
    WORKER,
    add_queue,
    children,
    local_batch,
    register,
    running_engine,
    wait_done,
)

STEPS = ("procure", "process", "egress")
SIZE = 20
IDS_PER_NODE = 5
EFS = {
    "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
    "mountPoints": [{"containerPath": "/mnt/efs", "sourceVolume": "efs"}],
}
HOST_RULES = {
    "attempts": 3,
    "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onExitCode": "75", "action": "RETRY"},
        {"onExitCode": "*", "action": "EXIT"},
    ],
}


@pytest.fixture
def pipeline(n2n_home, monkeypatch):
    client = local_batch(n2n_home, monkeypatch)
    layout = RunLayout(n2n_home / "efs" / "fs-1", "wf-1")
    for index in range(SIZE):
        ids = list(range(index * IDS_PER_NODE, (index + 1) * IDS_PER_NODE))
        atomic_write_json(layout.ids_path(index), ids)
    local_client("s3", n2n_home).create_bucket(Bucket="egress")
    environment = {"EFS_MOUNT": "/mnt/efs", "EGRESS_URL": "s3://egress/"}
    for step in STEPS:
        add_queue(client, step, max_vcpus=16)
        register(client, step, [*WORKER, step], environment=environment, retry=HOST_RULES, **EFS)
    return client


def _submit(client, step, size, work=None, depends=None):
    variables = [{"name": "WORKFLOW_ID", "value": "wf-1"}]
    if work:
        variables.append({"name": "N2N_WORK", "value": json.dumps(work)})
    params = {"containerOverrides": {"environment": variables}}
    if size > 1:
        params["arrayProperties"] = {"size": size}
    if depends:
        params["dependsOn"] = [{"jobId": depends, "type": "N_TO_N"}]
    return client.submit_job(jobName=step, jobQueue=step, jobDefinition=step, **params)["jobId"]


def test_procure_process_egress_n_to_n(pipeline, n2n_home):
    with running_engine(n2n_home, max_workers=2):
        job_ids = []
        for step in STEPS:
            job_ids.append(_submit(pipeline, step, SIZE, depends=job_ids[-1] if job_ids else None))
        for job_id in job_ids:
            assert wait_done(pipeline, job_id, timeout=60)["status"] == "SUCCEEDED"
    results = n2n_home / "s3" / "egress" / "wf-1" / "results"
    ids = [
        item["id"]
        for path in sorted(results.iterdir())
        for item in json.loads(path.read_text())["results"]
    ]
    assert ids == list(range(SIZE * IDS_PER_NODE))
    steps = [children(pipeline, job_id, SIZE) for job_id in job_ids]
    for earlier, later in itertools.pairwise(steps):
        for i in range(SIZE):
            assert later[i]["startedAt"] >= earlier[i]["stoppedAt"]
    events = LogsClient(n2n_home).filter_log_events(
        logGroupName="/n2n/test", filterPattern='{ $.event = "n2n.step" && $.step = "egress" }'
    )["events"]
    assert sorted(json.loads(e["message"])["index"] for e in events) == list(range(SIZE))


def test_worker_process_killed_is_retried_as_host_termination(pipeline, n2n_home):
    job_id = _submit(pipeline, "procure", 1, work={"compute_ms_per_id": 300})
    with running_engine(n2n_home, max_workers=1):
        deadline = time.monotonic() + 20
        (job,) = pipeline.describe_jobs(jobs=[job_id])["jobs"]
        while job["status"] != "RUNNING" and time.monotonic() < deadline:
            (job,) = pipeline.describe_jobs(jobs=[job_id])["jobs"]
        instance = job["container"]["containerInstanceArn"].rpartition("/")[2]
        os.kill(int(instance.removeprefix("local-")), signal.SIGKILL)
        job = wait_done(pipeline, job_id)
    assert job["status"] == "SUCCEEDED"
    first, second = job["attempts"]
    assert first["statusReason"] == f"Host EC2 (instance {instance}) terminated."
    assert "exitCode" not in first["container"]
    assert second["container"]["exitCode"] == 0
    assert second["container"]["containerInstanceArn"] != first["container"]["containerInstanceArn"]

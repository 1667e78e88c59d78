"""The local Batch engine: states, dependencies, retries, timeouts, termination, capacity,
environment and recovery — with real subprocess and worker-process children."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from pipeline.local.batch.engine import BatchEngine
from pipeline.local.batch.models import DEPENDENT_FAILED_REASON, TIMEOUT_REASON
from pipeline.local.logs.client import LogsClient
from tests.local.batch.support import (
    add_queue,
    children,
    local_batch,
    register,
    running_engine,
    shell,
    wait_done,
)
from tests.waiting import wait_until

SLEEP = "import time, os; time.sleep(float(os.environ.get('SLEEP', '0.05')))"
HELD = (
    "import os, pathlib, time\n"
    "held = os.environ.get('HOLD_INDEX') in (None, os.environ['AWS_BATCH_JOB_ARRAY_INDEX'])\n"
    "while held and not pathlib.Path(os.environ['RELEASE']).exists():\n"
    "    time.sleep(0.01)"
)
"""A child that runs until the test creates the file ``RELEASE`` (only the child at
``HOLD_INDEX`` waits, when that is set): a gate, so overlaps are made, not hoped for."""


def held(release, **more: str) -> dict:
    """The containerOverrides of a job whose children wait for ``release``."""
    names = {"RELEASE": str(release), **more}
    return {"environment": [{"name": k, "value": v} for k, v in names.items()]}


def summary(batch, job_id: str) -> dict:
    (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    return job["arrayProperties"]["statusSummary"]


@pytest.fixture
def batch(n2n_home, monkeypatch):
    client = local_batch(n2n_home, monkeypatch)
    add_queue(client, "q", max_vcpus=4)
    return client


def submit(client, name, definition, size=None, queue="q", **params):
    if size:
        params["arrayProperties"] = {"size": size}
    return client.submit_job(jobName=name, jobQueue=queue, jobDefinition=definition, **params)[
        "jobId"
    ]


def test_states_timestamps_and_attempts(batch, n2n_home):
    register(batch, "echo", shell("print('hello')"))
    job_id = submit(batch, "a", "echo", size=3)
    (submitted,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    assert submitted["status"] == "SUBMITTED"
    with running_engine(n2n_home):
        parent = wait_done(batch, job_id)
    assert parent["status"] == "SUCCEEDED"
    assert parent["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    for index, child in enumerate(children(batch, job_id, 3)):
        assert child["arrayProperties"] == {"index": index}
        assert child["status"] == "SUCCEEDED"
        assert child["createdAt"] <= child["startedAt"] <= child["stoppedAt"]
        (attempt,) = child["attempts"]
        assert attempt["container"]["exitCode"] == 0
        assert attempt["container"]["logStreamName"].startswith("echo/default/")
        assert attempt["statusReason"] == "Essential container in task exited"
        assert child["container"]["logStreamName"] == attempt["container"]["logStreamName"]


def test_n_to_n_child_waits_for_its_peer_only(batch, n2n_home, tmp_path):
    register(batch, "held", shell(HELD))
    release = tmp_path / "release"
    first = submit(batch, "first", "held", size=4, containerOverrides=held(release, HOLD_INDEX="3"))
    second = submit(
        batch,
        "second",
        "held",
        size=4,
        dependsOn=[{"jobId": first, "type": "N_TO_N"}],
        containerOverrides=held(release, HOLD_INDEX="none"),
    )
    with running_engine(n2n_home, max_workers=4):
        # child 0 of the second job finishes while child 3 of the first is still held
        wait_until(
            lambda: batch.describe_jobs(jobs=[f"{second}:0"])["jobs"][0]["status"] == "SUCCEEDED",
            describe=lambda: (summary(batch, first), summary(batch, second)),
        )
        assert batch.describe_jobs(jobs=[f"{first}:3"])["jobs"][0]["status"] == "RUNNING"
        release.touch()
        wait_done(batch, second)
    before, after = children(batch, first, 4), children(batch, second, 4)
    for i in range(4):
        assert after[i]["startedAt"] >= before[i]["stoppedAt"]
    assert after[0]["stoppedAt"] <= before[3]["stoppedAt"]


def test_sequential_children_run_in_index_order(batch, n2n_home):
    register(batch, "slow", shell(SLEEP))
    job_id = submit(batch, "seq", "slow", size=4, dependsOn=[{"type": "SEQUENTIAL"}])
    with running_engine(n2n_home, max_workers=4):
        wait_done(batch, job_id)
    runs = children(batch, job_id, 4)
    for previous, child in itertools.pairwise(runs):
        assert child["startedAt"] >= previous["stoppedAt"]


def test_plain_dependency_is_a_barrier(batch, n2n_home):
    register(batch, "slow", shell(SLEEP))
    first = submit(batch, "first", "slow", size=3)
    second = submit(batch, "second", "slow", size=3, dependsOn=[{"jobId": first}])
    with running_engine(n2n_home, max_workers=4):
        wait_done(batch, second)
    assert min(c["startedAt"] for c in children(batch, second, 3)) >= max(
        c["stoppedAt"] for c in children(batch, first, 3)
    )


def test_failed_index_fails_only_its_downstream(batch, n2n_home):
    fail_one = (
        "import os, sys; sys.exit(1 if os.environ['AWS_BATCH_JOB_ARRAY_INDEX'] == '1' else 0)"
    )
    register(batch, "flaky", shell(fail_one))
    register(batch, "ok", shell("pass"))
    first = submit(batch, "first", "flaky", size=3)
    second = submit(batch, "second", "ok", size=3, dependsOn=[{"jobId": first, "type": "N_TO_N"}])
    third = submit(batch, "third", "ok", size=3, dependsOn=[{"jobId": second, "type": "N_TO_N"}])
    barrier = submit(batch, "barrier", "ok", dependsOn=[{"jobId": first}])
    with running_engine(n2n_home):
        for job_id in (first, second, third, barrier):
            assert wait_done(batch, job_id)["status"] == "FAILED"
    assert children(batch, first, 3)[1]["attempts"][0]["container"]["exitCode"] == 1
    for job_id in (second, third):
        runs = children(batch, job_id, 3)
        assert [c["status"] for c in runs] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
        assert runs[1]["statusReason"] == DEPENDENT_FAILED_REASON
        assert runs[1]["attempts"] == []
    (job,) = batch.describe_jobs(jobs=[barrier])["jobs"]
    assert job["statusReason"] == DEPENDENT_FAILED_REASON


def test_retry_rules(batch, n2n_home):
    rules = [
        {"onExitCode": "75", "action": "RETRY"},
        {"onExitCode": "*", "action": "EXIT"},
    ]
    transient = "import os, sys; sys.exit(75 if os.environ['AWS_BATCH_JOB_ATTEMPT'] == '1' else 0)"
    register(batch, "transient", shell(transient), retry={"attempts": 3, "evaluateOnExit": rules})
    register(
        batch,
        "broken",
        shell("import sys; sys.exit(2)"),
        retry={"attempts": 3, "evaluateOnExit": rules},
    )
    register(batch, "always", shell("import sys; sys.exit(3)"), retry={"attempts": 2})
    retried, stopped, exhausted = (submit(batch, n, n) for n in ("transient", "broken", "always"))
    with running_engine(n2n_home):
        done = [wait_done(batch, job_id) for job_id in (retried, stopped, exhausted)]
    assert done[0]["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in done[0]["attempts"]] == [75, 0]
    assert done[1]["status"] == "FAILED" and len(done[1]["attempts"]) == 1
    assert done[2]["status"] == "FAILED" and len(done[2]["attempts"]) == 2


def test_attempt_timeout_is_not_retried(batch, n2n_home):
    register(batch, "hang", shell("import time; time.sleep(30)"), retry={"attempts": 3}, timeout=1)
    job_id = submit(batch, "hang", "hang")
    with running_engine(n2n_home):
        job = wait_done(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == TIMEOUT_REASON
    assert len(job["attempts"]) == 1
    # AWS stops an attempt once attemptDurationSeconds (1 s) has passed, not before; the
    # child would sleep 30 s, so the FAILED status with the timeout reason is the evidence
    assert job["stoppedAt"] - job["startedAt"] >= 1000


def test_terminate_child_then_parent(batch, n2n_home):
    register(batch, "hang", shell("import time; time.sleep(30)"), retry={"attempts": 3})
    job_id = submit(batch, "hang", "hang", size=3)
    with running_engine(n2n_home, max_workers=2):
        batch.terminate_job(jobId=f"{job_id}:0", reason="child stopped by test")
        wait_until(
            lambda: batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"][0]["status"] == "FAILED",
            describe=lambda: batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"],
        )
        (child,) = batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"]
        assert child["statusReason"] == "child stopped by test"
        batch.terminate_job(jobId=job_id, reason="stopped by test")
        parent = wait_done(batch, job_id)
    assert parent["status"] == "FAILED"
    reasons = [c["statusReason"] for c in children(batch, job_id, 3)]
    assert reasons == ["child stopped by test", "stopped by test", "stopped by test"]


def test_each_compute_environment_has_its_own_capacity(batch, n2n_home, tmp_path):
    add_queue(batch, "narrow", max_vcpus=2)
    add_queue(batch, "wide", max_vcpus=16)
    register(batch, "held", shell(HELD))
    release = tmp_path / "release"
    narrow = submit(batch, "n", "held", size=6, queue="narrow", containerOverrides=held(release))
    wide = submit(batch, "w", "held", size=6, queue="wide", containerOverrides=held(release))
    with running_engine(n2n_home, max_workers=3):
        # every slot fills while the children are held: 2 on the narrow fleet (MaxvCpus 2),
        # 3 on the wide one (16 vCPUs, capped by max_workers 3), side by side
        wait_until(
            lambda: (summary(batch, narrow)["RUNNING"], summary(batch, wide)["RUNNING"]) == (2, 3),
            describe=lambda: (summary(batch, narrow), summary(batch, wide)),
        )
        release.touch()
        wait_done(batch, narrow)
        wait_done(batch, wide)

    def peak(runs):
        edges = sorted(
            [(c["startedAt"], 1) for c in runs] + [(c["stoppedAt"], -1) for c in runs],
            key=lambda edge: (edge[0], edge[1]),
        )
        level = best = 0
        for _, step in edges:
            level += step
            best = max(best, level)
        return best

    narrow_runs, wide_runs = children(batch, narrow, 6), children(batch, wide, 6)
    assert peak(narrow_runs) == 2
    assert peak(wide_runs) == 3
    assert peak(narrow_runs + wide_runs) == 5


def test_environment_and_path_mapping(batch, n2n_home):
    dump = "import json, os; print(json.dumps({k: v for k, v in os.environ.items()}))"
    register(
        batch,
        "env",
        shell(dump),
        environment={
            "EFS_MOUNT": "/mnt/efs",
            "DATA": "/mnt/efs/run/1",
            "EGRESS_URL": "s3://out/x/",
            "PLAIN": "value",
            "OVERRIDDEN": "old",
        },
        volumes=[
            {
                "name": "efs",
                "efsVolumeConfiguration": {"fileSystemId": "fs-9", "rootDirectory": "/data"},
            }
        ],
        mountPoints=[{"containerPath": "/mnt/efs", "sourceVolume": "efs"}],
    )
    job_id = submit(
        batch,
        "env",
        "env",
        size=2,
        containerOverrides={"environment": [{"name": "OVERRIDDEN", "value": "new"}]},
    )
    with running_engine(n2n_home):
        wait_done(batch, job_id)
    child = children(batch, job_id, 2)[1]
    logs = LogsClient(n2n_home)
    events = logs.get_log_events(
        logGroupName="/n2n/test", logStreamName=child["container"]["logStreamName"]
    )["events"]
    seen = json.loads(events[0]["message"])
    assert seen["EFS_MOUNT"] == str(n2n_home / "efs" / "fs-9" / "data")
    assert seen["DATA"] == str(n2n_home / "efs" / "fs-9" / "data" / "run" / "1")
    assert seen["EGRESS_URL"] == "s3://out/x/"
    assert seen["N2N_CLIENT_FACTORY"] == "pipeline.local.worker_clients:environment_clients"
    assert seen["N2N_HOME"] == str(n2n_home)
    assert seen["PLAIN"] == "value" and seen["OVERRIDDEN"] == "new"
    assert seen["AWS_BATCH_JOB_ID"] == f"{job_id}:1"
    assert seen["AWS_BATCH_JOB_ARRAY_INDEX"] == "1"
    assert seen["AWS_BATCH_JOB_ARRAY_SIZE"] == "2"
    assert seen["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert seen["AWS_BATCH_JQ_NAME"] == "q"
    assert seen["AWS_BATCH_CE_NAME"] == "q-ce"


def test_stopped_engine_fails_attempts_as_host_terminated_and_next_engine_retries(batch, n2n_home):
    once = "import os, time; time.sleep(30 if os.environ['AWS_BATCH_JOB_ATTEMPT'] == '1' else 0)"
    register(batch, "once", shell(once), retry={"attempts": 2})
    job_id = submit(batch, "once", "once")
    engine = BatchEngine(n2n_home, max_workers=1)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,))
    thread.start()
    wait_until(
        lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0]["status"] == "RUNNING",
        describe=lambda: batch.describe_jobs(jobs=[job_id])["jobs"],
    )
    stop.set()
    thread.join(10)
    (job,) = batch.describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "RUNNABLE"
    assert job["attempts"][0]["statusReason"].startswith("Host EC2 (instance local-")
    with running_engine(n2n_home):
        job = wait_done(batch, job_id)
    assert job["status"] == "SUCCEEDED" and len(job["attempts"]) == 2


def test_busy_until_every_job_ended(batch, n2n_home):
    register(batch, "echo", shell("pass"))
    engine = BatchEngine(n2n_home)
    assert not engine.busy()
    job_id = submit(batch, "echo", "echo")
    assert engine.busy()
    with running_engine(n2n_home) as running:
        wait_done(batch, job_id)
        # The job's row is readable once its transaction commits; the journal counts the
        # batch written only after that batch's log events too, so busy() turns False
        # a moment later.
        wait_until(lambda: not running.busy())


def test_a_workers_error_line_is_its_failed_containers_reason(batch, n2n_home):
    """The worker's last ``n2n.error`` reason becomes ``container.reason`` of the failed
    attempt (the stand-in for what ECS says of a stopped container); the status reason
    stays AWS's own, and a child that said nothing has no container reason."""
    said = "No space left on the disk holding /efs/x: free space there."
    script = (
        "import json, os, sys\n"
        "if os.environ['AWS_BATCH_JOB_ARRAY_INDEX'] == '0':\n"
        "    print(json.dumps({'event': 'n2n.error', 'reason': 'first'}))\n"
        f"    print(json.dumps({{'event': 'n2n.error', 'reason': {said!r}}}))\n"
        "sys.exit(75)"
    )
    register(batch, "full", shell(script))
    job_id = submit(batch, "a", "full", size=2)
    with running_engine(n2n_home):
        wait_done(batch, job_id)
    first, second = children(batch, job_id, 2)
    assert first["container"]["reason"] == said
    assert first["attempts"][0]["container"]["reason"] == said
    assert first["statusReason"] == "Essential container in task exited"
    assert "reason" not in second["container"]
    (listed,) = [
        job
        for job in batch.list_jobs(arrayJobId=job_id, jobStatus="FAILED")["jobSummaryList"]
        if job["arrayProperties"]["index"] == 0
    ]
    assert listed["container"] == {"exitCode": 75, "reason": said}

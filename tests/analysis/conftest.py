"""Fixtures of the analysis tests: runs of a pipeline that is not this kit's."""

from __future__ import annotations

import time

import pytest

from pipeline.connect import connect
from tests.analysis.foreign import deploy_foreign_stack, wait_for_execution
from tests.local.e2e import stop_runner


@pytest.fixture(scope="module")
def foreign(tmp_path_factory, local_env):
    """The foreign stack on a private home, one execution of it, one of its state machine
    whose job fails, and three jobs chained by hand through the local Batch client
    (download -> resize -> publish, N_TO_N)."""
    home = tmp_path_factory.mktemp("foreign-home")
    local_env.setenv("N2N_HOME", str(home))
    conn = connect("local", home=home)
    outputs = deploy_foreign_stack(conn)
    arn = conn.sfn.start_execution(stateMachineArn=outputs["MachineArn"], input="{}")[
        "executionArn"
    ]
    broken = conn.sfn.start_execution(stateMachineArn=outputs["BrokenMachineArn"], input="{}")[
        "executionArn"
    ]
    jobs = []
    for step, size in (("download", 3), ("resize", 3), ("publish", 3)):
        depends = [{"jobId": jobs[-1], "type": "N_TO_N"}] if jobs else []
        jobs.append(
            conn.batch.submit_job(
                jobName=f"photos-2026-01-31-{step}",
                jobQueue=outputs["QueueArn"],
                jobDefinition=outputs["ExtractArn"],
                arrayProperties={"size": size},
                dependsOn=depends,
            )["jobId"]
        )
    assert wait_for_execution(conn, arn)["status"] == "SUCCEEDED"
    assert wait_for_execution(conn, broken)["status"] == "FAILED"
    deadline = time.monotonic() + 120
    while {j["status"] for j in conn.batch.describe_jobs(jobs=jobs)["jobs"]} != {"SUCCEEDED"}:
        assert time.monotonic() < deadline, conn.batch.describe_jobs(jobs=jobs)["jobs"]
        time.sleep(0.05)
    yield {"home": home, "conn": conn, "arn": arn, "broken": broken, "jobs": jobs}
    stop_runner(home)

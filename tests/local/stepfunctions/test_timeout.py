"""A state machine's top-level TimeoutSeconds, end to end through the local clients and the
runner: "If it runs longer than the specified time, the execution fails with a
States.Timeout Error name" (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html);
DescribeExecution then says TIMED_OUT, and the history ends with ExecutionTimedOut
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
The Batch job it submitted is terminated, as the local backend does on a stop."""

from __future__ import annotations

import json

import pytest

from pipeline.local import local_client
from pipeline.local.runner import ensure_runner, runner_alive
from tests.local.batch.support import TERMINAL, add_queue, register, shell
from tests.local.e2e import stop_runner
from tests.waiting import wait_for

ROLE = "arn:aws:iam::000000000000:role/r"
TIMEOUT_S = 8
"""Counted from the execution's start, as on AWS: long enough for a runner that already
serves to claim the execution and submit its job first, even on a loaded machine."""
HELD = (
    "import os, pathlib, time\n"
    "while not pathlib.Path(os.environ['RELEASE']).exists():\n"
    "    time.sleep(0.01)"
)


@pytest.fixture
def home(n2n_home, monkeypatch):
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", "30")
    yield n2n_home
    stop_runner(n2n_home)


def test_an_execution_past_its_timeout_seconds_times_out_and_its_job_is_terminated(home, tmp_path):
    release = tmp_path / "release"
    batch = local_client("batch", home)
    add_queue(batch, "q")
    register(batch, "held", shell(HELD), environment={"RELEASE": str(release)})
    definition = {
        "TimeoutSeconds": TIMEOUT_S,
        "StartAt": "Submit",
        "States": {
            "Submit": {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob",
                "Parameters": {"JobName": "held", "JobQueue": "q", "JobDefinition": "held"},
                "Next": "Poll",
            },
            "Poll": {"Type": "Wait", "Seconds": 10, "Next": "Poll"},
        },
    }
    ensure_runner(home)
    wait_for(lambda: runner_alive(home), bool)
    sfn = local_client("stepfunctions", home)
    machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    try:
        described = wait_for(
            lambda: sfn.describe_execution(executionArn=arn),
            lambda seen: seen["status"] != "RUNNING",
        )
        assert (described["status"], described["error"]) == ("TIMED_OUT", "States.Timeout")
        events = sfn.get_execution_history(executionArn=arn)["events"]
        assert events[-1]["type"] == "ExecutionTimedOut"
        assert events[-1]["executionTimedOutEventDetails"]["error"] == "States.Timeout"
        (job_id,) = [
            json.loads(event["taskSucceededEventDetails"]["output"])["JobId"]
            for event in events
            if event["type"] == "TaskSucceeded"
        ]
        (job,) = wait_for(
            lambda: batch.describe_jobs(jobs=[job_id])["jobs"],
            lambda jobs: jobs[0]["status"] in TERMINAL,
        )
        assert (job["status"], job["statusReason"]) == ("FAILED", "Execution stopped")
    finally:
        release.touch()

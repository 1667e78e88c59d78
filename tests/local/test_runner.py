"""The runner: a new runner fails what a dead one left RUNNING, whatever pid claimed it."""

from __future__ import annotations

import os

from pipeline.local.runner import Runner
from pipeline.local.stepfunctions.executions import Executions

MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:m"
EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:m:e1"


def test_an_execution_claimed_under_a_reused_pid_is_failed_with_the_reason(n2n_home):
    executions = Executions(n2n_home)
    executions.put_state_machine(MACHINE, "m", "{}", "arn:aws:iam::000000000000:role/r")
    executions.start(EXECUTION, MACHINE, "e1", "{}")
    assert executions.claim(EXECUTION, os.getpid())
    Runner(n2n_home).fail_orphans()
    record = executions.get(EXECUTION)
    assert record.status == "FAILED"
    assert record.error == "States.Runtime"
    assert record.cause == (
        f"The local runner (pid {os.getpid()}) stopped before the execution finished: "
        "start the execution again."
    )
    assert executions.history(EXECUTION)[-1]["type"] == "ExecutionFailed"

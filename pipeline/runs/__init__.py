"""Runs of the pipeline through any backend's clients: start an execution, find its
Batch jobs, follow its progress and summarise it.

Only boto3-shaped calls: the same code serves the local backend and AWS.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import N2NError
from pipeline.spec import RunSpec

STEPS = ("procure", "process", "egress")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
POLL_S = 0.5
_STEP_IN_NAME = re.compile(r"(?<![a-z])(procure|process|egress)(?![a-z])")


class RunError(N2NError):
    """A run that cannot be started or found."""


def stack_outputs(conn: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by key; one sentence when the stack does not exist."""
    try:
        stacks = conn.cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except conn.cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            raise RunError(
                f"Stack {stack} does not exist: deploy it first with `n2n deploy --stack {stack}`."
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def state_machine_arn(conn: Any, stack: str) -> str:
    """The stack's state machine."""
    return stack_outputs(conn, stack)["StateMachineArn"]


def start_run(conn: Any, stack: str, spec: RunSpec, name: str | None = None) -> str:
    """Start one execution of the stack's state machine; return its ARN."""
    params = {
        "stateMachineArn": state_machine_arn(conn, stack),
        "input": json.dumps(spec.to_input()),
    }
    if name:
        params["name"] = name
    return conn.sfn.start_execution(**params)["executionArn"]


def latest_execution(conn: Any, stack: str) -> str:
    """The ARN of the stack's newest execution."""
    page = conn.sfn.list_executions(stateMachineArn=state_machine_arn(conn, stack), maxResults=1)
    if not page["executions"]:
        raise RunError(f"Stack {stack} has no executions yet: start one with `n2n run`.")
    return page["executions"][0]["executionArn"]


@dataclass
class RunState:
    """What is known of one execution: status, workflow id, its three Batch jobs."""

    execution_arn: str
    status: str
    name: str = ""
    workflow_id: str | None = None
    jobs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    started_at: Any = None
    stopped_at: Any = None


def _read_task_output(state: RunState, details: dict[str, Any]) -> None:
    output = json.loads(details.get("output") or "null")
    if details.get("resourceType") == "batch":
        match = _STEP_IN_NAME.search(output.get("JobName", ""))
        if match:
            state.jobs[match.group(1)] = output["JobId"]
    elif isinstance(output, dict) and state.workflow_id is None:
        payload = output.get("Payload", output)
        if isinstance(payload, dict) and "workflow_id" in payload:
            state.workflow_id = payload["workflow_id"]


class ExecutionNotFound(RunError):
    """The named execution does not exist."""


UNKNOWN_EXECUTION = frozenset({"ExecutionDoesNotExist", "InvalidArn"})


def _describe(conn: Any, arn: str) -> dict[str, Any]:
    try:
        return conn.sfn.describe_execution(executionArn=arn)
    except conn.sfn.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in UNKNOWN_EXECUTION:
            raise ExecutionNotFound(
                f"There is no execution {arn}: check the ARN (`n2n status --latest` shows "
                "the newest) and the backend."
            ) from None
        raise


def run_state(conn: Any, arn: str) -> RunState:
    """The execution's status and, from the start of its history, its workflow id and
    parent jobs (the history is read only until the three jobs are found)."""
    described = _describe(conn, arn)
    state = RunState(
        arn,
        described["status"],
        name=described.get("name", ""),
        error=described.get("error"),
        cause=described.get("cause"),
        input=json.loads(described.get("input") or "{}"),
        started_at=described.get("startDate"),
        stopped_at=described.get("stopDate"),
    )
    pages = conn.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    for page in pages:
        for event in page["events"]:
            if "taskSucceededEventDetails" in event:
                _read_task_output(state, event["taskSucceededEventDetails"])
        if len(state.jobs) == len(STEPS):
            break
    return state


def wait_for_workflow(conn: Any, arn: str, timeout_s: float = 60.0) -> RunState:
    """The execution's state once its prepare step named the workflow (or it ended, or
    ``timeout_s`` passed): what ``n2n run`` reports without ``--wait``."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = run_state(conn, arn)
        if state.workflow_id or state.status in TERMINAL or time.monotonic() > deadline:
            return state
        time.sleep(POLL_S / 5)


def step_progress(conn: Any, jobs: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per step: children ``total``, ``succeeded``, ``failed`` (one describe_jobs call)."""
    if not jobs:
        return {}
    described = {j["jobId"]: j for j in conn.batch.describe_jobs(jobs=list(jobs.values()))["jobs"]}
    progress = {}
    for step, job_id in jobs.items():
        job = described[job_id]
        summary = job.get("arrayProperties", {}).get("statusSummary") or {job["status"]: 1}
        size = job.get("arrayProperties", {}).get("size") or 1
        progress[step] = {
            "total": size,
            "succeeded": summary.get("SUCCEEDED", 0),
            "failed": summary.get("FAILED", 0),
        }
    return progress


def wait_for_run(
    conn: Any,
    arn: str,
    on_progress: Callable[[RunState, dict[str, dict[str, int]]], None] | None = None,
    poll_s: float = POLL_S,
) -> RunState:
    """Poll until the execution ends, reporting per-step progress; return its final state."""
    while True:
        state = run_state(conn, arn)
        if on_progress:
            on_progress(state, step_progress(conn, state.jobs))
        if state.status in TERMINAL:
            return state
        time.sleep(poll_s)

"""One execution as the user sees it: its status, the workflow its prepare step named and
its three Batch parent jobs, read from its history once; and its jobs' children counts.

The history also yields every job any ``batch:submitJob`` task submitted (with or without
``.sync``, whatever the state is called): the analysis reads runs of any state machine."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import N2NError
from pipeline.jobs import STEPS, step_counts

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
"""Execution statuses after which an execution never changes."""
UNKNOWN_EXECUTION = frozenset({"ExecutionDoesNotExist", "InvalidArn"})
_STEP_IN_NAME = re.compile(r"(?<![a-z])(procure|process|egress)(?![a-z])")


class RunError(N2NError):
    """A run that cannot be started or found."""


class ExecutionNotFound(RunError):
    """The named execution does not exist."""


@dataclass
class RunState:
    """What is known of one execution: status, workflow id, its three Batch jobs, and what
    its prepare step returned (its run input with the defaults filled in)."""

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
    state_machine_arn: str = ""
    prepared: dict[str, Any] | None = None
    batch_jobs: dict[str, str] = field(default_factory=dict)
    """Every Batch job a ``batch:submitJob`` task submitted: job id -> the state's name."""

    @property
    def ended(self) -> bool:
        """Whether the execution reached a status that never changes."""
        return self.status in TERMINAL


def _submitted_job(details: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The Batch job a ``batch:submitJob`` task event names: the SubmitJob response
    (TaskSubmitted, and TaskSucceeded without ``.sync``), the job's description (TaskSucceeded
    of ``.sync``, and the cause of its TaskFailed)."""
    if details.get("resourceType") != "batch" or not details.get("resource", "").startswith(
        "submitJob"
    ):
        return None
    try:
        job = json.loads(details.get(key) or "null")
    except ValueError:
        return None
    return job if isinstance(job, dict) and "JobId" in job else None


def _read_batch_event(state: RunState, event: dict[str, Any], state_name: str) -> None:
    """Record the Batch job a task event names, under the state that submitted it."""
    for details_key, key in (
        ("taskSubmittedEventDetails", "output"),
        ("taskSucceededEventDetails", "output"),
        ("taskFailedEventDetails", "cause"),
    ):
        job = _submitted_job(event.get(details_key) or {}, key)
        if job:
            state.batch_jobs.setdefault(job["JobId"], state_name)
            match = _STEP_IN_NAME.search(job.get("JobName", ""))
            if match:
                state.jobs[match.group(1)] = job["JobId"]


def _read_task_output(state: RunState, details: dict[str, Any]) -> None:
    """Record what one succeeded task returned: the prepare Lambda's run."""
    output = json.loads(details.get("output") or "null")
    if details.get("resourceType") == "batch":
        return
    if isinstance(output, dict) and state.prepared is None:
        payload = output.get("Payload", output)
        if isinstance(payload, dict) and "workflow_id" in payload:
            state.prepared = payload
            state.workflow_id = payload["workflow_id"]


def describe_execution(conn: Any, arn: str) -> dict[str, Any]:
    """``describe_execution``; one sentence when there is no such execution."""
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
    parent jobs (the history of this kit's run is read only until its three jobs are found;
    any other execution's, to the end)."""
    described = describe_execution(conn, arn)
    state = RunState(
        arn,
        described["status"],
        name=described.get("name", ""),
        error=described.get("error"),
        cause=described.get("cause"),
        input=json.loads(described.get("input") or "{}"),
        started_at=described.get("startDate"),
        stopped_at=described.get("stopDate"),
        state_machine_arn=described.get("stateMachineArn", ""),
    )
    pages = conn.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    state_of_event: dict[int, str] = {}
    for page in pages:
        for event in page["events"]:
            entered = event.get("stateEnteredEventDetails")
            state_name = (
                entered["name"]
                if entered
                else state_of_event.get(event.get("previousEventId", 0), "")
            )
            state_of_event[event["id"]] = state_name
            _read_batch_event(state, event, state_name)
            if "taskSucceededEventDetails" in event:
                _read_task_output(state, event["taskSucceededEventDetails"])
        if state.prepared is not None and len(state.jobs) == len(STEPS):
            break  # this kit's run: its three jobs are all the jobs it submits
    return state


def parent_jobs(conn: Any, jobs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The run's parent jobs described, by step (one ``describe_jobs`` call)."""
    if not jobs:
        return {}
    described = {j["jobId"]: j for j in conn.batch.describe_jobs(jobs=list(jobs.values()))["jobs"]}
    return {step: described[job_id] for step, job_id in jobs.items()}


def step_progress(conn: Any, jobs: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per step: children ``total``, ``succeeded``, ``failed`` (one describe_jobs call)."""
    return {step: step_counts(job) for step, job in parent_jobs(conn, jobs).items()}

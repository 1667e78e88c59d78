"""The timeline of one execution: one row per child job, from Batch and CloudWatch.

Batch side: the three parent jobs come from the execution's history; their children are
listed with ``list_jobs(arrayJobId=..., jobStatus=S)`` once per status that the parent's
``statusSummary`` says is non-empty (ListJobs filters do not apply to array children);
``describe_jobs`` (100 ids a call) only for FAILED children, for attempts and reasons.
CloudWatch side: the worker's ``n2n.step`` JSON lines, merged by (step, index).

Everything goes through boto3-shaped clients, so the same code reads AWS and the local
backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from pipeline.runs import STEPS, RunState, latest_execution, run_state

TIMELINE_COLUMNS = [
    "step",
    "step_order",
    "job_id",
    "parent_job_id",
    "array_index",
    "status",
    "attempts",
    "exit_code",
    "status_reason",
    "created_at",
    "started_at",
    "stopped_at",
    "queue_s",
    "run_s",
    "records",
    "load_s",
    "compute_s",
    "write_s",
]
TIME_COLUMNS = ("created_at", "started_at", "stopped_at")
WORKER_COLUMNS = ("records", "load_s", "compute_s", "write_s")
CHILD_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
PAGE_SIZE = 1000
DESCRIBE_LIMIT = 100
INSIGHTS_THRESHOLD = 3000
"""Above this many children the CloudWatch side uses a Logs Insights query where the
logs client offers one (AWS); otherwise filter_log_events."""


def _children(batch: Any, parent: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every child summary of an array parent, one paginated list_jobs per live status."""
    summary = parent["arrayProperties"]["statusSummary"]
    paginator = batch.get_paginator("list_jobs")
    for status in CHILD_STATUSES:
        if summary.get(status, 0) == 0:
            continue
        pages = paginator.paginate(
            arrayJobId=parent["jobId"],
            jobStatus=status,
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield from page["jobSummaryList"]


def _failed_details(batch: Any, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    details = {}
    for start in range(0, len(job_ids), DESCRIBE_LIMIT):
        chunk = job_ids[start : start + DESCRIBE_LIMIT]
        for job in batch.describe_jobs(jobs=chunk)["jobs"]:
            details[job["jobId"]] = job
    return details


def _row(step: str, parent_id: str, job: dict[str, Any]) -> dict[str, Any]:
    attempts = job.get("attempts")
    container = job.get("container") or {}
    if attempts:
        container = {**attempts[-1].get("container", {}), **container}
    index = job.get("arrayProperties", {}).get("index", 0)
    never_ran = attempts is not None and not attempts
    return {
        "step": step,
        "step_order": STEPS.index(step) + 1,
        "job_id": job["jobId"],
        "parent_job_id": parent_id,
        "array_index": index,
        "status": job["status"],
        "attempts": len(attempts) if attempts is not None else np.nan,
        "exit_code": container.get("exitCode", np.nan),
        "status_reason": job.get("statusReason", ""),
        "created_at": job.get("createdAt"),
        "started_at": None if never_ran else job.get("startedAt"),
        "stopped_at": job.get("stoppedAt"),
    }


def _batch_rows(conn: Any, parents: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for step, parent in parents.items():
        if "statusSummary" in parent.get("arrayProperties", {}):
            rows.extend(
                _row(step, parent["jobId"], child) for child in _children(conn.batch, parent)
            )
        else:
            rows.append(_row(step, parent["jobId"], parent))
    # A live run's children are listed one status at a time: a child that moved on between
    # two listings appears in both. Statuses are listed in the order they are reached, so
    # its last row is its latest.
    rows = list({row["job_id"]: row for row in rows}.values())
    failed = [r["job_id"] for r in rows if r["status"] == "FAILED" and pd.isna(r["attempts"])]
    details = _failed_details(conn.batch, failed)
    for row in rows:
        if row["job_id"] in details:
            row.update(_row(row["step"], row["parent_job_id"], details[row["job_id"]]))
    return rows


def _job_definitions(conn: Any, parents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    arns = sorted({parent["jobDefinition"] for parent in parents.values()})
    found = conn.batch.describe_job_definitions(jobDefinitions=arns)["jobDefinitions"]
    by_arn = {d["jobDefinitionArn"]: d for d in found}
    return {step: by_arn[parent["jobDefinition"]] for step, parent in parents.items()}


def _resources(definition: dict[str, Any]) -> dict[str, float]:
    requirements = definition.get("containerProperties", {}).get("resourceRequirements", [])
    values = {item["type"]: float(item["value"]) for item in requirements}
    return {"vcpus": values.get("VCPU", np.nan), "memory_mib": values.get("MEMORY", np.nan)}


def _size(parent: dict[str, Any]) -> int:
    """Children of a step's job: its array size, or 1 for a plain job."""
    return int(parent.get("arrayProperties", {}).get("size") or 1)


def _log_group(definitions: dict[str, dict[str, Any]]) -> str | None:
    for definition in definitions.values():
        options = definition.get("containerProperties", {}).get("logConfiguration", {})
        group = options.get("options", {}).get("awslogs-group")
        if group:
            return group
    return None


def _step_events(conn: Any, group: str, state: RunState, children: int) -> Iterator[dict]:
    """The worker's ``n2n.step`` events of one workflow."""
    if children > INSIGHTS_THRESHOLD and hasattr(conn.logs, "start_query"):
        from pipeline.analysis.insights import step_events

        yield from step_events(
            conn.logs, group, state.workflow_id, state.started_at, state.stopped_at
        )
        return
    pattern = f'{{ $.event = "n2n.step" && $.workflow_id = "{state.workflow_id}" }}'
    pages = conn.logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern=pattern
    )
    for page in pages:
        for event in page["events"]:
            yield json.loads(event["message"])


def _worker_frame(events: Iterator[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(events))
    if frame.empty:
        return pd.DataFrame(columns=["step", "array_index", "worker_attempt", *WORKER_COLUMNS])
    frame = frame.rename(columns={"index": "array_index", "attempt": "worker_attempt"})
    frame = frame.sort_values("worker_attempt").drop_duplicates(
        ["step", "array_index"], keep="last"
    )
    return frame[["step", "array_index", "worker_attempt", *WORKER_COLUMNS]]


def timeline_from(conn: Any, state: RunState) -> pd.DataFrame:
    """The timeline of an execution whose state (status, parent jobs) is known."""
    parents = {}
    if state.jobs:
        described = conn.batch.describe_jobs(jobs=list(state.jobs.values()))["jobs"]
        by_id = {job["jobId"]: job for job in described}
        parents = {step: by_id[state.jobs[step]] for step in STEPS if step in state.jobs}
    frame = pd.DataFrame(_batch_rows(conn, parents), columns=TIMELINE_COLUMNS[:12])
    definitions = _job_definitions(conn, parents) if parents else {}
    group = _log_group(definitions)
    events = _step_events(conn, group, state, len(frame)) if group else iter(())
    frame = frame.merge(_worker_frame(events), on=["step", "array_index"], how="left")
    succeeded = frame["status"] == "SUCCEEDED"
    worker_attempt = pd.to_numeric(frame["worker_attempt"], errors="coerce")
    frame["attempts"] = frame["attempts"].fillna(worker_attempt.where(succeeded).fillna(1))
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    frame["queue_s"] = (frame["started_at"] - frame["created_at"]).dt.total_seconds()
    frame["run_s"] = (frame["stopped_at"] - frame["started_at"]).dt.total_seconds()
    frame = frame.astype({"array_index": int, "step_order": int, "attempts": int})
    frame = frame.sort_values(["step_order", "array_index"], ignore_index=True)
    frame = frame[TIMELINE_COLUMNS].astype({c: float for c in ("exit_code", *WORKER_COLUMNS)})
    frame.attrs = {
        "execution_arn": state.execution_arn,
        "execution_name": state.name,
        "workflow_id": state.workflow_id,
        "status": state.status,
        "input": state.input,
        "resources": {step: _resources(d) for step, d in definitions.items()},
        "array_size": {step: _size(parent) for step, parent in parents.items()},
    }
    return frame


def build_timeline(conn: Any, execution_arn: str | None = None, stack: str = "n2n") -> pd.DataFrame:
    """The timeline of ``execution_arn`` (default: the stack's latest execution)."""
    arn = execution_arn or latest_execution(conn, stack)
    return timeline_from(conn, run_state(conn, arn))


def step_names(timeline: pd.DataFrame) -> list[str]:
    """The timeline's steps in chain order (by ``step_order``)."""
    order = timeline.groupby("step", sort=False)["step_order"].min().sort_values()
    return list(order.index)

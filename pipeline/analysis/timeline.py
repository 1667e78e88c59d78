"""The timeline of one run: one row per child job, from Batch and CloudWatch.

A run is an execution of any state machine that submits Batch jobs, or Batch jobs given by
id (and the jobs they depend on): :mod:`pipeline.analysis.steps` finds its parent jobs and
names its steps. Batch side: the parents' children are
listed with ``list_jobs(arrayJobId=..., jobStatus=S)`` once per status that the parent's
``statusSummary`` says is non-empty (ListJobs filters do not apply to array children);
``describe_jobs`` (100 ids a call) only for FAILED children, for attempts and reasons.
CloudWatch side: the kit worker's ``n2n.step`` JSON lines, merged by (step, index); a run
whose jobs print none (not this kit's worker) keeps those columns empty, and
``attrs["worker_lines"]`` says how many succeeded children had one.

Everything goes through boto3-shaped clients, so the same code reads AWS and the local
backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.steps import dependency_mode, describe_jobs, steps_of, with_dependencies
from pipeline.errors import N2NError
from pipeline.runs import RunState, latest_execution, run_state

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


def _row(step: str, order: int, parent_id: str, job: dict[str, Any]) -> dict[str, Any]:
    attempts = job.get("attempts")
    container = job.get("container") or {}
    if attempts:
        container = {**attempts[-1].get("container", {}), **container}
    index = job.get("arrayProperties", {}).get("index", 0)
    never_ran = attempts is not None and not attempts
    return {
        "step": step,
        "step_order": order,
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
    for order, (step, parent) in enumerate(parents.items(), start=1):
        if "statusSummary" in parent.get("arrayProperties", {}):
            rows.extend(
                _row(step, order, parent["jobId"], child) for child in _children(conn.batch, parent)
            )
        else:
            rows.append(_row(step, order, parent["jobId"], parent))
    # A live run's children are listed one status at a time: a child that moved on between
    # two listings appears in both. Statuses are listed in the order they are reached, so
    # its last row is its latest.
    rows = list({row["job_id"]: row for row in rows}.values())
    failed = [r["job_id"] for r in rows if r["status"] == "FAILED" and pd.isna(r["attempts"])]
    details = describe_jobs(conn.batch, failed)
    for row in rows:
        if row["job_id"] in details:
            job = details[row["job_id"]]
            row.update(_row(row["step"], row["step_order"], row["parent_job_id"], job))
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


def _size(parent: Mapping[str, Any]) -> int:
    """Children of a step's job: its array size, or 1 for a plain job."""
    return int(parent.get("arrayProperties", {}).get("size") or 1)


def _log_group(definitions: dict[str, dict[str, Any]]) -> str | None:
    for definition in definitions.values():
        options = definition.get("containerProperties", {}).get("logConfiguration", {})
        group = options.get("options", {}).get("awslogs-group")
        if group:
            return group
    return None


def worker_step(parent: Mapping[str, Any], step: str) -> str:
    """The step a job's kit worker prints in its ``n2n.step`` lines: the argument after
    ``pipeline.worker`` in the job's command, else the step's own name."""
    command = list((parent.get("container") or {}).get("command") or [])
    if "pipeline.worker" in command[:-1]:
        return command[command.index("pipeline.worker") + 1]
    return step


def _workflow_id(parents: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The kit workflow id the parent jobs' environment names (``WORKFLOW_ID``), if any."""
    for parent in parents.values():
        for item in (parent.get("container") or {}).get("environment") or []:
            if item.get("name") == "WORKFLOW_ID" and item.get("value") not in (None, "", "unset"):
                return item["value"]
    return None


def _step_events(
    conn: Any, group: str, workflow_id: str, sizes: dict[str, int], window: tuple
) -> Iterator[dict]:
    """The worker's ``n2n.step`` events of one workflow."""
    if sum(sizes.values()) > INSIGHTS_THRESHOLD and hasattr(conn.logs, "start_query"):
        from pipeline.analysis.insights import step_events

        yield from step_events(conn.logs, group, workflow_id, sizes, *window)
        return
    pattern = f'{{ $.event = "n2n.step" && $.workflow_id = "{workflow_id}" }}'
    pages = conn.logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern=pattern
    )
    for page in pages:
        for event in page["events"]:
            yield json.loads(event["message"])


def _worker_frame(events: Iterator[dict], steps: Mapping[str, str]) -> pd.DataFrame:
    """The last attempt's worker line per (step, index), its step renamed through ``steps``
    (worker step -> timeline step)."""
    frame = pd.DataFrame(list(events))
    columns = ["step", "array_index", "worker_attempt", *WORKER_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.rename(columns={"index": "array_index", "attempt": "worker_attempt"})
    frame = frame[frame["step"].isin(steps)].assign(step=lambda f: f["step"].map(steps))
    frame = frame.sort_values("worker_attempt").drop_duplicates(
        ["step", "array_index"], keep="last"
    )
    return frame.reindex(columns=columns)


def _moment(ms: Any) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _timeline(
    conn: Any,
    parents: dict[str, dict[str, Any]],
    attrs: dict[str, Any],
    workflow_id: str | None,
    window: tuple[datetime | None, datetime | None],
) -> pd.DataFrame:
    """The timeline of the run made of ``parents`` (step -> parent job, in chain order)."""
    frame = pd.DataFrame(_batch_rows(conn, parents), columns=TIMELINE_COLUMNS[:12])
    definitions = _job_definitions(conn, parents) if parents else {}
    group = _log_group(definitions)
    workflow_id = workflow_id or _workflow_id(parents)
    steps = {worker_step(parent, step): step for step, parent in parents.items()}
    sizes = {worker: _size(parents[step]) for worker, step in steps.items()}
    reads_logs = group is not None and workflow_id is not None
    events = _step_events(conn, group, workflow_id, sizes, window) if reads_logs else iter(())
    frame = frame.merge(_worker_frame(events, steps), on=["step", "array_index"], how="left")
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
        **attrs,
        "workflow_id": workflow_id,
        "dependency": dependency_mode(parents),
        "resources": {step: _resources(d) for step, d in definitions.items()},
        "array_size": {step: _size(parent) for step, parent in parents.items()},
        "worker_lines": {
            "succeeded": int(succeeded.sum()),
            "with_line": int((succeeded & frame["records"].notna()).sum()),
        },
    }
    return frame


def timeline_from(conn: Any, state: RunState) -> pd.DataFrame:
    """The timeline of an execution whose state (status, Batch jobs) is known."""
    parents = steps_of(describe_jobs(conn.batch, state.batch_jobs), state.batch_jobs)
    attrs = {
        "execution_arn": state.execution_arn,
        "execution_name": state.name,
        "status": state.status,
        "input": state.input,
    }
    return _timeline(conn, parents, attrs, state.workflow_id, (state.started_at, state.stopped_at))


def _jobs_status(parents: Mapping[str, Mapping[str, Any]]) -> str:
    statuses = {parent["status"] for parent in parents.values()}
    if "FAILED" in statuses:
        return "FAILED"
    return "SUCCEEDED" if statuses == {"SUCCEEDED"} else "RUNNING"


def jobs_timeline(conn: Any, job_ids: Iterable[str]) -> pd.DataFrame:
    """The timeline of Batch jobs submitted outside Step Functions: ``job_ids`` and, following
    ``dependsOn``, the jobs they wait for."""
    job_ids = list(job_ids)
    parents = steps_of(with_dependencies(conn.batch, job_ids))
    created = [p["createdAt"] for p in parents.values() if p.get("createdAt") is not None]
    stopped = [p.get("stoppedAt") for p in parents.values()]
    ended = None if None in stopped or not stopped else max(stopped)
    attrs = {
        "job_ids": job_ids,
        "execution_name": ", ".join(p["jobName"] for p in parents.values()),
        "status": _jobs_status(parents),
        "input": {},
    }
    window = (_moment(min(created)) if created else None, _moment(ended))
    return _timeline(conn, parents, attrs, None, window)


def build_timeline(
    conn: Any,
    execution_arn: str | None = None,
    stack: str = "n2n",
    job_ids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The timeline of ``job_ids`` if given, else of ``execution_arn`` (default: the
    stack's latest execution)."""
    if job_ids:
        return jobs_timeline(conn, job_ids)
    arn = execution_arn or latest_execution(conn, stack)
    state = run_state(conn, arn)
    if not state.batch_jobs:
        raise N2NError(
            f"Execution {arn} ({state.status}) submitted no Batch job through a "
            "batch:submitJob task: analyze one that did, or give its jobs with --jobs."
        )
    return timeline_from(conn, state)


def job_id_list(value: str | Iterable[str] | None) -> list[str]:
    """Job ids from ``"ID[,ID...]"`` (commas or spaces) or a list of ids."""
    if not value:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    return [item.strip() for item in items if item.strip()]


def step_names(timeline: pd.DataFrame) -> list[str]:
    """The timeline's steps in chain order (by ``step_order``)."""
    order = timeline.groupby("step", sort=False)["step_order"].min().sort_values()
    return list(order.index)

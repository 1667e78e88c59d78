"""The watch Lambda: one ``describe_jobs`` call for the three parent jobs of a run.

Event: ``{"workflow_id": str, "rerun_of": str (optional), "jobs": {"procure": id,
"process": id, "egress": id}}`` (what the state machine's Watch state sends).
Returns ``{"done", "succeeded", "steps": {step: {"status", "summary"}}}`` plus
``workflow_id`` and, once the run failed, a one-line ``cause``. When the event carries
``started_at``, ``interval_s`` and ``timeout_s`` (the state machine's loop), it also says
how long to wait before the next poll (``wait_s``) and whether the run is out of time
(``timed_out``, see :mod:`pipeline.handlers.polling`).

An event with ``stop`` (``{"Error", "Cause"}``: a timeout, or a state that kept failing)
terminates the run's jobs and writes the summary with that reason instead
(:func:`stop_run`).

When the run is done it writes ``{workflow_id}/_SUMMARY.json`` under ``EGRESS_URL``; a
rerun instead appends what it recovered to the ``reruns`` list of the original
workflow's summary, leaving the original's facts as they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipeline.clients import client
from pipeline.handlers.polling import next_wait_s, out_of_time, run_age_s
from pipeline.jobs import FINISHED, STEPS, children_by_status
from pipeline.layout import dump_json
from pipeline.storage import open_store

MAX_FAILED_LISTED = 100


def _failure_reason(job: Mapping[str, Any]) -> str:
    """The container's reason when Batch gives one (it says more: ``OutOfMemoryError: ...``,
    a worker's full disk), else the job's status reason."""
    return job.get("container", {}).get("reason") or job.get("statusReason", "")


def _failed_children(batch: Any, job: Mapping[str, Any]) -> list[dict[str, Any]]:
    if job["status"] != "FAILED":
        return []
    if "statusSummary" not in job.get("arrayProperties", {}):
        return [{"index": 0, "reason": _failure_reason(job)}]
    failed: list[dict[str, Any]] = []
    pages = batch.get_paginator("list_jobs").paginate(
        arrayJobId=job["jobId"], jobStatus="FAILED", PaginationConfig={"PageSize": 100}
    )
    for page in pages:
        for child in page["jobSummaryList"]:
            failed.append(
                {
                    "index": child["arrayProperties"]["index"],
                    "reason": _failure_reason(child),
                }
            )
            if len(failed) == MAX_FAILED_LISTED:
                return failed
    return failed


def run_cause(
    steps: Mapping[str, Mapping[str, Any]],
    failed_children: Mapping[str, list[dict[str, Any]]] | None = None,
) -> str:
    """The steps that failed and how many children each lost, then what ended the first
    failed child of the earliest failed step (why the run failed)."""
    parts = []
    for step, state in steps.items():
        failed = state["summary"].get("FAILED", 0)
        if failed:
            total = sum(state["summary"].values())
            parts.append(f"{step} failed {failed} of {total} children")
    cause = "; ".join(parts) + "." if parts else "A job of the run failed."
    for step, children in (failed_children or {}).items():
        first = next((child for child in children if child["reason"]), None)
        if first:
            return f"{cause} {step} child {first['index']}: {first['reason']}"
    return cause


def parent_job_ids(event: Mapping[str, Any]) -> dict[str, str]:
    """The three parent job ids by step, from the event's ``jobs``."""
    return {step: event["jobs"][step] for step in STEPS}


def watch(event: Mapping[str, Any], batch: Any, egress_url: str) -> dict[str, Any]:
    """Describe the run's three parent jobs; write the run summary once nothing can change
    (when the event names the workflow)."""
    ids = parent_job_ids(event)
    described = {job["jobId"]: job for job in batch.describe_jobs(jobs=list(ids.values()))["jobs"]}
    jobs = {step: described[job_id] for step, job_id in ids.items()}
    steps = {
        step: {"status": job["status"], "summary": children_by_status(job)}
        for step, job in jobs.items()
    }
    done = all(job["status"] in FINISHED for job in jobs.values())
    succeeded = done and all(job["status"] == "SUCCEEDED" for job in jobs.values())
    result: dict[str, Any] = {
        "workflow_id": event.get("workflow_id"),
        "done": done,
        "succeeded": succeeded,
        "steps": steps,
    }
    failed = {step: _failed_children(batch, job) for step, job in jobs.items()} if done else {}
    if done and not succeeded:
        result["cause"] = run_cause(steps, failed)
    if "started_at" in event:
        age_s = run_age_s(event["started_at"])
        result["wait_s"] = next_wait_s(age_s, int(event["interval_s"]))
        result["timed_out"] = not done and out_of_time(
            age_s, result["wait_s"], int(event["timeout_s"])
        )
    if done:
        _write_summary(event, result, failed, egress_url)
    return result


def _write_summary(
    event: Mapping[str, Any],
    result: Mapping[str, Any],
    failed_children: Mapping[str, list[dict[str, Any]]],
    egress_url: str,
) -> None:
    if event.get("rerun_of"):
        add_rerun(open_store(egress_url), event["rerun_of"], result)
    elif event.get("workflow_id"):
        summary = {
            **result,
            "finished_at": datetime.now(UTC).isoformat(),
            "failed_children": failed_children,
        }
        open_store(egress_url).put(f"{event['workflow_id']}/_SUMMARY.json", dump_json(summary))


def stop_run(event: Mapping[str, Any], batch: Any, egress_url: str) -> dict[str, Any]:
    """Terminate the run's submitted jobs (the submitJob outputs in ``event["jobs"]``; a
    failed submit leaves later steps out) and write its summary with the reason in
    ``event["stop"]``."""
    reason = event["stop"]
    said = f"{reason.get('Error', 'Stopped')}: {reason.get('Cause', '')}".strip(": ")
    submitted = event.get("jobs") or {}
    ids = {step: submitted[step]["JobId"] for step in STEPS if step in submitted}
    for job_id in ids.values():
        batch.terminate_job(jobId=job_id, reason=f"Run stopped by its state machine: {said}"[:250])
    described = batch.describe_jobs(jobs=list(ids.values()))["jobs"] if ids else []
    by_id = {job["jobId"]: job for job in described}
    jobs = {step: by_id[job_id] for step, job_id in ids.items() if job_id in by_id}
    result: dict[str, Any] = {
        "workflow_id": event.get("workflow_id"),
        "done": True,
        "succeeded": False,
        "steps": {
            step: {"status": job["status"], "summary": children_by_status(job)}
            for step, job in jobs.items()
        },
        "cause": f"The run was stopped ({said}); its jobs were terminated.",
    }
    failed = {step: _failed_children(batch, job) for step, job in jobs.items()}
    _write_summary(event, result, failed, egress_url)
    return result


def add_rerun(store: Any, original: str, result: Mapping[str, Any]) -> None:
    """Append a finished rerun to the original workflow's summary: its children, how many
    of them it recovered (egress succeeded) and how many are still missing."""
    key = f"{original}/_SUMMARY.json"
    summary = json.loads(store.get(key)) if store.size(key) is not None else {}
    egress = result["steps"][STEPS[-1]]["summary"]
    children = sum(egress.values())
    recovered = egress.get("SUCCEEDED", 0)
    entry = {
        "workflow_id": result["workflow_id"],
        "finished_at": datetime.now(UTC).isoformat(),
        "succeeded": result["succeeded"],
        "children": children,
        "recovered": recovered,
        "still_missing": children - recovered,
        **({"cause": result["cause"]} if "cause" in result else {}),
    }
    summary.setdefault("workflow_id", original)
    summary["reruns"] = [*summary.get("reruns", []), entry]
    store.put(key, dump_json(summary))


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: :func:`stop_run` for an event with ``stop``, else :func:`watch`."""
    run = stop_run if "stop" in event else watch
    return run(event, client("batch"), os.environ["EGRESS_URL"])

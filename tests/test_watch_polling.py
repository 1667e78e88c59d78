"""The watch loop's schedule and the stop of a run: the wait grows with the run's age so
the execution history cannot fill, a run about to outlive RunTimeoutSeconds is stopped,
and stopping terminates exactly the submitted jobs and writes the summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.handlers.polling import next_wait_s, out_of_time, run_age_s
from pipeline.handlers.watch import stop_run, watch


@pytest.mark.parametrize(
    ("age_s", "wait_s"),
    [(0, 30), (600, 30), (1000, 50), (6000, 300), (18_000, 900), (100_000, 900)],
)
def test_the_wait_is_the_interval_then_a_twentieth_of_the_age_at_most_15_minutes(
    age_s: float, wait_s: int
):
    assert next_wait_s(age_s, 30) == wait_s


@pytest.mark.parametrize(
    ("age_s", "wait_s", "stop"),
    # 86,400 s timeout, 20 min kept for stopping: 84,000 + 900 + 1,200 = 86,100 < 86,400.
    [(84_000, 900, False), (84_300, 900, True), (0, 30, False)],
)
def test_a_run_is_stopped_while_there_is_time_to_stop_it(age_s: float, wait_s: int, stop: bool):
    assert out_of_time(age_s, wait_s, 86_400) is stop


def test_the_age_reads_the_step_functions_start_time():
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert run_age_s("2026-03-01T11:58:30.250Z", now) == 89.75


class Batch:
    """Describes jobs in the given statuses and records what was terminated."""

    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses
        self.terminated: list[tuple[str, str]] = []

    def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
        return {"jobs": [{"jobId": j, "status": self.statuses[j]} for j in jobs]}

    def terminate_job(self, jobId: str, reason: str) -> dict[str, Any]:
        self.terminated.append((jobId, reason))
        self.statuses[jobId] = "FAILED"
        return {}

    def get_paginator(self, name: str) -> Any:
        raise AssertionError("plain jobs need no list_jobs")


def test_a_timed_out_run_says_so():
    started = (datetime.now(UTC) - timedelta(seconds=86_000)).isoformat()
    event = {
        "workflow_id": "w1",
        "jobs": {"procure": "p", "process": "q", "egress": "e"},
        "started_at": started,
        "interval_s": 30,
        "timeout_s": 86_400,
    }
    report = watch(event, Batch({"p": "SUCCEEDED", "q": "RUNNING", "e": "PENDING"}), "")
    assert (report["done"], report["timed_out"], report["wait_s"]) == (False, True, 900)


def test_stop_terminates_the_submitted_jobs_and_writes_the_summary(local_bucket: Any):
    """A submit of egress failed: procure and process are terminated, the summary names
    the reason."""
    batch = Batch({"p": "RUNNING", "q": "PENDING"})
    event = {
        "workflow_id": "w1",
        "rerun_of": "",
        "jobs": {"procure": {"JobId": "p", "JobName": "x"}, "process": {"JobId": "q"}},
        "stop": {"Error": "Batch.ClientException", "Cause": "queue is disabled"},
    }
    report = stop_run(event, batch, local_bucket.url)
    assert [job for job, _ in batch.terminated] == ["p", "q"]
    assert all("Batch.ClientException: queue is disabled" in why for _, why in batch.terminated)
    assert (report["done"], report["succeeded"]) == (True, False)
    assert report["cause"] == (
        "The run was stopped (Batch.ClientException: queue is disabled); its jobs were terminated."
    )
    summary = json.loads((local_bucket.folder / "w1" / "_SUMMARY.json").read_text())
    assert summary["cause"] == report["cause"]
    assert set(summary["steps"]) == {"procure", "process"}


def test_stop_with_nothing_submitted_terminates_nothing(local_bucket: Any):
    event = {"workflow_id": "w2", "jobs": {}, "stop": {"Error": "RunTimedOut", "Cause": "late"}}
    report = stop_run(event, Batch({}), local_bucket.url)
    assert report["steps"] == {}
    assert (local_bucket.folder / "w2" / "_SUMMARY.json").exists()

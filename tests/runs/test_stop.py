"""``n2n stop``: the execution ends ABORTED, every unfinished child is cancelled or
terminated, and a second stop does nothing."""

from __future__ import annotations

import json

from pipeline.cli.main import main
from pipeline.runs import run_state, step_progress
from pipeline.runs.stop import stop_run
from tests.waiting import wait_until

SLOW = {"id_count": 400, "ids_per_node": 10, "work": {"compute_ms_per_id": 20}}


def running_children(stack, arn: str, timeout_s: float = 60) -> None:
    """Wait until the run's procure step has a RUNNING child."""

    def procure_running() -> bool:
        jobs = run_state(stack.conn, arn).jobs
        if len(jobs) < 3:
            return False
        parent = stack.conn.batch.describe_jobs(jobs=[jobs["procure"]])["jobs"][0]
        return bool(parent["arrayProperties"]["statusSummary"].get("RUNNING"))

    wait_until(procure_running, deadline=timeout_s, describe=lambda: run_state(stack.conn, arn))


def test_stop_terminates_the_jobs_and_is_idempotent(one_attempt_stack, capsys):
    stack = one_attempt_stack
    arn = stack.start("to-stop", **SLOW)
    running_children(stack, arn)
    assert main(["stop", arn, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["executionStopped"] is True
    assert report["cancelled"] == sum(report["unfinishedBefore"].values()) > 0
    assert report["unfinishedAfter"] == {"procure": 0, "process": 0, "egress": 0}
    state = run_state(stack.conn, arn)
    assert state.status == "ABORTED"
    described = stack.conn.batch.describe_jobs(jobs=list(state.jobs.values()))["jobs"]
    assert {job["status"] for job in described} == {"FAILED"}
    progress = step_progress(stack.conn, state.jobs)
    assert all(c["succeeded"] + c["failed"] == c["total"] for c in progress.values())
    again = stop_run(stack.conn, arn)
    assert (again.execution_stopped, again.cancelled, again.status_before) == (False, 0, "ABORTED")
    assert main(["stop", arn]) == 0
    assert "Cancelled or terminated 0" in capsys.readouterr().out


def test_stopping_a_finished_run_changes_nothing(one_attempt_stack):
    stack = one_attempt_stack
    state = stack.run("done-already", id_count=20, ids_per_node=10)
    report = stop_run(stack.conn, state.execution_arn)
    assert (report.execution_stopped, report.cancelled) == (False, 0)
    assert run_state(stack.conn, state.execution_arn).status == "SUCCEEDED"

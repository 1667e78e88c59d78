"""Faults end in a clear state: the execution FAILED with a cause naming what happened, no
half-written result, and a rerun recovering exactly what is missing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from pipeline.local.runner import runner_pid
from pipeline.runs import run_state
from pipeline.runs.rerun import missing_indices, rerun_missing
from pipeline.runs.results import id_counts
from tests.local.e2e import LocalStack, busy_worker, private_stack, stop_runner
from tests.waiting import wait_for

IDS = 40
NODES = 10


@pytest.fixture
def one_attempt(tmp_path, monkeypatch):
    """A stack whose children get one attempt, on a private home."""
    stack = private_stack(monkeypatch, tmp_path / "faults", "5", RetryAttempts="1")
    yield stack
    stop_runner(stack.home)


def ended(stack: LocalStack, arn: str, timeout_s: float = 120) -> dict:
    return wait_for(
        lambda: stack.conn.sfn.describe_execution(executionArn=arn),
        lambda described: described["status"] != "RUNNING",
        timeout_s=timeout_s,
    )


def jobs_settled(stack: LocalStack, arn: str, timeout_s: float = 120) -> None:
    """Wait until every Batch job of the run has ended. An execution that failed asks Batch
    to terminate its running jobs and does not wait for them (on AWS the same: termination
    is asynchronous), so children may still write results for a moment after FAILED."""
    jobs = list(run_state(stack.conn, arn).jobs.values())
    ended_states = {"SUCCEEDED", "FAILED"}

    def unsettled() -> list[tuple[str, str, int]]:
        """(job, status, children not yet ended) of every job that has not ended."""
        found = []
        for job in stack.conn.batch.describe_jobs(jobs=jobs)["jobs"]:
            summary = job.get("arrayProperties", {}).get("statusSummary", {})
            live = sum(count for status, count in summary.items() if status not in ended_states)
            if job["status"] not in ended_states or live:
                found.append((job["jobName"], job["status"], live))
        return found

    wait_for(unsettled, lambda found: not found, timeout_s=timeout_s)


def assert_rerun_recovers_exactly_what_is_missing(stack: LocalStack, arn: str) -> None:
    jobs_settled(stack, arn)
    workflow_id = run_state(stack.conn, arn).workflow_id
    missing = missing_indices(stack.conn, stack.bucket, workflow_id, NODES)
    assert missing, "the fault must have cost some results"
    plan, rerun = rerun_missing(stack.conn, arn)
    assert list(plan.missing) == missing
    assert stack.wait(rerun).status == "SUCCEEDED"
    assert id_counts(stack.conn, stack.bucket, workflow_id) == Counter(range(IDS))


def test_a_worker_killed_by_signal_9_names_the_lost_host(one_attempt):
    stack = one_attempt
    arn = stack.start(id_count=IDS, ids_per_node=IDS // NODES, work={"compute_ms_per_id": 40})
    worker = busy_worker(stack.home)
    os.kill(worker, signal.SIGKILL)
    described = ended(stack, arn)
    assert (described["status"], described["error"]) == ("FAILED", "BatchJobsFailed")
    assert described["cause"].endswith(f"Host EC2 (instance local-{worker}) terminated.")
    assert_rerun_recovers_exactly_what_is_missing(stack, arn)


def test_a_runner_killed_by_signal_9_is_named_and_rerun_recovers(one_attempt):
    stack = one_attempt
    arn = stack.start(id_count=IDS, ids_per_node=IDS // NODES, work={"compute_ms_per_id": 100})
    wait_for(lambda: run_state(stack.conn, arn).jobs, bool)
    dead = runner_pid(stack.home)
    stop_runner(stack.home)
    described = ended(stack, arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"] == (
        f"The local runner (pid {dead}) stopped before the execution finished: "
        "start the execution again."
    )
    assert_rerun_recovers_exactly_what_is_missing(stack, arn)


def mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB file system (tmpfs), when this user may mount one."""
    folder = tmp_path / "disk"
    if not mount_tmpfs(folder, "48m"):
        pytest.skip("mounting a small tmpfs needs root")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def full_disk_cause(stack: LocalStack, described: dict) -> str:
    """What the execution's cause must say, by the side that met the full disk first: the
    execution record (the runner could not write it) or a worker (its child failed, and
    the run's cause quotes the worker's reason)."""
    if described["error"] == "States.Runtime":
        return (
            f"The local backend could not record the execution in {stack.home} (database or "
            "disk is full): free space there, then rerun it."
        )
    assert described["error"] == "BatchJobsFailed", described
    child = re.search(r" (procure|process|egress) child \d+: ", described["cause"])
    assert child, described["cause"]
    written = re.search(r"holding (\S+):", described["cause"])
    assert written and written[1].startswith(f"{stack.home}/"), described["cause"]
    said = (
        f"No space left on the disk holding {written[1]}: free space there, then rerun the "
        "run's missing children."
    )
    return described["cause"][: child.end()] + said


def test_a_full_disk_fails_the_run_in_one_sentence_and_rerun_recovers(small_disk, monkeypatch):
    home = small_disk / "home"
    stack = private_stack(monkeypatch, home, "5", RetryAttempts="1")
    sfn = stack.conn.sfn
    filler = small_disk / "filler"
    try:
        filler.write_bytes(b"\0" * (shutil.disk_usage(home).free - 2_500_000))
        arn = stack.start(id_count=2000, ids_per_node=20, work={"values_per_id": 50})
        # The gate: the disk stays full until the execution has ended, or has ended and
        # waits for space to record it; so whichever side met the full disk first, it
        # decided the outcome before space came back.
        wait_for(
            lambda: (
                sfn.describe_execution(executionArn=arn)["status"],
                (home / "runner.log").read_text(),
            ),
            lambda seen: seen[0] != "RUNNING" or f"cannot record the end of {arn}" in seen[1],
        )
        filler.unlink()
        described = ended(stack, arn)
        assert described["status"] == "FAILED"
        assert described["cause"] == full_disk_cause(stack, described)
        jobs_settled(stack, arn)
        workflow_id = run_state(stack.conn, arn).workflow_id
        missing = missing_indices(stack.conn, stack.bucket, workflow_id, 100)
        plan, rerun = rerun_missing(stack.conn, arn)
        assert list(plan.missing) == missing
        assert stack.wait(rerun).status == "SUCCEEDED"
        assert id_counts(stack.conn, stack.bucket, workflow_id) == Counter(range(2000))
    finally:
        stop_runner(home)

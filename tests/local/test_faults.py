"""Faults end in a clear state: the execution FAILED with a cause naming what happened, no
half-written result, and a rerun recovering exactly what is missing."""

from __future__ import annotations

import os
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


def assert_rerun_recovers_exactly_what_is_missing(stack: LocalStack, arn: str) -> None:
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


@pytest.mark.xfail(
    strict=False,
    reason="Known race (issue 11 stays open): after other runs in the same file the workers "
    "can meet ENOSPC before the execution record does, and the run then ends BatchJobsFailed "
    "with a cause that does not name the full disk; alone the test passes.",
)
def test_a_full_disk_fails_the_run_in_one_sentence_and_rerun_recovers(small_disk, monkeypatch):
    home = small_disk / "home"
    stack = private_stack(monkeypatch, home, "5", RetryAttempts="1")
    filler = small_disk / "filler"
    try:
        filler.write_bytes(b"\0" * (shutil.disk_usage(home).free - 2_500_000))
        arn = stack.start(id_count=2000, ids_per_node=20, work={"values_per_id": 50})
        wait_for(
            lambda: (home / "runner.log").read_text(),
            lambda log: "database or disk is full" in log,
        )
        filler.unlink()
        described = ended(stack, arn)
        assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
        assert described["cause"] == (
            f"The local backend could not record the execution in {home} (database or disk "
            "is full): free space there, then rerun it."
        )
        workflow_id = run_state(stack.conn, arn).workflow_id
        missing = missing_indices(stack.conn, stack.bucket, workflow_id, 100)
        plan, rerun = rerun_missing(stack.conn, arn)
        assert list(plan.missing) == missing
        assert stack.wait(rerun).status == "SUCCEEDED"
        assert id_counts(stack.conn, stack.bucket, workflow_id) == Counter(range(2000))
    finally:
        stop_runner(home)

"""The runner: a new runner fails what a dead one left RUNNING, whatever pid claimed it; a
runner says why it starts and leaves, is reaped, and one that cannot start fails what waits."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from pipeline.local import runner
from pipeline.local.runner import Runner
from pipeline.local.stepfunctions.executions import Executions
from tests.waiting import wait_for

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


def process_state(pid: int) -> str:
    """The process's state letter while it exists, '' once it is gone (reaped)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_a_runner_that_cannot_start_fails_the_waiting_execution_in_one_sentence(
    n2n_home, tmp_path, monkeypatch
):
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ImportError: no module named pipeline' >&2\nexit 3\n")
    broken.chmod(0o755)
    executions = Executions(n2n_home)
    executions.put_state_machine(MACHINE, "m", "{}", "arn:aws:iam::000000000000:role/r")
    executions.start(EXECUTION, MACHINE, "e1", "{}")
    monkeypatch.setattr(runner.sys, "executable", str(broken))
    runner.ensure_runner(n2n_home)
    record = wait_for(lambda: executions.get(EXECUTION), lambda r: r.status != "RUNNING")
    assert (record.status, record.error) == ("FAILED", "States.Runtime")
    assert record.cause == (
        f"The local runner for {n2n_home} exited with status 3 before it claimed the execution "
        f"(ImportError: no module named pipeline): see {n2n_home / 'runner.log'}, then start "
        "the execution again."
    )
    assert executions.history(EXECUTION)[-1]["type"] == "ExecutionFailed"


def test_an_idle_runner_says_why_it_leaves_and_is_reaped(n2n_home, monkeypatch):
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", "0.05")
    runner.ensure_runner(n2n_home)
    pid = wait_for(lambda: runner.runner_pid(n2n_home), bool)
    assert wait_for(lambda: process_state(pid), lambda state: state == "") == ""
    lines = (n2n_home / "runner.log").read_text().splitlines()
    assert [line.partition(f"runner {pid}: ")[2] for line in lines] == [
        f"serving {n2n_home}",
        "idle for 0.05 s, leaving",
        "nothing left to do, exiting",
    ]


def test_a_second_runner_leaves_the_home_to_the_first_and_says_so(n2n_home):
    stop = threading.Event()
    first = threading.Thread(target=runner.serve, args=(n2n_home, stop, None))
    first.start()
    try:
        wait_for(lambda: runner.runner_alive(n2n_home), bool)
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.local.runner", "--home", str(n2n_home)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        stop.set()
        first.join()
    assert done.returncode == 0
    assert done.stderr.strip().endswith(
        f"another runner holds {n2n_home / 'runner.lock'}: leaving it the work"
    )


def test_reads_see_an_execution_started_after_their_last_read(n2n_home):
    """No read transaction stays open on a thread's connection: the runner's next poll
    sees what another connection committed since its last one."""
    executions = Executions(n2n_home)
    executions.put_state_machine(MACHINE, "m", "{}", "arn:aws:iam::000000000000:role/r")
    assert executions.unclaimed() == []
    Executions(n2n_home).start(EXECUTION, MACHINE, "e1", "{}")
    assert executions.unclaimed() == [EXECUTION]
    assert not executions.db.connection().in_transaction


def test_callers_that_find_no_runner_at_once_spawn_one(n2n_home, monkeypatch):
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", "0.05")
    spawned = []
    popen = subprocess.Popen

    def counted(*args, **kwargs):
        spawned.append(args)
        return popen(*args, **kwargs)

    monkeypatch.setattr(runner.subprocess, "Popen", counted)
    callers = 8
    together = threading.Barrier(callers)

    def call() -> None:
        together.wait(timeout=60)
        runner.ensure_runner(n2n_home)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(spawned) == 1
    pid = wait_for(lambda: runner.runner_pid(n2n_home), bool)
    assert wait_for(lambda: process_state(pid), lambda state: state == "") == ""
    assert "another runner holds" not in (n2n_home / "runner.log").read_text()

"""Helpers of the local end-to-end tests: a deployed home, runs, children and processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.local.batch.pool import WORKER_NICENESS
from pipeline.local.batch.schema import open_batch_db
from pipeline.local.runner import runner_alive, runner_pid
from pipeline.runs import RunState, start_run, wait_for_run
from pipeline.spec import parse_run_input
from tests.waiting import wait_until

TEST_ENVIRONMENT = {"N2N_RUNNER_IDLE_S": "20", "N2N_TIME_SCALE": "0.002"}


class LocalStack:
    """A stack deployed under a private home, with the helpers the tests share."""

    def __init__(self, home: Path, name: str = "n2n", **parameters: str) -> None:
        self.home = home
        self.name = name
        self.outputs = LocalDeployer(home=home).deploy(name, parameters)
        self.conn = connect("local", home=home)

    @property
    def bucket(self) -> str:
        return self.outputs["EgressBucketName"]

    def start(self, name: str | None = None, **run_input) -> str:
        return start_run(self.conn, self.name, parse_run_input(run_input), name)

    def wait(self, arn: str, timeout_s: float = 120) -> RunState:
        deadline = time.monotonic() + timeout_s

        def guard(state, progress):
            assert time.monotonic() < deadline, f"{arn} still {state.status} after {timeout_s}s"

        return wait_for_run(self.conn, arn, guard, poll_s=0.1)

    def run(self, name: str | None = None, **run_input) -> RunState:
        return self.wait(self.start(name, **run_input))

    def children(self, job_id: str) -> list[dict]:
        """Every child of an array job (or the plain job itself), by index."""
        batch = self.conn.batch
        found = []
        for status in ("SUCCEEDED", "FAILED"):
            pages = batch.get_paginator("list_jobs").paginate(arrayJobId=job_id, jobStatus=status)
            found.extend(job for page in pages for job in page["jobSummaryList"])
        return sorted(found, key=lambda job: job["arrayProperties"]["index"])


def private_stack(monkeypatch, home: Path, idle_s: str, **parameters: str) -> LocalStack:
    """A stack deployed on ``home`` with N2N_HOME pointing at it, the runner leaving after
    ``idle_s`` idle seconds and the test time scale."""
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", idle_s)
    monkeypatch.setenv("N2N_TIME_SCALE", TEST_ENVIRONMENT["N2N_TIME_SCALE"])
    monkeypatch.setenv("N2N_HOME", str(home))
    return LocalStack(home, **parameters)


def child_pids(pid: int) -> list[int]:
    """The direct children of a process."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def worker_pids(home: Path) -> list[int]:
    """The runner's long-lived worker processes (children of its forkserver)."""
    runner = runner_pid(home)
    return [worker for server in child_pids(runner) for worker in child_pids(server)]


def _on_cpu(pid: int) -> bool:
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] == "R" and int(fields[16]) == WORKER_NICENESS


def running_instances(home: Path) -> set[int]:
    """The worker processes that the Batch tables show running a child (the pid in the
    child's ``containerInstanceArn``, ``.../local-PID``)."""
    with contextlib.closing(open_batch_db(home)) as db:
        rows = db.execute("SELECT container FROM children WHERE status = 'RUNNING'").fetchall()
    instances = (json.loads(row[0] or "{}").get("containerInstanceArn", "") for row in rows)
    return {int(arn.rpartition("/local-")[2]) for arn in instances if "/local-" in arn}


def busy_worker(home: Path, timeout_s: float = 30) -> int:
    """A Batch worker process that is running a child right now: one the Batch tables show
    running a child, on the CPU (state R) with a worker's niceness (a worker process that
    is still booting, or idle, is neither)."""
    busy = wait_until(
        lambda: [pid for pid in running_instances(home) if _on_cpu(pid)],
        deadline=timeout_s,
        describe=lambda: f"no busy worker among {worker_pids(home)}",
    )
    return busy[0]


def stop_runner(home: Path) -> None:
    """Kill the home's runner (and so its pool) if one is alive."""
    if runner_alive(home):
        # A runner whose idle time is near 0 may leave on its own meanwhile: a process
        # already gone is what this wants.
        for process in [*worker_pids(home), runner_pid(home)]:
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process, signal.SIGKILL)
        wait_until(lambda: not runner_alive(home), deadline=10, describe=lambda: runner_pid(home))

"""The whole pipeline on the local backend: the real template, state machine and worker."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter

import pytest

from pipeline.local.runner import runner_pid
from pipeline.runs import run_state
from pipeline.runs.results import id_counts, run_summary
from tests.local.e2e import busy_worker, stop_runner
from tests.shapes import assert_aws_shape
from tests.waiting import wait_until


def assert_every_id_once(stack, workflow_id, id_count):
    assert id_counts(stack.conn, stack.bucket, workflow_id) == Counter(range(id_count))


def test_a_run_through_connect_covers_every_id_once(local_stack):
    state = local_stack.run(id_count=1_000, ids_per_node=25)
    assert state.status == "SUCCEEDED"
    assert set(state.jobs) == {"procure", "process", "egress"}
    assert_every_id_once(local_stack, state.workflow_id, 1_000)
    summary = run_summary(local_stack.conn, local_stack.bucket, state.workflow_id)
    assert summary["succeeded"] is True
    assert summary["steps"]["egress"]["summary"]["SUCCEEDED"] == 40


def test_a_run_through_the_cli_covers_every_id_once(local_stack):
    command = [sys.executable, "-m", "pipeline.cli", "run"]
    done = subprocess.run(
        [*command, "--ids", "300", "--ids-per-node", "7", "--wait", "--json"],
        env={**os.environ, "N2N_HOME": str(local_stack.home)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "SUCCEEDED"
    assert result["executionArn"].startswith("arn:aws:states:")
    assert result["steps"]["egress"] == {"total": 43, "succeeded": 43, "failed": 0}
    assert_every_id_once(local_stack, result["workflowId"], 300)


def test_n_to_n_lets_process_children_start_before_procure_ends(local_stack):
    state = local_stack.run(
        id_count=120, ids_per_node=4, work={"skew": 1.5, "compute_ms_per_id": 3}
    )
    assert state.status == "SUCCEEDED"
    procure = local_stack.children(state.jobs["procure"])
    process = local_stack.children(state.jobs["process"])
    last_procure_stop = max(child["stoppedAt"] for child in procure)
    assert any(child["startedAt"] < last_procure_stop for child in process)
    for before, after in zip(procure, process, strict=True):
        assert after["startedAt"] >= before["stoppedAt"]


def test_barrier_holds_process_until_every_procure_child_stopped(local_stack):
    state = local_stack.run(
        id_count=120,
        ids_per_node=4,
        work={"skew": 1.5, "compute_ms_per_id": 3},
        dependency="BARRIER",
    )
    assert state.status == "SUCCEEDED"
    procure = local_stack.children(state.jobs["procure"])
    process = local_stack.children(state.jobs["process"])
    egress = local_stack.children(state.jobs["egress"])
    assert min(c["startedAt"] for c in process) >= max(c["stoppedAt"] for c in procure)
    assert min(c["startedAt"] for c in egress) >= max(c["stoppedAt"] for c in process)
    assert_every_id_once(local_stack, state.workflow_id, 120)


def test_a_one_node_run_uses_plain_jobs(local_stack):
    state = local_stack.run(id_count=5, ids_per_node=10)
    assert state.status == "SUCCEEDED"
    jobs = local_stack.conn.batch.describe_jobs(jobs=list(state.jobs.values()))["jobs"]
    assert all("size" not in job.get("arrayProperties", {}) for job in jobs)
    assert_every_id_once(local_stack, state.workflow_id, 5)


def test_injected_failures_are_retried_to_success(local_stack):
    state = local_stack.run(
        "chaos-retried", id_count=60, ids_per_node=6, work={"fail_probability": 0.2}
    )
    assert state.status == "SUCCEEDED", state.cause
    assert_every_id_once(local_stack, state.workflow_id, 60)
    for step in ("procure", "process", "egress"):
        children = local_stack.conn.batch.describe_jobs(
            jobs=[f"{state.jobs[step]}:{i}" for i in range(10)]
        )["jobs"]
        retried = {i for i, child in enumerate(children) if len(child["attempts"]) > 1}
        assert retried == injected_failures("chaos-retried", step, 10, 0.2)
    assert injected_failures("chaos-retried", "procure", 10, 0.2), "the seed retries nothing"


def test_bad_input_fails_the_execution_early_and_writes_nothing(local_stack):
    efs_before = sorted(p.name for p in (local_stack.home / "efs").rglob("*") if p.is_dir())
    arn = local_stack.conn.sfn.start_execution(
        stateMachineArn=local_stack.outputs["StateMachineArn"],
        input=json.dumps({"id_count": 20_001, "ids_per_node": 1}),
    )["executionArn"]
    state = local_stack.wait(arn)
    assert state.status == "FAILED"
    assert "set ids_per_node to at least 3" in state.cause
    assert state.jobs == {}
    efs_after = sorted(p.name for p in (local_stack.home / "efs").rglob("*") if p.is_dir())
    assert efs_after == efs_before


def test_a_killed_worker_process_fails_its_attempt_and_the_run_goes_on(local_stack):
    arn = local_stack.start(id_count=40, ids_per_node=4, work={"compute_ms_per_id": 40})
    os.kill(busy_worker(local_stack.home), signal.SIGKILL)
    state = local_stack.wait(arn)
    assert state.status == "SUCCEEDED", state.cause
    reasons = [
        attempt.get("statusReason", "")
        for step in state.jobs.values()
        for child in local_stack.conn.batch.describe_jobs(jobs=[f"{step}:{i}" for i in range(10)])[
            "jobs"
        ]
        for attempt in child["attempts"]
    ]
    assert any(reason.startswith("Host EC2 (instance") for reason in reasons)
    assert_every_id_once(local_stack, state.workflow_id, 40)


def test_a_dead_runner_fails_its_execution_once_the_next_runner_starts(local_stack):
    arn = local_stack.start(id_count=40, ids_per_node=4, work={"compute_ms_per_id": 200})
    wait_until(lambda: run_state(local_stack.conn, arn).jobs, deadline=30)
    dead = runner_pid(local_stack.home)
    stop_runner(local_stack.home)
    sfn = local_stack.conn.sfn
    wait_until(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING",
        describe=lambda: sfn.describe_execution(executionArn=arn),
    )
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "FAILED"
    assert described["cause"] == (
        f"The local runner (pid {dead}) stopped before the execution finished: "
        "start the execution again."
    )
    job_ids = list(run_state(local_stack.conn, arn).jobs.values())
    wait_until(
        lambda: all(
            job["status"] in ("FAILED", "SUCCEEDED")
            for job in local_stack.conn.batch.describe_jobs(jobs=job_ids)["jobs"]
        ),
        describe=lambda: local_stack.conn.batch.describe_jobs(jobs=job_ids)["jobs"],
    )


def test_reading_an_execution_of_a_dead_runner_changes_nothing(local_stack, monkeypatch):
    """describe/list only read (and ask for a runner): the execution stays as stored."""
    from pipeline.local import local_client
    from pipeline.local.stepfunctions import client as sfn_client
    from pipeline.local.stepfunctions.executions import Executions

    asked = []
    arn = local_stack.start(id_count=40, ids_per_node=4, work={"compute_ms_per_id": 200})
    wait_until(lambda: run_state(local_stack.conn, arn).jobs, deadline=30)
    stop_runner(local_stack.home)
    executions = Executions(local_stack.home)
    before = executions.get(arn)
    history = executions.history(arn)
    assert before.status == "RUNNING"
    monkeypatch.setattr(sfn_client, "ensure_runner", asked.append)
    client = local_client("stepfunctions", local_stack.home)
    described = client.describe_execution(executionArn=arn)
    listed = client.list_executions(stateMachineArn=before.state_machine_arn)
    client.get_execution_history(executionArn=arn)
    assert asked == [local_stack.home, local_stack.home]
    assert described["status"] == "RUNNING"
    assert [e["status"] for e in listed["executions"] if e["executionArn"] == arn] == ["RUNNING"]
    assert executions.get(arn) == before
    assert executions.history(arn) == history


@pytest.fixture
def fragile_stack(tmp_path, local_env):
    from tests.local.e2e import LocalStack

    home = tmp_path / "fragile"
    yield LocalStack(home, name="fragile", RetryAttempts="1")
    stop_runner(home)


def injected_failures(workflow_id: str, step: str, indices: int, probability: float) -> set:
    """The children whose first attempt fails, by the seeding rule the worker documents
    (pipeline/worker/load.py: one generator seeded "workflow:step:index:attempt:fail")."""
    return {
        index
        for index in range(indices)
        if random.Random(f"{workflow_id}:{step}:{index}:1:fail").random() < probability
    }


def test_exhausted_retries_fail_the_run_and_leave_no_partial_files(fragile_stack):
    state = fragile_stack.run(
        "fragile-seeded", id_count=80, ids_per_node=4, work={"fail_probability": 0.3}
    )
    assert state.status == "FAILED"
    assert state.cause.startswith("procure failed ")
    procure = fragile_stack.children(state.jobs["procure"])
    process = fragile_stack.children(state.jobs["process"])
    failed = {c["arrayProperties"]["index"] for c in procure if c["status"] == "FAILED"}
    assert failed == injected_failures("fragile-seeded", "procure", 20, 0.3)
    assert failed, "the seed fails no procure child"
    for child in process:
        if child["arrayProperties"]["index"] in failed:
            assert child["status"] == "FAILED"
            assert child["statusReason"] == "Dependent Job failed"
    never_ran = fragile_stack.conn.batch.describe_jobs(
        jobs=[f"{state.jobs['process']}:{index}" for index in sorted(failed)]
    )
    assert all(job["attempts"] == [] for job in never_ran["jobs"])
    assert_aws_shape("batch", "describe_jobs", never_ran)
    leftovers = [
        p for p in fragile_stack.home.rglob("*") if p.name.endswith(".tmp") and p.is_file()
    ]
    assert leftovers == []
    counts = id_counts(fragile_stack.conn, fragile_stack.bucket, state.workflow_id)
    assert set(counts.values()) == {1}
    assert not any(i // 4 in failed for i in counts)
    summary = run_summary(fragile_stack.conn, fragile_stack.bucket, state.workflow_id)
    assert summary["succeeded"] is False
    assert {c["index"] for c in summary["failed_children"]["procure"]} == failed


def test_run_without_wait_returns_at_once_with_the_workflow_id(local_stack, capsys):
    from pipeline.cli.main import main as cli

    assert cli(["run", "--ids", "50", "--ids-per-node", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["status"] in ("RUNNING", "SUCCEEDED")
    assert result["workflowId"]
    assert local_stack.wait(result["executionArn"]).status == "SUCCEEDED"


def test_a_refused_request_is_one_line_on_the_cli(local_stack, capsys):
    from pipeline.cli.main import main as cli

    local_stack.run("taken-name", id_count=10, ids_per_node=5)
    capsys.readouterr()
    assert cli(["run", "--name", "taken-name", "--ids", "10", "--ids-per-node", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("n2n: error: the service refused the request: Execution Already Exists")
    assert err.endswith("(ExecutionAlreadyExists)")
    assert "\n" not in err

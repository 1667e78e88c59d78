"""The local runtime under concurrency and load: many executions started from several
threads while CPU burners compete and the runner exits whenever it is idle; stops racing
the run; two homes side by side."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter

import pytest

from pipeline.local.runner import runner_alive, runner_pid
from pipeline.local.stepfunctions.executions import Executions
from pipeline.runs import run_state
from pipeline.runs.results import id_counts
from tests.local.e2e import LocalStack, private_stack, stop_runner
from tests.waiting import wait_for

EXECUTIONS = 50
THREADS = 4
ROUNDS = 2
IDS = 6
RUN = {"id_count": IDS, "ids_per_node": 3}
BURNERS = 2


@pytest.fixture
def burners():
    """Two processes that keep both cores busy for the test."""
    processes = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)
    ]
    yield
    for process in processes:
        process.kill()
        process.wait()


@pytest.fixture
def eager_stack(tmp_path, monkeypatch):
    """A stack whose runner leaves as soon as it is idle (and so restarts often)."""
    stack = private_stack(monkeypatch, tmp_path / "eager", "0.01")
    yield stack
    stop_runner(stack.home)


def start_from_threads(stack: LocalStack, names: list[str]) -> dict[str, str]:
    """Start one execution per name from THREADS threads; the ARNs by name."""
    started: dict[str, str] = {}
    errors: list[BaseException] = []

    def starter(mine: list[str]) -> None:
        try:
            for name in mine:
                started[name] = stack.start(name, **RUN)
        except BaseException as error:  # reported by the test thread below
            errors.append(error)

    threads = [threading.Thread(target=starter, args=(names[k::THREADS],)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return started


def test_fifty_executions_from_four_threads_under_load_all_succeed_once(eager_stack, burners):
    stack = eager_stack
    sfn = stack.conn.sfn
    arns: dict[str, str] = {}
    for round_ in range(ROUNDS):
        names = [f"r{round_}-{i}" for i in range(EXECUTIONS // ROUNDS)]
        arns |= start_from_threads(stack, names)
        wait_for(
            lambda names=names, arns=arns: [
                sfn.describe_execution(executionArn=arns[n])["status"] for n in names
            ],
            lambda statuses: "RUNNING" not in statuses,
            timeout_s=300,
        )
        wait_for(lambda: runner_alive(stack.home), lambda alive: not alive)
    states = {name: run_state(stack.conn, arn) for name, arn in arns.items()}
    assert Counter(state.status for state in states.values()) == {"SUCCEEDED": EXECUTIONS}
    for state in states.values():
        assert id_counts(stack.conn, stack.bucket, state.workflow_id) == Counter(range(IDS))
    servings = (stack.home / "runner.log").read_text().count(f"serving {stack.home}\n")
    assert servings >= ROUNDS, "the runner must have left and restarted between rounds"


def jobs_end(stack: LocalStack, arn: str) -> list[str]:
    """The statuses of every job the execution submitted, once none can change."""
    executions = Executions(stack.home)
    return wait_for(
        lambda: [
            job["status"]
            for job in stack.conn.batch.describe_jobs(jobs=executions.jobs(arn))["jobs"]
        ],
        lambda statuses: set(statuses) <= {"SUCCEEDED", "FAILED"},
    )


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(lambda stack, arn: True, id="as-it-starts"),
        pytest.param(
            lambda stack, arn: any(
                e["type"] == "LambdaFunctionScheduled" or e["type"] == "TaskScheduled"
                for e in stack.conn.sfn.get_execution_history(executionArn=arn)["events"]
            ),
            id="during-prepare",
        ),
        pytest.param(lambda stack, arn: run_state(stack.conn, arn).jobs, id="during-submit"),
    ],
)
def test_a_stop_racing_the_run_aborts_it_and_leaves_no_job_running(eager_stack, moment):
    stack = eager_stack
    arn = stack.start(id_count=60, ids_per_node=3, work={"compute_ms_per_id": 20})
    wait_for(lambda: moment(stack, arn), bool)
    stack.conn.sfn.stop_execution(executionArn=arn)
    assert stack.conn.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert set(jobs_end(stack, arn)) <= {"FAILED"}
    events = stack.conn.sfn.get_execution_history(executionArn=arn)["events"]
    assert events[-1]["type"] == "ExecutionAborted"
    after = stack.run(**RUN)
    assert after.status == "SUCCEEDED"


def test_two_homes_are_independent(tmp_path, monkeypatch):
    """Same stack, same execution name (so the same ARN) in two homes at once: each runs
    its own, keeps its own results, and killing one home's runner leaves the other alone."""
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", "5")
    monkeypatch.setenv("N2N_TIME_SCALE", "0.002")
    first, second = LocalStack(tmp_path / "first"), LocalStack(tmp_path / "second")
    try:
        one = first.start("same-name", id_count=12, ids_per_node=4)
        two = second.start("same-name", id_count=8, ids_per_node=4)
        assert one == two
        done_one, done_two = first.wait(one), second.wait(two)
        assert (done_one.status, done_two.status) == ("SUCCEEDED", "SUCCEEDED")
        assert id_counts(first.conn, first.bucket, done_one.workflow_id) == Counter(range(12))
        assert id_counts(second.conn, second.bucket, done_two.workflow_id) == Counter(range(8))
        serving = runner_pid(second.home)
        assert serving != runner_pid(first.home)
        stop_runner(first.home)
        assert second.run(**RUN).status == "SUCCEEDED"
        assert runner_pid(second.home) == serving
    finally:
        stop_runner(first.home)
        stop_runner(second.home)

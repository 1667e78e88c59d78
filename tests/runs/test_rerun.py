"""``n2n rerun`` on the local backend: holes left by exhausted retries are filled exactly,
under the original workflow, by reruns (of reruns) of only the missing indices."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.analysis.timeline import timeline_from
from pipeline.cli.main import main
from pipeline.runs import run_state
from pipeline.runs.rerun import NothingToRerun, RerunError, missing_indices, plan_rerun
from pipeline.runs.results import id_counts, run_summary
from pipeline.spec import MAX_ARRAY_SIZE, RerunOf

IDS, PER_NODE = 300, 10
NODES = IDS // PER_NODE
FAILING = {"id_count": IDS, "ids_per_node": PER_NODE, "work": {"fail_probability": 0.1}}


def rerun_cli(capsys, *args: str) -> tuple[int, dict]:
    """``n2n rerun ... --json``: its exit code and its JSON line."""
    code = main(["rerun", *args, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def owed(stack, workflow_id: str) -> tuple[int, str]:
    """The exit code and status a waited rerun owes, read from the egress objects: like
    ``n2n run --wait``, 0 and SUCCEEDED when nothing is missing any more, 1 and FAILED
    when some index is still missing (a one-attempt child of the rerun failed)."""
    missing = missing_indices(stack.conn, stack.bucket, workflow_id, NODES)
    return (1, "FAILED") if missing else (0, "SUCCEEDED")


def executions(stack) -> int:
    machine = stack.outputs["StateMachineArn"]
    return len(stack.conn.sfn.list_executions(stateMachineArn=machine)["executions"])


@pytest.fixture(scope="module")
def holed(one_attempt_stack):
    """A finished run with missing results (the seeds of 'holed' make some children fail)."""
    state = one_attempt_stack.run("holed", **FAILING)
    assert state.status == "FAILED"
    return state


def test_reruns_fill_exactly_the_holes(one_attempt_stack, holed, capsys):
    stack = one_attempt_stack
    holes = missing_indices(stack.conn, stack.bucket, "holed", NODES)
    assert 0 < len(holes) < NODES
    source, rounds = holed.execution_arn, 0
    while holes:
        code, report = rerun_cli(capsys, source, "--wait", "--name", f"holed-rerun-{rounds}")
        assert (code, report["status"]) == owed(stack, "holed")
        assert report["workflowId"] == "holed"
        assert report["missing"] == holes
        rerun = run_state(stack.conn, report["executionArn"])
        assert rerun.workflow_id == f"holed-rerun-{rounds}"
        after = missing_indices(stack.conn, stack.bucket, "holed", NODES)
        assert set(after) < set(holes)
        summary = run_summary(stack.conn, stack.bucket, "holed")
        entry = summary["reruns"][-1]
        assert entry["workflow_id"] == rerun.workflow_id
        assert (entry["children"], entry["still_missing"]) == (len(holes), len(after))
        holes, source, rounds = after, report["executionArn"], rounds + 1
    assert rounds >= 2, "the first rerun recovered everything: no rerun of a rerun was tested"
    counts = id_counts(stack.conn, stack.bucket, "holed")
    assert sorted(counts) == list(range(IDS))
    assert set(counts.values()) == {1}
    summary = run_summary(stack.conn, stack.bucket, "holed")
    assert summary["succeeded"] is False, "the original's own facts are kept"
    assert len(summary["reruns"]) == rounds


def test_rerun_timeline_reads_its_own_children(one_attempt_stack, holed, capsys):
    stack = one_attempt_stack
    state = stack.run("apart", **FAILING)
    code, report = rerun_cli(capsys, state.execution_arn, "--wait", "--name", "apart-rerun")
    assert (code, report["status"]) == owed(stack, "apart")
    rerun = run_state(stack.conn, report["executionArn"])
    timeline = timeline_from(stack.conn, rerun)
    size = len(rerun.input["rerun_of"]["indices"])
    assert sorted(set(timeline["array_index"])) == list(range(size))
    succeeded = timeline[timeline["status"] == "SUCCEEDED"]
    assert succeeded["records"].notna().all()
    original = timeline_from(stack.conn, state)
    failed = original[original["status"] == "FAILED"]
    assert len(failed) and failed["records"].isna().all(), "a rerun's log lines leaked in"


def test_one_missing_index_is_a_one_node_run(one_attempt_stack, capsys):
    stack = one_attempt_stack
    state = stack.run("whole", id_count=40, ids_per_node=10)
    assert state.status == "SUCCEEDED"
    stack.conn.s3.delete_object(Bucket=stack.bucket, Key="whole/results/00002.json")
    code, report = rerun_cli(capsys, state.execution_arn, "--wait")
    assert (code, report["missing"], report["status"]) == (0, [2], "SUCCEEDED")
    jobs = run_state(stack.conn, report["executionArn"]).jobs
    described = stack.conn.batch.describe_jobs(jobs=list(jobs.values()))["jobs"]
    assert all("arrayProperties" not in job for job in described)
    assert sorted(id_counts(stack.conn, stack.bucket, "whole")) == list(range(40))


def test_nothing_missing_starts_nothing(one_attempt_stack, capsys):
    stack = one_attempt_stack
    state = stack.run("complete", id_count=20, ids_per_node=10)
    before = executions(stack)
    assert main(["rerun", state.execution_arn]) == 0
    assert "nothing to rerun" in capsys.readouterr().out
    assert executions(stack) == before
    with pytest.raises(NothingToRerun):
        plan_rerun(stack.conn, stack.bucket, state.execution_arn)


def test_prep_gone_is_one_sentence(one_attempt_stack, capsys):
    stack = one_attempt_stack
    state = stack.run("gone", id_count=20, ids_per_node=10)
    stack.conn.s3.delete_object(Bucket=stack.bucket, Key="gone/results/00001.json")
    [tree] = list(stack.home.glob("efs/*/*/gone")) or list(stack.home.glob("efs/*/gone"))
    shutil.rmtree(tree)
    assert main(["rerun", state.execution_arn]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "gone from EFS" in error, error
    assert "Traceback" not in error


def test_unknown_and_running_executions_are_one_sentence(one_attempt_stack, capsys):
    stack = one_attempt_stack
    assert main(["rerun", "arn:aws:states:us-east-1:000000000000:execution:x:nope"]) == 2
    assert "There is no execution" in capsys.readouterr().err
    arn = stack.start(id_count=200, ids_per_node=10, work={"compute_ms_per_id": 20})
    with pytest.raises(RerunError, match="still RUNNING"):
        plan_rerun(stack.conn, stack.bucket, arn)
    stack.wait(arn)


def test_the_largest_rerun_input_fits_a_step_functions_payload():
    indices = tuple(range(MAX_ARRAY_SIZE))
    document = {"id_count": 10**8, "ids_per_node": 10**4, "rerun_of": RerunOf("w" * 80, indices)}
    document["rerun_of"] = document["rerun_of"].to_dict()
    assert len(json.dumps(document)) < 200 * 1024


def test_recover_missing_reruns_and_waits_or_does_nothing(one_attempt_stack):
    from pipeline.runs.rerun import recover_missing

    stack = one_attempt_stack
    state = stack.run("recover", **FAILING)
    holes = missing_indices(stack.conn, stack.bucket, "recover", NODES)
    assert holes
    recovered = recover_missing(stack.conn, state.execution_arn)
    assert recovered.status == owed(stack, "recover")[1]
    assert set(missing_indices(stack.conn, stack.bucket, "recover", NODES)) < set(holes)
    complete = stack.run("whole-run", id_count=20, ids_per_node=10)
    assert recover_missing(stack.conn, complete.execution_arn) is None


def test_a_run_is_named_by_its_arn_alone(one_attempt_stack, capsys):
    from tests.local.e2e import LocalStack

    other = LocalStack(one_attempt_stack.home, name="elsewhere", RetryAttempts="1")
    assert other.bucket != one_attempt_stack.bucket
    state = other.run("named-once", **FAILING)
    holes = missing_indices(other.conn, other.bucket, "named-once", NODES)
    assert holes
    code, report = rerun_cli(capsys, state.execution_arn, "--wait")
    assert report["missing"] == holes
    assert (code, report["status"]) == owed(other, "named-once")
    assert report["workflowId"] == "named-once"

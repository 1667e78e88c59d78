"""Bring your own runs: a pipeline that is not this kit's, analysed end to end from its
execution and from its job ids, through the local backend and through botocore's Stubber
(the AWS shapes), live and from a trace."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from pipeline.analysis.timeline import build_timeline
from pipeline.analysis.trace import RecordingConnection, from_json_ready
from pipeline.cli.main import main
from pipeline.connect import SERVICES, Connection
from pipeline.errors import N2NError
from pipeline.runs import run_state
from tests.analysis.foreign import ARRAY_SIZE


def _analyze(argv: list[str], out, capsys) -> tuple[pd.DataFrame, dict, str]:
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    timeline = pd.read_csv(out / "timeline.csv")
    return timeline, json.loads((out / "metrics.json").read_text()), printed


def test_an_execution_of_another_state_machine_is_analysed_end_to_end(
    foreign, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("N2N_HOME", str(foreign["home"]))
    timeline, metrics, printed = _analyze(["analyze", foreign["arn"]], tmp_path / "out", capsys)
    # steps named by job name (nightly-extract, nightly-load: their shared "nightly" dropped),
    # in dependsOn order, whatever the states are called
    assert list(timeline.groupby("step_order")["step"].first()) == ["extract", "load"]
    assert timeline.groupby("step").size().to_dict() == {"extract": ARRAY_SIZE, "load": ARRAY_SIZE}
    assert (timeline.status == "SUCCEEDED").all()
    assert sorted(timeline.array_index[timeline.step == "load"]) == list(range(ARRAY_SIZE))
    # its jobs print {"records": 7, ...}: not the kit's n2n.step lines, so nothing is taken
    assert timeline[["records", "load_s", "compute_s", "write_s"]].isna().all().all()
    assert metrics["records"] is None
    assert set(metrics["children"]) == {"extract", "load"}
    assert "8 of 8 succeeded children printed no n2n.step log line" in printed
    assert (tmp_path / "out" / "gantt.png").exists()


def test_a_sync_job_that_failed_its_task_is_still_found(foreign):
    """A failed ``.sync`` task records no TaskSucceeded: the job comes from the failure's
    cause (the job's description, as Step Functions gives it)."""
    timeline = build_timeline(foreign["conn"], foreign["broken"])
    assert timeline.attrs["status"] == "FAILED"
    assert list(timeline.step.unique()) == ["nightly-extract"]
    assert list(timeline.status) == ["FAILED", "FAILED"]
    assert list(timeline.exit_code) == [3.0, 3.0]


def test_jobs_submitted_by_hand_are_analysed_from_the_last_ones_id(
    foreign, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("N2N_HOME", str(foreign["home"]))
    last = foreign["jobs"][-1]
    timeline, _, printed = _analyze(["analyze", "--jobs", last], tmp_path / "out", capsys)
    assert list(timeline.groupby("step_order")["step"].first()) == ["download", "resize", "publish"]
    assert len(timeline) == 9
    assert set(timeline.parent_job_id) == set(foreign["jobs"])
    # N_TO_N: child i of a step starts after child i of the step before stopped
    times = timeline.assign(
        started=pd.to_datetime(timeline.started_at), stopped=pd.to_datetime(timeline.stopped_at)
    ).set_index(["step", "array_index"])
    for before, after in (("download", "resize"), ("resize", "publish")):
        for index in range(3):
            assert times.loc[(after, index), "started"] >= times.loc[(before, index), "stopped"]
    assert printed.startswith(f"Jobs {last} (SUCCEEDED)")


def test_unknown_job_ids_are_one_sentence_and_no_output(foreign, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("N2N_HOME", str(foreign["home"]))
    out = tmp_path / "out"
    assert main(["analyze", "--jobs", "nope-1,nope-2", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "No Batch job has the id nope-1, nope-2" in error
    assert not out.exists()


def _stubbed(calls: list[dict]) -> tuple[Connection, dict[str, Stubber]]:
    """Real boto3 clients whose Stubbers answer ``calls`` in order (every page one call),
    validating each request and response against botocore's models."""
    clients = {s: boto3.client(s, region_name="us-east-1") for s in SERVICES.values()}
    stubbers = {s: Stubber(c) for s, c in clients.items()}
    for call in calls:
        for response in call["responses"]:
            stubbers[SERVICES[call["service"]]].add_response(call["operation"], response)
    for stubber in stubbers.values():
        stubber.activate()
    return Connection("aws", clients.__getitem__), stubbers


@pytest.mark.parametrize("path", ["execution", "jobs"])
def test_the_aws_shapes_give_the_same_timeline(foreign, path):
    """The local responses, fed to botocore's Stubber in the order they were read, pass its
    shape validation and give the same timeline: the backends cannot drift."""
    recording = RecordingConnection(foreign["conn"])
    given = {"execution_arn": foreign["arn"]} if path == "execution" else {}
    jobs = foreign["jobs"][-1:] if path == "jobs" else None
    local = build_timeline(recording, job_ids=jobs, **given)
    aws_conn, stubbers = _stubbed(from_json_ready(recording.calls))
    aws = build_timeline(aws_conn, job_ids=jobs, **given)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    pd.testing.assert_frame_equal(local, aws)
    assert local.attrs == aws.attrs


OTHER_EXECUTION = {
    "executionArn": "arn:aws:states:us-east-1:123456789012:execution:other:run-1",
    "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:other",
    "status": "SUCCEEDED",
    "startDate": datetime(2026, 1, 31, tzinfo=UTC),
}
"""A finished execution of a state machine that is not this kit's."""


def test_an_execution_that_submitted_no_job_is_one_sentence():
    arn = OTHER_EXECUTION["executionArn"]
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stubber:
        stubber.add_response("describe_execution", OTHER_EXECUTION)
        stubber.add_response("get_execution_history", {"events": []})
        conn = Connection("aws", {"stepfunctions": sfn}.__getitem__)
        with pytest.raises(N2NError, match=r"\(SUCCEEDED\) submitted no Batch job"):
            build_timeline(conn, arn)


def _submitted(number: int, job_name: str) -> dict:
    output = json.dumps({"JobId": f"job-{number}", "JobName": job_name})
    return {
        "timestamp": datetime(2026, 1, 31, tzinfo=UTC),
        "type": "TaskSucceeded",
        "id": number,
        "previousEventId": number - 1,
        "taskSucceededEventDetails": {
            "resourceType": "batch",
            "resource": "submitJob",
            "output": output,
        },
    }


def test_another_pipeline_whose_job_names_look_like_this_kits_is_read_to_the_end():
    """Job names with "procure", "process" and "egress" in them, and a fourth job on the
    history's next page: without this kit's prepare step, the whole history is read."""
    arn = OTHER_EXECUTION["executionArn"]
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    names = ["procure-raw", "process-raw", "egress-raw", "archive-raw"]
    with Stubber(sfn) as stubber:
        stubber.add_response("describe_execution", OTHER_EXECUTION)
        first = [_submitted(n, name) for n, name in enumerate(names[:3], start=1)]
        stubber.add_response("get_execution_history", {"events": first, "nextToken": "t"})
        stubber.add_response("get_execution_history", {"events": [_submitted(4, names[3])]})
        state = run_state(Connection("aws", {"stepfunctions": sfn}.__getitem__), arn)
    assert list(state.batch_jobs) == ["job-1", "job-2", "job-3", "job-4"]

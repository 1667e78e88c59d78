"""Portable traces: the same files from a trace as from the live run, with no backend at
all; a bad file is one sentence and no output; --redact replaces account ids and ARNs the
same way everywhere."""

from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest

from pipeline.analysis.trace import read_trace
from pipeline.cli.main import main


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def kit_run(local_stack):
    """A run of this kit's own pipeline: its worker lines come from the logs."""
    return local_stack, local_stack.run("trace-run", id_count=40, ids_per_node=4)


@pytest.fixture
def kit_home(kit_run, monkeypatch):
    stack, state = kit_run
    monkeypatch.setenv("N2N_HOME", str(stack.home))
    return state


@pytest.fixture
def kit_trace(kit_home, tmp_path, capsys):
    path = tmp_path / "run.json.gz"
    assert _run(["trace", "export", kit_home.execution_arn, "--out", str(path)], capsys)[0] == 0
    return path


def test_live_and_trace_analysis_write_identical_files(kit_home, kit_trace, tmp_path, capsys):
    live, traced = tmp_path / "live", tmp_path / "traced"
    assert _run(["analyze", kit_home.execution_arn, "--out", str(live)], capsys)[0] == 0
    # no backend at all: the home the run lived in is gone from the environment
    code, printed, _ = _run(
        ["analyze", "--trace", str(kit_trace), "--backend", "aws", "--out", str(traced)], capsys
    )
    assert code == 0
    for name in ("timeline.csv", "metrics.json"):
        assert (live / name).read_bytes() == (traced / name).read_bytes(), name
    timeline = (traced / "timeline.csv").read_text().splitlines()
    assert len(timeline) == 1 + 30
    assert "no n2n.step log line" not in printed  # the worker lines came from the trace


def test_jobs_trace_gives_the_live_files(foreign, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("N2N_HOME", str(foreign["home"]))
    path, live, traced = tmp_path / "jobs.json.gz", tmp_path / "live", tmp_path / "traced"
    jobs = foreign["jobs"][-1]
    assert _run(["trace", "export", "--jobs", jobs, "--out", str(path)], capsys)[0] == 0
    assert _run(["analyze", "--jobs", jobs, "--out", str(live)], capsys)[0] == 0
    monkeypatch.setenv("N2N_HOME", str(tmp_path / "empty-home"))
    assert _run(["analyze", "--trace", str(path), "--out", str(traced)], capsys)[0] == 0
    for name in ("timeline.csv", "metrics.json"):
        assert (live / name).read_bytes() == (traced / name).read_bytes(), name
    assert not (tmp_path / "empty-home").exists()


def test_the_header_says_what_was_recorded(kit_home, kit_trace):
    header = read_trace(kit_trace).header
    assert header["backend"] == "local"
    assert header["region"] == "us-east-1"
    assert header["subject"] == {"execution_arn": kit_home.execution_arn}
    assert header["redacted"] is False
    # one describe_execution, history, the parents, per step one list_jobs page of its
    # SUCCEEDED children, the job definitions, one page of log events
    assert header["calls"] == {
        "batch.describe_job_definitions": 1,
        "batch.describe_jobs": 1,
        "batch.list_jobs": 3,
        "logs.filter_log_events": 1,
        "sfn.describe_execution": 1,
        "sfn.get_execution_history": 1,
    }
    assert header["call_count"] == 8


def _gzip_json(path, document) -> None:
    path.write_bytes(gzip.compress(json.dumps(document).encode()))


def _bad_files(tmp_path, kit_trace) -> dict:
    whole = kit_trace.read_bytes()
    document = json.loads(gzip.decompress(whole))
    files = {
        "truncated": (whole[: len(whole) // 2], "is truncated or corrupt"),
        "corrupt": (whole[:10] + bytes(200), "is truncated or corrupt"),
        "not gzip": (b"step,job_id\nprocure,1\n", "is not an n2n trace (not gzip-compressed)"),
        "foreign json": (None, 'is not an n2n trace (no "format": "n2n-trace")'),
        "unknown version": (None, "is an n2n trace of format version 99, which n2n-kit"),
        "missing calls": (None, "is corrupt (its header or calls"),
    }
    written = {}
    for number, (name, (content, message)) in enumerate(files.items()):
        path = tmp_path / f"bad-{number}.json.gz"
        if name == "foreign json":
            _gzip_json(path, {"Records": []})
        elif name == "unknown version":
            _gzip_json(path, {**document, "version": 99})
        elif name == "missing calls":
            _gzip_json(path, {key: value for key, value in document.items() if key != "calls"})
        else:
            path.write_bytes(content)
        written[name] = (path, message)
    return written


def test_a_bad_trace_file_is_one_sentence_and_no_output(kit_trace, tmp_path, capsys):
    for name, (path, message) in _bad_files(tmp_path, kit_trace).items():
        out = tmp_path / f"out-{path.stem}"
        code, _, error = _run(["analyze", "--trace", str(path), "--out", str(out)], capsys)
        assert code == 2, name
        assert error.count("\n") == 1 and message in error, (name, error)
        assert "Traceback" not in error
        assert not out.exists(), name
    code, _, error = _run(
        ["analyze", "--trace", str(tmp_path / "nothing.gz"), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2 and "There is no trace file" in error


def test_redact_replaces_account_ids_and_arns_consistently(kit_home, tmp_path, capsys):
    path = tmp_path / "redacted.json.gz"
    argv = ["trace", "export", kit_home.execution_arn, "--redact", "--out", str(path)]
    assert _run(argv, capsys)[0] == 0
    text = gzip.decompress(path.read_bytes()).decode()
    # the local backend's account is 000000000000: it is gone, and so is every ARN's name
    assert not re.search(r"\b000000000000\b", text)
    assert (
        kit_home.execution_arn.rsplit(":", 1)[1]
        not in json.loads(text)["header"]["subject"]["execution_arn"]
    )
    arns = set(re.findall(r"arn:aws:[\w-]+:[\w-]*:\d{12}:[\w\-/:.]+", text))
    assert arns and all(arn.split(":")[4] == "000000000001" for arn in arns)
    assert all("redacted-" in arn for arn in arns)
    trace = read_trace(path)
    stand_in = trace.header["subject"]["execution_arn"]
    described = json.loads(text)["calls"][0]
    assert described["operation"] == "describe_execution"
    assert described["params"] == {"executionArn": stand_in}
    assert described["responses"][0]["executionArn"] == stand_in
    # the same stand-ins everywhere: the redacted trace still analyses, to the same timeline
    live, traced = tmp_path / "live", tmp_path / "traced"
    assert _run(["analyze", kit_home.execution_arn, "--out", str(live)], capsys)[0] == 0
    assert _run(["analyze", "--trace", str(path), "--out", str(traced)], capsys)[0] == 0
    assert (live / "timeline.csv").read_bytes() == (traced / "timeline.csv").read_bytes()


def test_the_notebooks_analyse_a_trace_with_no_backend(kit_trace, tmp_path, monkeypatch):
    """03_analyze and 07_capacity given only ``trace``, in a home where nothing was ever
    deployed (as after ``n2n teardown --purge``): they run, and 03 saves the live files."""
    from pipeline.notebooks import run_notebooks

    empty = tmp_path / "empty-home"
    monkeypatch.setenv("N2N_HOME", str(empty))
    out = tmp_path / "notebooks"
    run_notebooks(
        ["analyze", "capacity"], {"trace": str(kit_trace), "out_dir": str(out / "files")}, out
    )
    assert (out / "03_analyze.ipynb").exists() and (out / "07_capacity.ipynb").exists()
    assert len(pd.read_csv(out / "files" / "timeline.csv")) == 30
    assert not empty.exists()


def test_a_logs_insights_read_of_a_running_run_replays_later(tmp_path, monkeypatch):
    """A run still running is queried up to "now": the trace answers a replay made later."""
    import boto3
    from botocore.stub import Stubber

    from pipeline.analysis import insights
    from pipeline.analysis.trace import RecordingConnection, write_trace
    from pipeline.connect import Connection

    logs = boto3.client("logs", region_name="us-east-1")
    line = {"event": "n2n.step", "step": "procure", "workflow_id": "wf", "index": 0}
    row = [{"field": "@message", "value": json.dumps(line)}]
    with Stubber(logs) as stubber:
        stubber.add_response("start_query", {"queryId": "q"})
        stubber.add_response("get_query_results", {"status": "Complete", "results": [row]})
        recording = RecordingConnection(Connection("aws", {"logs": logs}.__getitem__))
        monkeypatch.setattr(insights.time, "time", lambda: 1_800_000_000.0)
        live = list(insights.step_events(recording.logs, "g", "wf", {"procure": 2}, poll_s=0))
    path = tmp_path / "t.json.gz"
    write_trace(recording, {"execution_arn": "arn"}, path)
    monkeypatch.setattr(insights.time, "time", lambda: 1_800_000_600.0)
    replay = read_trace(path).connection()
    assert list(insights.step_events(replay.logs, "g", "wf", {"procure": 2}, poll_s=0)) == live

"""The Batch worker: procure → process → egress on a temporary EFS folder."""

import errno
import io
import json
import os
import random
import subprocess
import sys

import boto3
import pytest
from moto import mock_aws

from pipeline import layout
from pipeline.handlers.prepare import prepare
from pipeline.local import local_client
from pipeline.local.core.home import bucket_folder
from pipeline.local.worker_clients import worker_environment
from pipeline.worker import FAILURE_EXIT_CODE, RETRYABLE_EXIT_CODE
from pipeline.worker.main import main

STEP_EVENT_KEYS = {
    "event",
    "step",
    "workflow_id",
    "index",
    "attempt",
    "records",
    "bytes_in",
    "bytes_out",
    "load_s",
    "compute_s",
    "write_s",
}


@pytest.fixture
def run(tmp_path):
    """A prepared 25-id run over 3 nodes; returns a function running one child's step, its
    S3 clients routed to a local bucket as the local Batch engine routes them."""
    efs = tmp_path / "efs"
    home = tmp_path / "home"
    local_client("s3", home).create_bucket(Bucket="egress")
    prepared = prepare(
        {"execution_name": "wf-1", "input": {"id_count": 25, "ids_per_node": 10}},
        {"EFS_MOUNT": str(efs)},
    )
    base = {
        "EFS_MOUNT": str(efs),
        "WORKFLOW_ID": prepared["workflow_id"],
        "EGRESS_URL": "s3://egress/",
        **worker_environment(home),
    }

    def child(step, index=0, attempt=1, **extra):
        out = io.StringIO()
        env = {
            **base,
            "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
            "AWS_BATCH_JOB_ATTEMPT": str(attempt),
            **extra,
        }
        code = main([step], env, out)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return code, lines

    child.efs = efs
    child.bucket = bucket_folder(home, "egress")
    child.layout = layout.RunLayout(efs, prepared["workflow_id"])
    return child


def _chain(child, index, **extra):
    for step in ("procure", "process", "egress"):
        code, lines = child(step, index, **extra)
        assert code == 0, lines
    return lines


def test_three_steps_move_every_id_to_the_bucket_once(run):
    for index in range(3):
        _chain(run, index)
    ids = []
    for index in range(3):
        document = json.loads((run.bucket / f"wf-1/results/{index:05d}.json").read_text())
        assert document["workflow_id"] == "wf-1"
        assert document["index"] == index
        ids.extend(item["id"] for item in document["results"])
        assert not run.layout.results_path(index).exists()
    assert ids == list(range(25))


def test_results_carry_the_statistics_of_the_values(run):
    run("procure", 0, N2N_WORK='{"values_per_id": 4}')
    data = layout.read_json(run.layout.data_path(0))
    run("process", 0)
    first = layout.read_json(run.layout.results_path(0))["results"][0]
    values = data["values"][0]
    assert first["id"] == 0
    assert first["count"] == 4
    assert first["min"] == min(values) and first["max"] == max(values)
    assert first["mean"] == pytest.approx(sum(values) / 4)
    assert set(first) == {"id", "count", "sum", "mean", "min", "max", "std"}


def test_each_step_prints_one_json_line_of_the_contract(run):
    code, lines = run("procure", 2, attempt=3)
    assert code == 0
    assert len(lines) == 1
    event = lines[0]
    assert set(event) == STEP_EVENT_KEYS
    assert event["event"] == "n2n.step"
    assert (event["step"], event["index"], event["attempt"], event["records"]) == (
        "procure",
        2,
        3,
        5,
    )
    assert event["bytes_out"] > 0


def test_procure_is_deterministic_under_retry(run):
    run("procure", 1, attempt=1)
    first = run.layout.data_path(1).read_bytes()
    run("procure", 1, attempt=2)
    assert run.layout.data_path(1).read_bytes() == first


def test_egress_run_twice_moves_once(run):
    _chain(run, 0)
    moved = (run.bucket / "wf-1/results/00000.json").read_bytes()
    code, lines = run("egress", 0)
    assert code == 0
    assert lines[0]["records"] == 10
    assert (run.bucket / "wf-1/results/00000.json").read_bytes() == moved
    assert sorted(p.name for p in (run.bucket / "wf-1/results").iterdir()) == ["00000.json"]


def test_a_crash_between_temp_write_and_rename_leaves_no_results_file(run, monkeypatch):
    run("procure", 0)

    def crash(src, dst):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        run("process", 0)
    monkeypatch.undo()
    results_dir = run.layout.results_path(0).parent
    assert list(results_dir.iterdir()) == []


def test_io_work_sleeps_per_id_without_burning_cpu(run, monkeypatch):
    slept, burnt = [], []
    monkeypatch.setattr("pipeline.worker.load.time.sleep", slept.append)
    monkeypatch.setattr("pipeline.worker.steps.burn_cpu", burnt.append)
    code, _ = run("procure", 0, N2N_WORK='{"io_ms_per_id": 5}')
    # Node 0 holds 10 ids: 10 x 5 ms of waiting, no skew, no CPU burn.
    assert code == 0 and slept == [pytest.approx(0.05)] and burnt == [0.0]


def test_skew_gives_an_index_the_same_work_in_every_run(run, tmp_path, monkeypatch):
    slept = []
    monkeypatch.setattr("pipeline.worker.load.time.sleep", slept.append)
    other = prepare(
        {"execution_name": "wf-2", "input": {"id_count": 25, "ids_per_node": 10}},
        {"EFS_MOUNT": str(run.efs)},
    )
    work = '{"io_ms_per_id": 5, "skew": 1}'
    for index in (0, 1):
        assert run("procure", index, N2N_WORK=work)[0] == 0
        assert run("procure", index, N2N_WORK=work, WORKFLOW_ID=other["workflow_id"])[0] == 0
    # Same index, two workflows: the same wait; two indices: different waits.
    assert slept[0] == slept[1] and slept[2] == slept[3] and slept[0] != slept[2]


def test_injected_failures_exit_with_the_retryable_code(run):
    code, lines = run("procure", 0, N2N_WORK='{"fail_probability": 1}')
    assert code == RETRYABLE_EXIT_CODE
    assert lines[0]["event"] == "n2n.error"
    assert lines[0]["reason"] == "injected failure"
    assert not run.layout.data_path(0).exists()


def test_injected_failures_are_seeded_per_attempt(run):
    work = '{"fail_probability": 0.5}'
    outcomes = [run("procure", 0, attempt=a, N2N_WORK=work)[0] for a in range(1, 30)]
    again = [run("procure", 0, attempt=a, N2N_WORK=work)[0] for a in range(1, 30)]
    assert outcomes == again
    # the documented rule: one generator seeded "workflow:step:index:attempt:fail"
    predicted = [
        RETRYABLE_EXIT_CODE if random.Random(f"wf-1:procure:0:{a}:fail").random() < 0.5 else 0
        for a in range(1, 30)
    ]
    assert outcomes == predicted
    assert {0, RETRYABLE_EXIT_CODE} == set(outcomes)


def test_a_full_disk_is_named_with_what_to_do_and_is_retryable(run, monkeypatch):
    targets = []

    def full(src, dst):
        targets.append(dst)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), dst)

    monkeypatch.setattr(os, "replace", full)
    code, lines = run("procure", 0)
    assert code == RETRYABLE_EXIT_CODE  # space may be freed before the next attempt
    (line,) = lines
    assert (line["event"], line["reason"]) == (
        "n2n.error",
        f"No space left on the disk holding {targets[0]}: free space there, then rerun the "
        "run's missing children.",
    )


def test_a_missing_input_is_a_non_retryable_error(run):
    code, lines = run("process", 1)
    assert code == FAILURE_EXIT_CODE
    assert lines[0]["event"] == "n2n.error"
    assert "run the step before this one" in lines[0]["reason"]


@pytest.mark.parametrize(
    ("argv", "env", "reason"),
    [
        (["shuffle"], {}, "Name one step to run"),
        (["procure"], {"EFS_MOUNT": ""}, "EFS_MOUNT is not set"),
        (["procure"], {"N2N_WORK": "{bad json"}, "N2N_WORK is not valid"),
        (["procure"], {"AWS_BATCH_JOB_ARRAY_INDEX": "x"}, "must be a whole number"),
    ],
)
def test_bad_settings_print_one_error_line(run, argv, env, reason):
    out = io.StringIO()
    base = {"EFS_MOUNT": str(run.efs), "WORKFLOW_ID": "wf-1"}
    assert main(argv, {**base, **env}, out) == FAILURE_EXIT_CODE
    (line,) = out.getvalue().splitlines()
    assert reason in json.loads(line)["reason"]


def test_the_module_entry_point_reads_the_process_environment(run):
    env = {**os.environ, "EFS_MOUNT": str(run.efs), "WORKFLOW_ID": "wf-1"}
    env.pop("AWS_BATCH_JOB_ARRAY_INDEX", None)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.worker", "procure"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["index"] == 0
    assert run.layout.data_path(0).exists()


@mock_aws
def test_egress_to_s3(run):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="egress")
    for index in range(3):
        _chain(run, index, EGRESS_URL="s3://egress/runs/", N2N_CLIENT_FACTORY="")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="egress")["Contents"]]
    assert keys == [f"runs/wf-1/results/{i:05d}.json" for i in range(3)]
    body = json.loads(s3.get_object(Bucket="egress", Key=keys[1])["Body"].read())
    assert [r["id"] for r in body["results"]] == list(range(10, 20))
    code, _ = run("egress", 1, EGRESS_URL="s3://egress/runs/", N2N_CLIENT_FACTORY="")
    assert code == 0
    assert s3.list_objects_v2(Bucket="egress")["KeyCount"] == 3

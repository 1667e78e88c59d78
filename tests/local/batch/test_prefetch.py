"""The engine queues the next child of a compute environment behind the child running on a
worker process: STARTING while it waits, RUNNING the moment the slot's child ends, with the
guarantees of AWS's STARTING state (TerminateJob fails it, CancelJob leaves it) and none
lost or charged an attempt when its worker process or the engine goes away."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading

import pytest

from pipeline.local.batch import pool as pool_module
from pipeline.local.batch.engine import BatchEngine
from pipeline.local.batch.schema import open_batch_db
from tests.local.batch import held_entry
from tests.local.batch.support import (
    add_queue,
    children,
    local_batch,
    register,
    running_engine,
    wait_done,
)
from tests.waiting import wait_until


@pytest.fixture
def batch(n2n_home, monkeypatch):
    monkeypatch.setitem(
        pool_module.IN_PROCESS_ENTRY_POINTS, held_entry.MODULE, f"{held_entry.MODULE}:main"
    )
    client = local_batch(n2n_home, monkeypatch)
    add_queue(client, "one", max_vcpus=1)  # one slot: each child waits for the one before
    register(client, "held", [sys.executable, "-m", held_entry.MODULE])
    return client


def submit_held(batch, tmp_path, size: int = 3, **more: str) -> str:
    (tmp_path / "marks").mkdir()
    names = {
        "MARKS": str(tmp_path / "marks"),
        "RELEASE": str(tmp_path / "release"),
        "HOLD_INDEX": "0",
    }
    overrides = {"environment": [{"name": k, "value": v} for k, v in {**names, **more}.items()]}
    return batch.submit_job(
        jobName="held",
        jobQueue="one",
        jobDefinition="held",
        arrayProperties={"size": size},
        containerOverrides=overrides,
    )["jobId"]


def statuses(batch, job_id: str, size: int = 3) -> list[str]:
    return [child["status"] for child in children(batch, job_id, size)]


def marks(tmp_path) -> set[str]:
    """The children that started, as ``{index}-{attempt}``."""
    return {path.name for path in (tmp_path / "marks").iterdir()}


def test_the_next_child_waits_starting_then_runs_in_the_freed_slot(batch, n2n_home, tmp_path):
    job_id = submit_held(batch, tmp_path)
    with running_engine(n2n_home, max_workers=1):
        wait_until(
            lambda: statuses(batch, job_id) == ["RUNNING", "STARTING", "RUNNABLE"],
            describe=lambda: statuses(batch, job_id),
        )
        wait_until(lambda: "0-1" in marks(tmp_path))
        assert marks(tmp_path) == {"0-1"}  # child 1 waits; it has not started
        (tmp_path / "release").touch()
        wait_done(batch, job_id)
    done = children(batch, job_id, 3)
    assert [child["status"] for child in done] == ["SUCCEEDED"] * 3
    assert [len(child["attempts"]) for child in done] == [1, 1, 1]
    for before, after in itertools.pairwise(done):
        assert after["startedAt"] >= before["stoppedAt"]  # one slot, never two at once
    assert marks(tmp_path) == {"0-1", "1-1", "2-1"}


def test_terminating_a_starting_child_fails_it_and_it_never_runs(batch, n2n_home, tmp_path):
    job_id = submit_held(batch, tmp_path)
    with running_engine(n2n_home, max_workers=1):
        wait_until(lambda: statuses(batch, job_id)[1] == "STARTING")
        batch.terminate_job(jobId=f"{job_id}:1", reason="not this one")
        wait_until(
            lambda: statuses(batch, job_id)[1] == "FAILED", describe=lambda: statuses(batch, job_id)
        )
        (tmp_path / "release").touch()
        wait_done(batch, job_id)
    done = children(batch, job_id, 3)
    assert [child["status"] for child in done] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert done[1]["statusReason"] == "not this one" and done[1]["attempts"] == []
    assert marks(tmp_path) == {"0-1", "2-1"}


def test_cancelling_a_starting_child_leaves_it_as_aws_does(batch, n2n_home, tmp_path):
    # CancelJob: "Jobs that progressed to the STARTING or RUNNING state aren't canceled."
    # (https://docs.aws.amazon.com/batch/latest/APIReference/API_CancelJob.html)
    job_id = submit_held(batch, tmp_path)
    with running_engine(n2n_home, max_workers=1):
        wait_until(lambda: statuses(batch, job_id)[1] == "STARTING")
        batch.cancel_job(jobId=f"{job_id}:1", reason="cancel it")
        (tmp_path / "release").touch()
        wait_done(batch, job_id)
    assert statuses(batch, job_id) == ["SUCCEEDED"] * 3


def test_a_killed_worker_hands_its_starting_child_back_uncharged(batch, n2n_home, tmp_path):
    job_id = submit_held(batch, tmp_path)
    with running_engine(n2n_home, max_workers=1):
        wait_until(lambda: statuses(batch, job_id)[:2] == ["RUNNING", "STARTING"])
        wait_until(lambda: "0-1" in marks(tmp_path))  # child 0 is really running
        (running,) = batch.describe_jobs(jobs=[f"{job_id}:0"])["jobs"]
        instance = running["container"]["containerInstanceArn"].rpartition("/")[2]
        os.kill(int(instance.removeprefix("local-")), signal.SIGKILL)
        wait_done(batch, job_id)
    done = children(batch, job_id, 3)
    assert done[0]["status"] == "FAILED"
    assert done[0]["statusReason"] == f"Host EC2 (instance {instance}) terminated."
    assert [child["status"] for child in done[1:]] == ["SUCCEEDED", "SUCCEEDED"]
    assert [len(child["attempts"]) for child in done[1:]] == [1, 1]
    assert marks(tmp_path) == {"0-1", "1-1", "2-1"}


def test_a_starting_child_of_a_stopped_or_killed_engine_runs_later_on_one_attempt(
    batch, n2n_home, tmp_path
):
    job_id = submit_held(batch, tmp_path, size=2)
    engine = BatchEngine(n2n_home, max_workers=1)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,))
    thread.start()
    wait_until(lambda: statuses(batch, job_id, 2) == ["RUNNING", "STARTING"])
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    first, second = children(batch, job_id, 2)
    assert first["status"] == "FAILED" and len(first["attempts"]) == 1  # its host went away
    assert second["status"] == "RUNNABLE" and second["attempts"] == []
    # A runner killed with -9 leaves the last state it wrote: the child STARTING.
    with open_batch_db(n2n_home) as db:
        db.execute(
            "UPDATE children SET status = 'STARTING' WHERE parent_id = ? AND idx = 1", (job_id,)
        )
    assert statuses(batch, job_id, 2)[1] == "STARTING"
    with running_engine(n2n_home, max_workers=1):
        wait_done(batch, job_id)
    assert statuses(batch, job_id, 2) == ["FAILED", "SUCCEEDED"]
    assert len(children(batch, job_id, 2)[1]["attempts"]) == 1

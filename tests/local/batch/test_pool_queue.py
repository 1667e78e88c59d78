"""A task queued behind the one a worker process runs: it starts when that one ends, the
result says so, and a task the engine counts as never started never runs."""

from __future__ import annotations

import sys

import pytest

from pipeline.local.batch import pool as pool_module
from pipeline.local.batch.pool import AttemptPool
from tests.local.batch import held_entry
from tests.waiting import wait_until

COMMAND = [sys.executable, "-m", held_entry.MODULE]


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setitem(
        pool_module.IN_PROCESS_ENTRY_POINTS, held_entry.MODULE, f"{held_entry.MODULE}:main"
    )
    attempts = AttemptPool()
    yield attempts
    attempts.close()


def task(tmp_path, index: int, code: int, hold: bool = False) -> dict[str, str]:
    return {
        "MARKS": str(tmp_path),
        "RELEASE": str(tmp_path / "release"),
        "HOLD_INDEX": str(index) if hold else "none",
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
        "EXIT_CODE": str(code),
    }


def marks(tmp_path) -> set[str]:
    return {path.name for path in tmp_path.iterdir() if path.name != "release"}


def test_a_queued_task_starts_when_the_running_one_ends(pool, tmp_path):
    running = pool.start(COMMAND, task(tmp_path, 0, 3, hold=True))
    queued = pool.queue_after(running, COMMAND, task(tmp_path, 1, 4))
    assert queued is not None and queued.instance == running.instance
    assert pool.queue_after(running, COMMAND, task(tmp_path, 2, 5)) is None  # one at a time
    wait_until(lambda: marks(tmp_path) == {"0-1"})
    (tmp_path / "release").touch()
    first = wait_until(running.collect)
    assert first.exit_code == 3
    assert running.successor is queued
    second = wait_until(queued.collect)
    assert second.exit_code == 4
    assert second.started_at >= first.stopped_at
    assert queued.successor is None
    assert marks(tmp_path) == {"0-1", "1-1"}


def test_a_withdrawn_task_never_runs(pool, tmp_path):
    running = pool.start(COMMAND, task(tmp_path, 0, 0, hold=True))
    queued = pool.queue_after(running, COMMAND, task(tmp_path, 1, 0))
    queued.withdraw()
    (tmp_path / "release").touch()
    wait_until(running.collect)
    assert running.successor is None
    # the worker process is free again: the next task runs there, and its result is its own
    after = pool.start(COMMAND, task(tmp_path, 2, 6))
    assert after.instance == running.instance
    assert wait_until(after.collect).exit_code == 6
    assert marks(tmp_path) == {"0-1", "2-1"}


def test_a_task_queued_after_the_running_one_reported_never_runs(pool, tmp_path):
    # The running task ends and its result ("nothing follows") is on its way before the
    # engine queues the next one: that one must not run, or the next result read from the
    # worker would be taken for another attempt's.
    running = pool.start(COMMAND, task(tmp_path, 0, 0))
    wait_until(lambda: running.worker.connection.poll())
    late = pool.queue_after(running, COMMAND, task(tmp_path, 1, 7))
    wait_until(running.collect)
    assert running.successor is None
    after = pool.start(COMMAND, task(tmp_path, 2, 8))
    assert after.instance == running.instance
    assert wait_until(after.collect).exit_code == 8
    assert late is not None and marks(tmp_path) == {"0-1", "2-1"}
